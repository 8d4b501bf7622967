"""`jurist tune eval`: the before/after table of an untuned and a tuned judge, with figures checked by hand (scripted
judges on GOOD/BAD pairs), resuming, the seeded sample, the held-out guard, and bad input exiting 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from jurist import FakeBackend, GenerateRequest
from jurist.backends import BackendOptions
from jurist.backends.embedded import SHA256 as EMBEDDED_SHA256
from jurist.cli.tune import tune
from jurist.errors import ConfigError, InputError
from jurist.meta import meta_evaluate
from jurist.run import engine
from jurist.run.log import read_sessions
from jurist.tune.data import TuneOptions, build_training_data
from jurist.tune.evaluate import JudgeInfo, TuneEvalOptions, TuneEvalReport, evaluate_tuned, plan_judges
from jurist.tune.train import BaseInfo, TrainOptions, TrainRecord, read_card

from .helpers import SHARED_DATA, shared, user_text

A_SAYS = '{"winner": "A"}'


def write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def pair(k: int, label: str, good: str = "A", prompt: str = "") -> dict[str, Any]:
    """A pair whose GOOD response is on side `good`; `label` is what the human said."""
    a, b = (f"GOOD answer {k}", f"BAD answer {k}") if good == "A" else (f"BAD answer {k}", f"GOOD answer {k}")
    return {"id": f"p{k}", "prompt": prompt or f"question {k}", "response_a": a, "response_b": b, "label": label}


def tuned_script(request: GenerateRequest) -> str:
    """The tuned judge picks the GOOD response; on STUCK it says A whatever the order, on FAIL nothing readable."""
    text = user_text(request)
    if "STUCK" in text:
        return A_SAYS
    if "FAIL" in text:
        return "no idea"
    return '{"winner": "A"}' if text.index("GOOD") < text.index("BAD") else '{"winner": "B"}'


@pytest.fixture
def sets(tmp_path: Path) -> tuple[Path, Path]:
    # s1: 6 pairs the tuned judge gets right, 2 whose human label is the BAD side, 1 STUCK, 1 FAIL
    s1 = [pair(k, "AB"[k % 2], good="AB"[k % 2]) for k in range(6)]
    s1 += [pair(6, "B", good="A"), pair(7, "A", good="B")]
    s1 += [pair(8, "A", prompt="STUCK question"), pair(9, "A", prompt="FAIL question")]
    # s2: 3 pairs right, 1 labelled tie (the tuned judge picks GOOD: wrong)
    s2 = [pair(10 + k, "AB"[k % 2], good="AB"[k % 2]) for k in range(3)] + [pair(13, "tie")]
    return write(tmp_path / "s1.jsonl", s1), write(tmp_path / "s2.jsonl", s2)


def model_dir(
    tmp_path: Path, exclude: list[Path], *, name: str = "tuned", method: str = "sft", rationale: str = "none"
) -> Path:
    """A MODEL_DIR as `jurist tune train` writes it (its record and real training data), without weights."""
    train = write(tmp_path / f"{name}-train.jsonl", [pair(100 + k, "AB"[k % 2], good="AB"[k % 2]) for k in range(6)])
    data_dir = tmp_path / f"{name}-data"
    build_training_data(
        [str(train)], data_dir, TuneOptions(exclude=[str(p) for p in exclude], dev_share=0, length_balance=1)
    )
    out = tmp_path / name
    out.mkdir()
    _, sha = read_card(data_dir)
    record = TrainRecord(
        method=method,  # type: ignore[arg-type]
        base=BaseInfo(kind="gguf", path="base.gguf"),
        data_dir=str(data_dir.resolve()),
        data_card_sha256=sha,
        rationale=rationale,
        options=TrainOptions(),
        examples={"train": 12},
        steps=3,
        train_tokens=100,
        wall_seconds=1.0,
        tokens_per_second=100.0,
        train_loss=None,
        dev_loss=None,
        started="",
        finished="",
        versions={},
    )
    (out / "jurist-tune.json").write_text(record.model_dump_json(), encoding="utf-8")
    (out / "adapter.gguf").write_bytes(b"GGUF")  # what `jurist tune export` writes; only the fakes read it here
    return out


def fakes(judge: JudgeInfo) -> FakeBackend:
    """The untuned judge always answers A (position bias); a tuned one follows tuned_script."""
    if judge.model_dir is None:
        return FakeBackend(A_SAYS, name="fake-untuned")
    return FakeBackend(tuned_script, name=f"fake-{judge.name}")


def evaluate(dirs: list[Path], sets: list[Path | str], out: Path | None, **options: Any) -> TuneEvalReport:
    opts = TuneEvalOptions(sets=[str(s) for s in sets], n_resamples=200, **options)
    return evaluate_tuned(dirs, opts, out=out, backend=fakes)


def test_the_table_by_hand(tmp_path: Path, sets: tuple[Path, Path]) -> None:
    s1, s2 = sets
    tuned = model_dir(tmp_path, [s1, s2])
    report = evaluate([tuned], [s1, s2], tmp_path / "eval")
    assert [j.name for j in report.judges] == ["untuned", "tuned"]
    cells, diffs = report.cells, report.differences["tuned"]
    # untuned: A in both orders -> inconsistent -> a tie (no probabilities): never right, never consistent
    assert (cells["untuned"][str(s1)].accuracy.value, cells["untuned"][str(s1)].consistency.value) == (0.0, 0.0)
    one = cells["tuned"][str(s1)]
    assert (one.n, one.failed, one.accuracy.value) == (10, 1, 0.6)  # the FAIL pair counts as wrong
    assert one.consistency is not None and one.consistency.n == 9 and one.consistency.value == pytest.approx(8 / 9)
    assert cells["tuned"][str(s2)].accuracy.value == 0.75
    overall = cells["tuned"]["overall"]
    assert (overall.n, overall.failed, overall.accuracy.value) == (14, 1, pytest.approx(9 / 14))
    assert overall.accuracy.method == "stratified percentile"
    assert diffs[str(s1)].accuracy.value == pytest.approx(0.6)
    assert diffs[str(s1)].consistency is not None and diffs[str(s1)].consistency.value == pytest.approx(8 / 9)
    # the untuned judge's tie is right on s2's tie-labelled pair: 1 of 14
    assert cells["untuned"]["overall"].accuracy.value == pytest.approx(1 / 14)
    assert diffs["overall"].accuracy.value == pytest.approx(8 / 14)
    low, high = diffs["overall"].accuracy.low, diffs["overall"].accuracy.high
    assert 0 < low < 8 / 14 < high <= 1
    assert "untuned" not in report.differences
    table = (tmp_path / "eval" / "tune-eval.md").read_text(encoding="utf-8")
    assert "| overall | tuned | 14 | 1 | 64.3 [" in table
    saved = TuneEvalReport.model_validate_json((tmp_path / "eval" / "tune-eval.json").read_text(encoding="utf-8"))
    assert saved.cells["tuned"]["overall"].accuracy.value == overall.accuracy.value


def test_each_rationale_setting_gets_its_own_untuned_baseline(tmp_path: Path, sets: tuple[Path, Path]) -> None:
    s1, _ = sets
    plain = model_dir(tmp_path, [s1], name="plain")
    reasons = model_dir(tmp_path, [s1], name="reasons", rationale="after")
    judges, _ = plan_judges([plain, reasons], "local")
    summary = [(j.name, j.rationale, j.baseline, j.adapter) for j in judges]
    assert summary == [
        ("untuned-rationale-after", "after", None, None),
        ("untuned-rationale-none", "none", None, None),
        ("plain", "none", "untuned-rationale-none", str(plain)),
        ("reasons", "after", "untuned-rationale-after", str(reasons)),
    ]


def test_the_base_model_comes_from_the_training_record(tmp_path: Path, sets: tuple[Path, Path]) -> None:
    s1, _ = sets
    tuned = model_dir(tmp_path, [s1])
    record = json.loads((tuned / "jurist-tune.json").read_text(encoding="utf-8"))
    assert [j.model for j in plan_judges([tuned])[0]] == ["gguf:base.gguf", "gguf:base.gguf"]
    record["base"] = {"kind": "gguf", "path": "/x/SmolLM2.gguf", "sha256": EMBEDDED_SHA256}
    (tuned / "jurist-tune.json").write_text(json.dumps(record), encoding="utf-8")
    assert [j.model for j in plan_judges([tuned])[0]] == ["local", "local"]
    record["base"] = {"kind": "hf", "path": "/x/my-model"}
    (tuned / "jurist-tune.json").write_text(json.dumps(record), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"trained from a Hugging Face model \(/x/my-model\)"):
        plan_judges([tuned])
    assert [j.model for j in plan_judges([tuned], "gguf:/x/my-model.gguf")[0]] == ["gguf:/x/my-model.gguf"] * 2


def test_the_figures_are_meta_evals(tmp_path: Path, sets: tuple[Path, Path]) -> None:
    s1, _ = sets
    more = [json.loads(line) for line in s1.read_text(encoding="utf-8").splitlines()] + [pair(20, "A"), pair(21, "A")]
    big = write(tmp_path / "big.jsonl", more)  # meta-eval wants 10 complete verdicts: s1 has 9
    report = evaluate([model_dir(tmp_path, [big])], [big], tmp_path / "eval")
    cell = report.cells["tuned"][str(big)]
    assert cell.run is not None
    meta = meta_evaluate(cell.run)
    assert meta.accuracy_failures_wrong is not None and meta.position_consistency is not None
    assert cell.accuracy.value == pytest.approx(meta.accuracy_failures_wrong.value)
    assert cell.consistency is not None and cell.consistency.value == pytest.approx(meta.position_consistency.value)


def test_a_second_run_judges_nothing_again(tmp_path: Path, sets: tuple[Path, Path]) -> None:
    s1, s2 = sets
    tuned = model_dir(tmp_path, [s1, s2])
    first = evaluate([tuned], [s1, s2], tmp_path / "eval")
    second = evaluate([tuned], [s1, s2], tmp_path / "eval")
    run = first.cells["tuned"][str(s1)].run
    assert run is not None
    last = read_sessions(run)[-1]
    assert (last.judged, last.skipped) == (0, 10)
    for judge, cells in first.cells.items():
        for name, cell in cells.items():
            again = second.cells[judge][name]
            assert (again.accuracy, again.consistency, again.failed) == (cell.accuracy, cell.consistency, cell.failed)


def test_limit_is_a_recorded_seeded_sample(tmp_path: Path, sets: tuple[Path, Path]) -> None:
    s1, s2 = sets
    tuned = model_dir(tmp_path, [s1, s2])
    one = evaluate([tuned], [s1], None, limit=4, seed=3)
    again = evaluate([tuned], [s1], None, limit=4, seed=3)
    other = evaluate([tuned], [s1], None, limit=4, seed=4)
    assert one.sets[0].n == 4 and one.sets[0].items == 10
    assert one.sets[0].sample == again.sets[0].sample != other.sets[0].sample
    assert one.cells["tuned"][str(s1)].n == 4 and one.cells["tuned"][str(s1)].run is None
    assert evaluate([tuned], [s1], None, limit=50).sets[0].sample is None  # the whole set


def test_a_set_not_held_out_is_refused_unless_allowed(tmp_path: Path, sets: tuple[Path, Path]) -> None:
    s1, s2 = sets
    tuned = model_dir(tmp_path, [s1])  # s2's prompts were not excluded from the training data
    with pytest.raises(InputError, match=r"s2\.jsonl' was not held out .* 4 of its 4 prompts") as caught:
        evaluate([tuned], [s1, s2], None)
    assert caught.value.field == "exclude" and "--allow-overlap" in str(caught.value)
    report = evaluate([tuned], [s1, s2], None, allow_overlap=True)
    assert report.overlap == {str(tuned): [str(s2)]}


def test_a_training_prompt_in_the_set_is_an_overlap(tmp_path: Path, sets: tuple[Path, Path]) -> None:
    s1, _ = sets
    tuned = model_dir(tmp_path, [s1])
    leaky = write(tmp_path / "leaky.jsonl", [pair(100, "A")])  # "question 100" is a training prompt
    with pytest.raises(InputError, match="1 of its 1 prompts"):
        evaluate([tuned], [leaky], None)


def test_bad_model_dirs(tmp_path: Path, sets: tuple[Path, Path]) -> None:
    s1, _ = sets
    with pytest.raises(InputError, match=r"no jurist-tune\.json") as caught:
        evaluate([tmp_path], [s1], None)
    assert caught.value.file == str(tmp_path)
    reward = model_dir(tmp_path, [s1], name="rm", method="reward")
    with pytest.raises(InputError, match="the reward model's adapter is missing"):
        evaluate([reward], [s1], None)
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "jurist-tune.json").write_text('{"method": "ppo"}', encoding="utf-8")
    with pytest.raises(InputError, match=r"jurist-tune\.json: field 'method': not a training record"):
        evaluate([odd], [s1], None)


def test_bad_sets(tmp_path: Path, sets: tuple[Path, Path]) -> None:
    s1, _ = sets
    tuned = model_dir(tmp_path, [s1])
    with pytest.raises(InputError, match="nor a benchmark name"):
        evaluate([tuned], [tmp_path / "nothing.jsonl"], None)
    pointwise = write(tmp_path / "scores.jsonl", [{"id": "x", "prompt": "q", "response": "r", "label": 3}])
    with pytest.raises(InputError, match="response_a': missing"):
        evaluate([tuned], [pointwise], None)
    shared("summeval")
    with pytest.raises(InputError, match="set 'summeval' is not pairwise"):
        evaluate([tuned], ["summeval"], None, data_dir=SHARED_DATA)
    unlabelled = write(tmp_path / "nolabel.jsonl", [{**pair(1, "A"), "label": None}])
    with pytest.raises(InputError, match="no pairwise labels"):
        evaluate([tuned], [unlabelled], None)


def test_the_command_refuses_bad_input_with_one_line(tmp_path: Path, sets: tuple[Path, Path]) -> None:
    s1, _ = sets
    result = CliRunner().invoke(tune, ["eval", str(tmp_path), "--sets", str(s1)])
    assert result.exit_code == 2
    assert "not a finished model folder (no jurist-tune.json)" in result.output and "Traceback" not in result.output
    tuned = model_dir(tmp_path, [s1])
    result = CliRunner().invoke(tune, ["eval", str(tuned), "--sets", "nosuchbench:x"])
    assert result.exit_code == 2 and "nosuchbench" in result.output


def fake_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine's backends: the untuned model always says A; with an adapter, the tuned script."""

    def make_backend(spec: str, options: BackendOptions) -> FakeBackend:
        adapter = options.adapter
        return FakeBackend(tuned_script, name=f"fake+{adapter}") if adapter else FakeBackend(A_SAYS, name="fake")

    monkeypatch.setattr(engine, "make_backend", make_backend)


