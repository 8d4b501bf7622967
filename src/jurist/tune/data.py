"""`jurist tune data`: judge training data from labelled pairwise items, a teacher run, or recorded annotations.

Every example is one pairwise item with its decision. The pipeline, each step counted in the data card:
collect (items without a label or a teacher verdict left out) -> drop teacher verdicts that flip with the order ->
ties (kept or dropped) -> deduplicate (same prompt and responses, either order) -> hold-out guard (prompts of named
test sets) -> length limit (optional) -> length-bias balance -> split by prompt (train/dev) -> order: swap
augmentation (both orders, labels mapped with `swap_winner`), or, without it, each pair shown in the order that keeps
A and B balanced.

The prompt of every training example is the one jurist's own pairwise judge sends (the built-in template, rendered
by `PairwiseJudge`), so that the tuned judge reads at inference what it was trained on.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from ..backends.fake import FakeBackend
from ..data.benchmarks import BENCHMARKS, alpaca_eval_models, load_benchmark
from ..data.load import LoadedData, load_items
from ..errors import ConfigError, InputError
from ..files import write_atomic
from ..judges import JudgeConfig, make_judge
from ..judges.pairwise import PairwiseJudge
from ..outcomes import Preference, Winner, swap_winner
from ..run.log import read_run
from ..types import Item, Turn

Ties = Literal["keep", "drop"]
Rationale = Literal["none", "after"]
Kind = Literal["human", "teacher", "annotations"]
# `--exclude llmbar`: LLMBar's 419 pairs (Natural and the four adversarial sets), the test sets of issue 17
LLMBAR_TEST = ("Natural", "Neighbor", "GPTInst", "GPTOut", "Manual")
FORMATS = ("sft", "preference", "reward")
SPLITS = ("train", "dev")
CARD_JSON = "data_card.json"
CARD_MD = "DATA_CARD.md"

# The licences of the data sets jurist loads (../shared/data/README.md's table); a user's file is its owner's.
LICENCES = {
    "llmbar": "MIT",
    "summeval": "MIT",
    "mt_bench": "Apache-2.0",
    "mt_bench_human": "CC-BY-4.0 (lmsys/mt_bench_human_judgments)",
    "evalbiasbench": "BSD-3-Clause",
    "pandalm": "Apache-2.0",
    "alpaca_eval": "Apache-2.0 (annotations by GPT-4-turbo: OpenAI's terms apply to training on them)",
}


class TuneOptions(BaseModel):
    """How the training data is built (every choice is recorded in the data card)."""

    swap: bool = True  # both orders of every pair; else each pair once, in the order that balances A and B
    ties: Ties = "drop"
    consistency: bool = True  # drop teacher verdicts whose two orders disagreed
    # the highest share of the decided pairs that "the longer response wins" (or "the shorter wins") may have:
    # 0.5 = as many of each, so that length alone predicts nothing; 1 = the data's own share
    length_balance: float = Field(0.5, ge=0.5, le=1)
    # pairs longer than this (prompt and both responses, in characters) are dropped before the length balance, so
    # that a model trained on short sequences still sees as many longer- as shorter-wins pairs; None = no limit
    max_chars: int | None = Field(None, gt=0)
    dedupe: bool = True
    exclude: list[str] = []  # test sets whose prompts may not be trained on (benchmark specs or files)
    dev_share: float = 0.1
    seed: int = 0
    rationale: Rationale = "none"  # "after": the target is the verdict then the teacher's rationale


class Example(BaseModel):
    """One labelled pair, before it is put in its presentation order(s)."""

    id: str
    source: str
    prompt: str
    response_a: str
    response_b: str
    label: Winner
    turns: list[Turn] | None = None
    reference: str | None = None
    rationale: str | None = None


class Step(BaseModel):
    """One step of the pipeline: how many examples came in and went out, and why the others were dropped."""

    step: str
    before: int
    after: int
    dropped: dict[str, int] = {}


class SourceInfo(BaseModel):
    spec: str
    kind: Kind
    items: int
    used: int
    licence: str


class DataCard(BaseModel):
    sources: list[SourceInfo]
    options: TuneOptions
    steps: list[Step]
    splits: dict[str, dict[str, int]]  # split -> format -> rows
    labels: dict[str, dict[str, int]]  # split -> label -> SFT rows
    length_wins: dict[str, int]  # pairs (before ordering) whose longer / shorter / equal-length response wins
    prompts: dict[str, int]  # split -> distinct prompts


# -- reading the sources -----------------------------------------------------------------------------------------


def prompt_key(prompt: str) -> str:
    """A prompt's hash, blind to case and spacing: what the hold-out guard and the split compare."""
    return hashlib.sha256(re.sub(r"\s+", " ", prompt).strip().casefold().encode()).hexdigest()[:16]


