"""The Alternative Annotator Test (Calderon, Reichart & Dror, 2025): may an LLM replace the human annotators?

Each human annotator j is left out in turn. On the items j labelled, we ask whose label is better aligned with the
remaining annotators: the LLM's or j's own. Per item, W^f = 1 when the LLM is at least as aligned as j and W^h = 1
when j is at least as aligned as the LLM (both are 1 on a tie); rho^f_j and rho^h_j are their means. For every
annotator a one-sided paired t-test on d = W^f - W^h checks

    H0_j: rho^f_j <= rho^h_j - epsilon    against    H1_j: rho^f_j > rho^h_j - epsilon,

that is, whether the LLM is at most epsilon worse than annotator j. The Benjamini-Yekutieli procedure controls the
false discovery rate over the annotators at level q. The winning rate is the share of annotators whose H0 is
rejected; the LLM passes when it is at least 0.5. The advantage probability is the mean of rho^f_j: how likely the
LLM is to be at least as aligned as a random annotator.

epsilon is the cost-benefit margin: the paper suggests 0.2 when the annotators are skilled crowd-workers and 0.1 when
they are experts. It also advises at least 30 items per annotator; annotators with fewer are reported and excluded.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from jurist.errors import ConfigError

Label = str | int | float
# How a label is scored against the other annotators' labels of the same item (higher = better aligned).
# agreement: the share of the others who gave the same label (categorical labels);
# absolute / squared: minus the absolute / squared distance to the others' mean (numeric labels).
Alignment = Literal["agreement", "absolute", "squared"]


class AnnotatorResult(BaseModel):
    """One annotator's comparison with the LLM. Excluded annotators have no p-value and say why they were left out."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    annotator: str
    n_items: int
    rho_f: float | None
    rho_h: float | None
    p_value: float | None
    adjusted_p_value: float | None
    rejected: bool
    excluded_reason: str | None = None


