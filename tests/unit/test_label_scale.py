"""Pointwise labels must lie on the judge's scale: a label of 999 on a 1-5 scale is an input error, not accuracy."""

from __future__ import annotations

import json

import pytest

import jurist
from jurist import FakeBackend, InputError, JudgeConfig, make_judge
from jurist.data.load import load_items
from jurist.strategies import Jury


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("JURIST_CACHE_DIR", str(tmp_path / "cache"))


def _data(tmp_path, labels, mode="pointwise"):
    path = tmp_path / "d.jsonl"
    rows = [{"id": f"i{k}", "prompt": "p", "response": "r", "gold": label} for k, label in enumerate(labels)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return load_items(path, mode, {"label": "gold"})


def _judge(scale=None):
    return make_judge(FakeBackend('{"score": "3"}'), JudgeConfig(mode="pointwise", scale=scale))


def test_label_outside_the_likert_range_names_file_line_and_column(tmp_path):
    data = _data(tmp_path, [3, 4.5, 999])
    with pytest.raises(InputError) as info:
        _judge().check_data(data)
    assert (info.value.file, info.value.line, info.value.field) == (data.path, 3, "gold")
    assert "999" in str(info.value) and "1-5" in str(info.value)


def test_labels_within_the_range_pass_including_averages(tmp_path):
    _judge().check_data(_data(tmp_path, [1, 2.5, 5]))
    _judge("0-10").check_data(_data(tmp_path, [0, 10]))


def test_binary_scale_takes_zero_to_one(tmp_path):
    _judge("binary").check_data(_data(tmp_path, [0, 1, 0.5]))
    with pytest.raises(InputError, match="2"):
        _judge("binary").check_data(_data(tmp_path, [0, 2]))


def test_categories_take_only_their_values(tmp_path):
    judge = _judge("categories:bad,ok,good")
    judge.check_data(_data(tmp_path, [0, 1, 2]))
    with pytest.raises(InputError, match="bad, 1=ok, 2=good") as info:
        judge.check_data(_data(tmp_path, [0, 1.5]))
    assert info.value.line == 2


def test_every_pointwise_leaf_of_a_strategy_is_checked(tmp_path):
    jury = Jury([_judge(), _judge("0-10")])
    with pytest.raises(InputError, match="1-5"):
        jury.check_data(_data(tmp_path, [7]))


def test_run_stops_before_any_model_call(tmp_path):
    backend = FakeBackend('{"score": "3"}')
    rows = [
        {"id": "a", "prompt": "p", "response": "r", "label": 4},
        {"id": "b", "prompt": "p", "response": "r", "label": 50},
    ]
    with pytest.raises(InputError, match="50"):
        jurist.judge(rows, out=tmp_path / "run", config="pointwise", model=backend)
    assert backend.requests == []
    assert not (tmp_path / "run" / "verdicts.jsonl").exists()
