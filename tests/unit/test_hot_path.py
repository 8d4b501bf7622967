"""Issue 21's hot-path changes keep every figure: the run summary's Spearman correlations are computed without
scipy.stats (whose import costs about 1.5 s of CPU) and equal scipy's, value for value; the command line imports
its command with the garbage collector off, then freezes what the import made (jurist.cli.startup); a template
text without placeholders is rendered once, to what jinja renders it to; a fresh run hashes no item before judging
it; the scale's prefix check looks at sorted neighbours only, with the same answer as comparing every pair."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import rankdata, spearmanr

import jurist
from jurist import FakeBackend, JobOptions
from jurist.backends import GenerateRequest
from jurist.errors import RunDirError
from jurist.formats import Scale
from jurist.prompts import _JINJA, _compiled, _Fixed
from jurist.run.log import JudgedIndex, iter_run, read_run
from jurist.stats.correlation import _average_ranks, correlate
from jurist.summary import summarize
from jurist.types import Item, Verdict

from .helpers import user_text


@pytest.mark.parametrize("values", [[3.0, 1.0, 2.0], [1.0, 1.0, 1.0, 2.0], [5.0, 2.0, 5.0, 2.0, 5.0, -1.5, 0.0]])
def test_average_ranks_are_scipys(values: list[float]) -> None:
    x = np.asarray(values)
    assert _average_ranks(x).tolist() == rankdata(x).tolist()


def test_spearman_equals_scipys_on_tied_scores() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        judge, human = rng.integers(1, 6, 300).astype(float), rng.integers(1, 6, 300).astype(float)
        by_scipy = float(np.corrcoef(rankdata(judge), rankdata(human))[0, 1])  # the route used before
        assert correlate(judge, human, "spearman") == by_scipy
        assert correlate(judge, human, "spearman") == pytest.approx(spearmanr(judge, human).statistic, abs=1e-12)


def _score_of_response(request: GenerateRequest) -> str:
    response = user_text(request).split("# Response\n", 1)[1]
    return json.dumps({"score": response[1], "rationale": "r"})


def test_a_labelled_pointwise_summary_does_not_import_scipy_stats(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("JURIST_CACHE_DIR", str(tmp_path / "cache"))
    rows = [{"id": f"i{k}", "prompt": "q", "response": f"r{k % 5 + 1}", "label": (k * 7) % 5 + 1} for k in range(20)]
    out = tmp_path / "run"
    jurist.judge(rows, out=out, config="pointwise", model=FakeBackend(_score_of_response), options=JobOptions())
    code = (
        "import sys; from jurist.summary import summarize; s = summarize(sys.argv[1]); "
        "print(s.spearman is not None, s.pearson is not None, 'scipy.stats' in sys.modules)"
    )
    shown = subprocess.run([sys.executable, "-c", code, str(out)], capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.split() == ["True", "True", "False"]


def _fresh_process(code: str) -> list[str]:
    """What `code` prints, run in a new interpreter: the collector's settings are the whole process's."""
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    return shown.stdout.split()


def test_a_command_is_imported_without_collector_passes_then_frozen() -> None:
    code = (
        "import gc\n"
        "from jurist.cli.startup import YOUNG_THRESHOLD, command_import\n"
        "passes = []\n"
        "gc.callbacks.append(lambda phase, info: passes.append(phase))\n"
        "with command_import():\n"
        "    import jurist.cli.judge\n"
        "gc.callbacks.clear()\n"
        "frozen = gc.get_freeze_count()\n"
        "with command_import():  # a second command: nothing more is frozen\n"
        "    import jurist.cli.runs\n"
        "print(len(passes), gc.isenabled(), frozen > 10_000, gc.get_freeze_count() == frozen,\n"
        "      gc.get_threshold()[0] == YOUNG_THRESHOLD)"
    )
    assert _fresh_process(code) == ["0", "True", "True", "True", "True"]


def test_a_collector_turned_off_stays_off_and_nothing_is_frozen() -> None:
    code = (
        "import gc\n"
        "from jurist.cli.startup import command_import\n"
        "gc.disable()\n"
        "before = gc.get_threshold()\n"
        "with command_import():\n"
        "    import jurist.cli.judge\n"
        "print(gc.isenabled(), gc.get_freeze_count(), gc.get_threshold() == before)"
    )
    assert _fresh_process(code) == ["False", "0", "True"]


def _judged_run(tmp_path: Path) -> tuple[Path, str]:
    """A run of three labelled items, and its fingerprint."""
    out = tmp_path / "run"
    rows = [{"id": f"i{k}", "prompt": "q", "response": f"r{k}", "label": k} for k in (1, 2, 3)]
    options = JobOptions(cache=False)
    jurist.judge(rows, out=out, config="pointwise", model=FakeBackend(_score_of_response), options=options)
    return out, str(json.loads((out / "config.json").read_text())["fingerprint"])


def _current(out: Path) -> dict[str, Verdict]:
    return {v.id: v for v in iter_run(out)[1]}


def test_iter_run_reads_ids_first_and_a_last_record_that_is_json_but_no_verdict_stands_for_nothing(
    tmp_path: Path,
) -> None:
    out, fingerprint = _judged_run(tmp_path)
    log = out / "verdicts.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    retried = Verdict.model_validate_json(lines[1]).model_copy(update={"latency_s": 9.0}).model_dump_json() + "\n"
    # i2 judged again, then a last line that names i2 with the run's fingerprint but is no verdict (a torn write
    # that happens to be whole JSON): the whole-record reader leaves it out, and so must the first pass
    log.write_text("".join(lines) + retried + json.dumps({"id": "i2", "judge_fingerprint": fingerprint}))
    current = _current(out)
    assert current == {v.id: v for v in read_run(out).verdicts}
    assert sorted(current) == ["i1", "i2", "i3"] and current["i2"].latency_s == 9.0
    # the same torn record naming an id recorded once: that id's only verdict stays
    log.write_text("".join(lines) + json.dumps({"id": "i3", "judge_fingerprint": fingerprint}))
    assert _current(out) == {v.id: v for v in read_run(out).verdicts} and len(_current(out)) == 3
    assert (summarize(out).judged, summarize(out).labelled) == (3, 3)


def test_iter_run_refuses_a_record_before_the_last_that_is_json_but_no_verdict(tmp_path: Path) -> None:
    out, fingerprint = _judged_run(tmp_path)
    log = out / "verdicts.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    log.write_text(lines[0] + json.dumps({"id": "i9", "judge_fingerprint": fingerprint}) + "\n" + "".join(lines[1:]))
    with pytest.raises(RunDirError, match=r"verdicts.jsonl:2: corrupt verdict record"):
        _current(out)
    with pytest.raises(RunDirError, match=r"verdicts.jsonl:2: corrupt verdict record"):
        read_run(out)


@pytest.mark.parametrize(
    "text",
    [
        "You are a judge.",
        "two lines\n",
        "windows\r\nline ends\n\n",
        "{# a comment #}kept",
        "{% raw %}{{ shown }}{% endraw %}",
        "",
    ],
)
def test_a_template_text_without_placeholders_is_rendered_once_as_jinja_renders_it(text: str) -> None:
    compiled = _compiled(text)
    assert isinstance(compiled, _Fixed)
    assert compiled.render(prompt="ignored") == _JINJA.from_string(text).render()


@pytest.mark.parametrize("text", ["{{ prompt }}", "{% if x %}y{% endif %}", "a {{ scale.describe() }} b"])
def test_a_template_text_with_placeholders_or_statements_is_rendered_per_item(text: str) -> None:
    assert not isinstance(_compiled(text), _Fixed)


def test_a_fresh_run_hashes_no_item_to_know_it_is_not_judged_yet(monkeypatch) -> None:
    hashed: list[str] = []
    real = Item.content_hash
    monkeypatch.setattr(Item, "content_hash", lambda self: hashed.append(self.id) or real(self))
    index = JudgedIndex()
    item = Item(id="a", prompt="p", response="r")
    assert not index.done(item, retry_failed=False)
    assert hashed == []  # the id is not in the index: nothing to compare the content with
    index.record(Verdict(id="a", mode="pointwise", item_hash=real(item)))
    assert index.done(item, retry_failed=False) and hashed == ["a"]
    assert not index.done(item.model_copy(update={"response": "edited"}), retry_failed=False)


@pytest.mark.parametrize(
    "labels",
    [
        ["1", "2", "3", "4", "5"],
        [str(i) for i in range(1, 11)],
        ["a", "ab", "b"],
        ["good", "bad", "okay"],
        ["x", "Xy"],
        ["yes", "no", "Yes"],
        ["b", "abc", "ab"],
        ["10", "1", "2"],
    ],
)
def test_the_scales_prefix_check_equals_comparing_every_pair(labels: list[str]) -> None:
    lowered = [label.lower() for label in labels]
    every_pair = not any(a != b and b.startswith(a) for a in lowered for b in lowered)
    scale = Scale.model_validate(
        {"kind": "categories", "options": [{"label": lab, "value": i} for i, lab in enumerate(labels)]}
    )
    assert scale.probabilities_are_reliable() == every_pair
