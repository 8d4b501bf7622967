"""The review app (jurist.review.app) through aiohttp's test client, `jurist review`'s refusals, and
`jurist meta-eval --labels review`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from click.testing import CliRunner

import jurist
from jurist import FakeBackend, GenerateRequest, GenerateResponse, JudgeConfig
from jurist.cli.meta_eval import meta_eval
from jurist.cli.review import review
from jurist.errors import InputError
from jurist.meta import MetaOptions, meta_evaluate, render_meta
from jurist.review import ReviewOptions, ReviewSession, ReviewStore, open_session, review_app, review_labels
from jurist.review.app import load_queue

from .helpers import user_text

TOKEN = "test-token-123"
HEADERS = {"X-Jurist-Token": TOKEN}


def pairwise_run(tmp_path: Path, n: int = 6, on_inconsistent: str = "flag") -> Path:
    """A judge that always names the first response: every pair is inconsistent across the two orders (flagged
    with on_inconsistent="flag"). Item i's label is A for even i; response A says "first answer i"."""
    items = [
        {
            "id": f"q{i}",
            "prompt": f"question {i}",
            "response_a": f"first answer {i}",
            "response_b": f"second answer {i}",
            "label": "A" if i % 2 == 0 else "B",
        }
        for i in range(n)
    ]

    def script(request: GenerateRequest) -> GenerateResponse:
        assert "question" in user_text(request)
        return GenerateResponse(text='{"rationale": "the first is better", "winner": "A"}')

    config = JudgeConfig(mode="pairwise", rationale="before", on_inconsistent=on_inconsistent)  # type: ignore[arg-type]
    out = tmp_path / "run"
    jurist.judge(items, out=out, config=config, model=FakeBackend(script), options=jurist.JobOptions(cache=False))
    return out


def pointwise_run(tmp_path: Path, n: int = 12) -> Path:
    items = [{"id": f"p{i}", "prompt": f"question {i}", "response": f"answer {i}", "label": 3} for i in range(n)]

    def script(request: GenerateRequest) -> GenerateResponse:
        return GenerateResponse(text='{"score": 4}')

    out = tmp_path / "points"
    config = JudgeConfig(mode="pointwise", rationale="none")
    jurist.judge(items, out=out, config=config, model=FakeBackend(script), options=jurist.JobOptions(cache=False))
    return out


def with_client(session: ReviewSession, test: Callable[[TestClient[Any, Any]], Awaitable[None]]) -> None:
    async def main() -> None:
        async with TestClient(TestServer(review_app(session, TOKEN))) as client:
            await test(client)

    try:
        asyncio.run(main())
    finally:
        session.store.close()


async def post(client: TestClient[Any, Any], path: str, body: dict[str, Any] | None = None) -> Any:
    response = await client.post(path, json=body, headers=HEADERS)
    assert response.status == 200, await response.text()
    return await response.json()


async def get(client: TestClient[Any, Any], path: str, **params: str) -> Any:
    response = await client.get(path, params=params, headers=HEADERS)
    assert response.status == 200, await response.text()
    return await response.json()


def test_requests_without_the_token_are_refused(tmp_path: Path) -> None:
    session = open_session(pairwise_run(tmp_path), ReviewOptions(queue="all", reviewer="alice"))

    async def test(client: TestClient[Any, Any]) -> None:
        for path in ("/", "/static/review.js", "/api/agreement", "/api/next?tab=abcdefgh12"):
            assert (await client.get(path)).status == 403
            assert (await client.get(path, headers={"X-Jurist-Token": "wrong"})).status == 403
        assert (await client.post("/api/start")).status == 403
        page = await client.get("/", params={"token": TOKEN})
        assert page.status == 200
        html = await page.text()
        assert f"/static/review.js?token={TOKEN}" in html
        csp = page.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "default-src 'none'" in csp and "unsafe-inline" not in csp
        assert (await client.get("/static/review.js", params={"token": TOKEN})).status == 200
        assert (await client.get("/static/secret.py", params={"token": TOKEN})).status == 404

    with_client(session, test)


