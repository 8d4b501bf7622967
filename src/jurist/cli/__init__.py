"""The `jurist` command: a thin layer over the Python API, one module per command. What the commands share (the
option groups that build one typed configuration, the option checks, failing and progress) is in common.py."""

from __future__ import annotations

import click

from .._version import __version__

# the modules, not their commands: `jurist.cli.judge` stays the module (a command of the same name would hide it)
from . import (
    arena,
    audit,
    benchmarks,
    equivalence,
    import_,
    judge,
    meta_eval,
    pairs,
    qrels,
    reward,
    runs,
    self_reward,
    serve,
    verify_steps,
)

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="jurist")
def main() -> None:
    """jurist: judge LLM outputs with an LLM, and judge the judges."""


# the commands; `jurist --help` lists them by name
for command in (
    judge.judge,
    meta_eval.meta_eval,
    arena.arena,
    audit.audit,
    import_.import_judgments,
    benchmarks.benchmarks,
    runs.show,
    runs.export,
    reward.reward,
    pairs.pairs,
    self_reward.self_reward,
    serve.serve,
    qrels.qrels,
    equivalence.equivalence,
    verify_steps.verify_steps,
):
    main.add_command(command)
