"""The prompt space `jurist align` searches: one judge configuration per candidate, made of four components.

- instruction: the judge template's own system text, or one of our written variants (templates/align.toml);
- rubric: the run's own (or none), or a built-in rubric's criteria;
- rules: none, or a built-in rule set (rules/*.toml);
- demos: the run's own few-shot setting, none, or k in {2, 4} labelled TRAIN items, chosen label-balanced or from
  the items the current judge gets wrong (still label-balanced).

A candidate is plain data (names and item ids), so the report and the trace say exactly what was tried; `Space`
turns one into a JudgeConfig, writing the files it needs (a template, a demo pool) into a folder.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from ..demos import DemoConfig
from ..errors import ConfigError
from ..files import write_atomic
from ..judges import JudgeConfig
from ..prompts import Template, builtin_template, load_template, prompt_set
from ..rubrics import builtin_rule_sets, load_rubric
from ..types import Item

OWN = "own"  # the run's own value of a component
RUBRICS = ("helpfulness", "instruction_following", "factuality")  # rubric wordings tried (pointwise: same scale)
DEMO_KS = (2, 4)  # k = 0 is the `none` value
Coordinate = Literal["instruction", "rubric", "rules", "demos"]
COORDINATES: tuple[Coordinate, ...] = ("instruction", "rubric", "rules", "demos")


class Candidate(BaseModel):
    """One point of the space. `demos` None keeps the run's own few-shot setting; () shows none; otherwise the
    ids of the train items in the pool, the first `len - 1` shown (the last is a spare for when the judged item
    is one of them: an item is never its own example)."""

    model_config = ConfigDict(frozen=True)

    instruction: str = OWN
    rubric: str | None = OWN
    rules: str | None = OWN
    demos: tuple[str, ...] | None = None
    demo_pick: Literal["own", "none", "balanced", "errors"] = "own"

    def key(self) -> str:
        return json.dumps(self.model_dump(), sort_keys=True)

    def judge_key(self) -> str:
        """What decides the judge: the key without how the examples were picked."""
        return json.dumps(self.model_dump(exclude={"demo_pick"}), sort_keys=True)

    def describe(self) -> str:
        """One short line for the trace and the table."""
        shown = {
            "own": "demos=own",
            "none": "demos=none",
        }.get(self.demo_pick, f"demos={self.demo_pick}:{len(self.demos or ()) - 1}")
        return f"instruction={self.instruction} rubric={self.rubric or 'none'} rules={self.rules or 'none'} {shown}"


class Space:
    """The values of each component for one run: its base configuration (mode, scale, swap...) and its train items,
    the only items demos are ever taken from."""

    def __init__(self, base: JudgeConfig, train: list[Item], seed: int) -> None:
        if base.mode == "listwise":
            raise ConfigError("jurist align works on pairwise and pointwise runs; this run is listwise")
        self.base = base
        self.template = load_template(base.template, base.mode) if base.template else builtin_template(base.mode)
        variants = prompt_set("align")
        prefix = f"{base.mode}."
        self.variants = {k.removeprefix(prefix): variants.text(k) for k in variants.texts if k.startswith(prefix)}
        self.train = train
        self.seed = seed
        scale = self._scale()
        rubrics = [r for r in RUBRICS if r != base.rubric and (scale is None or _rubric_fits(r, scale))]
        self.values: dict[Coordinate, list[str | None]] = {
            "instruction": [OWN, *self.variants],
            "rubric": [OWN, *([None] if base.rubric else []), *rubrics],
            "rules": [OWN, *([None] if base.rules else []), *(r for r in builtin_rule_sets() if r != base.rules)],
        }

    def _scale(self) -> str | None:
        """Pointwise: the scale every candidate keeps (a rubric of another scale would change the labels)."""
        if self.base.mode != "pointwise":
            return None
        if self.base.scale:
            return self.base.scale
        return load_rubric(self.base.rubric).scale if self.base.rubric else "1-5"

    def baseline(self) -> Candidate:
        return Candidate()

    def options(self, coordinate: Coordinate, current: Candidate, wrong: set[str]) -> list[Candidate]:
        """`current` with one component changed, each way the space allows (current itself left out). `wrong`:
        the train items the current candidate got wrong, for demos chosen from the judge's errors."""
        if coordinate == "demos":
            # the run's own setting, and none where that is not already the run's own (the same judge twice)
            made = [current.model_copy(update={"demos": None, "demo_pick": "own"})]
            if self.base.demos:
                made.append(current.model_copy(update={"demos": (), "demo_pick": "none"}))
            for k in DEMO_KS:
                for pick in ("balanced", "errors"):
                    ids = self._pick(k + 1, wrong if pick == "errors" else set())
                    if len(ids) == k + 1:
                        made.append(current.model_copy(update={"demos": tuple(ids), "demo_pick": pick}))
        else:
            made = [current.model_copy(update={coordinate: value}) for value in self.values[coordinate]]
        # the same judge twice (errors first that picks the balanced pool's items) is tried once
        seen = {current.judge_key()}
        unique = []
        for candidate in made:
            if candidate.judge_key() not in seen:
                seen.add(candidate.judge_key())
                unique.append(candidate)
        return unique

    def _pick(self, n: int, first: set[str]) -> list[str]:
        """n train item ids, taking labels in turn (seeded order within each label), items in `first` before the
        others: a demo pool that shows the judge each label, and where asked its own mistakes."""
        showable = [it for it in self.train if self.base.mode != "pairwise" or self.base.allow_tie or it.label != "tie"]
        by_label: dict[str, list[Item]] = defaultdict(list)
        for item in sorted(showable, key=lambda it: it.id):
            by_label[str(item.label)].append(item)
        for label, group in by_label.items():
            random.Random(f"{self.seed}:demos:{label}").shuffle(group)
            group.sort(key=lambda it: it.id not in first)  # stable: errors first, each part still shuffled
        chosen: list[str] = []
        queues = [list(by_label[label]) for label in sorted(by_label)]
        while len(chosen) < n and any(queues):
            for queue in queues:
                if queue and len(chosen) < n:
                    chosen.append(queue.pop(0).id)
        if first and not set(chosen) & first:
            return []  # no error to show: the same as a balanced pool, not worth a second evaluation
        return chosen

    def config(self, candidate: Candidate, folder: Path) -> JudgeConfig:
        """The judge configuration of `candidate`, writing its template and demo pool into `folder`."""
        update: dict[str, object] = {}
        if candidate.instruction != OWN:
            update["template"] = str(self.write_template(candidate.instruction, folder))
        if candidate.rubric != OWN:
            update["rubric"] = candidate.rubric
        if candidate.rules != OWN:
            update["rules"] = candidate.rules
        if self.base.mode == "pointwise":
            update["scale"] = self._scale()
        if candidate.demos is not None:
            if candidate.demos:
                pool = self.write_pool(candidate.demos, folder)
                update["demos"] = DemoConfig(pool=str(pool), k=len(candidate.demos) - 1, select="fixed")
            else:
                update["demos"] = None
        return self.base.model_copy(update=update)

    def write_template(self, variant: str, folder: Path, name: str | None = None) -> Path:
        """The judge template with the variant's instruction as its system text (the user text as it was)."""
        template = self.template.model_copy(update={"system": self.variants[variant]})
        path = folder / (name or f"template_{variant}.toml")
        if not path.exists() or name:
            write_atomic(path, template_toml(template, f"{template.name}_{variant}"))
        return path

    def write_pool(self, ids: Iterable[str], folder: Path, name: str | None = None) -> Path:
        by_id = {it.id: it for it in self.train}
        rows = [by_id[i].model_dump_json(exclude={"metadata"}, exclude_none=True) for i in ids]
        text = "".join(row + "\n" for row in rows)
        path = folder / (name or f"demos_{hashlib.sha256(text.encode()).hexdigest()[:12]}.jsonl")
        write_atomic(path, text)
        return path


def template_toml(template: Template, name: str) -> str:
    """A judge template as a TOML file that `load_template` reads back. JSON strings are valid TOML basic strings
    (the same escapes), so every text is written as one."""
    fields = {
        "name": name,
        "version": template.version,
        "mode": template.mode,
        "engine": template.engine,
        "output": template.output,
        "tie_label": template.tie_label,
        "system": template.system,
        "user": template.user,
    }
    lines = ["# written by `jurist align`: the judge template with the chosen instruction as its system text"]
    lines += [f"{key} = {json.dumps(value, ensure_ascii=False)}" for key, value in fields.items()]
    return "\n".join(lines) + "\n"


def _rubric_fits(name: str, scale: str) -> bool:
    rubric = load_rubric(name)
    return rubric.scale == scale and not rubric.checklist
