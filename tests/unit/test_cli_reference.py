"""docs/cli.md is the reference that the commands generate: it fails here until regenerated after a change."""

from __future__ import annotations

import difflib
from pathlib import Path

from jurist.cli.reference import REGENERATE, render

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_docs_cli_md_is_what_the_commands_generate() -> None:
    committed = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    generated = render()
    if committed != generated:
        diff = difflib.unified_diff(committed.splitlines(), generated.splitlines(), "docs/cli.md", "generated", n=0)
        shown = "\n".join(list(diff)[:20])
        raise AssertionError(f"docs/cli.md differs from the commands: regenerate it with `{REGENERATE}`\n{shown}")


def test_the_reference_names_every_visible_option_and_no_hidden_one() -> None:
    text = render()
    assert "| `--rpm FLOAT` |" in text and "| `--template TEXT` |" in text
    assert "## jurist arena" in text and "| `jurist export` | `--to` | `--out` |" in text
    assert "`--to " not in text  # old spellings appear only in their table
