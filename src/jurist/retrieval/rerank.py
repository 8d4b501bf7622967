"""Reranking the top-k of a run with a judge: by pointwise relevance grades, by pairwise comparisons (sort or adaptive
ranking from `jurist.ranking`), or listwise with a RankGPT-style sliding window. `jurist rerank` is this from the
command line.

Every method judges through the engine (`ajudge`) into a resumable run directory, so re-running the same call asks
the model nothing again. The documents below the top `depth` keep their order under the reranked ones.

Listwise: windows of `window` passages slide from the bottom of the top-k to the top, `step` positions at a time
(so the best passages are carried upwards); each window is one prompt listing the passages as [1]..[n], and the
model answers a permutation "[2] > [1] > ...". Options: `shuffle_window` shows each window in a seeded random order
(a control for the model copying the order it is shown), `both_orders` asks each window twice, as given and
reversed, and ranks by the mean position of the two answers (a control for position bias).
"""

from __future__ import annotations

import functools
import hashlib
import random
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, Field

from ..api import ajudge, sync_twin
from ..backends import Backend
from ..backends.base import GenerateRequest, Message
from ..errors import BackendError, ConfigError, InputError
from ..files import open_text, write_atomic
from ..judges import JudgeConfig, make_judge
from ..judges.base import JudgeSpec
from ..outcomes import Ranking, Score
from ..prompts import prompt_set
from ..ranking import METHODS as RANK_METHODS
from ..run.engine import JobOptions
from ..strategies.ranking import PairwiseRanking
from ..types import Item, Usage, Verdict
from .metrics import MIN_RELEVANT, RunScores, evaluate_run
from .relevance import relevance_config, relevance_items
from .trec import Passage, Qrel, Query, RunEntry, read_run, run_table

Method = Literal["pointwise", "pairwise", "listwise"]
METHODS: tuple[Method, ...] = get_args(Method)
RERANKED_FILE = "reranked.run"
REPORT_FILE = "rerank_report.json"
PAIRWISE_TEMPLATE = "rerank_pairwise"
LISTWISE_JUDGE = "rerank_listwise"


# -- the listwise window: which windows, and reading the model's permutation -------------------------------------


def windows(n: int, window: int, step: int) -> list[tuple[int, int]]:
    """The windows (start, end), 0-based and end exclusive, over the top `n`, in the order they are asked: the first
    ends at the bottom (n), each next one `step` higher, the last starts at the top (0). With step < window every
    window holds at least 2 passages; n <= window is one window."""
    check_window(window, step)
    found: list[tuple[int, int]] = []
    end = n
    while n >= 2:
        start = max(0, end - window)
        found.append((start, end))
        if start == 0:
            break
        end -= step
    return found


def check_window(window: int, step: int) -> None:
    if window < 2:
        raise ConfigError(f"the listwise window must hold at least 2 passages, got --window {window}")
    if not 1 <= step < window:
        raise ConfigError(
            f"the listwise step must be at least 1 and smaller than the window ({window}), got --step {step}: "
            "consecutive windows must overlap so that a good passage can climb from one to the next"
        )


class Permutation(BaseModel):
    """A model's ranking of a window of `size` passages: `order` lists 0-based positions best first (always a whole
    permutation). `failure` says why nothing could be read (then `order` is the window as shown); `dropped` counts
    identifiers that were repeated or out of range, `missing` those appended in their shown order."""

    order: list[int]
    failure: str | None = None
    dropped: int = 0
    missing: int = 0


_BRACKETED = re.compile(r"\[\s*(\d+)\s*\]")
_NUMBER = re.compile(r"\d+")


