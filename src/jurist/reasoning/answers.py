"""Answer equivalence: does a free-form final answer match the reference? A deterministic normaliser decides first
(multiple-choice letters, numbers with commas, percent, fractions and units, simple algebraic expressions, text
that matches once normalised); a model is asked only when it cannot (`EquivalenceJudge`). Every verdict records
which path decided (`Verdict.strategy["path"]`).

The algebra is read by a small parser of our own (numbers, one-letter variables, + - * / ^, parentheses, implicit
products such as 2x): nothing is ever evaluated as Python. Two expressions are equal when they agree at several
fixed points, different when they disagree at one.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
from collections import Counter
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from .. import files
from ..api import ajudge, sync_twin
from ..backends.base import Backend
from ..data.load import DataSource, load_data
from ..errors import BackendError, InputError
from ..judges.base import JudgeSpec
from ..judges.labels import ask_label, reads_probabilities
from ..outcomes import Score
from ..prompts import prompt_set
from ..run.engine import JobOptions
from ..run.log import read_run
from ..types import ErrorInfo, Item, Verdict

Result = Literal["equal", "different", "undecided"]
DecidedBy = Literal["choice", "number", "algebra", "text", "judge", "none"]
REPORT_FILE = "equivalence.json"
STRATEGY = "answer-equivalence"


class AnswerMatch(BaseModel):
    """What the normaliser (or the judge) decided about one answer, and by which path."""

    result: Result
    path: DecidedBy
    detail: str = ""


# -- normalising -------------------------------------------------------------------------------------------

_PREFIX = re.compile(r"^(?:the\s+)?(?:final\s+)?(?:answer|option|choice)\s*(?:is|:|=)?\s*", re.I)
_BOXED = re.compile(r"\\boxed\s*\{(.*)\}")
_CHOICE = re.compile(r"^\(?([a-j])\)?[.:)]?$", re.I)
_NUMBER = r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:e[-+]?\d+)?"
_QUANTITY = re.compile(rf"^({_NUMBER})(?:\s*/\s*(\d+))?\s*(%|[a-z°][a-z°/^0-9 .]*)?$", re.I)
# a few spellings of the same unit; anything else is compared as written
_UNITS = {
    "percent": "%",
    "dollars": "$",
    "dollar": "$",
    "usd": "$",
    "meters": "m",
    "meter": "m",
    "metres": "m",
    "metre": "m",
    "centimeters": "cm",
    "centimeter": "cm",
    "kilometers": "km",
    "kilometer": "km",
    "kilograms": "kg",
    "kilogram": "kg",
    "grams": "g",
    "gram": "g",
    "seconds": "s",
    "second": "s",
    "sec": "s",
    "minutes": "min",
    "minute": "min",
    "hours": "h",
    "hour": "h",
    "hr": "h",
    "degrees": "°",
    "degree": "°",
}


def _clean(text: str) -> str:
    text = text.strip()
    boxed = _BOXED.search(text)
    if boxed:
        text = boxed.group(1)
    text = text.strip().strip("$").strip()
    text = _PREFIX.sub("", text).strip()
    return text.rstrip(".").strip()


def _choice(text: str) -> str | None:
    found = _CHOICE.match(text)
    return found.group(1).upper() if found else None


def _unit(text: str | None) -> str | None:
    if not text:
        return None
    text = " ".join(text.lower().split()).rstrip(".")
    return _UNITS.get(text, text)


def _quantity(text: str) -> tuple[Fraction, str | None] | None:
    """A number (commas, decimals, scientific notation, a/b) and its unit; None if `text` is not one."""
    text = text.replace("\\%", "%").replace("$", " ").strip()
    found = _QUANTITY.match(text)
    if not found or not re.search(r"\d", found.group(1)):
        return None
    number, denominator, unit = found.groups()
    try:
        value = Fraction(number.replace(",", ""))
    except (ValueError, ZeroDivisionError):
        return None
    if denominator is not None:
        if int(denominator) == 0:
            return None
        value /= int(denominator)
    return value, _unit(unit)


def _same_number(a: Fraction, b: Fraction) -> bool:
    # exact for what was written exactly; a relative tolerance for rounded decimals and scientific notation
    return a == b or math.isclose(float(a), float(b), rel_tol=1e-6, abs_tol=1e-12)


def _compare_quantities(
    response: tuple[Fraction, str | None], reference: tuple[Fraction, str | None]
) -> AnswerMatch | None:
    (a, unit_a), (b, unit_b) = response, reference
    if unit_a and unit_b and unit_a != unit_b and "%" not in (unit_a, unit_b):
        return None  # 100 cm and 1 m: a conversion the normaliser does not know
    candidates = [(a, b)]
    # 50% and 0.5 are the same answer; so are 50% and 50
    if unit_a == "%" and unit_b != "%":
        candidates.append((a / 100, b))
    if unit_b == "%" and unit_a != "%":
        candidates.append((a, b / 100))
    if any(_same_number(x, y) for x, y in candidates):
        return AnswerMatch(result="equal", path="number", detail=f"{float(a):g} = {float(b):g}")
    return AnswerMatch(result="different", path="number", detail=f"{float(a):g} != {float(b):g}")


# -- a small, safe expression parser ----------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?)|([a-z])|(\*\*|[-+*/^()]))", re.I)
_Node = tuple[Any, ...]
_FRAC = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_POINTS = ((0.7, 1.3, -0.4), (2.1, -1.7, 0.9), (-3.2, 0.45, 1.8), (1.05, 2.6, -2.3))


def _tokens(text: str) -> list[str] | None:
    out: list[str] = []
    position = 0
    text = text.replace("·", "*").replace("×", "*")
    while position < len(text):
        found = _TOKEN.match(text, position)
        if not found or found.end() == position:
            if text[position:].strip() == "":
                break
            return None
        token = found.group(0).strip()
        # implicit product: 2x, 2(x+1), x(y), (a)(b), )x
        if out and (out[-1][0].isalnum() or out[-1] == ")") and (token[0].isalpha() or token == "("):
            out.append("*")
        out.append("^" if token == "**" else token)
        position = found.end()
    return out


class _Parser:
    """expr := term (('+'|'-') term)*; term := unary (('*'|'/') unary)*; unary := '-' unary | power;
    power := atom ('^' unary)?; atom := number | letter | '(' expr ')'."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens, self.at = tokens, 0

    def peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise ValueError("unexpected end")
        self.at += 1
        return token

    def parse(self) -> _Node:
        node = self.expr()
        if self.peek() is not None:
            raise ValueError("trailing tokens")
        return node

    def expr(self) -> _Node:
        node = self.term()
        while self.peek() in ("+", "-"):
            node = (self.take(), node, self.term())
        return node

    def term(self) -> _Node:
        node = self.unary()
        while self.peek() in ("*", "/"):
            node = (self.take(), node, self.unary())
        return node

    def unary(self) -> _Node:
        if self.peek() in ("-", "+"):
            sign = self.take()
            inner = self.unary()
            return ("neg", inner) if sign == "-" else inner
        return self.power()

    def power(self) -> _Node:
        node = self.atom()
        if self.peek() == "^":
            self.take()
            node = ("^", node, self.unary())
        return node

    def atom(self) -> _Node:
        token = self.take()
        if token == "(":
            node = self.expr()
            if self.take() != ")":
                raise ValueError("unbalanced parentheses")
            return node
        if token[0].isdigit():
            return ("num", float(token))
        if token.isalpha():
            return ("var", token.lower())
        raise ValueError(f"unexpected {token}")


