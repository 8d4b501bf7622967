"""A backend that answers with model outputs recorded earlier instead of calling a model.

Published judge transcripts (LLMBar's GPT-4 verdicts, for one) can be replayed through jurist's own judges, so
its prompts-to-verdict path, parser and statistics are checked against published figures without any model.

A record names the texts that identify a request, in the order they are shown (the prompt, then the response
shown first, then the one shown second, ...), and the completion the model gave. A request gets the completion
of the record whose texts all occur in its last user message, in that order. A pairwise record may also name the
presentation order it answers ("AB" or "BA"): it then answers only requests in that order, so two orders stay
apart when their texts cannot tell them apart (identical responses, an empty one, or one as short as "A", which
the template's own headings contain). Requests no record matches fail with a `replay_miss` error: a replay never
makes an answer up.

Replayed answers cost nothing and their token counts are unknown, so every response reports one call and zero
tokens. There are no logprobs, no structured output and no prefill: the judge reads the recorded text as it is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import BackendError, ConfigError, InputError
from ..files import open_text, parse_json, read_text
from ..types import Usage
from .base import Capabilities, GenerateRequest, GenerateResponse, Message


class ReplayRecord(BaseModel):
    """One recorded model output and the texts, in the order shown, that identify the request it answered."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    texts: list[str] = Field(min_length=1)
    completion: str
    # pairwise: the presentation order this completion answers (AB: response_a shown first); None for any
    order: Literal["AB", "BA"] | None = None

    @field_validator("texts")
    @classmethod
    def _something_to_match(cls, texts: list[str]) -> list[str]:
        # An empty text occurs everywhere; a record made only of them would answer any request.
        if not any(texts):
            raise ValueError("needs at least one non-empty text to recognise its request by")
        return texts

    def match_length(self, message: str) -> int | None:
        """Characters matched when every text occurs in `message` in the record's order (each one searched
        after the end of the previous one), else None."""
        at = 0
        for text in self.texts:
            found = message.find(text, at)
            if found == -1:
                return None
            at = found + len(text)
        return sum(len(t) for t in self.texts)


class ReplayBackend:
    """Answers each request with the completion of the recorded request it matches.

    Among the records whose texts all occur in the last user message in order (and whose order, where they name
    one, is the request's), the one matching the most texts wins, then the one matching the most characters.
    Records tied on both with different completions make the request ambiguous, and it fails (`replay_ambiguous`)
    rather than take one of them at random.
    """

    def __init__(self, records: Iterable[ReplayRecord | dict[str, object]], *, name: str = "replay") -> None:
        self.name = name
        self.records = [r if isinstance(r, ReplayRecord) else ReplayRecord.model_validate(r) for r in records]
        # Nothing is computed: many requests in flight cost nothing.
        self.capabilities = Capabilities(logprobs=False, json_schema=False, grammar=False, prefill=False, recorded=True)

    @classmethod
    def from_file(cls, path: str | Path) -> ReplayBackend:
        """Records from a JSONL file, one `{"texts": [...], "completion": "...", "order": "AB"}` a line (order
        optional; the `replay:PATH` spec)."""
        # The content hash is part of the name (and so of cache keys): two recordings that share a file name
        # must never answer for each other from the response cache.
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:8] if Path(path).is_file() else "missing"
        return cls(load_replay_records(path), name=f"replay:{Path(path).name}@{digest}")

    def find(self, message: str, order: Literal["AB", "BA"] | None = None) -> ReplayRecord:
        """The record that answers a request whose last user message is `message`, shown in `order` (pairwise);
        BackendError if none does."""
        best: list[ReplayRecord] = []
        best_score = (0, 0)
        for record in self.records:
            if record.order is not None and order is not None and record.order != order:
                continue
            length = record.match_length(message)
            if length is None:
                continue
            score = (len(record.texts), length)
            if score > best_score:
                best, best_score = [record], score
            elif score == best_score:
                best.append(record)
        if not best:
            raise BackendError(
                f"no recorded completion for this request: none of the {len(self.records)} records of {self.name} "
                f"has all its texts in the last user message, in order (message begins {message[:80]!r}); "
                "replay the same data the completions were recorded for, or add a record for this item",
                reason="replay_miss",
            )
        if len({r.completion for r in best}) > 1:
            raise BackendError(
                f"{len(best)} records of {self.name} match this request equally well and recorded different "
                f"completions (message begins {message[:80]!r}); make their texts tell the requests apart, "
                'e.g. add the prompt as the first text, and to pairwise records their "order" ("AB" or "BA")',
                reason="replay_ambiguous",
            )
        return best[0]

    def count_tokens(self, messages: tuple[Message, ...]) -> int | None:
        return None

    async def generate(self, request: GenerateRequest) -> GenerateResponse:
        users = [m.content for m in request.messages if m.role == "user"]
        if not users:
            raise BackendError("a replayed request needs a user message to match records against", reason="replay_miss")
        record = self.find(users[-1], request.order)
        # One call, no tokens: a replay spends nothing and does not know what the recorded call cost.
        return GenerateResponse(text=record.completion, usage=Usage(calls=1), finish_reason="stop")

    async def aclose(self) -> None:
        return None


