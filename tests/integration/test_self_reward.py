"""`jurist self-reward` against the fake OpenAI server, which serves both the policy (a sampled answer names its
seed) and the judge: seeds recorded, answers kept, an interrupted step resumed without asking again for what it has,
and the best and worst answers of each prompt paired."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from jurist import BackendOptions, JobOptions
from jurist.alignment.self_reward import GENERATIONS_FILE, JUDGE_DIR, PAIRS_FILE, Sampling, aself_reward, self_reward
from jurist.cli import main
from jurist.run.log import read_run
from jurist.testing import FakeOpenAIServer

from .support import KEY_ENV

PROMPTS = [{"id": f"p{i}", "prompt": f"Question number {i}?"} for i in range(3)]


def job(server: FakeOpenAIServer, concurrency: int | None = None) -> JobOptions:
    options = JobOptions(backend=BackendOptions(base_url=server.url, api_key_env=KEY_ENV), cache=False)
    return options.model_copy(update={"run": options.run.model_copy(update={"concurrency": concurrency})})


def policy_requests(server: FakeOpenAIServer) -> int:
    """Requests whose whole text is one of the prompts: the policy's (a judge's request holds a template)."""
    questions = {p["prompt"] for p in PROMPTS}
    return sum(n for prompt, n in server.state.counts.items() if prompt in questions)


def generations(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / GENERATIONS_FILE).read_text().splitlines() if line.strip()]


def test_answers_are_sampled_with_recorded_seeds_judged_and_paired(server: FakeOpenAIServer, tmp_path: Path) -> None:
    out = tmp_path / "step"
    result = self_reward(
        PROMPTS, out=out, policy="openai:fake-policy", judge="openai:fake-model", samples=3, options=job(server)
    )
    records = generations(out)
    assert sorted((r["id"], r["sample"], r["seed"]) for r in records) == [
        (f"p{i}", k, k) for i in range(3) for k in range(3)
    ]
    assert {r["temperature"] for r in records} == {0.8}
    # the server saw each sample's seed (its sampled answer names it)
    assert all(r["text"].endswith(f"(sample seed {r['seed']}).") for r in records)
    assert (result.generated, result.reused, result.failed) == (9, 0, 0)
    assert policy_requests(server) == 9

    verdicts = {v.id: v for v in read_run(out / JUDGE_DIR).verdicts}
    assert len(verdicts) == 9
    assert {v.metadata["prompt_id"] for v in verdicts.values() if v.metadata} == {"p0", "p1", "p2"}
    report = result.pairs.report
    assert report.kind == "pointwise" and report.group_by == "prompt_id" and report.considered == 3
    assert report.kept + sum(report.dropped.values()) == 3 and report.kept >= 1
    for pair in result.pairs.pairs:  # the best answer of its own prompt against the worst
        scores = {
            v.item.response: v.outcome.expected  # type: ignore[union-attr]
            for v in verdicts.values()
            if v.metadata and v.metadata["prompt_id"] == pair.id and v.item is not None
        }
        assert scores[pair.chosen] == max(scores.values()) > min(scores.values()) == scores[pair.rejected]
    lines = (out / PAIRS_FILE).read_text().splitlines()
    assert [set(json.loads(line)) for line in lines] == [{"prompt", "chosen", "rejected"}] * report.kept
    assert (out / "pairs.report.json").exists()


def test_a_torn_log_is_resumed_without_asking_again(server: FakeOpenAIServer, tmp_path: Path) -> None:
    out = tmp_path / "step"
    run = {"out": out, "policy": "openai:fake-policy", "judge": "openai:fake-model", "samples": 3}
    self_reward(PROMPTS, **run, options=job(server))
    log = out / GENERATIONS_FILE
    lines = log.read_text().splitlines(keepends=True)
    log.write_text("".join(lines[:4]) + lines[4][:20])  # killed while the fifth answer was written
    judge_requests = server.state.total - policy_requests(server)
    again = self_reward(PROMPTS, **run, options=job(server))
    assert (again.generated, again.reused) == (5, 4)
    assert policy_requests(server) == 9 + 5
    # the same seeds give the same answers, so the judge's verdicts are reused: no judge request was made again
    assert server.state.total - policy_requests(server) == judge_requests
    assert generations(out)[:4] == [json.loads(line) for line in lines[:4]]

    # other sampling settings reuse nothing
    hotter = self_reward(
        PROMPTS, **{**run, "samples": 2}, sampling=Sampling(samples=2, temperature=1.2), options=job(server)
    )
    assert (hotter.generated, hotter.reused) == (6, 0)


def test_an_interrupted_step_resumes(make_server: Callable[..., FakeOpenAIServer], tmp_path: Path) -> None:
    server = make_server(latency_ms=150)
    out = tmp_path / "step"

    async def interrupted() -> None:
        work = aself_reward(
            PROMPTS, out=out, policy="openai:fake-policy", judge="openai:fake-model", samples=3, options=job(server, 1)
        )
        try:
            await asyncio.wait_for(work, timeout=0.8)
        except TimeoutError:
            return
        raise AssertionError("the step finished before it could be interrupted")

    asyncio.run(interrupted())
    kept = len(generations(out))
    assert 1 <= kept < 9
    before = policy_requests(server)
    result = self_reward(
        PROMPTS, out=out, policy="openai:fake-policy", judge="openai:fake-model", samples=3, options=job(server, 4)
    )
    assert (result.generated, result.reused) == (9 - kept, kept)
    assert policy_requests(server) - before == 9 - kept
    assert sorted((r["id"], r["sample"]) for r in generations(out)) == [
        (f"p{i}", k) for i in range(3) for k in range(3)
    ]


def test_the_command(server: FakeOpenAIServer, tmp_path: Path) -> None:
    data = tmp_path / "prompts.jsonl"
    data.write_text("".join(json.dumps({"id": p["id"], "question": p["prompt"]}) + "\n" for p in PROMPTS))
    out = tmp_path / "step"
    common = ["self-reward", str(data), "--field", "prompt=question", "--policy", "openai:fake-policy"]
    common += ["--base-url", server.url, "--api-key-env", KEY_ENV, "--samples", "2", "--out", str(out), "--no-cache"]
    result = CliRunner().invoke(main, [*common, "--judge", "openai:fake-model", "--format", "kto"])
    assert result.exit_code == 0, result.output
    assert "3 prompts x 2 answers: 6 drawn now, 0 read back, 0 failed" in result.output
    rows = [json.loads(line) for line in (out / PAIRS_FILE).read_text().splitlines()]
    assert rows and all(set(row) == {"prompt", "completion", "label"} for row in rows)
    assert {row["prompt"] for row in rows} <= {p["prompt"] for p in PROMPTS}

    clash = CliRunner().invoke(main, [*common, "--judge", "openai:a", "--model", "openai:b"])
    assert clash.exit_code == 2 and "--judge is another spelling of --model" in clash.output
    bad = CliRunner().invoke(main, [*common, "--policy-temperature", "0"])
    assert bad.exit_code == 2