def test_a_label_round_trip_maps_the_shown_order_back_to_the_items(tmp_path: Path) -> None:
    run = pairwise_run(tmp_path)
    session = open_session(run, ReviewOptions(queue="all", reviewer="alice", seed=0))
    orders = {item: session.order(item) for item in session.items}
    assert set(orders.values()) == {"AB", "BA"}, "the seed should shuffle some pairs"

    async def test(client: TestClient[Any, Any]) -> None:
        tab = (await post(client, "/api/start"))["tab"]
        state = await get(client, "/api/next", tab=tab)
        for _ in range(len(session.items)):
            item = state["item"]
            assert item["verdict"] is None  # hidden until the answer
            number = item["id"][1:]
            left = item["responses"][0]
            # the reviewer always picks the response saying "first answer": on screen it is left or right
            shown = "A" if left == f"first answer {number}" else "B"
            assert (shown == "A") == (orders[item["id"]] == "AB")
            state = await post(client, "/api/answer", {"tab": tab, "item": item["id"], "choice": shown})
            previous = state["previous"]
            assert previous["id"] == item["id"] and previous["verdict"]["rationale"] == "the first is better"
        assert state["item"] is None and "every item" in state["message"]
        assert state["progress"] == {"queue": 6, "labelled": 6, "skipped": 0, "left": 0}

    with_client(session, test)
    assert review_labels(run) == {f"q{i}": "A" for i in range(6)}  # in the items' own terms, whatever was shown
    with ReviewStore.of_run(run) as store:
        assert {a.item: a.shown_order for a in store.labels()} == orders


def test_showing_the_verdict_first_is_recorded_and_skip_and_undo_work(tmp_path: Path) -> None:
    run = pairwise_run(tmp_path)
    session = open_session(run, ReviewOptions(queue="flagged", reviewer="alice"))

    async def test(client: TestClient[Any, Any]) -> None:
        tab = (await post(client, "/api/start"))["tab"]
        first = (await get(client, "/api/next", tab=tab))["item"]
        shown = await post(client, "/api/reveal", {"tab": tab, "item": first["id"]})
        assert shown["verdict"]["flagged"] is True and shown["verdict"]["consistent"] is False
        state = await post(client, "/api/answer", {"tab": tab, "item": first["id"], "choice": "tie"})
        second = state["item"]
        state = await post(client, "/api/answer", {"tab": tab, "item": second["id"], "choice": None})  # skip
        assert state["progress"]["skipped"] == 1 and state["previous"]["skipped"] is True
        state = await post(client, "/api/undo", {"tab": tab})
        assert state["undone"]["id"] == second["id"] and state["item"]["id"] == second["id"]
        assert state["progress"]["skipped"] == 0
        refused = await client.post(
            "/api/answer", json={"tab": tab, "item": second["id"], "choice": "left"}, headers=HEADERS
        )
        assert refused.status == 409 and "A, B or tie" in (await refused.json())["error"]

    with_client(session, test)
    with ReviewStore.of_run(run) as store:
        answers = store.labels("alice")
    assert [(a.label, a.verdict_shown) for a in answers] == [("tie", True)]


def test_agreement_of_the_judge_and_two_reviewers_is_served_with_intervals(tmp_path: Path) -> None:
    run = pointwise_run(tmp_path)
    sessions = [open_session(run, ReviewOptions(queue="all", reviewer=name)) for name in ("alice", "bob")]
    scores = {"alice": [4.0, 4.0, 2.0, 3.0, 4.0, 5.0], "bob": [4.0, 3.0, 2.0, 3.0, 4.0, 5.0]}

    for session in sessions:

        async def test(client: TestClient[Any, Any], session: ReviewSession = session) -> None:
            tab = (await post(client, "/api/start"))["tab"]
            state = await get(client, "/api/next", tab=tab)
            for score in scores[session.reviewer]:
                state = await post(client, "/api/answer", {"tab": tab, "item": state["item"]["id"], "choice": score})
            found = await get(client, "/api/agreement")
            if session.reviewer == "bob":
                pairs = {(p["first"], p["second"]): p for p in found["pairs"]}
                assert set(pairs) == {("judge", "alice"), ("judge", "bob"), ("alice", "bob")}
                assert pairs[("judge", "alice")]["n"] == 6
                assert pairs[("judge", "alice")]["accuracy"]["value"] == pytest.approx(3 / 6)
                assert pairs[("alice", "bob")]["accuracy"]["value"] == pytest.approx(5 / 6, abs=1e-4)
                kappa = pairs[("alice", "bob")]["kappa"]
                assert kappa["low"] <= kappa["value"] <= kappa["high"]

        with_client(session, test)
    assert review_labels(run)["p1"] == pytest.approx(3.5)  # the mean of 4 and 3


def test_a_pointwise_answer_must_be_on_the_scale(tmp_path: Path) -> None:
    session = open_session(pointwise_run(tmp_path), ReviewOptions(queue="all", reviewer="alice"))
    assert [value for _, value in session.scale] == [1.0, 2.0, 3.0, 4.0, 5.0]

    async def test(client: TestClient[Any, Any]) -> None:
        tab = (await post(client, "/api/start"))["tab"]
        item = (await get(client, "/api/next", tab=tab))["item"]
        bad = await client.post("/api/answer", json={"tab": tab, "item": item["id"], "choice": 7}, headers=HEADERS)
        assert bad.status == 409 and "one of" in (await bad.json())["error"]

    with_client(session, test)