def _evaluate(node: _Node, values: dict[str, float]) -> float:
    kind = node[0]
    if kind == "num":
        return float(node[1])
    if kind == "var":
        return values[node[1]]
    if kind == "neg":
        return -_evaluate(node[1], values)
    a, b = _evaluate(node[1], values), _evaluate(node[2], values)
    if kind == "+":
        return a + b
    if kind == "-":
        return a - b
    if kind == "*":
        return a * b
    if kind == "/":
        return a / b
    if abs(b) > 64:
        raise OverflowError("exponent too large")
    return float(a**b)


def _variables(node: _Node) -> set[str]:
    if node[0] == "var":
        return {node[1]}
    return set().union(*(_variables(child) for child in node[1:] if isinstance(child, tuple)))


def _expression(text: str) -> _Node | None:
    # "x = 3" answers with the value: the right-hand side is the answer
    if text.count("=") == 1 and re.match(r"^\s*[a-z]\s*=", text, re.I):
        text = text.split("=", 1)[1]
    text = _FRAC.sub(r"((\1)/(\2))", text).replace("\\left", "").replace("\\right", "")
    text = text.replace("\\cdot", "*").replace("\\times", "*").replace("{", "(").replace("}", ")")
    if re.search(r"[a-z]{2,}", text, re.I):
        return None  # a word (or a function such as sqrt) is not one-letter algebra: "on" is not "no"
    tokens = _tokens(text)
    if not tokens:
        return None
    try:
        return _Parser(tokens).parse()
    except ValueError:
        return None


