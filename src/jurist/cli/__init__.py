"""The `jurist` command: a thin layer over the Python API, one module per command. What the commands share (the
option groups that build one typed configuration, the option checks, failing and progress) is in common.py.

Commands are imported when they run: `jurist judge` loads cli/judge.py and what it uses, not the server or the
report, and `jurist --help` loads none (it lists COMMANDS' summaries). A new command gets one line in COMMANDS;
tests/unit/test_cli_commands.py checks every entry loads, has that summary, and that no command is left out.
"""

from __future__ import annotations

import importlib

import click

from .._version import __version__

__all__ = ["COMMANDS", "all_commands", "main"]

# name -> (module in jurist.cli, the command object's name in it, the one-line summary `jurist --help` shows)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "judge": ("judge", "judge", "Judge every item of a data file or benchmark."),
    "meta-eval": ("meta_eval", "meta_eval", "How well a run's verdicts agree with human labels."),
    "arena": ("arena", "arena", "Rank systems by judged battles (Bradley-Terry)."),
    "audit": ("audit", "audit", "Audit a judge for biases and attacks."),
    "import": ("import_", "import_judgments", "Build a run directory from recorded judgments."),
    "calibrate-scores": (
        "calibrate_scores",
        "calibrate_scores",
        "Fit a regression from a run's scores onto human scores.",
    ),
    "benchmarks": ("benchmarks", "benchmarks", "List the meta-evaluation benchmarks."),
    "show": ("runs", "show", "Print the summary of a run again."),
    "export": ("runs", "export", "Write a run's verdicts as CSV, Parquet or JSONL."),
    "reward": ("reward", "reward", "Rewards and best-of-N for candidate responses."),
    "pairs": ("pairs", "pairs", "Build preference pairs (DPO, KTO) from judged runs."),
    "self-reward": ("self_reward", "self_reward", "One self-rewarding step: sample, judge, pair."),
    "serve": ("serve", "serve", "Serve the judge over HTTP for RL training loops."),
    "issues": ("issues", "issues", "Group a run's rationales into issue types (error analysis)."),
    "qrels": ("qrels", "qrels", "Judge a pool of TREC runs for relevance; LLM qrels."),
    "equivalence": ("equivalence", "equivalence", "Whether final answers match their references."),
    "verify-steps": ("verify_steps", "verify_steps", "Judge each step of step-by-step solutions."),
    "align": ("align", "align", "Teach the judge from people's labels (prompt search)."),
    "rag": ("rag", "rag", "Groundedness, answer and context relevance of RAG answers."),
    "rerank": ("rerank", "rerank", "Rerank the top-k of a TREC run with the judge."),
    "trajectory": ("trajectory", "trajectory", "Judge agent trajectories: requirements with evidence, and a score."),
    "tune": ("tune", "tune", "Tune a judge: training data, fine-tuning, export, and before/after evaluation."),
    "report": ("report", "report", "One self-contained HTML report of runs, audits, arenas."),
    "review": ("review", "review", "Label a run's items in a local web app, next to the judge."),
}


class LazyGroup(click.Group):
    """A group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attribute, summary = COMMANDS[cmd_name]
        from .startup import command_import  # here: `jurist --help` loads no module of jurist.cli

        with command_import():  # the garbage collector off while the command's modules load
            command: click.Command = getattr(importlib.import_module(f"{__name__}.{module}"), attribute)
        command.short_help = summary
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="jurist")
def main() -> None:
    """jurist: judge LLM outputs with an LLM, and judge the judges."""


def all_commands() -> dict[str, click.Command]:
    """Every command, imported (for the reference and the tests)."""
    ctx = click.Context(main)
    return {name: command for name in main.list_commands(ctx) if (command := main.get_command(ctx, name))}
