"""Running a judge over items: the engine (a job's backends, built once), the runner (concurrency, resume),
resilience (retries, rate limits), the response cache, and the run directory (log.py). Nothing is re-exported here,
so that importing one part loads only it."""