def _pair_key(ex: Example) -> str:
    """The same prompt and responses, in either order."""
    a, b = sorted((ex.response_a, ex.response_b))
    turns = json.dumps([t.model_dump() for t in ex.turns or []])
    return hashlib.sha256(json.dumps([prompt_key(ex.prompt), turns, a, b]).encode()).hexdigest()


def _load_spec(spec: str, data_dir: str | Path | None) -> LoadedData:
    """A file or folder, or (when no such path exists) a benchmark spec."""
    path = Path(spec)
    if path.exists():
        return load_items(path, "pairwise")
    name = spec.partition(":")[0]
    if name.strip().lower() not in BENCHMARKS:
        raise InputError("no such file, nor a benchmark name", file=spec, hint=f"benchmarks: {', '.join(BENCHMARKS)}")
    return load_benchmark(spec, data_dir)


def _specs(spec: str, data_dir: str | Path | None) -> list[str]:
    """`alpaca_eval:*` is every annotated model but the null model; any other spec is itself."""
    name, _, option = spec.partition(":")
    if name.strip().lower() == "alpaca_eval" and option.strip() == "*" and not Path(spec).exists():
        root = Path(data_dir) / "alpaca_eval" if data_dir is not None else None
        # NullModel is AlpacaEval's null-model attack (one fixed cheating output): no judge should learn from it
        return [f"alpaca_eval:{model}" for model in alpaca_eval_models(root) if model != "NullModel"]
    return [spec]


def _licence(spec: str) -> str:
    if Path(spec).exists():
        return "the file's own (not known to jurist: check it before you share the data)"
    return LICENCES.get(spec.partition(":")[0].strip().lower(), "not recorded: check the source")


def _from_items(spec: str, loaded: LoadedData) -> tuple[list[Example], Counter[str]]:
    examples: list[Example] = []
    dropped = Counter[str]()
    for item in loaded.items:
        if item.response_a is None or item.response_b is None:
            raise InputError(
                f"item '{item.id}' is not a pair of responses: tune data needs pairwise items",
                file=loaded.path,
                line=loaded.lines.get(item.id),
                hint="give prompt, response_a, response_b and label (A, B or tie)",
            )
        if item.label not in ("A", "B", "tie"):
            dropped["no label"] += 1
            continue
        if item.images or item.response_a_images or item.response_b_images:
            dropped["has images (the data is text only)"] += 1
            continue
        examples.append(_example(spec, item, str(item.label)))
    return examples, dropped


def _example(spec: str, item: Item, label: str, rationale: str | None = None) -> Example:
    return Example(
        id=item.id,
        source=spec,
        prompt=item.prompt,
        response_a=item.response_a or "",
        response_b=item.response_b or "",
        label=label,
        turns=item.turns,
        reference=item.reference,
        rationale=rationale,
    )