def test_an_empty_queue_or_a_run_without_items_is_refused_before_serving(tmp_path: Path) -> None:
    run = pairwise_run(tmp_path, on_inconsistent="tie")  # nothing flagged
    with pytest.raises(InputError, match="the flagged queue is empty"):
        load_queue(run, "flagged")
    result = CliRunner().invoke(review, [str(run), "--no-browser", "--reviewer", "alice"])
    assert result.exit_code == 2 and "flagged queue is empty" in result.output and "--queue all" in result.output
    assert not (run / "review.sqlite").exists()  # nothing written for a run that cannot be reviewed
    result = CliRunner().invoke(review, [str(tmp_path / "nothing"), "--no-browser"])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_a_second_reviewer_with_the_same_name_gets_a_clear_message(tmp_path: Path) -> None:
    run = pairwise_run(tmp_path)
    open_session(run, ReviewOptions(queue="all", reviewer="alice")).store.close()
    result = CliRunner().invoke(review, [str(run), "--queue", "all", "--reviewer", "alice", "--no-browser"])
    assert result.exit_code == 2
    assert "reviewer 'alice' already exists" in result.output and "--resume-as alice" in result.output
    result = CliRunner().invoke(review, [str(run), "--queue", "all", "--no-browser"])
    assert result.exit_code == 2 and "reviewers already (alice)" in result.output


def test_meta_eval_uses_the_reviewers_labels_with_ppi_over_the_rest(tmp_path: Path) -> None:
    run = pairwise_run(tmp_path, n=30, on_inconsistent="tie")  # the judge says tie everywhere
    with ReviewStore.of_run(run) as store:
        store.register("alice")
        queue = [f"q{i}" for i in range(30)]
        for i in range(20):  # alice reviews 20 of 30: tie on every 4th, else the item's own label
            claim = store.claim_next("alice", "tab-a", queue)
            assert claim is not None and claim.item == f"q{i}"
            store.answer("alice", "tab-a", claim.item, "tie" if i % 4 == 0 else ("A" if i % 2 == 0 else "B"))
    report = meta_evaluate(run, MetaOptions(n_resamples=100), labels=review_labels(run))
    assert report.labels_from == "review" and report.labelled == 20
    assert report.agreement is not None and report.agreement.accuracy.value == pytest.approx(5 / 20)
    assert report.ppi is not None and (report.ppi.n_labelled, report.ppi.n_unlabelled) == (20, 10)
    assert "Prediction-powered inference" in render_meta(report)
    result = CliRunner().invoke(meta_eval, [str(run), "--labels", "review", "--bootstrap", "100"])
    assert result.exit_code == 0, result.output
    assert "labelled: 20" in result.output and "20 reviewed, 10 judged only" in result.output
    # the items' own labels are still the default
    default = CliRunner().invoke(meta_eval, [str(run), "--bootstrap", "100", "--out", str(tmp_path / "m.json")])
    assert default.exit_code == 0 and "labelled: 30" in default.output
    assert json.loads((tmp_path / "m.json").read_text())["labels_from"] == "data"


def test_the_server_listens_on_localhost_with_a_fresh_token_and_stops(tmp_path: Path) -> None:
    import aiohttp

    from jurist.review import aserve_review

    run = pairwise_run(tmp_path)
    seen: list[str] = []

    async def main() -> None:
        stop = asyncio.Event()

        def ready(url: str, session: ReviewSession) -> None:
            assert session.reviewer == "alice" and len(session.items) == 6
            seen.append(url)

        serving = asyncio.create_task(
            aserve_review(run, ReviewOptions(queue="flagged", reviewer="alice", port=0), on_ready=ready, stop=stop)
        )
        while not seen:
            await asyncio.sleep(0.01)
        url = seen[0]
        assert url.startswith("http://127.0.0.1:") and "?token=" in url
        token = url.split("?token=")[1]
        assert len(token) >= 32
        async with aiohttp.ClientSession() as client:
            async with client.get(url) as page:
                assert page.status == 200
            async with client.get(url.split("?")[0]) as bare:
                assert bare.status == 403
        stop.set()
        await serving

    asyncio.run(main())
    with ReviewStore.of_run(run) as store:  # the store was closed and kept the reviewer
        assert store.reviewers() == ["alice"]


def test_a_calibrator_is_fitted_on_the_labels_given(tmp_path: Path) -> None:
    from jurist.meta import fit_calibrator
    from jurist.run.log import read_run

    from .test_meta import pairwise_run as run_with_probabilities

    run = run_with_probabilities(tmp_path)
    with pytest.raises(InputError, match="0 labelled verdicts"):
        fit_calibrator(run, labels={})  # nobody reviewed anything: the items' own labels are not used
    _, verdicts = read_run(run)
    flipped = {v.id: "B" if v.label == "A" else "A" for v in verdicts}
    own, reviewed = fit_calibrator(run), fit_calibrator(run, labels=flipped)
    probs = [{"A": 0.9, "B": 0.1}]
    # people who always disagree with the judge take its confidence away (temperature keeps the argmax)
    assert own.apply(probs)[0]["A"] > 0.85 and reviewed.apply(probs)[0]["A"] < 0.6