def parse_permutation(text: str, size: int) -> Permutation:
    """Read "[2] > [1] > [3]" (or, with no brackets anywhere, "2 > 1 > 3") as a permutation of `size` passages.
    Identifiers keep their first mention; repeated and unknown ones are dropped; those never mentioned are appended
    in the order shown. An answer with no usable identifier keeps the shown order and says why (`failure`)."""
    ids = [int(x) for x in _BRACKETED.findall(text)]
    if not ids and ">" in text:
        ids = [int(x) for x in _NUMBER.findall(text)]
    order: list[int] = []
    dropped = 0
    for number in ids:
        if 1 <= number <= size and number - 1 not in order:
            order.append(number - 1)
        else:
            dropped += 1
    if not order:
        reason = "an empty answer" if not text.strip() else f"no passage identifier [1]..[{size}] in the answer"
        return Permutation(order=list(range(size)), failure=reason, dropped=dropped)
    missing = [k for k in range(size) if k not in order]
    return Permutation(order=order + missing, dropped=dropped, missing=len(missing))


class ListwiseReranker:
    """A judge of listwise items (prompt: the query; responses: the top-k passages in first-stage order) that
    reranks them with sliding windows. Its verdict's Ranking lists 1-based positions best first; `strategy` keeps
    each window's answers and the failures (a window that could not be read, or whose call failed, keeps its order
    and is counted)."""

    def __init__(
        self,
        backend: Backend,
        *,
        window: int = 20,
        step: int = 10,
        shuffle_window: bool = False,
        both_orders: bool = False,
        seed: int = 0,
        max_tokens: int | None = None,
        temperature: float = 0.0,
    ) -> None:
        check_window(window, step)
        self.backend = backend
        self.window, self.step = window, step
        self.shuffle_window, self.both_orders = shuffle_window, both_orders
        self.seed = seed
        # "[12] > " is about 5 tokens a passage
        self.max_tokens = max_tokens or 6 * window + 8
        self.temperature = temperature
        self.prompts = prompt_set("rerank")

    @functools.cached_property
    def spec(self) -> JudgeSpec:
        prompt = self.prompts.text("listwise")
        return JudgeSpec(
            mode="listwise",
            identity={
                "judge": LISTWISE_JUDGE,
                "backend": self.backend.name,
                "base_url": getattr(self.backend, "base_url", None),
                "prompt": hashlib.sha256(prompt.encode()).hexdigest()[:16],
                "window": self.window,
                "step": self.step,
                "shuffle_window": self.shuffle_window,
                "both_orders": self.both_orders,
                "seed": self.seed,
                "max_tokens": self.max_tokens,
                "temperature": self.temperature,
            },
        )

    async def __call__(self, item: Item) -> Verdict:
        passages = item.responses or []
        order = list(range(len(passages)))  # position -> index into passages
        asked: list[dict[str, Any]] = []
        failures: list[str] = []
        raw: list[str] = []
        usage = Usage()
        for start, end in windows(len(passages), self.window, self.step):
            part = order[start:end]
            shown = list(range(len(part)))
            if self.shuffle_window:
                random.Random(f"{self.seed}/{item.id}/{start}").shuffle(shown)
            presentations = [shown, shown[::-1]] if self.both_orders else [shown]
            positions = [0.0] * len(part)
            for presented in presentations:
                answer = await self._ask(item.prompt, [passages[part[k]] for k in presented])
                usage = usage + answer["usage"]
                raw.append(answer["text"])
                where = f"window {start + 1}-{end}"
                if answer["failure"] is not None:
                    failures.append(f"{where}: {answer['failure']}")
                    ranked = list(range(len(part)))  # an unreadable answer keeps the window's order
                else:
                    ranked = [presented[k] for k in answer["order"]]
                for rank, k in enumerate(ranked):
                    positions[k] += rank / len(presentations)
                asked.append({"window": [start + 1, end], "shown": [part[k] + 1 for k in presented], **answer["brief"]})
            # mean position over the presentations; ties keep the window's order
            order[start:end] = [part[k] for k in sorted(range(len(part)), key=lambda k: (positions[k], k))]
        record = {"name": LISTWISE_JUDGE, "windows": asked, "failures": failures}
        return Verdict(
            id=item.id,
            mode="listwise",
            outcome=Ranking(ranking=[k + 1 for k in order]),
            usage=usage,
            raw=raw,
            strategy=record,
        )

    async def _ask(self, query: str, texts: list[str]) -> dict[str, Any]:
        prompt = self.prompts.render("listwise", query=query, passages=texts)
        request = GenerateRequest(
            messages=(Message(role="user", content=prompt),),
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            seed=self.seed,
        )
        try:
            reply = await self.backend.generate(request)
        except BackendError as exc:
            if exc.fatal:
                raise
            failure = f"the call failed ({exc.reason}: {exc})"
            return {"text": "", "usage": Usage(), "failure": failure, "order": None, "brief": {"failure": failure}}
        read = parse_permutation(reply.text, len(texts))
        brief = {"order": [k + 1 for k in read.order], "dropped": read.dropped, "missing": read.missing}
        if read.failure is not None:
            brief["failure"] = read.failure
        return {"text": reply.text, "usage": reply.usage, "failure": read.failure, "order": read.order, "brief": brief}