def _compare_expressions(response: str, reference: str) -> AnswerMatch | None:
    a, b = _expression(response), _expression(reference)
    if a is None or b is None:
        return None
    names = sorted(_variables(a) | _variables(b))
    if len(names) > 3:
        return None
    agreed = 0
    for point in _POINTS:
        values = dict(zip(names, point, strict=False))
        try:
            x, y = _evaluate(a, values), _evaluate(b, values)
        except (ZeroDivisionError, OverflowError, ValueError, TypeError):
            continue  # a pole or a complex power at this point: try the next one
        if isinstance(x, complex) or isinstance(y, complex):
            continue
        if not math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9):
            return AnswerMatch(result="different", path="algebra", detail=f"differ at {values}")
        agreed += 1
    if agreed >= 2:
        return AnswerMatch(result="equal", path="algebra", detail=f"agree at {agreed} points")
    return None


def _text_key(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def compare_answers(response: str, reference: str) -> AnswerMatch:
    """The normaliser's decision about `response` against `reference`: equal, different, or undecided (then a
    judge is needed), with the path that decided."""
    a, b = _clean(response), _clean(reference)
    if not a:
        return AnswerMatch(result="undecided", path="none", detail="empty answer")
    choice_a, choice_b = _choice(a), _choice(b)
    if choice_a and choice_b:
        same = choice_a == choice_b
        return AnswerMatch(result="equal" if same else "different", path="choice", detail=f"{choice_a} vs {choice_b}")
    if choice_b and not choice_a:
        return AnswerMatch(result="undecided", path="none", detail="reference is an option letter, answer is not")
    quantity_a, quantity_b = _quantity(a), _quantity(b)
    if quantity_a is not None and quantity_b is not None:
        compared = _compare_quantities(quantity_a, quantity_b)
        return compared or AnswerMatch(result="undecided", path="none", detail="different units")
    if _text_key(a) == _text_key(b):
        return AnswerMatch(result="equal", path="text", detail="same text once normalised")
    compared = _compare_expressions(a, b)
    if compared is not None:
        return compared
    return AnswerMatch(result="undecided", path="none", detail="the normaliser cannot read both as one kind")


# -- the judge ---------------------------------------------------------------------------------------------


class EquivalenceJudge:
    """A pointwise binary judge of items with `response` and `reference`: score 1 (choice "equal") or 0
    ("different"). The normaliser decides where it can; `backend` is asked only where it cannot (with no backend,
    such items stay undecided: no outcome). `Verdict.strategy` says which path decided."""

    def __init__(self, backend: Backend | None = None, *, max_tokens: int = 256) -> None:
        self.backend = backend
        self.max_tokens = max_tokens
        self.prompts = prompt_set("reasoning")

    @functools.cached_property
    def spec(self) -> JudgeSpec:
        prompt = self.prompts.text("equivalence")
        return JudgeSpec(
            mode="pointwise",
            identity={
                "judge": STRATEGY,
                "backend": self.backend.name if self.backend is not None else "normaliser",
                "prompt": hashlib.sha256(prompt.encode()).hexdigest()[:16],
                "max_tokens": self.max_tokens,
                "labels_from": "token probabilities"
                if self.backend is not None and reads_probabilities(self.backend)
                else "text",
            },
        )

    async def __call__(self, item: Item) -> Verdict:
        match = compare_answers(item.response or "", item.reference or "")
        if match.result != "undecided" or self.backend is None:
            return _verdict(item, match)
        text = self.prompts.render(
            "equivalence", problem=item.prompt, reference=item.reference or "", response=item.response or ""
        )
        try:
            answer = await ask_label(self.backend, text, ("equivalent", "different"), max_tokens=self.max_tokens)
        except BackendError as exc:
            if exc.fatal:
                raise
            error = ErrorInfo(reason=exc.reason, message=str(exc), retryable=exc.retryable)
            return Verdict(id=item.id, mode="pointwise", error=error, strategy=_record(match))
        reply = answer.reply
        if answer.label is None:
            error = ErrorInfo(reason="parse_failure", message="no [[EQUIVALENT]] or [[DIFFERENT]] in the answer")
            return Verdict(id=item.id, mode="pointwise", error=error, raw=[reply.text], usage=reply.usage)
        result: Result = "equal" if answer.label == "equivalent" else "different"
        verdict = _verdict(item, AnswerMatch(result=result, path="judge", detail=match.detail))
        verdict.raw, verdict.usage = [reply.text], reply.usage
        if answer.probabilities is not None:
            verdict.strategy = {**(verdict.strategy or {}), "probabilities": answer.probabilities}
        return verdict


def _record(match: AnswerMatch) -> dict[str, Any]:
    return {"name": STRATEGY, "result": match.result, "path": match.path, "detail": match.detail}


def _verdict(item: Item, match: AnswerMatch) -> Verdict:
    outcome = None
    if match.result != "undecided":
        equal = match.result == "equal"
        outcome = Score(score=1.0 if equal else 0.0, choice="equal" if equal else "different")
    return Verdict(id=item.id, mode="pointwise", outcome=outcome, strategy=_record(match))


class EquivalenceReport(BaseModel):
    """What `aequivalent` decided: counts by result and by deciding path, and, where items carry a gold label
    (1 equal, 0 different), the accuracy over the decided ones."""

    out: Path
    total: int
    failed: int
    results: dict[str, int]
    paths: dict[str, int]
    labelled: int = 0
    correct: int = 0
    accuracy: float | None = None


async def aequivalent(
    data: DataSource,
    *,
    out: str | Path,
    model: str | Backend | None = None,
    options: JobOptions | None = None,
    max_tokens: int = 256,
    on_start: Callable[[int, int], None] | None = None,
    on_verdict: Callable[[Verdict], None] | None = None,
) -> EquivalenceReport:
    """Judge whether each item's `response` matches its `reference` into the run directory `out` (resumable),
    asking `model` only where the normaliser cannot decide (with no model, those stay undecided), and write
    `out/equivalence.json`."""
    loaded = load_data(data, "pointwise")
    for item in loaded.items:
        line = loaded.lines.get(item.id)
        if not (item.reference or "").strip():
            raise InputError(
                f"item '{item.id}' has no reference answer to compare with",
                file=loaded.path,
                line=line,
                field="reference",
            )
        if item.label is not None and item.label not in (0, 1):
            raise InputError(
                f"item '{item.id}' has label {item.label!r}; an equivalence label is 1 (equal) or 0 (different)",
                file=loaded.path,
                line=line,
                field="label",
            )
    if model is None:
        await ajudge(
            loaded,
            out=out,
            judge=EquivalenceJudge(None, max_tokens=max_tokens),
            options=options,
            on_start=on_start,
            on_verdict=on_verdict,
        )
    else:
        await ajudge(
            loaded,
            out=out,
            judge=lambda backend: EquivalenceJudge(backend, max_tokens=max_tokens),
            model=model,
            options=options,
            on_start=on_start,
            on_verdict=on_verdict,
        )
    verdicts = read_run(out).verdicts
    results: Counter[str] = Counter()
    paths: Counter[str] = Counter()
    labelled = correct = failed = 0
    for verdict in verdicts:
        if verdict.error is not None:
            failed += 1
            results["failed"] += 1
            continue
        record = verdict.strategy or {}
        results[str(record.get("result"))] += 1
        paths[str(record.get("path"))] += 1
        decided = verdict.outcome.score if isinstance(verdict.outcome, Score) else None
        if isinstance(verdict.label, int | float) and decided is not None:
            labelled += 1
            correct += int(decided == float(verdict.label))
    report = EquivalenceReport(
        out=Path(out),
        total=len(verdicts),
        failed=failed,
        results=dict(results),
        paths=dict(paths),
        labelled=labelled,
        correct=correct,
        accuracy=correct / labelled if labelled else None,
    )
    files.write_atomic(Path(out) / REPORT_FILE, report.model_dump_json(indent=2))
    return report


equivalent = sync_twin(aequivalent)
