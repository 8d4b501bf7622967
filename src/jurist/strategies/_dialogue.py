"""What the talking strategies (debate, peer discussion) share: checking their judges, adding a turn of
conversation to a judge's own prompt, and reading an answer with the judge's own parsing."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from ..backends.base import GenerateRequest, GenerateResponse, Message
from ..errors import BackendError, ConfigError, ParseError
from ..judges import pairwise, pointwise
from ..judges.base import Judge, LLMJudge
from ..outcomes import Preference, Score
from ..parse import label_probabilities
from ..types import ErrorInfo, Item, Usage, Verdict

TALKING_MODES = ("pairwise", "pointwise")


def model_judges(strategy: str, judges: Sequence[Judge]) -> list[LLMJudge]:
    """The judges, checked: each must be a model judge (its prompt is extended turn by turn) and judge pairwise
    or pointwise; all the same mode."""
    checked: list[LLMJudge] = []
    for j in judges:
        if not isinstance(j, LLMJudge):
            raise ConfigError(
                f"{strategy}: every judge must be a model judge (an LLMJudge, e.g. from make_judge), since it talks "
                f"to its model turn by turn; got {type(j).__name__}"
            )
        if j.mode not in TALKING_MODES:
            raise ConfigError(f"{strategy} supports pairwise and pointwise judges, not {j.mode}")
        if getattr(j.config, "turn_scope", "final") != "final":
            raise ConfigError(
                f"{strategy} talks about one prompt per item, so it takes judges with turn_scope 'final' only"
            )
        checked.append(j)
    modes = {j.mode for j in checked}
    if len(modes) > 1:
        raise ConfigError(f"{strategy}: all judges must judge the same mode, got {sorted(modes)}")
    scales = {
        tuple((o.label, o.value) for o in j.scale.options) for j in checked if isinstance(j, pointwise.PointwiseJudge)
    }
    if len(scales) > 1:
        raise ConfigError(f"{strategy}: pointwise judges must share one scale, so their verdicts can be compared")
    return checked


def prompt_hash(*texts: str) -> str:
    """A short hash of a strategy's own prompt texts, kept in its settings so a reworded prompt is a new judge."""
    return hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:12]


def base_request(judge: LLMJudge, item: Item) -> GenerateRequest:
    """The request the judge itself would send for the item (pairwise: the first order, A then B)."""
    return judge.requests(item)[0]


def extended(request: GenerateRequest, note: str, *, free_text: bool) -> GenerateRequest:
    """The request with `note` added to its last user message (or as a new user message).

    `free_text` drops the answer constraints (JSON schema, prefill, logprobs) for a turn written in prose;
    otherwise the judge's answer format and decoding settings are kept as they are.
    """
    messages = list(request.messages)
    if messages and messages[-1].role == "user":
        messages[-1] = Message(role="user", content=f"{messages[-1].content}\n\n{note}")
    else:
        messages.append(Message(role="user", content=note))
    update: dict[str, object] = {"messages": tuple(messages)}
    if free_text:
        update.update(json_schema=None, prefill="", top_logprobs=0)
    return request.model_copy(update=update)


def labels(judge: LLMJudge) -> list[str]:
    """The verdict labels as the judge's template spells them."""
    if isinstance(judge, pairwise.PairwiseJudge):
        return judge.labels
    assert isinstance(judge, pointwise.PointwiseJudge)
    return judge.scale.labels


def label_of(judge: LLMJudge, verdict: Verdict) -> str | None:
    """A verdict's decision written as the judge's label (pairwise `tie` as the template's tie label)."""
    if verdict.error is not None:
        return None
    if isinstance(judge, pairwise.PairwiseJudge):
        winner = verdict.outcome_as(Preference).winner
        return None if winner is None else judge.answer_format.label(winner)
    return verdict.outcome_as(Score).choice


def read(judge: LLMJudge, item: Item, response: GenerateResponse) -> Verdict:
    """A verdict from an answer in the judge's normal format (the first order for pairwise), read with the
    judge's own patterns; a ParseError when it holds none."""
    text = response.text
    if isinstance(judge, pairwise.PairwiseJudge):
        found = judge.answer_format.read(text)
        probs = label_probabilities(response, found.offset, judge.labels)
        return Verdict(
            id=item.id,
            mode="pairwise",
            outcome=Preference(
                winner=judge.to_winner(found.value),
                probs=None if probs is None else {judge.to_winner(k): v for k, v in probs.items()},
            ),
            rationale=found.rationale,
            raw=[text],
            usage=response.usage,
        )
    assert isinstance(judge, pointwise.PointwiseJudge)
    found = judge.scale.read(text)
    return Verdict(
        id=item.id,
        mode="pointwise",
        outcome=judge.score_of(found, response),
        rationale=found.rationale,
        raw=[text],
        usage=response.usage,
    )


def stance(judge: LLMJudge, text: str) -> str | None:
    """The verdict a prose turn ends with ("[[B]]", "verdict: 4"), or None if it states none."""
    try:
        if isinstance(judge, pairwise.PairwiseJudge):
            found = judge.answer_format.read(text)
        else:
            assert isinstance(judge, pointwise.PointwiseJudge)
            found = judge.scale.read(text)
    except ParseError:
        return None
    return found.value


def failure(item: Item, judge: LLMJudge, exc: BackendError | ParseError, usage: Usage, raw: list[str]) -> Verdict:
    """A failed verdict for one talker, keeping the texts and tokens it had spent."""
    if isinstance(exc, ParseError):
        error = ErrorInfo(reason="parse_failure", message=str(exc))
    else:
        error = ErrorInfo(reason=exc.reason, message=str(exc), retryable=exc.retryable)
    verdict = Verdict(id=item.id, mode=judge.mode, error=error, raw=list(raw), usage=usage)
    verdict.judge_fingerprint = judge.fingerprint
    return verdict


def reasoning(verdict: Verdict) -> str:
    """What a judge said for its verdict: its rationale, else its first raw text."""
    if verdict.rationale:
        return verdict.rationale.strip()
    return verdict.raw[0].strip() if verdict.raw else "(no reasons given)"


async def ask(judge: LLMJudge, request: GenerateRequest) -> GenerateResponse | BackendError:
    """One call to the judge's model; a failure is returned, not raised (a fatal one stops the run)."""
    try:
        return await judge.backend.generate(request)
    except BackendError as exc:
        if exc.fatal:
            raise
        return exc
