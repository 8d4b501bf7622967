"""`jurist review`: a local web app where people label a run's items one at a time, next to the judge.

The server listens on 127.0.0.1 only and answers nothing without the random token that the URL it prints carries
(403). Each item is claimed in the review store while a page shows it (store.py), so two tabs or two reviewers on one
queue never get the same item at once. Pairwise responses are shown in an order drawn per item and reviewer from
the seed, recorded with the answer, and the answer is stored in the item's own A/B terms. The judge's verdict is
not sent until the person has answered (or asks to see it, which is recorded), to avoid anchoring.

Candidate texts are data: the page builds its DOM with textContent only, and every response carries a strict
Content-Security-Policy (scripts and styles from this server only, no inline script, no connection elsewhere).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import random
import secrets
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, Field, ValidationError

from ..api import sync_twin
from ..errors import ConfigError, InputError, JuristError
from ..formats import Scale
from ..outcomes import Preference, Score, swap_probs, swap_winner
from ..run.log import read_run
from ..types import Verdict
from .labels import judge_label, live_agreement
from .store import LabelValue, ReviewStore

Queue = Literal["flagged", "inconsistent", "escalated", "disagreeing", "all"]
QUEUES: dict[str, str] = {
    "flagged": "verdicts the judge flagged (split votes, escalations, inconsistent or half-failed pairs)",
    "inconsistent": "pairwise verdicts whose two presentation orders named different winners",
    "escalated": "verdicts a cascade escalated (to people, or to a stronger model)",
    "disagreeing": "verdicts that disagree with the item's own label",
    "all": "every item of the run",
}
MODES = ("pairwise", "pointwise")
TOKEN_HEADER = "X-Jurist-Token"
STATIC_FILES = {"review.js": "text/javascript", "review.css": "text/css"}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def in_queue(verdict: Verdict, queue: str) -> bool:
    if queue == "all":
        return True
    if queue == "flagged":
        return verdict.flagged
    if queue == "inconsistent":
        return verdict.outcome_as(Preference).consistent is False
    if queue == "escalated":
        strategy = verdict.strategy or {}
        return bool(strategy.get("escalated")) or strategy.get("escalated_to") is not None
    if queue == "disagreeing":
        decided = verdict.decision()
        return verdict.label is not None and decided is not None and not _same(decided, verdict.label)
    raise ConfigError(f"unknown queue {queue!r}: choose one of {', '.join(QUEUES)}")


def _same(decided: object, label: object) -> bool:
    try:
        return float(decided) == float(label)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(decided) == str(label)


class ReviewSession(BaseModel):
    """A run's review queue for one reviewer: what the app serves."""

    model_config = {"arbitrary_types_allowed": True}

    run_dir: Path
    mode: str
    queue: str
    reviewer: str
    seed: int = 0
    show_verdict: bool = False
    scale: list[tuple[str, float]] = Field(default_factory=list)  # pointwise: (label, value) per answer
    items: list[str]
    verdicts: dict[str, Verdict]
    store: ReviewStore

    def order(self, item: str) -> str:
        """The pairwise order shown to this reviewer for this item: "AB" or "BA", drawn from the seed (and
        recorded with the answer)."""
        swapped = random.Random(f"{self.seed}:{self.reviewer}:{item}").random() < 0.5
        return "BA" if swapped else "AB"

    def judge_labels(self) -> dict[str, LabelValue]:
        return {i: label for i, v in self.verdicts.items() if (label := judge_label(v)) is not None}


def load_queue(run_dir: str | Path, queue: str) -> tuple[str, list[str], dict[str, Verdict], list[tuple[str, float]]]:
    """The run's mode, the queue's item ids (in the run's order), the verdicts and the pointwise scale. A run that
    is not reviewable, or an empty queue, is an InputError that says what to do."""
    if queue not in QUEUES:
        raise ConfigError(f"unknown queue {queue!r}: choose one of {', '.join(QUEUES)}")
    header, verdicts = read_run(run_dir)
    mode = str(header.mode or (verdicts[0].mode if verdicts else ""))
    if mode not in MODES:
        raise InputError(
            f"a {mode or 'empty'} run: review shows pairwise and pointwise items",
            file=str(run_dir),
            hint="review a pairwise or pointwise run",
        )
    with_texts = [v for v in verdicts if v.item is not None]
    if not with_texts:
        raise InputError(
            "this run has no items to review (no verdict keeps its item's texts)",
            file=str(run_dir),
            hint="judge the data first: jurist judge DATA --out RUN_DIR",
        )
    chosen = [v.id for v in with_texts if in_queue(v, queue)]
    if not chosen:
        sizes = ", ".join(f"{name} {sum(in_queue(v, name) for v in with_texts)}" for name in QUEUES)
        raise InputError(
            f"the {queue} queue is empty (items per queue: {sizes})",
            file=str(run_dir),
            hint="choose another queue, e.g. --queue all",
        )
    return mode, chosen, {v.id: v for v in verdicts}, _scale(header.judge) if mode == "pointwise" else []