def read_teacher(run: str | Path, *, consistency: bool = True) -> tuple[list[Example], Counter[str], int]:
    """A teacher run's verdicts as examples (its winner and rationale are the targets), the counts of what was left
    out, and how many verdicts it holds. A run of another mode than pairwise is refused."""
    log = read_run(run)
    if log.header.mode != "pairwise":
        raise ConfigError(
            f"teacher run {run} is a {log.header.mode or 'unknown'}-mode run: pairwise training data needs a "
            "pairwise teacher run (jurist judge DATA --mode pairwise --out RUN)"
        )
    examples: list[Example] = []
    dropped = Counter[str]()
    for v in log.verdicts:
        outcome = v.outcome
        if v.error is not None or not isinstance(outcome, Preference) or outcome.winner is None:
            dropped["teacher gave no verdict"] += 1
            continue
        if consistency and outcome.consistent is False:
            dropped["teacher flips with the order"] += 1
            continue
        texts = v.item
        if texts is None or texts.response_a is None or texts.response_b is None:
            dropped["run keeps no item texts"] += 1
            continue
        item = Item(id=v.id, **texts.model_dump(include={"prompt", "response_a", "response_b", "turns", "reference"}))
        examples.append(_example(f"teacher:{run}", item, outcome.winner, v.rationale))
    return examples, dropped, len(log.verdicts)


# -- the pipeline ------------------------------------------------------------------------------------------------


def _step(name: str, before: Sequence[Any], after: Sequence[Any], dropped: Counter[str] | dict[str, int]) -> Step:
    return Step(step=name, before=len(before), after=len(after), dropped={k: v for k, v in dropped.items() if v})


def _winner_length(ex: Example) -> str:
    la, lb = len(ex.response_a), len(ex.response_b)
    if ex.label == "tie" or la == lb:
        return "equal"
    return "longer" if (ex.label == "A") == (la > lb) else "shorter"


def _balance_length(examples: list[Example], share: float, rng: random.Random) -> tuple[list[Example], int]:
    """Drop, at random, pairs of the larger group ("longer response wins" or "shorter response wins") until it is at
    most `share` of the two; ties and equal lengths stay."""
    groups: dict[str, list[int]] = {"longer": [], "shorter": []}
    for i, ex in enumerate(examples):
        kind = _winner_length(ex)
        if kind in groups:
            groups[kind].append(i)
    big, small = sorted(groups.values(), key=len, reverse=True)
    keep = len(big) if share >= 1 else min(len(big), int(share / (1 - share) * len(small) + 1e-9))
    drop = set(rng.sample(big, len(big) - keep))
    return [ex for i, ex in enumerate(examples) if i not in drop], len(drop)


def _held_out(specs: Iterable[str], data_dir: str | Path | None) -> set[str]:
    """The prompt hashes of the named test sets; `llmbar` alone is LLMBar's 419 pairs (LLMBAR_TEST)."""
    keys: set[str] = set()
    for spec in specs:
        if spec.strip().lower() == "llmbar" and not Path(spec).exists():
            subsets = [f"llmbar:{name}" for name in LLMBAR_TEST]
        else:
            subsets = _specs(spec, data_dir)
        for one in subsets:
            keys.update(prompt_key(item.prompt) for item in _load_spec(one, data_dir).items)
    return keys


def _split(examples: list[Example], share: float, rng: random.Random) -> dict[str, list[Example]]:
    """Train/dev by prompt: every example of a prompt lands in the same split."""
    prompts = sorted({prompt_key(ex.prompt) for ex in examples})
    rng.shuffle(prompts)
    n_dev = round(share * len(prompts))
    if share > 0 and n_dev == 0 and len(prompts) > 1:
        n_dev = 1
    dev = set(prompts[:n_dev])
    return {
        "train": [ex for ex in examples if prompt_key(ex.prompt) not in dev],
        "dev": [ex for ex in examples if prompt_key(ex.prompt) in dev],
    }