# -- the reranking ----------------------------------------------------------------------------------------------


class QueryRerank(BaseModel):
    query_id: str
    reranked: int  # documents reranked (the top `depth`, or fewer)
    calls: int
    tokens: int
    failures: list[str] = Field(default_factory=list)


class RerankReport(BaseModel):
    """What `rerank` did, and how good the run was before and after; also written to REPORT_FILE."""

    method: Method
    depth: int
    settings: dict[str, Any]  # the method's own: rank_by/rank_budget (pairwise), window/step/controls (listwise)
    queries: int  # queries in the run
    reranked_queries: int  # of those, the ones with at least 2 documents to rerank (the others are left as they are)
    calls: int
    tokens: int
    calls_per_query: float  # over the reranked queries
    tokens_per_query: float
    failures: int  # pointwise: passages with no grade; pairwise: failed comparisons; listwise: unreadable windows
    failure_reasons: list[str]
    per_query: list[QueryRerank]
    before: RunScores | None = None  # with human qrels: the first-stage run
    after: RunScores | None = None  # and the reranked one
    run_file: str


class RerankResult(BaseModel):
    run: list[RunEntry]
    report: RerankReport


def read_run_for(
    path: str | Path, queries: Mapping[str, Query], passages: Mapping[str, Passage], depth: int
) -> list[RunEntry]:
    """A run file to rerank: every query must be among `queries` and every document of each query's top `depth`
    among `passages` (an InputError names the file and line); documents lower down need no text."""
    entries = read_run(path, queries)
    for query_id, docs in run_table(entries).items():
        for doc_id in docs[:depth]:
            if doc_id not in passages:
                raise InputError(
                    f"unknown passage '{doc_id}' (query '{query_id}')",
                    file=str(path),
                    line=_line_of(Path(path), query_id, doc_id),
                    field="docid",
                    hint="the passages file must hold every document of the top --depth of each query",
                )
    return entries


def _line_of(path: Path, query_id: str, doc_id: str) -> int | None:
    with open_text(path) as fh:
        for number, line in enumerate(fh, start=1):
            fields = line.split()
            if len(fields) == 6 and fields[0] == query_id and fields[2] == doc_id:
                return number
    return None


