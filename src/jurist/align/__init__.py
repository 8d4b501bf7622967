"""`jurist align`: teach the judge from people's labels. The labelled items of a run are split into train, dev and
test (splits.py); a greedy search (search.py) over the prompt space (space.py: instruction wording, rubric, rules,
few-shot examples from the train items) scores candidates on train and selects on dev; the run's own judge and the
chosen one are then measured on the held-out test split (report.py), and the chosen one is written as a strategy
file that `jurist judge --strategy` uses (runner.py)."""

from .report import AlignReport
from .runner import AlignOptions, aalign, align

__all__ = ["AlignOptions", "AlignReport", "aalign", "align"]
