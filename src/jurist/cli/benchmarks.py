"""`jurist benchmarks`: the meta-evaluation sets that DATA can name."""

from __future__ import annotations

import os

import click
from rich.console import Console
from rich.table import Table

from ..data.benchmarks import BENCHMARKS, DATA_DIR_ENV, cache_dir


@click.command()
def benchmarks() -> None:
    """List the meta-evaluation benchmarks DATA can name (e.g. `jurist judge llmbar:Neighbor ...`).

    Examples:

    \b
      jurist benchmarks
      jurist judge llmbar:Neighbor --mode pairwise --out runs/neighbor --limit 20
    """
    table = Table(box=None, show_header=True, header_style="bold")
    table.add_column("spec")
    table.add_column("what it is")
    table.add_column("option after ':'")
    for name, benchmark in BENCHMARKS.items():
        table.add_row(name, benchmark.description, benchmark.option or "-")
    console = Console()
    console.print(table)
    where = os.environ.get(DATA_DIR_ENV)
    console.print(
        f"\nData is read from ${DATA_DIR_ENV} ({where})"
        if where
        else f"\nData is read from ${DATA_DIR_ENV} when set, else downloaded once into {cache_dir()}",
        soft_wrap=True,
    )