def _scale(judge: dict[str, Any]) -> list[tuple[str, float]]:
    """The pointwise judge's scale, as the judge resolved it: the configured one, the rubric's, else 1-5."""
    config = judge.get("config") or {}
    rubric = judge.get("rubric")
    spec = config.get("scale") or (rubric.get("scale") if isinstance(rubric, dict) else None)
    try:
        scale = Scale.parse(spec) if isinstance(spec, str) else Scale.likert(1, 5)
    except ConfigError:
        scale = Scale.likert(1, 5)
    return [(option.label, float(option.value)) for option in scale.options]


# -- the payloads the page shows -------------------------------------------------------------------------------------


def _item_payload(session: ReviewSession, item: str, verdict_visible: bool) -> dict[str, Any]:
    verdict = session.verdicts[item]
    texts = verdict.item
    assert texts is not None  # load_queue kept only verdicts with texts
    shown: dict[str, Any] = {
        "id": item,
        "prompt": texts.prompt,
        "turns": [turn.model_dump() for turn in texts.turns] if texts.turns else None,
        "reference": texts.reference,
    }
    if session.mode == "pairwise":
        order = session.order(item)
        pair = [texts.response_a or "", texts.response_b or ""]
        shown["responses"] = pair if order == "AB" else pair[::-1]
    else:
        shown["response"] = texts.response or ""
    shown["verdict"] = _verdict_payload(session, item) if verdict_visible else None
    return shown


def _verdict_payload(session: ReviewSession, item: str) -> dict[str, Any]:
    """The judge's verdict in the terms of the screen: pairwise "A" is the response shown on the left."""
    verdict = session.verdicts[item]
    found: dict[str, Any] = {
        "rationale": verdict.rationale,
        "flagged": verdict.flagged,
        "failed": verdict.error.reason if verdict.error is not None else None,
        "item_label": None,
        # a cascade's escalation: why, and the cheap judge's answer (an escalation to people keeps no decision)
        "escalated": (verdict.strategy or {}).get("reasons") if (verdict.strategy or {}).get("escalated") else None,
        "cheap": None,
    }
    cheap = (verdict.strategy or {}).get("cheap") or {}
    if session.mode == "pairwise":
        swapped = session.order(item) == "BA"
        preference = verdict.outcome_as(Preference)
        winner = preference.winner
        found["decision"] = swap_winner(winner) if swapped and winner else winner
        found["probs"] = swap_probs(preference.probs) if swapped else preference.probs
        found["consistent"] = preference.consistent
        if isinstance(cheap.get("winner"), str):
            found["cheap"] = swap_winner(cheap["winner"]) if swapped else cheap["winner"]
        if verdict.label is not None:
            found["item_label"] = swap_winner(str(verdict.label)) if swapped else verdict.label
    else:
        score = verdict.outcome_as(Score)
        found["decision"] = score.score
        found["probs"] = score.probs
        found["item_label"] = verdict.label
        found["cheap"] = cheap.get("score")
    return found


def _progress(session: ReviewSession) -> dict[str, int]:
    mine = {a.item: a for a in session.store.labels(session.reviewer)}
    in_queue_ = [mine[i] for i in session.items if i in mine]
    labelled = sum(a.label is not None for a in in_queue_)
    return {
        "queue": len(session.items),
        "labelled": labelled,
        "skipped": len(in_queue_) - labelled,
        "left": len(session.items) - len(in_queue_),
    }


# -- the app ---------------------------------------------------------------------------------------------------------


class _Answer(BaseModel):
    model_config = {"extra": "forbid"}

    tab: str = Field(min_length=8, max_length=64)
    item: str
    choice: str | float | None = None  # pairwise "A" / "B" / "tie" as shown (A: left); pointwise a scale value
    note: str | None = Field(None, max_length=10_000)
    verdict_shown: bool = False  # the page showed the judge's verdict before the answer


class _Tab(BaseModel):
    model_config = {"extra": "forbid"}

    tab: str = Field(min_length=8, max_length=64)
    item: str | None = None


