"""`jurist tune data`: every filter's count, the swap mapping, the split by prompt, the hold-out guard, TRL's exact
shapes, the data card, and bad input (a teacher run of the wrong mode, one label only) exiting 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import jurist
from jurist import FakeBackend, GenerateRequest, JobOptions
from jurist.cli.tune import tune
from jurist.errors import ConfigError, InputError
from jurist.tune.data import TuneOptions, build_training_data

from .helpers import first_shown

NO_LENGTH = TuneOptions(length_balance=1, dev_share=0)


def write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def pair(k: int, label: str, a: str = "short", b: str = "a longer answer", prompt: str | None = None) -> dict[str, Any]:
    return {"id": f"i{k}", "prompt": prompt or f"question {k}", "response_a": a, "response_b": b, "label": label}


def rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def card(out: Path) -> dict[str, Any]:
    return json.loads((out / "data_card.json").read_text(encoding="utf-8"))


def dropped(out: Path) -> dict[str, dict[str, int]]:
    return {s["step"]: s["dropped"] for s in card(out)["steps"]}


def test_each_filter_counts_what_it_drops(tmp_path: Path) -> None:
    data = write(
        tmp_path / "d.jsonl",
        [
            pair(1, "A"),
            pair(2, "B"),
            {**pair(3, "B", a="a longer answer", b="short", prompt="question 1"), "id": "dup"},  # 1, swapped
            pair(4, "tie"),
            {k: v for k, v in pair(5, "A").items() if k != "label"},
            pair(6, "B", prompt="Question   SIX"),
            {**pair(7, "A"), "images": ["https://example.com/chart.png"]},
        ],
    )
    held = write(tmp_path / "test.jsonl", [pair(9, "A", prompt="question six")])
    out = tmp_path / "out"
    options = TuneOptions(length_balance=1, dev_share=0, exclude=[str(held)])
    build_training_data([str(data)], out, options)
    steps = {s["step"]: (s["before"], s["after"]) for s in card(out)["steps"]}
    assert steps["collect"] == (7, 5)
    assert dropped(out)["collect"] == {"no label": 1, "has images (the data is text only)": 1}
    assert steps["ties"] == (5, 4) and dropped(out)["ties"] == {"tie (drop)": 1}
    assert steps["dedupe"] == (4, 3) and dropped(out)["dedupe"] == {"same prompt and responses": 1}
    assert steps["hold-out"] == (3, 2)  # "Question   SIX" is "question six" by case and spacing
    assert card(out)["splits"]["train"] == {"pairs": 2, "sft": 4, "preference": 4, "reward": 2}


def test_length_balance_leaves_as_many_longer_as_shorter_wins(tmp_path: Path) -> None:
    # B is the longer response: B wins -> "longer wins" (3 of them), A wins -> "shorter wins" (1)
    data = write(tmp_path / "d.jsonl", [pair(1, "B"), pair(2, "B"), pair(3, "B"), pair(4, "A")])
    out = tmp_path / "out"
    build_training_data([str(data)], out, TuneOptions(dev_share=0))
    assert dropped(out)["length balance"] == {"longer/shorter-wins surplus": 2}
    assert card(out)["length_wins"] == {"longer": 1, "shorter": 1}
    build_training_data([str(data)], tmp_path / "o2", TuneOptions(dev_share=0, length_balance=0.75))
    assert card(tmp_path / "o2")["length_wins"] == {"longer": 3, "shorter": 1}  # 3 of 4 is within 0.75
    build_training_data([str(data)], tmp_path / "o3", TuneOptions(dev_share=0, length_balance=0.7))
    assert card(tmp_path / "o3")["length_wins"] == {"longer": 2, "shorter": 1}


def test_swap_gives_both_orders_with_the_label_mapped(tmp_path: Path) -> None:
    data = write(tmp_path / "d.jsonl", [pair(1, "A", a="ANSWER-ONE", b="ANSWER-TWO"), pair(2, "B")])
    out = tmp_path / "out"
    build_training_data([str(data)], out, NO_LENGTH)
    sft = rows(out / "sft" / "train.jsonl")
    first, swapped = sft[0]["messages"], sft[1]["messages"]
    assert json.loads(first[-1]["content"]) == {"winner": "A"}
    assert json.loads(swapped[-1]["content"]) == {"winner": "B"}
    user_first, user_swapped = first[-2]["content"], swapped[-2]["content"]
    assert user_first.index("ANSWER-ONE") < user_first.index("ANSWER-TWO")
    assert user_swapped.index("ANSWER-TWO") < user_swapped.index("ANSWER-ONE")
    assert card(out)["labels"]["train"] == {"A": 2, "B": 2}


def test_without_swap_each_pair_once_in_the_order_that_balances_labels(tmp_path: Path) -> None:
    data = write(tmp_path / "d.jsonl", [pair(k, "A") for k in range(3)] + [pair(9, "B")])
    out = tmp_path / "out"
    build_training_data([str(data)], out, TuneOptions(swap=False, length_balance=1, dev_share=0))
    winners = [json.loads(r["messages"][-1]["content"])["winner"] for r in rows(out / "sft" / "train.jsonl")]
    assert winners == ["A", "B", "A", "B"]


def test_no_prompt_is_in_two_splits_and_the_split_is_seeded(tmp_path: Path) -> None:
    # each prompt twice (two different pairs), so a split by example would cut prompts
    data = write(
        tmp_path / "d.jsonl",
        [pair(k, "AB"[k % 2], prompt=f"prompt {k // 2}", b=f"answer {k}") for k in range(40)],
    )
    outs = []
    for run in ("one", "two"):
        out = tmp_path / run
        build_training_data([str(data)], out, TuneOptions(length_balance=1, dev_share=0.3, seed=7))
        outs.append(out)
    prompts = {
        split: {r["prompt"][-1]["content"] for r in rows(outs[0] / "reward" / f"{split}.jsonl")}
        for split in ("train", "dev")
    }
    assert len(prompts["dev"]) == 6 and len(prompts["train"]) == 14
    assert not prompts["dev"] & prompts["train"]
    assert (outs[0] / "sft" / "dev.jsonl").read_text() == (outs[1] / "sft" / "dev.jsonl").read_text()


def test_formats_have_trls_exact_shapes(tmp_path: Path) -> None:
    data = write(tmp_path / "d.jsonl", [pair(1, "B", a="bad", b="good", prompt="the question"), pair(2, "A")])
    out = tmp_path / "out"
    build_training_data([str(data)], out, NO_LENGTH)
    sft = rows(out / "sft" / "train.jsonl")[0]
    assert list(sft) == ["messages"]
    assert [m["role"] for m in sft["messages"]] == ["system", "user", "assistant"]
    assert "# Request\nthe question" in sft["messages"][1]["content"]
    assert sft["messages"][1]["content"].endswith('Answer with only a JSON object: {"winner": "A" | "B" | "tie"}')
    preference = rows(out / "preference" / "train.jsonl")[0]
    assert list(preference) == ["prompt", "chosen", "rejected"]
    assert preference["prompt"] == sft["messages"][:2]
    assert preference["chosen"] == [{"role": "assistant", "content": '{"winner": "B"}'}]
    assert preference["rejected"] == [{"role": "assistant", "content": '{"winner": "A"}'}]
    reward = rows(out / "reward" / "train.jsonl")[0]
    assert reward == {
        "prompt": [{"role": "user", "content": "the question"}],
        "chosen": [{"role": "assistant", "content": "good"}],
        "rejected": [{"role": "assistant", "content": "bad"}],
    }


def test_the_data_card_names_sources_licences_and_splits(tmp_path: Path) -> None:
    data = write(tmp_path / "d.jsonl", [pair(1, "A"), pair(2, "B")])
    out = tmp_path / "out"
    build_training_data([str(data)], out, NO_LENGTH)
    (source,) = card(out)["sources"]
    assert (source["spec"], source["kind"], source["items"], source["used"]) == (str(data), "human", 2, 2)
    assert "not known to jurist" in source["licence"]
    text = (out / "DATA_CARD.md").read_text(encoding="utf-8")
    assert "| train | 2 | 2 | 4 | 4 | 2 | A 2, B 2 |" in text
    assert "| dev | 0 | 0 | 0 | 0 | 0 |" in text
    with pytest.raises(ConfigError, match="holds training data already"):
        build_training_data([str(data)], out, NO_LENGTH)


def pick_good(request: GenerateRequest) -> str:
    """A teacher that prefers "good", except on prompts saying "flip", where it always answers A (position bias)."""
    shown_first = first_shown(request, "good", "bad")
    user = request.messages[-1].content
    winner = "A" if "flip" in user or shown_first == "good" else "B"
    return json.dumps({"winner": winner, "rationale": f"because {winner}"})


def teacher_run(tmp_path: Path, mode: str = "pairwise") -> Path:
    items = [
        {"id": "t1", "prompt": "q one", "response_a": "good", "response_b": "bad"},
        {"id": "t2", "prompt": "q two", "response_a": "bad", "response_b": "good"},
        {"id": "t3", "prompt": "q flip", "response_a": "good", "response_b": "bad"},
    ]
    if mode == "pointwise":
        items = [{"id": "p", "prompt": "q", "response": "r"}]
        model = FakeBackend(json.dumps({"score": 3, "rationale": "ok"}))
    else:
        model = FakeBackend(pick_good)
    jurist.judge(items, out=tmp_path / "teacher", config=mode, model=model, options=JobOptions(cache=False))  # type: ignore[arg-type]
    return tmp_path / "teacher"


def test_a_teacher_run_is_distilled_and_its_flips_dropped(tmp_path: Path) -> None:
    run = teacher_run(tmp_path)
    out = tmp_path / "out"
    build_training_data([], out, TuneOptions(length_balance=1, dev_share=0, rationale="after"), teacher=run)
    assert dropped(out)["consistency"] == {"teacher flips with the order": 1}
    targets = [json.loads(r["messages"][-1]["content"]) for r in rows(out / "sft" / "train.jsonl")]
    assert [t["winner"] for t in targets] == ["A", "B", "B", "A"]
    assert list(targets[0]) == ["winner", "rationale"] and targets[0]["rationale"].startswith("because")
    user = rows(out / "sft" / "train.jsonl")[0]["messages"][-2]["content"]
    assert user.endswith('{"winner": "A" | "B" | "tie", "rationale": "<one or two sentences on why>"}')
    assert card(out)["sources"][0]["kind"] == "teacher"


def invoke(*args: str | Path) -> Any:
    return CliRunner().invoke(tune, [str(a) for a in args])


def test_cli_reports_each_step_and_refuses_bad_input(tmp_path: Path) -> None:
    data = write(tmp_path / "d.jsonl", [pair(1, "A"), pair(2, "B", prompt="other")])
    result = invoke("data", data, "--out", tmp_path / "out", "--length-balance", "1", "--dev-share", "0.5")
    assert result.exit_code == 0, result.output
    assert "dedupe: 2 -> 2" in result.output and "dev: 1 prompts, 1 pairs, 2 sft rows" in result.output

    pointwise = teacher_run(tmp_path, "pointwise")
    result = invoke("data", "--teacher", pointwise, "--out", tmp_path / "o2")
    assert result.exit_code == 2 and "pointwise-mode run: pairwise training data needs a pairwise" in result.output

    one_label = write(tmp_path / "one.jsonl", [pair(1, "A"), pair(2, "A"), pair(3, "tie")])
    result = invoke("data", one_label, "--out", tmp_path / "o3")
    assert result.exit_code == 2 and "every usable example is labelled A" in result.output
    assert "Traceback" not in result.output

    result = invoke("data", "no-such-file.jsonl", "--out", tmp_path / "o4")
    assert result.exit_code == 2 and "no such file, nor a benchmark name" in result.output


def test_ties_can_be_kept_and_then_one_label_plus_ties_is_data(tmp_path: Path) -> None:
    data = write(tmp_path / "d.jsonl", [pair(1, "A"), pair(2, "tie", prompt="two")])
    out = tmp_path / "out"
    build_training_data([str(data)], out, TuneOptions(length_balance=1, dev_share=0, ties="keep"))
    assert card(out)["labels"]["train"] == {"A": 1, "B": 1, "tie": 2}
    assert card(out)["splits"]["train"]["preference"] == 2  # a tie has no wrong verdict to reject
    with pytest.raises(InputError, match="labelled A"):
        build_training_data([str(data)], tmp_path / "o2", TuneOptions(length_balance=1, dev_share=0))


def test_alpaca_eval_annotations_with_the_hold_out_guard() -> None:
    shared = Path(__file__).resolve().parents[2].parent / "shared" / "data"
    if not (shared / "alpaca_eval").exists():
        pytest.skip("../shared/data/alpaca_eval is not here")
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        options = TuneOptions(exclude=["llmbar:Natural"], length_balance=1)
        found = build_training_data(["alpaca_eval:claude-2.1"], Path(tmp) / "out", options, data_dir=shared)
    steps = {s.step: s for s in found.steps}
    assert steps["collect"].before == 805 and steps["hold-out"].before > steps["hold-out"].after
    assert found.sources[0].kind == "annotations" and found.sources[0].licence.startswith("Apache-2.0")


def test_length_limit_drops_long_pairs_before_the_length_balance(tmp_path: Path) -> None:
    data = write(
        tmp_path / "d.jsonl",
        [pair(1, "A"), pair(2, "B"), pair(3, "A", b="x" * 500), pair(4, "B", a="y" * 500)],
    )
    out = tmp_path / "out"
    made = build_training_data([str(data)], out, TuneOptions(length_balance=1, dev_share=0, max_chars=100))
    limit = next(step for step in made.steps if step.step == "length limit")
    assert (limit.before, limit.after) == (4, 2)
    assert limit.dropped == {"longer than 100 characters": 2}
    assert "x" * 500 not in (out / "sft" / "train.jsonl").read_text(encoding="utf-8")
    assert "length limit 100 characters" in (out / "DATA_CARD.md").read_text(encoding="utf-8")
