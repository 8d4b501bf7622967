"""`jurist tune`: tuning a judge. `jurist tune data` builds its training data (jurist.tune.data)."""

from __future__ import annotations

from pathlib import Path

import click

from ..backends.quantize import QUANT_TYPES, quantize_gguf
from ..tune.data import TuneOptions, build_training_data
from ..tune.evaluate import DEFAULT_SETS, TABLE_JSON, TABLE_MD, TuneEvalOptions, aevaluate_tuned, render_tune_eval
from ..tune.export import export_adapter
from .common import JudgingProgress, bootstrap_option, one_line_errors, run_judging, say, warn


@click.group("tune")
def tune() -> None:
    """Tune a judge: build its training data from labelled pairs, a teacher run or recorded annotations.

    \b
    Examples:
      jurist tune data 'alpaca_eval:*' --exclude llmbar,pandalm,evalbiasbench --out tune-data
    """


def _exclusions(value: str | None) -> list[str]:
    return [spec.strip() for spec in (value or "").split(",") if spec.strip()]


@tune.command("data")
@click.argument("sources", nargs=-1)
@click.option("--out", required=True, type=click.Path(path_type=Path), help="the folder to write the data into")
@click.option("--teacher", type=click.Path(path_type=Path), help="a pairwise run directory: its verdicts are targets")
@click.option(
    "--exclude",
    help="comma-separated test sets (benchmark specs or files) whose prompts may not be trained on; `llmbar` is "
    "LLMBar's 419 pairs (Natural and the four adversarial sets)",
)
@click.option("--swap/--no-swap", default=True, show_default=True, help="both orders of every pair, labels mapped")
@click.option(
    "--ties",
    type=click.Choice(["keep", "drop"]),
    default="drop",
    show_default=True,
    help="keep tied pairs (the judge learns to answer tie) or drop them",
)
@click.option("--no-consistency", is_flag=True, help="keep teacher verdicts whose two orders disagreed")
@click.option(
    "--length-balance",
    type=click.FloatRange(0.5, 1),
    default=0.5,
    show_default=True,
    help="the highest share of pairs that 'the longer response wins' (or the shorter) may have: 0.5 = as many of "
    "each, 1 = the data's own share",
)
@click.option(
    "--max-chars",
    type=click.IntRange(min=1),
    help="drop pairs longer than this (prompt and both responses, in characters) before the length balance",
)
@click.option("--keep-duplicates", is_flag=True, help="keep repeated pairs (same prompt and responses)")
@click.option("--dev-share", type=float, default=0.1, show_default=True, help="share of the prompts held for dev")
@click.option("--seed", type=int, default=0, show_default=True, help="the seed of the split and the balancing")
@click.option(
    "--rationale",
    type=click.Choice(["none", "after"]),
    default="none",
    show_default=True,
    help="the target: the verdict alone, or the verdict then the teacher's rationale (pairs without one dropped)",
)
@click.option("--force", is_flag=True, help="replace the training data already in --out")
def data(
    sources: tuple[str, ...],
    out: Path,
    teacher: Path | None,
    exclude: str | None,
    swap: bool,
    ties: str,
    no_consistency: bool,
    length_balance: float,
    max_chars: int | None,
    keep_duplicates: bool,
    dev_share: float,
    seed: int,
    rationale: str,
    force: bool,
) -> None:
    """Build judge training data in TRL's formats (sft/, preference/, reward/; train and dev) with a data card.

    SOURCES are data files or benchmark specs with pairwise labels (A, B, tie): `llmbar:Natural`, `pandalm`,
    `alpaca_eval:claude-2.1` (`alpaca_eval:*`: GPT-4-turbo's recorded preferences for every annotated model but
    NullModel). The prompts are the ones jurist's pairwise judge sends; the target is its JSON answer, the verdict
    first. Training data never holds a prompt of the --exclude sets; train and dev never share a prompt.

    \b
    Examples:
      jurist tune data 'alpaca_eval:*' --exclude llmbar,pandalm --out tune-data
      jurist tune data --teacher runs/gpt4 --rationale after --out distil
      jurist tune data pairs.jsonl --no-swap --ties keep --length-balance 0.6 --dev-share 0.2 --seed 1 --out tune-data
    """
    with one_line_errors():
        options = TuneOptions(
            swap=swap,
            ties=ties,
            consistency=not no_consistency,
            length_balance=length_balance,
            max_chars=max_chars,
            dedupe=not keep_duplicates,
            exclude=_exclusions(exclude),
            dev_share=dev_share,
            seed=seed,
            rationale=rationale,
        )
        card = build_training_data(list(sources), out, options, teacher=teacher, force=force)
    for step in card.steps:
        why = "; ".join(f"{reason} {n}" for reason, n in step.dropped.items())
        say(f"{step.step}: {step.before} -> {step.after}" + (f" (dropped: {why})" if why else ""))
    for name, size in card.splits.items():
        say(f"{name}: {card.prompts[name]} prompts, {size['pairs']} pairs, {size['sft']} sft rows")
    say(f"wrote {out} (data card: {out / 'DATA_CARD.md'})")