def _swapped(ex: Example) -> Example:
    return ex.model_copy(
        update={
            "id": f"{ex.id}#BA",
            "response_a": ex.response_b,
            "response_b": ex.response_a,
            "label": swap_winner(ex.label),
        }
    )


def _ordered(examples: list[Example], swap: bool) -> list[Example]:
    """Both orders of every pair, or each pair once with A and B winning in turn (ties as they are)."""
    if swap:
        return [one for ex in examples for one in (ex.model_copy(update={"id": f"{ex.id}#AB"}), _swapped(ex))]
    out, next_label = [], "A"
    for ex in examples:
        if ex.label != "tie" and ex.label != next_label:
            ex = _swapped(ex)
        if ex.label != "tie":
            next_label = swap_winner(next_label)
        out.append(ex)
    return out


# -- the formats -------------------------------------------------------------------------------------------------


def _judge(rationale: Rationale) -> PairwiseJudge:
    """jurist's pairwise judge with its built-in template, one order per request: only its prompts are used."""
    judge = make_judge(FakeBackend("{}"), JudgeConfig(mode="pairwise", swap=False, rationale=rationale))
    assert isinstance(judge, PairwiseJudge)
    return judge


def _messages(judge: PairwiseJudge, ex: Example) -> list[dict[str, str]]:
    item = Item(
        id=ex.id,
        prompt=ex.prompt,
        response_a=ex.response_a,
        response_b=ex.response_b,
        turns=ex.turns,
        reference=ex.reference,
    )
    (request,) = judge.requests(item)
    return [{"role": m.role, "content": m.content} for m in request.messages]


def _answer(judge: PairwiseJudge, label: Winner, rationale: str | None) -> str:
    """The verdict first (as the judge's answer format spells it), then the rationale where there is one."""
    answer: dict[str, str] = {"winner": judge.answer_format.label(label)}
    if rationale is not None:
        answer["rationale"] = rationale
    return json.dumps(answer, ensure_ascii=False)


def _rows(judge: PairwiseJudge, ordered: list[Example], pairs: list[Example], with_rationale: bool) -> dict[str, Any]:
    sft, preference, reward = [], [], []
    for ex in ordered:
        prompt = _messages(judge, ex)
        target = _answer(judge, ex.label, ex.rationale if with_rationale else None)
        sft.append({"messages": [*prompt, {"role": "assistant", "content": target}]})
        if ex.label != "tie":  # a tie has no single wrong answer to reject
            wrong = _answer(judge, swap_winner(ex.label), ex.rationale if with_rationale else None)
            preference.append(
                {
                    "prompt": prompt,
                    "chosen": [{"role": "assistant", "content": target}],
                    "rejected": [{"role": "assistant", "content": wrong}],
                }
            )
    for ex in pairs:  # the reward model scores responses: one row per pair, the order does not matter
        if ex.label == "tie":
            continue
        better, worse = (ex.response_a, ex.response_b) if ex.label == "A" else (ex.response_b, ex.response_a)
        conversation = [{"role": t.role, "content": t.content} for t in ex.turns or []]
        reward.append(
            {
                "prompt": [*conversation, {"role": "user", "content": ex.prompt}],
                "chosen": [{"role": "assistant", "content": better}],
                "rejected": [{"role": "assistant", "content": worse}],
            }
        )
    return {"sft": sft, "preference": preference, "reward": reward}


# -- the whole build ---------------------------------------------------------------------------------------------


