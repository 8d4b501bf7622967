"""`jurist report`: which directories it takes, what it refuses, that candidate text stays data (escaped in the
HTML, escaped in the embedded JSON, never a link), the Content-Security-Policy, and the charts' numbers."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from jurist import FakeBackend, GenerateRequest, JobOptions, JudgeConfig
from jurist.api import judge
from jurist.audit import AuditOptions, audit
from jurist.cli.report import TEXT_LIMIT
from jurist.cli.report import report as report_command
from jurist.errors import ConfigError
from jurist.report import ITEM_TEXT_LIMIT, build_report, collect, detect_kind, embed_json, write_report
from jurist.report import html as html_module
from jurist.report.charts import Interval, Series, bin_counts, heatmap, histogram, interval_chart, line_chart
from jurist.report.collect import RunView
from jurist.report.html import meta_charts

from .helpers import user_text
from .report_helpers import N_ITEMS, PROBES, failing, xss_arena, xss_items, xss_run
from .test_audit_fakes import length_biased, pair_items


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("report")
    return {"run": xss_run(root / "run"), "arena": xss_arena(root / "arena")}


@pytest.fixture(scope="module")
def page_html(made: dict[str, Path]) -> str:
    return build_report([made["run"], made["arena"]], n_resamples=50)


def _items_json(html: str) -> list[dict[str, Any]]:
    found = re.findall(r'<script type="application/json" class="items">(.*?)</script>', html, re.S)
    assert len(found) == 1
    return json.loads(found[0])


def _svgs(html: str, kind: str) -> list[ET.Element]:
    return [ET.fromstring(s) for s in re.findall(rf'<svg class="chart" data-chart="{kind}".*?</svg>', html, re.S)]


# -- which directories -------------------------------------------------------------------------------------------


def test_each_kind_is_told_by_the_file_only_it_writes(tmp_path: Path, made: dict[str, Path]) -> None:
    audit = tmp_path / "audit"
    audit.mkdir()
    (audit / "audit.json").write_text("{}")
    assert (detect_kind(made["run"]), detect_kind(made["arena"]), detect_kind(audit)) == ("run", "arena", "audit")


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda p: p, "it does not exist"),
        (lambda p: (p.write_text("x"), p)[1], "it is a file"),
        (lambda p: (p.mkdir(), p)[1], "holds no config.json (a run), audit.json (an audit) or arena.json"),
        (lambda p: (p.mkdir(), (p / "manifest.json").write_text("{}"), p)[2], "an audit that has not finished"),
    ],
)
def test_anything_else_is_refused_with_what_to_give(tmp_path: Path, make: Any, says: str) -> None:
    path = make(tmp_path / "thing")
    with pytest.raises(ConfigError, match="is not a jurist run, audit or arena directory") as caught:
        detect_kind(path)
    assert says in str(caught.value)


def test_the_command_refuses_a_folder_that_is_not_a_run_in_one_line_exit_2(
    tmp_path: Path, made: dict[str, Path]
) -> None:
    (tmp_path / "notes").mkdir()
    out = tmp_path / "r.html"
    result = CliRunner().invoke(report_command, [str(made["run"]), str(tmp_path / "notes"), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "notes is not a jurist run, audit or arena directory" in result.output
    assert "Traceback" not in result.output and not out.exists()  # checked before anything is written


def test_the_command_writes_the_file_and_replaces_it_only_with_force(tmp_path: Path, made: dict[str, Path]) -> None:
    out = tmp_path / "sub" / "r.html"
    args = [str(made["run"]), "--out", str(out), "--bootstrap", "20"]
    first = CliRunner().invoke(report_command, args)
    assert first.exit_code == 0, first.output
    assert out.read_text(encoding="utf-8").startswith("<!doctype html>")
    again = CliRunner().invoke(report_command, args)
    assert again.exit_code == 2 and "exists; pass --force" in again.output
    assert CliRunner().invoke(report_command, [*args, "--force"]).exit_code == 0


def test_the_command_cuts_texts_where_asked_and_defaults_to_the_libraries_limit(
    tmp_path: Path, made: dict[str, Path]
) -> None:
    assert TEXT_LIMIT == ITEM_TEXT_LIMIT
    out = tmp_path / "short.html"
    args = [str(made["run"]), "--out", str(out), "--bootstrap", "20", "--max-text-chars", "100"]
    assert CliRunner().invoke(report_command, args).exit_code == 0
    items = _items_json(out.read_text(encoding="utf-8"))
    first = next(item for item in items if item["id"] == "x00")  # its prompt is 400 characters long
    original = str(xss_items()[0]["prompt"])
    assert (
        first["cut"] is True and first["prompt"] == original[:100] + f"\n[… cut: {len(original) - 100} more characters]"
    )
    uncut = _items_json(build_report([made["run"]], n_resamples=20))
    assert not any(item.get("cut") for item in uncut)


def test_a_directorys_own_files_are_never_replaced(made: dict[str, Path]) -> None:
    with pytest.raises(ConfigError, match="belongs to"):
        write_report([made["run"]], made["run"] / "config.json", force=True)


# -- candidate text is data --------------------------------------------------------------------------------------


def test_no_probe_reaches_the_html_as_markup(page_html: str) -> None:
    # the page's own elements only: two scripts (the data and the code), no img, no link but the table of contents
    assert page_html.count("<script") == 2 and page_html.count("</script>") == 2
    assert "<img" not in page_html and '<a href="javascript' not in page_html
    assert re.findall(r"<a [^>]*>", page_html) == ['<a href="#s1">', '<a href="#s2">']
    outside_data = re.sub(r'<script type="application/json".*?</script>', "", page_html, flags=re.S)
    assert set(re.findall(r"(.{14})onerror", outside_data)) == {"&lt;img src=x "}  # (names cut in charts too)
    data = _items_json(page_html)
    assert "\\u003cimg src=x onerror" in json.dumps(data[1], ensure_ascii=False).replace("<", "\\u003c")
    assert "&lt;img src=x onerror=alert(1)&gt;" in page_html  # the arena's system name, shown as text


def test_the_embedded_json_gives_back_every_text_exactly(page_html: str) -> None:
    items = {item["id"]: item for item in _items_json(page_html)}
    for original in xss_items():
        item = items[str(original["id"])]
        assert item["prompt"] == original["prompt"]
        assert dict(item["responses"]) == {"A": original["response_a"], "B": original["response_b"]}
    assert len(items) == N_ITEMS


def test_embed_json_escapes_what_could_end_the_script_element() -> None:
    value = {"t": "</script><!-- & \u2028\u2029 >", "nan": float("nan")}
    text = str(embed_json(value))
    assert not set("<>&\u2028\u2029") & set(text)
    assert json.loads(text) == {"t": value["t"], "nan": None}


def test_the_policy_loads_nothing_and_lets_only_the_reports_own_script_and_style_run(page_html: str) -> None:
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page_html)
    assert policy is not None
    text = html.unescape(policy.group(1))
    rules = dict(rule.strip().split(" ", 1) for rule in text.split(";"))
    assert rules["default-src"] == rules["connect-src"] == "'none'" and rules["img-src"] == "data:"
    script = page_html.rsplit("<script>", 1)[1].split("</script>", 1)[0]
    style = page_html.split("<style>", 1)[1].split("</style>", 1)[0]
    for source, text in ((rules["script-src"], script), (rules["style-src"], style)):
        digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
        assert source == f"'sha256-{digest}'"
    assert "unsafe" not in text
    assert re.findall(r"https?://", page_html) == []  # no address at all: nothing to fetch
    assert " style=" not in page_html  # inline style attributes would be refused by the policy


def test_the_script_builds_the_page_with_text_only() -> None:
    script = (Path(html_module.__file__).parent / "report.js").read_text(encoding="utf-8")
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script and "document.write" not in script
    assert "textContent" in script


# -- what it shows -----------------------------------------------------------------------------------------------


def test_the_summary_counts_failures_and_the_filters_know_them(page_html: str, made: dict[str, Path]) -> None:
    failed = sum(failing(i) for i in range(N_ITEMS))
    assert failed == 3
    assert f'<dd class="failed-count">{failed} (parse_failure: {failed})</dd>' in page_html
    assert f'<option value="failed">failed ({failed})</option>' in page_html
    disagreeing = sum(i % 2 == 1 and not failing(i) for i in range(N_ITEMS))
    assert f"disagreeing with the label ({disagreeing})" in page_html
    items = _items_json(page_html)
    assert sum("failed" in item.get("status", []) for item in items) == failed
    view = collect(made["run"], n_resamples=20)
    assert isinstance(view, RunView) and view.meta is not None
    assert view.meta.report.failed == failed  # meta-evaluation says it too


def test_the_confusion_matrix_shows_meta_evals_counts(made: dict[str, Path], page_html: str) -> None:
    view = collect(made["run"], n_resamples=20)
    assert isinstance(view, RunView) and view.meta is not None and view.meta.report.agreement is not None
    counts = view.meta.report.agreement.confusion.counts
    svg = _svgs(page_html, "heatmap")[0]
    shown = [t.text for t in svg.iter("text") if t.get("class") == "value"]
    assert shown == [str(c) for row in counts for c in row]
    assert counts == [[12, 9], [0, 0]]  # every label is A; the judge said B on the 9 odd items it read
    titles = [title for title, _, _ in meta_charts(view.meta)]
    assert titles == ["Confusion matrix", "Reliability diagram", "Scores by human label"]


def test_the_arena_shows_its_leaderboard_and_win_matrix(page_html: str) -> None:
    interval = _svgs(page_html, "interval")[0]
    assert len(list(interval.iter("circle"))) == 3
    matrix = _svgs(page_html, "heatmap")[-1]
    assert len([r for r in matrix.iter("rect") if r.get("class") == "cell"]) == 9
    assert [t.text for t in matrix.iter("text") if t.get("class") == "value"] == [
        "–",
        "1.00",
        "1.00",
        "0.00",
        "–",
        "1.00",
        "0.00",
        "0.00",
        "–",
    ]


# -- charts on a hand case ----------------------------------------------------------------------------------------


def test_an_interval_chart_places_the_value_and_its_whisker_on_the_axis() -> None:
    svg = ET.fromstring(
        str(interval_chart([Interval("a <b>", 0.5, 0.25, 1.0, note="n 8"), Interval("c", None)], title="t", lo=0, hi=1))
    )
    (point,) = svg.iter("circle")
    assert float(point.get("cx", "")) == 170 + 0.5 * 360  # the label column, then half the plot
    whisker = next(line for line in svg.iter("line") if line.get("class") == "whisker")
    assert (float(whisker.get("x1", "")), float(whisker.get("x2", ""))) == (170 + 90, 170 + 360)
    texts = [t.text for t in svg.iter("text")]
    assert "a <b>" in texts and "0.500 [0.250, 1.000] n 8" in texts and "no value" in texts


def test_a_heatmap_writes_each_count_in_its_cell_and_escapes_names() -> None:
    markup = str(heatmap(["<x>", "y"], ["<x>", "y"], [[3, 1], [0, None]], title="t", row_title="r", column_title="c"))
    assert "<x>" not in markup.replace("<text", "").replace("<title", "")
    svg = ET.fromstring(markup)
    assert [t.text for t in svg.iter("text") if t.get("class") == "value"] == ["3", "1", "0", "–"]
    fills = [r.get("fill") for r in svg.iter("rect")]
    assert fills[0] == "#3b6fb6" and fills[-1] == "#eee"  # the largest count is the darkest; an empty cell grey


def test_a_histogram_counts_each_bin_with_the_last_edge_included() -> None:
    assert bin_counts([0.0, 0.1, 0.49, 0.5, 1.0, 1.5], [0.0, 0.5, 1.0]) == [3, 2]
    svg = ET.fromstring(str(histogram({"A": [0.1, 0.9, 1.0], "B": [0.2]}, [0.0, 0.5, 1.0], title="t", x_label="p")))
    bars = {
        (r.get("data-group"), r.get("data-bin")): r.get("data-count")
        for r in svg.iter("rect")
        if r.get("class") == "bar"
    }
    assert bars == {("A", "0"): "1", ("A", "1"): "2", ("B", "0"): "1", ("B", "1"): "0"}


def test_a_line_chart_maps_data_to_its_square() -> None:
    svg = ET.fromstring(str(line_chart([Series("s", [(0.0, 0.0), (1.0, 0.5)])], title="t", x_label="x", y_label="y")))
    points = [(float(c.get("cx", "")), float(c.get("cy", ""))) for c in svg.iter("circle")]
    assert points == [(50.0, 16.0 + 260.0), (50.0 + 260.0, 16.0 + 130.0)]


def test_every_probe_is_in_the_fixture() -> None:
    # the browser test relies on each probe appearing in some response
    responses = " ".join(str(item["response_a"]) for item in xss_items())
    assert all(probe in responses for probe in PROBES)


# -- other modes --------------------------------------------------------------------------------------------------


def _score_of_response(request: GenerateRequest) -> str:
    response = user_text(request).split("# Response\n", 1)[1]
    return json.dumps({"score": response[1], "rationale": "r"})


def test_a_pointwise_run_shows_the_judges_scores_by_human_label(tmp_path: Path) -> None:
    judged = [1, 2, 2, 3, 5, 4, 1, 3, 4, 5, 2, 3]
    labels = [1, 3, 2, 2, 5, 5, 2, 3, 4, 4, 2, 3]
    rows = [
        {"id": f"i{k}", "prompt": f"q{k}", "response": f"r{score}", "label": label}
        for k, (score, label) in enumerate(zip(judged, labels, strict=True))
    ]
    run = tmp_path / "run"
    judge(rows, out=run, config="pointwise", model=FakeBackend(_score_of_response), options=JobOptions(cache=False))
    page = build_report([run], n_resamples=20)
    (svg,) = _svgs(page, "histogram")
    bars = {
        (r.get("data-group"), int(r.get("data-bin", ""))): int(r.get("data-count", ""))
        for r in svg.iter("rect")
        if r.get("class") == "bar"
    }
    # bins of width 1 centred on the scores 1..5: bin k holds score k + 1
    for label in set(labels):
        for k in range(5):
            expected = sum(1 for s, h in zip(judged, labels, strict=True) if h == label and s == k + 1)
            assert bars[(str(label), k)] == expected
    assert sum(bars.values()) == len(rows)
    assert "disagreeing with the label (5)" in page  # score != label on 5 items


def test_an_audit_shows_each_probe_under_each_mitigation_and_its_flips_as_text(tmp_path: Path) -> None:
    out = tmp_path / "audit"
    settings = AuditOptions(probes=["position", "verbosity"], mitigations=["swap"], n_resamples=50)
    config = JudgeConfig(mode="pairwise", rationale="none")
    audit(pair_items(6), out=out, config=config, model=length_biased(), audit=settings, options=JobOptions(cache=False))
    saved = json.loads((out / "audit.json").read_text())
    flips = sum(len(r["examples"]) for r in saved["results"])
    assert flips > 0
    saved["results"][1]["examples"][0]["texts"]["response_b"] = "<script>alert(1)</script>"
    (out / "audit.json").write_text(json.dumps(saved))
    page = build_report([out], n_resamples=20)
    charts = {svg.findtext("title"): svg for svg in _svgs(page, "interval")}
    assert set(charts) == {"position: robustness", "verbosity: robustness"}
    verbosity = [float(c.get("data-value", "")) for c in charts["verbosity: robustness"].iter("circle")]
    assert verbosity == [0.0, 0.0]  # the padded answer wins in both, swapped or not
    assert [float(c.get("data-value", "")) for c in charts["position: robustness"].iter("circle")] == [1.0, 1.0]
    assert page.count('<details class="example">') == flips
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and page.count("<script") == 1  # only the code


def test_a_listwise_run_shows_every_response_and_the_ranking(tmp_path: Path) -> None:
    rows = [{"id": f"l{k}", "prompt": "p", "responses": ["x", "y <b>z</b>", "w"], "label": [2, 1, 3]} for k in range(3)]
    run = tmp_path / "run"
    backend = FakeBackend('{"ranking": [2, 1, 3], "rationale": "r"}')
    judge(rows, out=run, config="listwise", model=backend, options=JobOptions(cache=False))
    page = build_report([run], n_resamples=20)
    items = _items_json(page)
    assert items[0]["responses"] == [["1", "x"], ["2", "y <b>z</b>"], ["3", "w"]]
    assert {item["decision"] for item in items} == {"2"} and not any(item.get("status") for item in items)
    assert "no meta-evaluation: " in page  # three labelled items are too few, and the page says so


def test_a_reviewed_run_shows_the_reviewers_labels_and_agreement(tmp_path: Path) -> None:
    import shutil

    from jurist.review import ReviewStore

    run = tmp_path / "run"
    shutil.copytree(xss_run(tmp_path / "made"), run)
    with ReviewStore.of_run(run) as store:
        # the judge picks A on even items and B on odd ones (x07 fails)
        for reviewer, labels in (("alice", {"x00": "A", "x01": "A", "x02": "A"}), ("bob", {"x00": "B", "x02": "A"})):
            store.register(reviewer)
            for item, label in labels.items():
                store.answer(reviewer, reviewer, item, label)
    view = collect(run)
    assert isinstance(view, RunView) and view.review is not None
    by_item = {r.id: r for r in view.items}
    assert by_item["x00"].review is None  # one A, one B: no majority
    assert by_item["x01"].review == "A" and "disagrees_review" in by_item["x01"].status
    assert by_item["x02"].review == "A" and "disagrees_review" not in by_item["x02"].status
    assert view.reviewed == 2 and view.counts["disagrees_review"] == 1
    pairs = {(p.first, p.second): p for p in view.review}
    assert pairs["judge", "alice"].n == 3 and pairs["judge", "alice"].accuracy.value == pytest.approx(2 / 3, abs=1e-4)
    assert pairs["alice", "bob"].n == 2
    page = build_report([run])
    assert "<h3>Human review</h3>" in page and "<td>bob</td>" in page
    assert "disagreeing with the reviewers (1)" in page


def test_a_run_without_a_review_has_no_review_section(made: dict[str, Path]) -> None:
    view = collect(made["run"])
    assert isinstance(view, RunView) and view.review is None and all(r.review is None for r in view.items)