async def arerank(
    run: Sequence[RunEntry],
    queries: Mapping[str, Query],
    passages: Mapping[str, Passage],
    *,
    out: str | Path,
    method: Method = "pointwise",
    depth: int = 10,
    human: Sequence[Qrel] | None = None,
    config: JudgeConfig | None = None,
    model: str | Backend | None = None,
    options: JobOptions | None = None,
    rank_by: str = "sort",
    rank_budget: int | None = None,
    window: int = 20,
    step: int = 10,
    shuffle_window: bool = False,
    both_orders: bool = False,
    seed: int = 0,
    min_relevant: int = MIN_RELEVANT,
    on_start: Callable[[int, int], None] | None = None,
    on_verdict: Callable[[Verdict], None] | None = None,
) -> RerankResult:
    """Rerank each query's top `depth` documents of `run` with the judge (`method`), into the run directory `out`
    (resumable), and write `out/reranked.run` (tag `jurist-METHOD`) and `out/rerank_report.json`.

    pointwise: each passage graded for relevance (`config`, default `relevance_config()`), sorted by the
    probability-weighted grade where the backend gives logprobs, else by the grade; ties, and passages with no grade
    (placed below the graded ones), keep their first-stage order. pairwise: `rank_by` "sort" (merge sort) or
    "adaptive" (within `rank_budget` comparisons; "knockout" and "all_pairs" work too) with a pairwise judge (`config`,
    default the `rerank_pairwise` template). listwise: sliding windows (`window`, `step`, `shuffle_window`,
    `both_orders`; `config` gives only max_tokens, temperature and seed). With `human` qrels the report has
    nDCG@10 and MAP of the run before and after."""
    if method not in METHODS:
        raise ConfigError(f"unknown rerank method {method!r}; choose one of {', '.join(METHODS)}")
    if depth < 1:
        raise ConfigError(f"--depth must be at least 1, got {depth}")
    if method == "listwise":
        check_window(window, step)
    if method == "pairwise" and rank_by not in RANK_METHODS:
        raise ConfigError(f"unknown --rank-by {rank_by!r}; choose one of {', '.join(RANK_METHODS)}")
    if rank_budget is not None and (method != "pairwise" or rank_by != "adaptive"):
        raise ConfigError("--rank-budget is for --method pairwise with --rank-by adaptive")
    if not run:
        raise InputError("the run has no lines: there is nothing to rerank", field="run")
    table = run_table(run)
    for query_id, docs in table.items():
        if query_id not in queries:
            raise InputError(f"unknown query '{query_id}'", field="qid", hint="give the queries the run was made for")
        for doc_id in docs[:depth]:
            if doc_id not in passages:
                raise InputError(f"unknown passage '{doc_id}' (query '{query_id}')", field="docid")
    tops = {q: docs[:depth] for q, docs in table.items() if len(docs[:depth]) >= 2}
    orders: dict[str, list[str]]
    per_query: list[QueryRerank]
    settings: dict[str, Any]

    if not tops:
        orders, per_query, settings = {}, [], {}
    elif method == "pointwise":
        pairs = [(q, d) for q, docs in tops.items() for d in docs]
        judged = await ajudge(
            relevance_items(queries, passages, pairs),
            out=out,
            config=config or relevance_config(),
            model=model,
            options=options,
            on_start=on_start,
            on_verdict=on_verdict,
        )
        by_id = {v.id: v for v in judged.verdicts()}
        orders, per_query = _by_grades(tops, by_id)
        settings = {}
    else:
        items = [
            Item(
                id=q,
                prompt=queries[q].text,
                responses=[passages[d].text for d in docs],
                metadata={"query_id": q, "doc_ids": list(docs)},
            )
            for q, docs in tops.items()
        ]
        if method == "pairwise":
            pair_config = config or JudgeConfig(mode="pairwise", template=PAIRWISE_TEMPLATE, seed=seed)
            if pair_config.mode != "pairwise":
                raise ConfigError(f"--method pairwise needs a pairwise judge configuration, got {pair_config.mode}")

            def factory(backend: Backend) -> Any:
                return PairwiseRanking(make_judge(backend, pair_config), rank_by, budget=rank_budget)

            settings = {"rank_by": rank_by, "rank_budget": rank_budget, "swap": pair_config.swap}
        else:
            base = config or JudgeConfig(mode="listwise")

            def factory(backend: Backend) -> Any:
                return ListwiseReranker(
                    backend,
                    window=window,
                    step=step,
                    shuffle_window=shuffle_window,
                    both_orders=both_orders,
                    seed=seed,
                    max_tokens=base.max_tokens,
                    temperature=base.temperature,
                )

            settings = {"window": window, "step": step, "shuffle_window": shuffle_window, "both_orders": both_orders}
        judged = await ajudge(
            items, out=out, judge=factory, model=model, options=options, on_start=on_start, on_verdict=on_verdict
        )
        by_id = {v.id: v for v in judged.verdicts()}
        orders, per_query = _by_rankings(tops, by_id)

    reranked = _reranked_run(table, orders, f"jurist-{method}")
    write_atomic(Path(out) / RERANKED_FILE, "".join(_run_line(e) for e in reranked))
    calls = sum(q.calls for q in per_query)
    tokens = sum(q.tokens for q in per_query)
    n = max(1, len(per_query))
    report = RerankReport(
        method=method,
        depth=depth,
        settings=settings,
        queries=len(table),
        reranked_queries=len(per_query),
        calls=calls,
        tokens=tokens,
        calls_per_query=calls / n,
        tokens_per_query=tokens / n,
        failures=sum(len(q.failures) for q in per_query),
        failure_reasons=[f"{q.query_id}: {reason}" for q in per_query for reason in q.failures],
        per_query=per_query,
        before=None if human is None else evaluate_run(run, human, min_relevant=min_relevant),
        after=None if human is None else evaluate_run(reranked, human, min_relevant=min_relevant),
        run_file=str(Path(out) / RERANKED_FILE),
    )
    write_atomic(Path(out) / REPORT_FILE, report.model_dump_json(indent=2))
    return RerankResult(run=reranked, report=report)