def test_the_command_judges_through_the_engine_with_the_adapter(
    tmp_path: Path, sets: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    s1, s2 = sets
    fake_engine(monkeypatch)
    tuned = model_dir(tmp_path, [s1, s2])
    out = tmp_path / "eval"
    result = CliRunner().invoke(tune, ["eval", str(tuned), "--sets", f"{s1},{s2}", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "| overall | tuned | 14 | 1 | 64.3 [" in result.output
    assert (out / "runs" / "untuned" / "s1.jsonl").is_dir() and (out / "tune-eval.json").is_file()
    again = CliRunner().invoke(tune, ["eval", str(tuned), "--sets", f"{s1},{s2}", "--out", str(out), "--json"])
    assert again.exit_code == 0, again.output
    report = TuneEvalReport.model_validate_json(again.stdout)
    assert report.cells["tuned"]["overall"].accuracy.value == pytest.approx(9 / 14)
    assert "resuming" in again.stderr  # the runs were kept: nothing judged twice


def test_an_adapter_not_exported_is_refused_before_judging(
    tmp_path: Path, sets: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    s1, _ = sets
    fake_engine(monkeypatch)
    tuned = model_dir(tmp_path, [s1])
    (tuned / "adapter.gguf").unlink()
    out = tmp_path / "eval"
    result = CliRunner().invoke(tune, ["eval", str(tuned), "--sets", str(s1), "--out", str(out)])
    assert result.exit_code == 2 and f"export it first with `jurist tune export {tuned}`" in result.output
    assert not (out / "runs").exists()  # not even the untuned judge ran


def test_a_rebuilt_training_data_card_is_refused(tmp_path: Path, sets: tuple[Path, Path]) -> None:
    s1, _ = sets
    tuned = model_dir(tmp_path, [s1])
    card = tmp_path / "tuned-data" / "data_card.json"
    card.write_text(card.read_text(encoding="utf-8").replace('"exclude": [', '"exclude": [ '), encoding="utf-8")
    with pytest.raises(InputError, match="card changed since this model was trained"):
        evaluate([tuned], [s1], None)


@pytest.mark.embedded
def test_the_embedded_model_end_to_end(tmp_path: Path) -> None:
    """Both judges on the real embedded model (the tuned one without an adapter: the same model), two pairs: the
    run directories, the parsing and the table work on real answers, and the same model gives a difference of 0."""
    pytest.importorskip("llama_cpp")
    rows = [
        {"id": "sum", "prompt": "What is 2 + 2?", "response_a": "2 + 2 = 4.", "response_b": "It is 5.", "label": "A"},
        {"id": "cap", "prompt": "Capital of France?", "response_a": "Berlin.", "response_b": "Paris.", "label": "B"},
    ]
    data = write(tmp_path / "two.jsonl", rows)
    tuned = model_dir(tmp_path, [data])
    options = TuneEvalOptions(sets=[str(data)], n_resamples=100)
    report = evaluate_tuned([tuned], options, out=tmp_path / "eval", backend=lambda judge: "local")
    for name in ("untuned", "tuned"):
        cell = report.cells[name][str(data)]
        assert cell.n == 2 and cell.failed == 0 and cell.consistency is not None and cell.consistency.n == 2
    diff = report.differences["tuned"][str(data)]
    assert diff.accuracy.value == 0 and diff.consistency is not None and diff.consistency.value == 0


def test_training_data_that_is_gone_is_refused_unless_allowed(tmp_path: Path, sets: tuple[Path, Path]) -> None:
    s1, _ = sets
    tuned = model_dir(tmp_path, [s1])
    (tmp_path / "tuned-data" / "data_card.json").unlink()
    with pytest.raises(InputError, match="tuned-data is not there") as caught:
        evaluate([tuned], [s1], None)
    assert caught.value.field == "data_dir"
    report = evaluate([tuned], [s1], None, allow_overlap=True)
    assert report.overlap == {str(tuned): [f"{s1} (not checked: no training data)"]}


def tiny_reward_model(tmp_path: Path) -> tuple[Path, Path]:
    """A tiny random Llama as a Hugging Face base (a word-level tokenizer with a chat template) and a LoRA adapter of
    its sequence-classification model with the `score` head: what `jurist tune train --method reward` saves."""
    transformers = pytest.importorskip("transformers")
    peft = pytest.importorskip("peft")
    tokenizers = pytest.importorskip("tokenizers")
    torch = pytest.importorskip("torch")
    words = ["<pad>", "<s>", "</s>", "<unk>", "user", "assistant", ":", "GOOD", "BAD", "answer", "question"]
    words += [str(k) for k in range(30)]
    vocab = {w: i for i, w in enumerate(words)}
    raw = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="<unk>"))
    raw.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    tokenizer = transformers.PreTrainedTokenizerFast(
        tokenizer_object=raw, unk_token="<unk>", pad_token="<pad>", eos_token="</s>", bos_token="<s>"
    )
    tokenizer.chat_template = "{% for m in messages %}{{ m['role'] }} : {{ m['content'] }} {% endfor %}"
    base = tmp_path / "tiny-base"
    tokenizer.save_pretrained(str(base))
    torch.manual_seed(0)
    config = transformers.LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        pad_token_id=0,
    )
    transformers.LlamaForCausalLM(config).save_pretrained(str(base))
    model = transformers.AutoModelForSequenceClassification.from_pretrained(str(base), num_labels=1)
    lora = peft.LoraConfig(task_type="SEQ_CLS", r=2, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    tuned = peft.get_peft_model(model, lora)
    adapter = tmp_path / "adapter"
    tuned.save_pretrained(str(adapter))
    return base, adapter


def test_a_reward_model_judges_by_its_two_scores(tmp_path: Path, sets: tuple[Path, Path]) -> None:
    s1, s2 = sets
    base, adapter = tiny_reward_model(tmp_path)
    rm = model_dir(tmp_path, [s1, s2], name="rm", method="reward")
    record = json.loads((rm / "jurist-tune.json").read_text(encoding="utf-8"))
    record["base"] = {"kind": "hf", "path": str(base)}
    (rm / "jurist-tune.json").write_text(json.dumps(record), encoding="utf-8")
    adapter.rename(rm / "adapter")
    options = TuneEvalOptions(sets=[str(s1), str(s2)], n_resamples=100, model="local")
    report = evaluate_tuned([rm], options, out=tmp_path / "eval", backend=fakes)
    cell = report.cells["rm"][str(s1)]
    assert (cell.n, cell.failed, cell.consistency) == (10, 0, None)  # scores do not depend on the order
    # the verdicts are the reward model's own scores, loaded here without jurist: the adapter and its head are used
    transformers, peft, torch = (pytest.importorskip(m) for m in ("transformers", "peft", "torch"))
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(base))
    plain = transformers.AutoModelForSequenceClassification.from_pretrained(str(base), num_labels=1)
    model = peft.PeftModel.from_pretrained(plain, str(rm / "adapter")).eval()
    rows = [json.loads(line) for line in s1.read_text(encoding="utf-8").splitlines()]
    expected, right = {}, 0
    for row in rows:
        rewards = []
        for response in (row["response_a"], row["response_b"]):
            conversation = [{"role": "user", "content": row["prompt"]}, {"role": "assistant", "content": response}]
            ids = tokenizer.apply_chat_template(conversation, tokenize=True, return_dict=True, return_tensors="pt")
            with torch.no_grad():
                rewards.append(float(model(**ids).logits[0, 0]))
        expected[row["id"]] = f"reward A {rewards[0]:.4f}, reward B {rewards[1]:.4f}"
        right += ("A" if rewards[0] > rewards[1] else "B" if rewards[1] > rewards[0] else "tie") == row["label"]
    assert cell.accuracy.value == right / len(rows)
    assert cell.run is not None
    verdicts = (Path(cell.run) / "verdicts.jsonl").read_text(encoding="utf-8").splitlines()
    assert {v["id"]: v["raw"][0] for v in map(json.loads, verdicts)} == expected
    assert report.differences["rm"][str(s1)].consistency is None