def build_training_data(
    sources: Sequence[str],
    out: str | Path,
    options: TuneOptions | None = None,
    *,
    teacher: str | Path | None = None,
    data_dir: str | Path | None = None,
    force: bool = False,
) -> DataCard:
    """Build the training data of a pairwise judge into `out` (sft/, preference/, reward/ with train.jsonl and
    dev.jsonl in TRL's conversational formats, and the data card) and return the card. `sources` are data files or
    benchmark specs with human (or recorded) labels; `teacher` is a pairwise run directory whose verdicts are the
    targets. `data_dir` holds the benchmarks' folders (as $JURIST_DATA_DIR does)."""
    options = options or TuneOptions()
    if not 0 <= options.dev_share < 1:
        raise ConfigError(f"--dev-share {options.dev_share}: give a share in [0, 1)")
    if not sources and teacher is None:
        raise ConfigError("no data: give SOURCES (data files, benchmark specs) or --teacher RUN")
    out = Path(out)
    if (out / CARD_JSON).exists() and not force:
        raise ConfigError(f"{out} holds training data already: choose another --out, or --force to replace it")
    rng = random.Random(options.seed)

    collected: list[Example] = []
    infos: list[SourceInfo] = []
    dropped = Counter[str]()
    for spec in (one for given in sources for one in _specs(given, data_dir)):
        loaded = _load_spec(spec, data_dir)
        kind: Kind = "annotations" if spec.lower().startswith("alpaca_eval") else "human"
        examples, left = _from_items(spec, loaded)
        collected += examples
        dropped += left
        infos.append(SourceInfo(spec=spec, kind=kind, items=len(loaded.items), used=0, licence=_licence(spec)))
    teacher_flips = Counter[str]()
    if teacher is not None:
        examples, left, total = read_teacher(teacher, consistency=options.consistency)
        collected += examples
        teacher_flips["teacher flips with the order"] = left.pop("teacher flips with the order", 0)
        dropped += left
        licence = "the teacher model's terms (its outputs are the targets)"
        infos.append(SourceInfo(spec=f"teacher:{teacher}", kind="teacher", items=total, used=0, licence=licence))
    total_in = sum(info.items for info in infos)
    steps = [Step(step="collect", before=total_in, after=len(collected) + sum(teacher_flips.values()), dropped=dropped)]
    steps.append(Step(step="consistency", before=steps[-1].after, after=len(collected), dropped=teacher_flips))

    labels_seen = {ex.label for ex in collected} - ({"tie"} if options.ties == "drop" else set())
    if len(labels_seen) == 1:
        raise InputError(
            f"every usable example is labelled {labels_seen.pop()}: a judge trained on one label learns nothing "
            "about the responses",
            file=", ".join(info.spec for info in infos),
            field="label",
            hint="check the label column (--field label=..., the data's own coding), or add data with other labels",
        )

    pairs = collected
    if options.ties == "drop":
        pairs = [ex for ex in collected if ex.label != "tie"]
    steps.append(_step("ties", collected, pairs, {f"tie ({options.ties})": len(collected) - len(pairs)}))

    if options.dedupe:
        seen: set[str] = set()
        unique = []
        for ex in pairs:
            key = _pair_key(ex)
            if key not in seen:
                seen.add(key)
                unique.append(ex)
        steps.append(_step("dedupe", pairs, unique, {"same prompt and responses": len(pairs) - len(unique)}))
        pairs = unique

    if options.exclude:
        held = _held_out(options.exclude, data_dir)
        kept = [ex for ex in pairs if prompt_key(ex.prompt) not in held]
        reason = f"prompt in a test set ({', '.join(options.exclude)})"
        steps.append(_step("hold-out", pairs, kept, {reason: len(pairs) - len(kept)}))
        pairs = kept

    if options.max_chars is not None:
        limit = options.max_chars
        short = [ex for ex in pairs if len(ex.prompt) + len(ex.response_a) + len(ex.response_b) <= limit]
        steps.append(_step("length limit", pairs, short, {f"longer than {limit} characters": len(pairs) - len(short)}))
        pairs = short

    if options.length_balance < 1:
        balanced, n = _balance_length(pairs, options.length_balance, rng)
        steps.append(_step("length balance", pairs, balanced, {"longer/shorter-wins surplus": n}))
        pairs = balanced

    if not pairs:
        raise InputError(
            "no examples left after the filters",
            file=", ".join(info.spec for info in infos),
            hint="see the counts above: fewer --exclude sets, --ties keep, or more data",
        )
    judge = _judge(options.rationale)
    if options.rationale == "after":
        with_rationale = [ex for ex in pairs if ex.rationale]
        steps.append(_step("rationale", pairs, with_rationale, {"no rationale": len(pairs) - len(with_rationale)}))
        pairs = with_rationale

    splits = _split(pairs, options.dev_share, rng)
    files: dict[str, dict[str, list[dict[str, Any]]]] = {fmt: {} for fmt in FORMATS}
    sizes: dict[str, dict[str, int]] = {}
    labels: dict[str, dict[str, int]] = {}
    for name, members in splits.items():
        ordered = _ordered(members, options.swap)
        rows = _rows(judge, ordered, members, options.rationale == "after")
        for fmt in FORMATS:
            files[fmt][name] = rows[fmt]
        sizes[name] = {"pairs": len(members), **{fmt: len(rows[fmt]) for fmt in FORMATS}}
        labels[name] = dict(sorted(Counter(ex.label for ex in ordered).items()))
    used = Counter(ex.source for ex in pairs)
    for info in infos:
        info.used = used.get(info.spec, 0)
    card = DataCard(
        sources=infos,
        options=options,
        steps=steps,
        splits=sizes,
        labels=labels,
        length_wins=dict(Counter(_winner_length(ex) for ex in pairs)),
        prompts={name: len({prompt_key(ex.prompt) for ex in members}) for name, members in splits.items()},
    )
    for fmt, by_split in files.items():
        for name, rows_ in by_split.items():
            target = out / fmt / f"{name}.jsonl"
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(target, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows_))
    write_atomic(out / CARD_JSON, card.model_dump_json(indent=2) + "\n")
    write_atomic(out / CARD_MD, render_card(card))
    return card