rerank = sync_twin(arerank)


def _by_grades(
    tops: Mapping[str, list[str]], verdicts: Mapping[str, Verdict]
) -> tuple[dict[str, list[str]], list[QueryRerank]]:
    orders: dict[str, list[str]] = {}
    per_query: list[QueryRerank] = []
    for q, docs in tops.items():
        keys: dict[str, float | None] = {}
        usage, failures = Usage(), []
        for d in docs:
            verdict = verdicts.get(f"{q}/{d}")
            value = None
            if verdict is not None:
                usage = usage + verdict.usage
                outcome = verdict.outcome
                value = outcome.value() if isinstance(outcome, Score) else None
            if value is None:
                failures.append(f"{d}: " + _reason(verdict))
            keys[d] = value
        # graded passages by grade (highest first), then the failed ones; ties in first-stage order (sort is stable)
        orders[q] = sorted(docs, key=lambda d: (keys[d] is None, -(keys[d] or 0.0)))
        per_query.append(_query(q, docs, usage, failures))
    return orders, per_query


def _by_rankings(
    tops: Mapping[str, list[str]], verdicts: Mapping[str, Verdict]
) -> tuple[dict[str, list[str]], list[QueryRerank]]:
    orders: dict[str, list[str]] = {}
    per_query: list[QueryRerank] = []
    for q, docs in tops.items():
        verdict = verdicts.get(q)
        failures: list[str] = []
        usage = Usage() if verdict is None else verdict.usage
        record = (verdict.strategy or {}) if verdict is not None else {}
        # pairwise: comparisons that failed (each counted as a tie); listwise: windows that could not be read
        failures += [str(x) for x in record.get("errors", []) + record.get("failures", [])]
        ranking = verdict.outcome.ranking if verdict is not None and isinstance(verdict.outcome, Ranking) else None
        if ranking is None or sorted(ranking) != list(range(1, len(docs) + 1)):
            failures.append(_reason(verdict) if ranking is None else f"not a ranking of {len(docs)}: {ranking}")
            orders[q] = list(docs)
        else:
            orders[q] = [docs[p - 1] for p in ranking]
        per_query.append(_query(q, docs, usage, failures))
    return orders, per_query


def _reason(verdict: Verdict | None) -> str:
    if verdict is None:
        return "not judged (the session stopped early)"
    if verdict.error is not None:
        return f"{verdict.error.reason}: {verdict.error.message}"
    return "no grade"


def _query(query_id: str, docs: list[str], usage: Usage, failures: list[str]) -> QueryRerank:
    return QueryRerank(
        query_id=query_id, reranked=len(docs), calls=usage.calls, tokens=usage.total_tokens, failures=failures
    )


def _reranked_run(table: Mapping[str, list[str]], orders: Mapping[str, list[str]], tag: str) -> list[RunEntry]:
    entries: list[RunEntry] = []
    for q, docs in table.items():
        top = orders.get(q)
        ranked = docs if top is None else top + docs[len(top) :]
        entries += [
            RunEntry(query_id=q, doc_id=d, rank=i + 1, score=float(len(ranked) - i), tag=tag)
            for i, d in enumerate(ranked)
        ]
    return entries


def _run_line(entry: RunEntry) -> str:
    return f"{entry.query_id} Q0 {entry.doc_id} {entry.rank} {entry.score:g} {entry.tag}\n"
