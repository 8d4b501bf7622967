"""Mitigations the audit can measure: each changes how the judge is built (or, for the detector, how its verdicts
are read), and the report shows every probe before and after it.

- swap: judge both orders (pairwise; the core judge's swap=True, reconciled by its on_inconsistent setting).
- delimit: the `*_delimited.toml` templates wrap every candidate in tags carrying a random per-audit nonce, and
  look-alike tags and section headings inside candidate text are neutralised before rendering.
- detector: regular expressions flag responses that address the judge (several languages), fake the prompt's
  section headings or mimic the answer format; a flagged item counts as an attack blocked.
- reference: reference-guided judging. An item's own reference is used where the data has one; otherwise the
  judge's model writes its own answer first and judges against it (arena-hard's self-reference). The gold-better
  response is never used as a reference: it would hand the judge the answer. Without this mitigation the audit
  judges every item with no reference.
- jury: three jurors on the same model, with the rubrics helpfulness, instruction_following and honesty
  (majority vote pairwise, mean score pointwise).
- length: for the verbosity probe, rules in the prompt telling the judge that length, restatement and filler
  earn nothing; the report gives the verdict shift toward the padded response with and without them.
- length_score: length-controlled scoring (pairwise, needs the judge's probabilities): the judge's length
  preference is fitted on the unperturbed pairs, as AlpacaEval's length control does, and every verdict is read
  with it removed (audit/length_control.py). Like the detector it reads verdicts and shares the judging runs.

Mitigations can be combined with "+" (e.g. "delimit+detector"): they are then applied together.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any

from ..backends.base import Backend
from ..errors import ConfigError
from ..judges import JudgeConfig, make_judge
from ..judges.base import Judge, LLMJudge
from ..prompts import prompt_set
from ..rubrics import load_rules
from ..strategies import Jury
from ..strategies.augment import SelfReference
from ..strategies.base import Strategy
from ..types import Item, Mode, Verdict
from .probes import Expectation, Probe, mode_of, response_at

MITIGATIONS: dict[str, str] = {
    "swap": "judge both presentation orders and reconcile them (pairwise)",
    "delimit": "candidates wrapped in tags with a per-audit nonce; look-alike tags and headings inside neutralised",
    "detector": "regex injection detector over candidate responses; a flagged item counts as an attack blocked",
    "reference": "the item's reference where it has one, else the judge model's own answer (never the gold-better)",
    "jury": "jury of three rubrics on the same model: helpfulness, instruction_following, honesty",
    "length": "rules telling the judge to ignore length and filler; measured on the verbosity probe",
    "length_score": "length-controlled scoring: verdicts read with the judge's length preference, fitted on the "
    "unperturbed pairs, removed (pairwise; needs probabilities)",
}
JURY_RUBRICS = ("helpfulness", "instruction_following", "honesty")
# Mitigations that change the judge, and so need judging runs of their own (the detector and length_score only
# read verdicts).
JUDGING = ("swap", "delimit", "reference", "jury", "length")
Arm = frozenset[str]


def parse_arms(names: list[str], mode: Mode, probes: list[Probe]) -> list[Arm]:
    """The arms to measure: none (the judge as configured) and one per requested mitigation, where a name may
    join several with "+". Fails before any model call when a mitigation cannot apply."""
    arms: list[Arm] = [frozenset()]
    for name in names:
        parts = frozenset(p.strip() for p in name.split("+") if p.strip())
        if not parts:
            raise ConfigError(f"mitigation '{name}' names nothing; known mitigations: {', '.join(MITIGATIONS)}")
        for part in sorted(parts):
            if part not in MITIGATIONS:
                raise ConfigError(f"unknown mitigation '{part}'; known mitigations: {', '.join(MITIGATIONS)}")
        if "swap" in parts and mode != "pairwise":
            raise ConfigError(f"mitigation swap judges both orders of a pair: pairwise only, not {mode}")
        if "length_score" in parts and mode != "pairwise":
            raise ConfigError(
                f"mitigation length_score controls the length difference of a pair: pairwise only, not {mode}"
            )
        if not any(applies(parts, p) for p in probes):
            needs = {
                "length": "the verbosity probe",
                "detector": "an adversarial probe (master_key, null_model, injection)",
            }
            missing = next((needs[p] for p in sorted(parts) if p in needs), "a probe it applies to")
            raise ConfigError(f"mitigation '{name}' is measured on {missing}, which this audit does not run")
        if parts not in arms:
            arms.append(parts)
    return arms


def arm_name(arm: Arm) -> str:
    return "+".join(sorted(arm)) if arm else "none"


def judging_part(arm: Arm) -> Arm:
    """The part of an arm that changes the judge: arms that differ only by the detector or length_score share
    their runs."""
    return frozenset(arm & set(JUDGING))


def applies(arm: Arm, probe: Probe) -> bool:
    """Whether an arm is measured on a probe: every mitigation in it must concern that probe."""
    for mitigation in arm:
        if mitigation == "detector" and probe.kind != "adversarial":
            return False
        if mitigation == "length" and probe.name != "verbosity":
            return False
    return True


# -- the injection detector ------------------------------------------------------------------------------

DETECTOR_RULES: dict[str, str] = {
    # instructions aimed at the judge
    "override_en": r"(?i)\b(?:ignore|disregard|forget|override)\b[^.\n]{0,40}\b(?:instructions?|prompts?|rules|"
    r"guidelines|directions)\b|\b(?:ignore|disregard|forget)\s+(?:all\s+|everything\s+)?(?:of\s+)?(?:the\s+)?"
    r"(?:above|previous|preceding|prior)\b",
    "verdict_request_en": r"(?i)\b(?:output|answer|say|state|declare|respond|reply|conclude|decide)\b[^.\n]{0,30}"
    r"\b(?:response|output|answer|assistant)\s*\(?[AB]\)?\s+(?:is|was)\s+(?:the\s+)?better\b",
    "score_request_en": r"(?i)\b(?:give|assign|award|rate)\b[^.\n]{0,40}\b(?:highest|maximum|max|full|top|perfect)\s+"
    r"(?:score|rating|grade|marks?)\b",
    "judge_address": r"(?i)\b(?:dear|attention|note to the|to the)\s+(?:judge|evaluator|grader|assessor)\b",
    "override_zh": r"(?:忽略|无视|忽视|不要理会|不要管)[^。\n]{0,12}(?:指令|指示|说明|要求|规则|提示)",
    "verdict_zh": r"(?:回答|回复|答案|响应)\s*[AB]\s*(?:更好|更佳|更优|最好)|(?:打|给)[^。\n]{0,8}(?:最高分|满分)",
    "override_es": r"(?i)\bignor(?:a|e|ar|en)\b[^.\n]{0,30}\binstrucciones\b",
    "verdict_es": r"(?i)\brespuesta\s+[AB]\s+es\s+(?:la\s+)?mejor\b|\bpuntuaci[oó]n\s+m[aá]s\s+alta\b",
    "override_fr": r"(?i)\bignor(?:e|ez|er)\b[^.\n]{0,30}\b(?:les\s+)?(?:instructions|consignes)\b",
    "verdict_fr": r"(?i)\br[ée]ponse\s+[AB]\s+est\s+(?:la\s+)?meilleure\b|\bnote\s+la\s+plus\s+[ée]lev[ée]e\b",
    "override_de": r"(?i)\bignorier(?:e|en)?\b[^.\n]{0,30}\b(?:anweisungen|vorgaben)\b",
    # fake section headings and tags: an attempt to close the candidate's section of the prompt. A heading is a
    # whole line with nothing but the section's name (so a code comment such as "# Output: 42" is not one);
    # "Output" counts only with a label ("# Output (a)"), as code often prints "# Output".
    "fake_heading": r"(?im)^[ \t]{0,3}#{1,6}[ \t]*(?:(?:response|assistant|request|reference answer|verdict|"
    r"evaluation|rating|score|correct answer|judg(?:e)?ment|model outputs?)(?:[ \t]*\(?[AB12]\)?)?|output[ \t]*"
    r"\(?[AB12]\)?)(?:[ \t]*\([^)\n]*\))?[ \t]*:?[ \t]*$",
    "fake_tag": r"(?i)</?\s*(?:response|request|reference)(?:_[ab])?\b[^>\n]*>",
    # mimicry of a judge's answer format (jurist's JSON, MT-Bench's [[A]], AlpacaEval's model identifiers)
    "format_mimicry": r"(?i)\"(?:winner|score|rationale|model_identifier|preference)\"\s*:|"
    r"\[\[\s*(?:[AB]|\d+|tie)\s*\]\]|answer with only a json object",
}
_COMPILED = {name: re.compile(pattern) for name, pattern in DETECTOR_RULES.items()}


def detect(text: str) -> list[str]:
    """The names of the detector rules the text trips (empty: nothing suspicious)."""
    return [name for name, pattern in _COMPILED.items() if pattern.search(text)]


def candidate_texts(item: Item) -> list[str]:
    """The texts a judge is asked to judge (the request is the user's own and is not screened)."""
    if item.responses is not None:
        return list(item.responses)
    if item.response_a is not None or item.response_b is not None:
        return [item.response_a or "", item.response_b or ""]
    return [item.response or ""]


def flagged(item: Item) -> bool:
    """Whether any candidate of the item trips the detector: the audit counts the item as an attack blocked."""
    return any(detect(text) for text in candidate_texts(item))


def attack_text(item: Item, expectation: Expectation) -> str:
    """The attack response of a perturbed item: the one at the favoured position, or the only one."""
    if mode_of(item) == "pairwise" and expectation.target is not None:
        return response_at(item, expectation.target)
    return item.response or ""


# -- delimiting ------------------------------------------------------------------------------------------

_TAG_LOOKALIKE = re.compile(r"<(\s*/?\s*(?:response|request|reference)(?:_[ab])?\b)", re.IGNORECASE)
_SECTION_HEADING = re.compile(r"^([ \t]{0,3})(#{1,6})(?=[ \t]|$)", re.MULTILINE)
ESCAPING = "1"  # version of escape_candidate's rules, in the fingerprint of delimited judges


def escape_candidate(text: str) -> str:
    """Candidate text that cannot pass for the judge prompt's structure: "<" of a tag that looks like the
    delimiters becomes "&lt;", and a markdown heading marker at the start of a line is backslash-escaped ("\\#"),
    so a response can neither close its tag nor open a section of its own."""
    text = _TAG_LOOKALIKE.sub(r"&lt;\1", text)
    return _SECTION_HEADING.sub(r"\1\\\2", text)


def delimited_template(mode: Mode) -> str:
    """Path of the packaged delimited template for the mode."""
    if mode not in ("pairwise", "pointwise"):
        raise ConfigError(f"mitigation delimit has templates for pairwise and pointwise judging, not {mode}")
    return str(resources.files("jurist") / "templates" / f"{mode}_delimited.toml")


class Delimited(Strategy):
    """Wraps a judge whose template is a delimited one: escapes the candidate texts of every item and hands the
    template this audit's nonce (in the item's metadata, `delimiter_nonce`)."""

    name = "delimited"

    def __init__(self, judge: Judge, nonce: str) -> None:
        super().__init__([judge])
        if not re.fullmatch(r"[0-9a-f]{8,64}", nonce):
            raise ConfigError("the delimiter nonce must be 8 to 64 lowercase hex digits")
        self.nonce = nonce

    def settings(self) -> dict[str, Any]:
        return {"nonce": self.nonce, "escaping": ESCAPING}

    def prepare(self, item: Item) -> Item:
        update: dict[str, Any] = {"metadata": {**item.metadata, "delimiter_nonce": self.nonce}}
        for key in ("response", "response_a", "response_b"):
            value = getattr(item, key)
            if value is not None:
                update[key] = escape_candidate(value)
        return item.model_copy(update=update)

    async def _judge(self, item: Item) -> Verdict:
        verdict = await self.judges[0](self.prepare(item))
        verdict.strategy = {"name": self.name, **(verdict.strategy or {})}
        return verdict


# -- building the judge of an arm ------------------------------------------------------------------------


def write_length_rules(folder: Path, config: JudgeConfig) -> Path:
    """The rules file of the length mitigation: the judge's own rules, if any, then the length rules (one per
    line, the plain-text rules format)."""
    own = list(load_rules(config.rules).rules) if config.rules else []
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "length_rules.txt"
    path.write_text("".join(f"{rule}\n" for rule in [*own, *length_rules()]), encoding="utf-8")
    return path


def length_rules() -> list[str]:
    """The length mitigation's rules (templates/audit.toml, one per line)."""
    return prompt_set("audit").text("length_rules").splitlines()


def arm_judge(
    backend: Backend,
    config: JudgeConfig,
    arm: Arm,
    *,
    nonce: str,
    length_rules: Path | None,
    answer_tokens: int,
) -> Judge:
    """The judge of one arm: `config` (already with the probe's own settings) changed by the arm's mitigations."""
    update: dict[str, Any] = {}
    if "swap" in arm:
        update["swap"] = True
    if "length" in arm:
        if length_rules is None:
            raise ConfigError("mitigation length needs its rules file")
        update["rules"] = str(length_rules)
    if "delimit" in arm:
        update["template"] = delimited_template(config.mode)
    base = config.model_copy(update=update)

    def leaf(cfg: JudgeConfig) -> Judge:
        judge: LLMJudge = make_judge(backend, cfg)
        return SelfReference(judge, max_tokens=answer_tokens) if "reference" in arm else judge

    if "jury" in arm:
        jurors = [leaf(base.model_copy(update={"rubric": rubric})) for rubric in JURY_RUBRICS]
        judge: Judge = Jury(jurors, vote="majority" if config.mode == "pairwise" else "mean")
    else:
        judge = leaf(base)
    return Delimited(judge, nonce) if "delimit" in arm else judge