def _cell(text: str) -> str:
    """A file name as a Markdown table cell: one line, pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def render_card(card: DataCard) -> str:
    """The data card as Markdown (sources, licences, what every step dropped and why, split sizes)."""
    lines = [
        "# Judge training data",
        "",
        "## Sources",
        "",
        "| source | kind | items | used | licence |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {_cell(s.spec)} | {s.kind} | {s.items} | {s.used} | {s.licence} |" for s in card.sources]
    lines += ["", "## Steps", "", "| step | in | out | dropped |", "|---|---|---|---|"]
    for step in card.steps:
        why = "; ".join(f"{reason}: {n}" for reason, n in step.dropped.items()) or "-"
        lines.append(f"| {step.step} | {step.before} | {step.after} | {why} |")
    lines += ["", "## Splits (by prompt: no prompt is in two splits)", ""]
    lines += ["| split | prompts | pairs | sft | preference | reward | labels (sft) |", "|---|---|---|---|---|---|---|"]
    for name, size in card.splits.items():
        labels = ", ".join(f"{k} {v}" for k, v in card.labels[name].items())
        lines.append(
            f"| {name} | {card.prompts[name]} | {size['pairs']} | {size['sft']} | {size['preference']} | "
            f"{size['reward']} | {labels} |"
        )
    wins = ", ".join(f"{k}: {v}" for k, v in sorted(card.length_wins.items()))
    lines += ["", f"Which response wins, by length (pairs): {wins}.", ""]
    opts = card.options
    lines += [
        f"Options: swap {opts.swap}, ties {opts.ties}, consistency {opts.consistency}, length balance "
        f"{opts.length_balance}, length limit {opts.max_chars or '-'} characters, dedupe {opts.dedupe}, exclude "
        f"{', '.join(opts.exclude) or '-'}, dev share {opts.dev_share}, seed {opts.seed}, rationale {opts.rationale}.",
        "",
    ]
    return "\n".join(lines)


__all__ = ["DataCard", "Example", "TuneOptions", "build_training_data", "prompt_key", "read_teacher", "render_card"]
