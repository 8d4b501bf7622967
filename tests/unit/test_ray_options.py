"""`jurist judge --engine ray`: the refusals that come before any Ray starts, and the rate-limit split."""

from __future__ import annotations

import json
import socket
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from jurist.cli import main
from jurist.errors import ConfigError
from jurist.run.engine import Limits
from jurist.scale.ray_data import check_address, share


def _judge(tmp_path: Path, *extra: str) -> tuple[int, str]:
    data = tmp_path / "items.jsonl"
    data.write_text(json.dumps({"id": "a", "prompt": "2+2?", "response": "4"}) + "\n", encoding="utf-8")
    args = ["judge", str(data), "--mode", "pointwise", "--out", str(tmp_path / "run")]
    args += ["--model", "openai:fake-model", "--base-url", "http://127.0.0.1:9/v1", *extra]
    result = CliRunner().invoke(main, args)
    return result.exit_code, result.output


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the block ends: nothing listens there


def test_the_rate_limits_are_split_evenly_among_the_workers() -> None:
    part = share(Limits(rpm=60, tpm=1000, max_retries=2), 4)
    assert (part.rpm, part.tpm, part.max_retries) == (15, 250, 2)
    assert share(Limits(), 4).rpm is None


def test_ray_options_need_the_ray_engine(tmp_path: Path) -> None:
    code, output = _judge(tmp_path, "--num-workers", "3")
    assert code == 2
    assert "--num-workers is ignored without --engine ray" in output


def test_the_ray_engine_refuses_batch(tmp_path: Path) -> None:
    code, output = _judge(tmp_path, "--engine", "ray", "--batch")
    assert code == 2
    assert "--engine ray and --batch do not go together" in output
    assert not (tmp_path / "run").exists()


def test_without_ray_installed_the_message_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now fails as if it were not installed
    code, output = _judge(tmp_path, "--engine", "ray")
    assert code == 2
    assert "--engine ray needs ray from jurist[ray]" in output
    assert "pip install 'jurist[ray]'" in output
    assert "Traceback" not in output


def test_an_unreachable_cluster_fails_fast_with_one_line(tmp_path: Path) -> None:
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'jurist[ray]')")
    port = _closed_port()
    started = time.monotonic()
    code, output = _judge(tmp_path, "--engine", "ray", "--ray-address", f"127.0.0.1:{port}")
    assert code == 2
    assert time.monotonic() - started < 15
    assert f"cannot reach the Ray cluster at 127.0.0.1:{port}" in output
    assert "Traceback" not in output
    assert not (tmp_path / "run").exists()  # refused before the run directory was made


@pytest.mark.parametrize("address", ["ray://", "host:notaport", ":6379"])
def test_an_address_that_is_no_address_is_refused(address: str) -> None:
    with pytest.raises(ConfigError, match="is not HOST:PORT"):
        check_address(address)