def test_export_writes_the_reviewers_labels_and_never_over_the_store(tmp_path: Path) -> None:
    import csv

    from jurist.cli.runs import export

    run = pairwise_run(tmp_path, n=4)
    with ReviewStore.of_run(run) as store:
        store.register("alice")
        for item, label in (("q0", "B"), ("q1", None)):  # q1 skipped: no label
            store.claim_next("alice", "tab-a", [item])
            store.answer("alice", "tab-a", item, label)
    out = tmp_path / "reviewed.csv"
    result = CliRunner().invoke(export, [str(run), "--labels", "review", "--out", str(out)])
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8") as fh:
        labels = {row["id"]: row["label"] for row in csv.DictReader(fh)}
    assert labels == {"q0": "B", "q1": "", "q2": "", "q3": ""}
    refused = CliRunner().invoke(export, [str(run), "--out", str(run / "review.sqlite"), "--force"])
    assert refused.exit_code == 2 and "the run's own review.sqlite" in refused.output
    assert review_labels(run) == {"q0": "B"}  # the store is intact


def test_the_escalated_queue_shows_the_cheap_judges_answer_after_the_reviewers(tmp_path: Path) -> None:
    from jurist import make_judge
    from jurist.strategies import Cascade

    items = [
        {"id": f"e{i}", "prompt": f"question {i}", "response_a": "one", "response_b": "two", "label": "A"}
        for i in range(4)
    ]

    def script(request: GenerateRequest) -> GenerateResponse:
        # items e0 and e1: "A" in both orders (inconsistent: escalated); e2, e3: response "one" in both
        text = user_text(request)
        if "question 0" in text or "question 1" in text:
            return GenerateResponse(text='{"winner": "A"}')
        return GenerateResponse(text='{"winner": "%s"}' % ("A" if text.index("one") < text.index("two") else "B"))

    cheap = make_judge(FakeBackend(script), JudgeConfig(mode="pairwise", rationale="none"))
    run = tmp_path / "cascade"
    jurist.judge(
        items,
        out=run,
        judge=Cascade(cheap, None, escalate_when=["inconsistent"]),
        options=jurist.JobOptions(cache=False),
    )
    session = open_session(run, ReviewOptions(queue="escalated", reviewer="alice"))
    assert session.items == ["e0", "e1"]

    async def test(client: TestClient[Any, Any]) -> None:
        tab = (await post(client, "/api/start"))["tab"]
        item = (await get(client, "/api/next", tab=tab))["item"]
        state = await post(client, "/api/answer", {"tab": tab, "item": item["id"], "choice": "A"})
        verdict = state["previous"]["verdict"]
        assert verdict["decision"] is None and verdict["escalated"] == ["inconsistent"]
        assert verdict["cheap"] in ("A", "B", "tie")

    with_client(session, test)


def test_two_tabs_get_different_items_and_a_closed_tab_frees_its_own(tmp_path: Path) -> None:
    session = open_session(pairwise_run(tmp_path), ReviewOptions(queue="all", reviewer="alice"))

    async def test(client: TestClient[Any, Any]) -> None:
        first, second = [(await post(client, "/api/start"))["tab"] for _ in range(2)]
        assert first != second
        shown_first = (await get(client, "/api/next", tab=first))["item"]["id"]
        shown_second = (await get(client, "/api/next", tab=second))["item"]["id"]
        assert (shown_first, shown_second) == ("q0", "q1")
        await post(client, "/api/release", {"tab": first})  # the first tab was closed
        third = (await post(client, "/api/start"))["tab"]
        assert (await get(client, "/api/next", tab=third))["item"]["id"] == "q0"

    with_client(session, test)


def test_a_malformed_request_is_a_400_with_a_reason(tmp_path: Path) -> None:
    session = open_session(pairwise_run(tmp_path), ReviewOptions(queue="all", reviewer="alice"))

    async def test(client: TestClient[Any, Any]) -> None:
        not_json = await client.post("/api/answer", data="{oops", headers=HEADERS)
        assert not_json.status == 400 and "not JSON" in (await not_json.json())["error"]
        no_tab = await client.post("/api/answer", json={"item": "q0", "choice": "A"}, headers=HEADERS)
        assert no_tab.status == 400 and "bad request" in (await no_tab.json())["error"]

    with_client(session, test)