def review_app(session: ReviewSession, token: str) -> web.Application:
    """The aiohttp app over a review session; every request must carry `token` (query `token` or the
    X-Jurist-Token header)."""

    @web.middleware
    async def guard(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> Any:
        given = request.headers.get(TOKEN_HEADER) or request.query.get("token") or ""
        if not hmac.compare_digest(given.encode(), token.encode()):
            return web.Response(status=403, text="forbidden: open the URL that jurist review printed")
        try:
            return await handler(request)
        except JuristError as exc:
            return web.json_response({"error": str(exc)}, status=409)
        except (ValidationError, json.JSONDecodeError) as exc:  # a body that is not JSON, or not the request's shape
            why = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else "the body is not JSON"
            return web.json_response({"error": f"bad request: {why}"}, status=400)

    async def headers(request: web.Request, response: web.StreamResponse) -> None:
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"  # the token is in the URL
        response.headers["Cache-Control"] = "no-store"

    async def page(request: web.Request) -> web.Response:
        html = _static("index.html").replace("__TOKEN__", token)  # the token is URL-safe: nothing to escape
        return web.Response(text=html, content_type="text/html")

    async def static(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in STATIC_FILES:
            raise web.HTTPNotFound()
        return web.Response(text=_static(name), content_type=STATIC_FILES[name])

    async def start(request: web.Request) -> web.Response:
        return web.json_response(
            {
                "tab": secrets.token_hex(8),
                "reviewer": session.reviewer,
                "queue": session.queue,
                "mode": session.mode,
                "scale": [{"label": label, "value": value} for label, value in session.scale],
                "show_verdict": session.show_verdict,
                "run": session.run_dir.name,
            }
        )

    def state(tab: str, extra: dict[str, Any] | None = None) -> web.Response:
        claim = session.store.claim_next(session.reviewer, tab, session.items)
        body: dict[str, Any] = {"progress": _progress(session), **(extra or {})}
        if claim is None:
            body["item"] = None
            left = body["progress"]["left"]
            body["message"] = (
                f"every item of the {session.queue} queue is answered"
                if not left
                else f"the {left} items left are open in another tab or with another reviewer; try again later"
            )
            return web.json_response(body)
        visible = session.show_verdict or claim.verdict_shown
        if session.show_verdict and not claim.verdict_shown:
            session.store.mark_verdict_shown(tab, claim.item)
        body["item"] = _item_payload(session, claim.item, visible)
        return web.json_response(body)

    async def next_item(request: web.Request) -> web.Response:
        tab = _Tab(tab=request.query.get("tab", ""))
        return state(tab.tab)

    async def reveal(request: web.Request) -> web.Response:
        asked = _Tab.model_validate(await request.json())
        if asked.item is None or not session.store.mark_verdict_shown(asked.tab, asked.item):
            raise ConfigError("that item is not the one shown on this page (reload the page)")
        return web.json_response({"verdict": _verdict_payload(session, asked.item)})

    async def answer(request: web.Request) -> web.Response:
        given = _Answer.model_validate(await request.json())
        if given.item not in session.verdicts:
            raise ConfigError(f"unknown item {given.item!r}")
        label, order = _stored_label(session, given)
        stored = session.store.answer(
            session.reviewer,
            given.tab,
            given.item,
            label,
            note=given.note,
            shown_order=order,
            verdict_shown=given.verdict_shown,
        )
        previous = {
            "id": stored.item,
            "choice": given.choice,
            "skipped": label is None,
            "verdict": _verdict_payload(session, stored.item),
        }
        return state(given.tab, {"previous": previous})

    async def release(request: web.Request) -> web.Response:
        asked = _Tab.model_validate(await request.json())
        session.store.release(asked.tab)
        return web.json_response({})

    async def undo(request: web.Request) -> web.Response:
        asked = _Tab.model_validate(await request.json())
        taken = session.store.undo(session.reviewer, asked.tab)
        undone = None if taken is None else {"id": taken.item, "label": taken.label, "note": taken.note}
        return state(asked.tab, {"undone": undone})

    judged = session.judge_labels()
    computed: dict[tuple[int, ...], list[dict[str, Any]]] = {}  # the answers' ids -> their agreement

    async def agreement(request: web.Request) -> web.Response:
        answers = [a for a in session.store.labels() if a.item in session.verdicts]
        key = tuple(a.id for a in answers)
        if key not in computed:
            # the bootstraps take a second or two on a thousand items: off the event loop, and once per change
            pairs = await asyncio.to_thread(live_agreement, answers, judged, seed=session.seed)
            computed.clear()
            computed[key] = [pair.model_dump() for pair in pairs]
        return web.json_response(
            {
                "pairs": computed[key],
                "labels": sum(a.label is not None for a in answers),
                "reviewers": session.store.reviewers(),
            }
        )

    app = web.Application(middlewares=[guard], client_max_size=256 * 1024)
    app.on_response_prepare.append(headers)
    app.router.add_get("/", page)
    app.router.add_get("/static/{name}", static)
    app.router.add_post("/api/start", start)
    app.router.add_get("/api/next", next_item)
    app.router.add_post("/api/reveal", reveal)
    app.router.add_post("/api/answer", answer)
    app.router.add_post("/api/undo", undo)
    app.router.add_post("/api/release", release)
    app.router.add_get("/api/agreement", agreement)
    return app


def _stored_label(session: ReviewSession, given: _Answer) -> tuple[LabelValue | None, str | None]:
    """The answer in the item's own terms, and the order shown (pairwise)."""
    if given.choice is None:
        return None, session.order(given.item) if session.mode == "pairwise" else None  # a skip
    if session.mode == "pairwise":
        if given.choice not in ("A", "B", "tie"):
            raise ConfigError(f"a pairwise answer is A, B or tie, not {given.choice!r}")
        order = session.order(given.item)
        return (swap_winner(given.choice) if order == "BA" else given.choice), order
    values = {value for _, value in session.scale}
    if isinstance(given.choice, str) or float(given.choice) not in values:
        raise ConfigError(f"a score is one of {sorted(values)}, not {given.choice!r}")
    return float(given.choice), None


def _static(name: str) -> str:
    return resources.files(__package__).joinpath("static", name).read_text(encoding="utf-8")


# -- serving ---------------------------------------------------------------------------------------------------------


class ReviewOptions(BaseModel):
    """How `jurist review` serves a run."""

    model_config = {"extra": "forbid"}

    queue: Queue = "flagged"
    reviewer: str | None = Field(None, description="a new reviewer's name (unique in the run)")
    resume_as: str | None = Field(None, description="an existing reviewer's name, to continue their queue")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    seed: int = 0
    show_verdict: bool = False


DEFAULT_REVIEWER = "reviewer"


def open_session(run_dir: str | Path, options: ReviewOptions) -> ReviewSession:
    """Check the run and the queue, then register (or resume) the reviewer: nothing is written for a run that
    cannot be reviewed."""
    if options.reviewer is not None and options.resume_as is not None:
        raise ConfigError("give --reviewer NAME (a new reviewer) or --resume-as NAME (an existing one), not both")
    mode, items, verdicts, scale = load_queue(run_dir, options.queue)
    store = ReviewStore.of_run(run_dir)
    try:
        if options.resume_as is not None:
            reviewer = store.resume(options.resume_as)
            store.release_reviewer(reviewer)  # the pages of the stopped server hold no item any more
        elif options.reviewer is not None:
            reviewer = store.register(options.reviewer)
        elif known := store.reviewers():
            raise ConfigError(
                f"this run has reviewers already ({', '.join(known)}): continue with --resume-as NAME, or start "
                "a new one with --reviewer NAME"
            )
        else:
            reviewer = store.register(DEFAULT_REVIEWER)
    except BaseException:
        store.close()
        raise
    return ReviewSession(
        run_dir=Path(run_dir),
        mode=mode,
        queue=options.queue,
        reviewer=reviewer,
        seed=options.seed,
        show_verdict=options.show_verdict,
        scale=scale,
        items=items,
        verdicts=verdicts,
        store=store,
    )


async def aserve_review(
    run_dir: str | Path,
    options: ReviewOptions | None = None,
    *,
    on_ready: Callable[[str, ReviewSession], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve the review of the run in `run_dir` until `stop` is set (or the task is cancelled: Ctrl-C). The run,
    the queue and the reviewer are checked before the server listens (`open_session`); `on_ready` then gets the URL
    with its token, and the session."""
    options = options or ReviewOptions()
    session = open_session(run_dir, options)
    token = secrets.token_urlsafe(24)
    runner = web.AppRunner(review_app(session, token), access_log=None)
    try:
        await runner.setup()
        site = web.TCPSite(runner, options.host, options.port)
        try:
            await site.start()
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {options.host}:{options.port}: {exc.strerror or exc}; choose another --port "
                "(0: a free one)"
            ) from exc
        host, port = runner.addresses[0][:2]
        if on_ready is not None:
            on_ready(f"http://{host}:{port}/?token={token}", session)
        with contextlib.suppress(asyncio.CancelledError):
            await (stop or asyncio.Event()).wait()
    finally:
        await runner.cleanup()
        session.store.close()


serve_review = sync_twin(aserve_review)
