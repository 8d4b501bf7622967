"""Helpers for the integration tests: data files, the CLI in a subprocess, and reading a run back."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from jurist import BackendOptions, JobOptions, JudgeConfig, Limits, Verdict, judge
from jurist.testing import FakeOpenAIServer

SECRET = "sk-test-SECRET123456"
KEY_ENV = "JURIST_IT_API_KEY"
_ID_IN_PROMPT = re.compile(r"\[id:([^\]]+)\]")


def make_items(
    mode: str, n: int, *, markers: dict[int, str] | None = None, prefix: str = "item"
) -> list[dict[str, Any]]:
    """n items; the prompt of each names its id as "[id:ID]" (so server counts map back to items),
    followed by a fault marker where `markers` gives one."""
    markers = markers or {}
    items = []
    for i in range(n):
        item_id = f"{prefix}-{i:04d}"
        prompt = f"[id:{item_id}] What is {i} plus {i}? {markers.get(i, '')}".strip()
        item: dict[str, Any] = {"id": item_id, "prompt": prompt}
        if mode == "pointwise":
            item["response"] = f"It is {2 * i}."
        elif mode == "pairwise":
            item["response_a"] = f"The answer is {2 * i}."
            item["response_b"] = f"Perhaps {2 * i + 1}."
        else:
            item["responses"] = [f"{2 * i}", f"{2 * i + 1}", "I do not know."]
        items.append(item)
    return items


def write_jsonl(path: Path, items: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(it) + "\n" for it in items), encoding="utf-8")
    return path


def judge_via_api(
    server: FakeOpenAIServer,
    items: list[dict[str, Any]],
    out: Path,
    *,
    mode: str = "pointwise",
    timeout: float = 5.0,
    max_retries: int = 3,
    cache: bool = False,
    **config: Any,
) -> dict[str, Verdict]:
    """Judge through the sync API and the real HTTP backend; the run's verdicts by id."""
    options = JobOptions(
        backend=BackendOptions(base_url=server.url, timeout=timeout, api_key_env=KEY_ENV),
        limits=Limits(max_retries=max_retries),
        cache=cache,
    )
    result = judge(items, out=out, config=JudgeConfig(mode=mode, **config), model="openai:fake-model", options=options)
    return {v.id: v for v in result.verdicts()}


def cli_env(cache_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_"))}
    env.pop(KEY_ENV, None)
    env.update({"JURIST_CACHE_DIR": str(cache_dir), "PYTHONUNBUFFERED": "1", "COLUMNS": "120"}, **extra)
    return env


def cli_args(data: Path, out: Path, url: str, *extra: str, mode: str = "pointwise") -> list[str]:
    return [
        sys.executable,
        "-m",
        "jurist.cli",
        "judge",
        str(data),
        "--mode",
        mode,
        "--model",
        "openai:fake-model",
        "--base-url",
        url,
        "--out",
        str(out),
        *extra,
    ]


def run_cli(args: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout)


def records(out: Path) -> list[dict[str, Any]]:
    """Every complete verdict record in RUN_DIR/verdicts.jsonl, in file order (a torn last line is left out)."""
    path = out / "verdicts.jsonl"
    if not path.exists():
        return []
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            found.append(json.loads(line))
        except ValueError:
            continue
    return found


def counts_by_item(stats: dict[str, Any]) -> Counter[str]:
    """Requests the server received per item id (the "[id:ID]" in each prompt)."""
    counts: Counter[str] = Counter()
    for prompt, entry in stats["prompts"].items():
        m = _ID_IN_PROMPT.search(prompt)
        if m:
            counts[m.group(1)] += entry["count"]
    return counts


def times_for(stats: dict[str, Any], item_id: str) -> list[list[float]]:
    """Arrival times of the requests for each distinct prompt of one item."""
    return [e["times"] for p, e in stats["prompts"].items() if f"[id:{item_id}]" in p]