@tune.command("eval")
@click.argument("model_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--sets",
    help=f"comma-separated sets of human-labelled pairs: benchmark specs or data files [default: "
    f"{','.join(DEFAULT_SETS)}]; `llmbar` is LLMBar's 419 pairs (Natural and the four adversarial sets)",
)
@click.option("--limit", type=click.IntRange(min=1), help="a seeded sample of N pairs of each set (recorded)")
@click.option("--seed", type=int, default=0, show_default=True, help="the sample's and the bootstrap's seed")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="keep every judge's run directories here (re-running judges nothing twice) and write the table "
    "(tune-eval.md, tune-eval.json); default: a temporary folder, removed",
)
@click.option(
    "--allow-overlap",
    is_flag=True,
    help="evaluate on sets whose prompts the training data did not exclude (the figures may then be inflated)",
)
@click.option(
    "--model",
    help="the base model's spec for every judge (local, gguf:FILE); default: each training record's base (local for "
    "the embedded model)",
)
@bootstrap_option()
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON instead of the table")
def eval_(
    model_dirs: tuple[Path, ...],
    sets: str | None,
    limit: int | None,
    seed: int,
    out: Path | None,
    allow_overlap: bool,
    model: str | None,
    n_resamples: int,
    as_json: bool,
) -> None:
    """Evaluate tuned judges against the untuned one on held-out human-labelled pairs, before/after in one table.

    Each MODEL_DIR is a `jurist tune train` output. Every judge is jurist's pairwise judge (built-in template, both
    orders, the training data's rationale setting): the untuned one on the base model, each tuned one on the same
    model with its adapter (adapter.gguf, from `jurist tune export`); a reward model's MODEL_DIR judges by its two
    scores (transformers). The table gives per set and overall: pairs, failed verdicts (counted as wrong),
    accuracy and position consistency with 95% bootstrap intervals, judgments/min, and tuned - untuned with paired
    bootstrap intervals. A set whose prompts the training data did not exclude is refused (--allow-overlap).

    \b
    Examples:
      jurist tune eval tuned-sft --out tune-eval
      jurist tune eval tuned-sft tuned-dpo --sets llmbar:Natural,pandalm --limit 100 --out tune-eval
    """
    with one_line_errors():
        options = TuneEvalOptions(
            sets=_exclusions(sets) if sets is not None else list(DEFAULT_SETS),
            limit=limit,
            seed=seed,
            allow_overlap=allow_overlap,
            model=model,
            n_resamples=n_resamples,
        )
    # where a stopped evaluation's verdicts are: without --out, a temporary folder that is removed
    kept = out or Path("no folder (a temporary one, removed: give --out to keep and resume the runs)")
    progress = JudgingProgress(kept, "pairs already judged")

    def on_start(total: int, skipped: int) -> None:
        # one bar for every run: each run adds its pairs to the total
        if progress.task is None:
            progress.on_start(total, skipped)
        else:
            task = progress.bar.tasks[progress.task]
            progress.bar.update(progress.task, total=(task.total or 0) + total, advance=skipped)

    def on_run(judge: str, name: str, pairs: int) -> None:
        progress.bar.console.print(f"{judge} on {name}: {pairs} pairs", markup=False, highlight=False)

    work = aevaluate_tuned(
        list(model_dirs), options, out=out, on_run=on_run, on_start=on_start, on_verdict=progress.on_verdict
    )
    report = run_judging(work, progress.bar, kept)
    click.echo(report.model_dump_json(indent=2) if as_json else render_tune_eval(report))
    if report.overlap:
        for where, names in report.overlap.items():
            warn(f"{where}: not held out of its training data (--allow-overlap): {', '.join(names)}")
    if out is not None:
        say(f"wrote {out / TABLE_MD} and {out / TABLE_JSON}; the runs are in {out / 'runs'}")


