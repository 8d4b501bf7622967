"""The package's public names."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys

import jurist

from .helpers import PROJECT


def test_all_lists_exactly_the_public_names():
    public = {name for name in dir(jurist) if not name.startswith("_") and not inspect.ismodule(getattr(jurist, name))}
    assert set(jurist.__all__) == public | {"__version__"}
    assert len(jurist.__all__) == len(set(jurist.__all__))


def test_every_public_name_is_importable():
    module = importlib.import_module("jurist")
    for name in jurist.__all__:
        namespace: dict[str, object] = {}
        exec(f"from jurist import {name}", namespace)
        assert namespace[name] is getattr(module, name)
        assert namespace[name] is not None


def test_expected_entry_points_are_public():
    for name in ("judge", "ajudge", "open_run", "FakeBackend", "JudgeConfig", "JobOptions", "Verdict", "Item"):
        assert name in jurist.__all__
    assert callable(jurist.judge) and inspect.iscoroutinefunction(jurist.ajudge)
    assert issubclass(jurist.InputError, jurist.JuristError)
    assert issubclass(jurist.ConfigError, jurist.JuristError)
    assert issubclass(jurist.BackendError, jurist.JuristError)
    assert issubclass(jurist.ParseError, jurist.JuristError)
    assert isinstance(jurist.__version__, str) and jurist.__version__.count(".") == 2


def test_import_does_not_load_model_backends():
    code = (
        "import sys, jurist; print(sorted(m for m in ('llama_cpp', 'jurist.backends.llama_cpp') if m in sys.modules))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(PROJECT / "src"), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_no_public_name_is_also_a_module_of_jurist():
    # `import jurist.align` sets the attribute `jurist.align` to the module: a function of that name would be hidden
    import pkgutil

    modules = {m.name for m in pkgutil.iter_modules(jurist.__path__)}
    assert not modules & set(jurist.__all__)
