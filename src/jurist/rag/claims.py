"""Claims: an answer split into atomic statements, and a model's judgment of one claim against the context.

The default split is deterministic: the answer's lines (list markers removed), each cut into sentences at `.`, `!`
or `?` followed by a space, except after an abbreviation (Dr., e.g., U.S.), an initial (J. K. Rowling), or before
a lowercase word; a decimal (3.5) has no space after its point, so it is never cut."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel

ClaimLabel = Literal["supported", "contradicted", "not_found"]
LABELS: tuple[ClaimLabel, ...] = ("supported", "contradicted", "not_found")

# words that end in a period without ending a sentence (compared lowercased, without the period)
ABBREVIATIONS = frozenset(
    {
        *("mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "ft", "vs", "etc", "approx", "dept", "est"),
        *("fig", "no", "nos", "vol", "inc", "ltd", "co", "corp", "gen", "gov", "sen", "rep", "rev", "al", "ca"),
        *("cf", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"),
    }
)
_MARKER = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
# a sentence end: terminal punctuation (and closing quotes/brackets), whitespace, then the next sentence's start
_END = re.compile(r"[.!?]+[\"'”’)\]]*\s+(?=\S)")
# "[[LABEL]]", or "[[LABEL: ..." as a small model writes it
_LABEL = re.compile(r"\[\[\s*(SUPPORTED|CONTRADICTED|NOT[ _]?FOUND)\s*(?:\]\]|[:\-])", re.I)
_EVIDENCE = re.compile(r"\bevidence\W*:\s*(.*)$", re.I | re.M)
# a small model's "[[SUPPORTED: the quoted sentence]]", where it writes no "Evidence:" line
_INLINE = re.compile(r"\[\[\s*(?:SUPPORTED|CONTRADICTED|NOT[ _]?FOUND)\s*[:\-]\s*([^\n]+?)\s*(?:\]\]|$)", re.I | re.M)
_NO_EVIDENCE = frozenset({"", "none", "n/a", "na", "-", "no evidence", "nothing"})


def split_claims(answer: str) -> list[str]:
    """The answer's claims: one per sentence, within each non-empty line; fragments with no letter or digit
    (a lone "-") are dropped."""
    claims: list[str] = []
    for line in answer.splitlines():
        line = _MARKER.sub("", line).strip()
        claims.extend(_sentences(line))
    return [c for c in claims if any(ch.isalnum() for ch in c)]


def _sentences(text: str) -> list[str]:
    sentences: list[str] = []
    start = 0
    for match in _END.finditer(text):
        following = text[match.end()]
        if following.islower() or _abbreviation(text[start : match.start() + 1]):
            continue
        sentences.append(text[start : match.end()].strip())
        start = match.end()
    rest = text[start:].strip()
    return [*sentences, rest] if rest else sentences


def _abbreviation(sentence_so_far: str) -> bool:
    """Whether the text up to a period ends in a word that does not end a sentence there."""
    if not sentence_so_far.endswith("."):
        return False
    word = sentence_so_far.rstrip(".").rsplit(None, 1)[-1] if sentence_so_far.rstrip(".").split() else ""
    word = word.lstrip("(\"'“‘")
    if not word:
        return False
    if word.lower() in ABBREVIATIONS:
        return True
    # an initial (J.) or a dotted acronym (U.S., e.g., a.m.): single letters joined by periods
    return all(len(part) == 1 and part.isalpha() for part in word.split("."))


def parse_claim_list(text: str) -> list[str]:
    """The claims of a model's decomposition: its lines that start with a list marker ("- ", "* ", "1."), marker
    removed; [] when there are none (the caller falls back to sentences)."""
    claims = [_MARKER.sub("", line).strip() for line in text.splitlines() if _MARKER.match(line)]
    return [c for c in claims if any(ch.isalnum() for ch in c)]


class ClaimJudgment(BaseModel):
    """One claim and what the judge said of it. `label` None means its judgment failed (`error` says why): such a
    claim is counted as failed, never as not found. `evidence` is the sentence the judge quoted, and
    `evidence_found` whether it occurs in the context (compared without case, punctuation or spacing)."""

    claim: str
    label: ClaimLabel | None = None
    evidence: str | None = None
    evidence_found: bool = False
    error: str | None = None
    # P(label) renormalised over the three, where the label was read from token probabilities
    probabilities: dict[str, float] | None = None


def parse_claim_judgment(claim: str, text: str, context: str) -> ClaimJudgment:
    """Read a judge's reply to the claim prompt: the last [[LABEL]] and the "Evidence:" line. A reply with no label
    gives a judgment with `error` set."""
    labels = _LABEL.findall(text)
    evidences = _EVIDENCE.findall(text)
    evidences = evidences or _INLINE.findall(text)
    evidence = evidences[-1].strip().strip("\"'“”‘’`").strip() if evidences else ""
    evidence = _LABEL.sub("", evidence).strip()
    if evidence.lower().rstrip(".") in _NO_EVIDENCE:
        evidence = ""
    found = bool(evidence) and occurs_in(evidence, context)
    if not labels:
        return ClaimJudgment(
            claim=claim,
            evidence=evidence or None,
            evidence_found=found,
            error="no [[SUPPORTED]], [[CONTRADICTED]] or [[NOT_FOUND]] in the reply",
        )
    label = labels[-1].upper().replace(" ", "_")
    chosen: ClaimLabel = "not_found" if label.startswith("NOT") else label.lower()
    return ClaimJudgment(
        claim=claim,
        label=chosen,
        evidence=evidence or None,
        evidence_found=found,
    )


def _normalised(text: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", text.lower()).split())


def occurs_in(quote: str, context: str) -> bool:
    """Whether `quote` is in `context`, ignoring case, punctuation and spacing (a model re-spaces what it quotes);
    a quote with no word in it never is."""
    wanted = _normalised(quote)
    return bool(wanted) and wanted in _normalised(context)