class AltTestResult(BaseModel):
    """The outcome of the test. Rates are over the annotators that were tested (not excluded)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    epsilon: float
    q: float
    alignment: Alignment
    min_items: int
    annotators: list[AnnotatorResult]
    n_tested: int
    winning_rate: float
    advantage_probability: float
    passed: bool


def alt_test(
    human_labels: Sequence[Sequence[Label | None]],
    llm_labels: Sequence[Label | None],
    *,
    epsilon: float = 0.2,
    q: float = 0.05,
    alignment: Alignment = "agreement",
    min_items: int = 30,
    annotator_names: Sequence[str] | None = None,
) -> AltTestResult:
    """Run the Alternative Annotator Test.

    `human_labels`: one row per item, one column per annotator (at least 3), None (or NaN) where an annotator did not
    label the item. `llm_labels`: the LLM's label per item, None where it gave none (such items are skipped).
    `epsilon`: how much less aligned than a human the LLM may be; 0.2 suits skilled crowd-workers, 0.1 experts.
    `q`: the false discovery rate level. `min_items`: annotators with fewer usable items are excluded (the paper
    advises 30).
    """
    rows = [list(row) for row in human_labels]
    llm = list(llm_labels)
    n_annotators = _check_inputs(rows, llm, epsilon, q, alignment, min_items)
    names = _annotator_names(annotator_names, n_annotators)

    measured = [_indicators(rows, llm, j, alignment) for j in range(n_annotators)]
    tested = [j for j in range(n_annotators) if len(measured[j][0]) >= min_items]
    if not tested:
        counts = ", ".join(f"{names[j]}: {len(measured[j][0])}" for j in range(n_annotators))
        raise ConfigError(
            f"no annotator has {min_items} usable items (items they labelled, with an LLM label and at least one other "
            f"annotator's label) - {counts}. Add items or lower min_items."
        )

    p_values = {j: _p_value(measured[j][0] - measured[j][1], epsilon) for j in tested}
    from scipy import stats  # here, not at the top: scipy.stats takes about a second to import

    adjusted_list = stats.false_discovery_control([p_values[j] for j in tested], method="by")
    adjusted = dict(zip(tested, (float(p) for p in adjusted_list), strict=True))

    annotators: list[AnnotatorResult] = []
    for j in range(n_annotators):
        w_f, w_h = measured[j]
        rho_f = float(w_f.mean()) if len(w_f) else None
        rho_h = float(w_h.mean()) if len(w_h) else None
        if j in adjusted:
            row = AnnotatorResult(
                annotator=names[j],
                n_items=len(w_f),
                rho_f=rho_f,
                rho_h=rho_h,
                p_value=p_values[j],
                adjusted_p_value=adjusted[j],
                rejected=adjusted[j] <= q,
            )
        else:
            reason = f"only {len(w_f)} usable items, fewer than min_items={min_items}"
            row = AnnotatorResult(
                annotator=names[j],
                n_items=len(w_f),
                rho_f=rho_f,
                rho_h=rho_h,
                p_value=None,
                adjusted_p_value=None,
                rejected=False,
                excluded_reason=reason,
            )
        annotators.append(row)

    winning_rate = sum(annotators[j].rejected for j in tested) / len(tested)
    advantage = float(np.mean([measured[j][0].mean() for j in tested]))
    return AltTestResult(
        epsilon=epsilon,
        q=q,
        alignment=alignment,
        min_items=min_items,
        annotators=annotators,
        n_tested=len(tested),
        winning_rate=winning_rate,
        advantage_probability=advantage,
        passed=winning_rate >= 0.5,
    )


def _indicators(
    rows: list[list[Label | None]], llm: list[Label | None], j: int, alignment: Alignment
) -> tuple[np.ndarray, np.ndarray]:
    """W^f and W^h of annotator j over the items j labelled that also have an LLM label and another annotator."""
    w_f: list[bool] = []
    w_h: list[bool] = []
    for row, llm_label in zip(rows, llm, strict=True):
        own = row[j]
        if own is None or llm_label is None or _missing(own) or _missing(llm_label):
            continue
        others = [label for k, label in enumerate(row) if k != j and label is not None and not _missing(label)]
        if not others:
            continue
        llm_score = _alignment_score(llm_label, others, alignment)
        own_score = _alignment_score(own, others, alignment)
        w_f.append(llm_score >= own_score)
        w_h.append(own_score >= llm_score)
    return np.array(w_f, dtype=float), np.array(w_h, dtype=float)


def _alignment_score(label: Label, others: list[Label], alignment: Alignment) -> float:
    if alignment == "agreement":
        return sum(other == label for other in others) / len(others)
    distance = float(label) - float(np.mean(np.asarray(others, dtype=float)))
    return -abs(distance) if alignment == "absolute" else -(distance**2)


def _p_value(differences: np.ndarray, epsilon: float) -> float:
    """One-sided t-test of mean(W^f - W^h) > -epsilon (i.e. rho^f > rho^h - epsilon)."""
    if np.all(differences == differences[0]):
        # No spread, so no t statistic; the evidence is as strong (or weak) as it can be.
        return 0.0 if differences[0] > -epsilon else 1.0
    from scipy import stats  # here, not at the top: scipy.stats takes about a second to import

    return float(stats.ttest_1samp(differences, popmean=-epsilon, alternative="greater").pvalue)


def _missing(label: Label | None) -> bool:
    return label is None or (isinstance(label, float) and math.isnan(label))


def _check_inputs(
    rows: list[list[Label | None]],
    llm: list[Label | None],
    epsilon: float,
    q: float,
    alignment: Alignment,
    min_items: int,
) -> int:
    if not rows:
        raise ConfigError("human_labels is empty: give one row of annotator labels per item")
    widths = {len(row) for row in rows}
    if len(widths) != 1:
        raise ConfigError(
            f"every item needs one entry per annotator (None where unlabelled); rows have {sorted(widths)} entries"
        )
    n_annotators = widths.pop()
    if n_annotators < 3:
        raise ConfigError(
            f"the alternative annotator test needs at least 3 human annotators (each is compared with the LLM against "
            f"the others), got {n_annotators}"
        )
    if len(llm) != len(rows):
        raise ConfigError(f"llm_labels has {len(llm)} entries but human_labels has {len(rows)} items")
    if not 0.0 <= epsilon < 1.0:
        raise ConfigError(f"epsilon must be in [0, 1) (0.2 for crowd-workers, 0.1 for experts), got {epsilon}")
    if not 0.0 < q < 1.0:
        raise ConfigError(f"q (the false discovery rate level) must be between 0 and 1, e.g. 0.05; got {q}")
    if alignment not in ("agreement", "absolute", "squared"):
        raise ConfigError(f"alignment must be 'agreement', 'absolute' or 'squared', got {alignment!r}")
    if min_items < 2:
        raise ConfigError(f"min_items must be at least 2 for a t-test (the paper advises 30), got {min_items}")
    if alignment != "agreement":
        labels = [label for row in rows for label in row] + llm
        if not all(_missing(label) or isinstance(label, int | float) for label in labels):
            raise ConfigError(f"alignment={alignment!r} needs numeric labels; use 'agreement' for categorical ones")
    return n_annotators


def _annotator_names(names: Sequence[str] | None, n_annotators: int) -> list[str]:
    if names is None:
        return [f"annotator{j + 1}" for j in range(n_annotators)]
    if len(names) != n_annotators:
        raise ConfigError(f"annotator_names has {len(names)} names for {n_annotators} annotators")
    return list(names)
