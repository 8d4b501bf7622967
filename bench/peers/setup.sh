#!/usr/bin/env bash
# Creates one virtualenv per peer library OUTSIDE the repo (default /work/peers/<name>), every package pinned by
# bench/peers/<name>.lock.txt, so that the side-by-side harness (bench/peers/run.py) runs each peer in its own
# interpreter without touching jurist's .venv. Neither peer needs a GPU: both judge through an OpenAI-compatible
# endpoint (prometheus-eval through LiteLLM, openevals through the OpenAI client).
# Usage: bash bench/peers/setup.sh [ROOT]
set -euo pipefail
ROOT="${1:-/work/peers}"
PY="${PYTHON:-python3}"
HERE="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$ROOT"
for name in prometheus-eval openevals; do
    if [ ! -x "$ROOT/$name/bin/python" ]; then
        "$PY" -m venv "$ROOT/$name"
    fi
    "$ROOT/$name/bin/python" -m pip install --quiet --disable-pip-version-check -r "$HERE/$name.lock.txt"
    echo "$name: $("$ROOT/$name/bin/python" -m pip show "$name" 2>/dev/null | grep '^Version' || echo 'not installed')"
done