@tune.command("train")
@click.argument("data_dir", type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(path_type=Path), help="the model folder to write")
@click.option(
    "--method",
    type=click.Choice(["sft", "dpo", "reward"]),
    default="sft",
    show_default=True,
    help="sft: the verdict as the target; dpo: the right verdict over the swapped one; reward: a Bradley-Terry head",
)
@click.option("--base", help="a GGUF file or a Hugging Face model folder (default: the embedded model's GGUF)")
@click.option("--epochs", type=float, default=1.0, show_default=True, help="passes over the training data")
@click.option("--max-steps", type=click.IntRange(min=1), help="stop after this many optimizer steps")
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True, help="examples per step")
@click.option("--grad-accum", type=click.IntRange(min=1), default=1, show_default=True, help="steps per update")
@click.option("--learning-rate", type=float, help="default: 2e-4 for sft and reward, 5e-6 for dpo")
@click.option("--lora-r", type=click.IntRange(min=1), default=16, show_default=True, help="the LoRA rank")
@click.option(
    "--max-length",
    type=click.IntRange(min=17),
    default=768,
    show_default=True,
    help="longer examples are left out (counted), never truncated",
)
@click.option("--max-examples", type=click.IntRange(min=1), help="train on the first N examples only")
@click.option("--seed", type=int, default=0, show_default=True, help="the seed of the data order and LoRA init")
@click.option("--save-steps", type=click.IntRange(min=1), default=25, show_default=True, help="checkpoint interval")
@click.option("--threads", type=click.IntRange(min=1), help="torch threads (default: every core)")
@click.option("--bf16", is_flag=True, help="bfloat16 weights (faster only on CPUs with bf16 instructions)")
@click.option("--force", is_flag=True, help="replace the model already in --out")
def train(
    data_dir: Path,
    out: Path,
    method: str,
    base: str | None,
    epochs: float,
    max_steps: int | None,
    batch_size: int,
    grad_accum: int,
    learning_rate: float | None,
    lora_r: int,
    max_length: int,
    max_examples: int | None,
    seed: int,
    save_steps: int,
    threads: int | None,
    bf16: bool,
    force: bool,
) -> None:
    """LoRA fine-tuning of a judge on DATA_DIR (from `jurist tune data`) with TRL, from the embedded model or --base.

    Writes the adapter (adapter/), the base's config and tokenizer (base/), the training log (log.jsonl) and the
    record (jurist-tune.json). Re-running an interrupted run with the same options resumes from its newest
    checkpoint. Needs jurist[tune] (torch, transformers, peft, trl).

    \b
    Examples:
      jurist tune train tune-data --out judge-sft
      jurist tune train tune-data --method dpo --epochs 2 --out judge-dpo
      jurist tune train tune-data --base ./my-hf-model --max-length 1024 --out my-judge
    """
    from ..tune.train import TrainOptions
    from ..tune.train import train as run_training

    with one_line_errors():
        options = TrainOptions(
            method=method,
            base=base,
            epochs=epochs,
            max_steps=max_steps,
            batch_size=batch_size,
            grad_accum=grad_accum,
            learning_rate=learning_rate,
            lora_r=lora_r,
            lora_alpha=2 * lora_r,
            max_length=max_length,
            max_examples=max_examples,
            seed=seed,
            save_steps=save_steps,
            threads=threads,
            bf16=bf16,
        )
        run_training(data_dir, out, options, force=force, say=say)


@tune.command("export")
@click.argument("model_dir", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="export again over an adapter.gguf already there")
def export(model_dir: Path, force: bool) -> None:
    """Export a trained model folder's LoRA adapter to MODEL_DIR/adapter.gguf, the adapter llama.cpp loads.

    Uses llama.cpp's convert_lora_to_gguf.py, fetched once from llama-cpp-python's source (the installed version)
    into ~/.cache/jurist/llama.cpp ($JURIST_LLAMA_CPP: a llama.cpp checkout instead). sft and dpo models only: a
    reward model's score head is not a judge llama.cpp can run.

    \b
    Examples:
      jurist tune export tuned
      jurist judge pairs.jsonl --mode pairwise --adapter tuned/adapter.gguf --out runs/tuned
    """
    with one_line_errors():
        path = export_adapter(model_dir, force=force)
    say(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB): judge with --model local --adapter {path}")


@tune.command("quantize")
@click.argument("gguf", type=click.Path(path_type=Path))
@click.option("--type", "kind", required=True, type=click.Choice(QUANT_TYPES), help="the quantization to write")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="the GGUF file to write")
@click.option(
    "--allow-requantize",
    is_flag=True,
    help="quantize a GGUF that is already quantized (precision is lost twice; an f16/f32 source is better)",
)
@click.option("--threads", type=click.IntRange(min=1), help="quantizer threads (default: every core)")
def quantize(gguf: Path, kind: str, out: Path, allow_requantize: bool, threads: int | None) -> None:
    """Write GGUF quantized to --type with llama.cpp's quantizer (speed: smaller weights are read faster).

    \b
    Examples:
      jurist tune quantize model-f16.gguf --type q4_k_m --out model-q4_k_m.gguf
      jurist tune quantize SmolLM2-135M-Instruct.Q4_1.gguf --type q8_0 --allow-requantize --out smol-q8_0.gguf
      jurist judge pairs.jsonl --mode pairwise --model gguf:model-q4_k_m.gguf --out runs/q4
    """
    with one_line_errors():
        path = quantize_gguf(gguf, out, kind, allow_requantize=allow_requantize, threads=threads)
    say(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB, {kind})")
