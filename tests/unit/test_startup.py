"""The command line starts without the heavy statistics stack: every command would pay for it, even `--help`."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("scipy.stats", "sklearn", "llama_cpp", "pyarrow")


def test_the_cli_imports_no_heavy_module_at_start() -> None:
    code = "import sys, jurist.cli; print(','.join(m for m in " + repr(HEAVY) + " if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "", f"importing jurist.cli loads {loaded}; import it inside the function that needs it"