def load_replay_records(path: str | Path) -> list[ReplayRecord]:
    """Records from a JSONL file; a bad line is an InputError naming it."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(
            f"replay file {file} does not exist; give replay:PATH a JSONL file of {{texts, completion}} records"
        )
    records = []
    with open_text(file) as lines:  # UTF-8 with or without a byte-order mark; bad bytes name the line
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                records.append(ReplayRecord.model_validate_json(line))
            except ValidationError as exc:
                first = exc.errors()[0]
                raise InputError(
                    f"not a replay record: {first['msg']}",
                    file=str(file),
                    line=number,
                    field=".".join(str(p) for p in first["loc"]) or None,
                    hint='each line is {"texts": ["text shown first", "text shown second"], "completion": "..."}',
                ) from None
    if not records:
        raise InputError("holds no records", file=str(file), hint="record at least one {texts, completion} line")
    return records


# LLMBar's names for the two presentation orders of a result row: "swap = True" showed output_2 first.
LLMBAR_ORDERS: dict[str, Literal["AB", "BA"]] = {"swap = False": "AB", "swap = True": "BA"}


class LLMBarResult(BaseModel):
    """One row of an LLMBar `result.json`: the item's texts, and the judge's completion in each order."""

    line: int  # the row's number in the file, from 1
    input: str
    output_1: str
    output_2: str
    completions: dict[Literal["AB", "BA"], str]


def llmbar_results(result_json_path: str | Path) -> list[LLMBarResult]:
    """The rows of an LLMBar `evaluators/<judge>/<strategy>/result.json`, in the file's (and the data set's) order."""
    file = Path(result_json_path)
    try:
        text = read_text(file)
    except OSError as exc:
        raise InputError(f"cannot read LLMBar results: {exc}", file=str(file)) from None
    rows = parse_json(text, file=str(file), hint="give LLMBar's evaluators/<judge>/<strategy>/result.json as released")
    if not isinstance(rows, list):
        raise InputError("an LLMBar result.json holds a list of rows", file=str(file), line=1)
    results = []
    for number, row in enumerate(rows, start=1):
        try:
            recorded = row["results"][0]
            results.append(
                LLMBarResult(
                    line=number,
                    input=row["input"],
                    output_1=row["output_1"],
                    output_2=row["output_2"],
                    completions={order: recorded[key]["completion"][0] for key, order in LLMBAR_ORDERS.items()},
                )
            )
        except (KeyError, IndexError, TypeError, ValidationError) as exc:
            raise InputError(
                f"not an LLMBar result row ({type(exc).__name__}: {exc})",
                file=str(file),
                line=number,
                hint='rows need input, output_1, output_2 and results[0]["swap = False"|"swap = True"].completion',
            ) from None
    return results


def llmbar_records(result_json_path: str | Path) -> list[ReplayRecord]:
    """Records of the GPT-4 verdicts in an LLMBar `evaluators/<judge>/<strategy>/result.json`.

    Each item gives two records, one per presentation order: "swap = False" showed output_1 first (AB) and
    "swap = True" showed output_2 first (BA); each record names its order. The item's input is the first text,
    so outputs quoted in the input cannot be mistaken for the responses.
    """
    records = []
    for row in llmbar_results(result_json_path):
        for order, completion in row.completions.items():
            first, second = (row.output_1, row.output_2) if order == "AB" else (row.output_2, row.output_1)
            try:
                records.append(ReplayRecord(texts=[row.input, first, second], completion=completion, order=order))
            except ValidationError:
                raise InputError(
                    "the row's input and outputs are all empty: nothing to recognise its requests by",
                    file=str(result_json_path),
                    line=row.line,
                ) from None
    return records
