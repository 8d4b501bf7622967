"""Loaders for the meta-evaluation data sets: counts and label conventions on the real copies in ../shared/data,
where the files come from (a folder, JURIST_DATA_DIR, a cached download), and the errors for bad input."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from jurist import ConfigError, InputError
from jurist.data import describe_labels, remap
from jurist.data.benchmarks import (
    BENCHMARKS,
    alpaca_eval_models,
    load_alpaca_eval_annotations,
    load_benchmark,
    load_evalbiasbench,
    load_faireval,
    load_judgebench,
    load_llmbar,
    load_mt_bench_questions,
    load_pandalm,
    load_pandalm_predictions,
    load_rewardbench,
    load_summeval,
    load_unieval,
)
from jurist.data.benchmarks.alpaca_eval import preference_label
from jurist.data.benchmarks.llmbar import SOURCE as LLMBAR
from jurist.data.benchmarks.pandalm import majority

from .helpers import SHARED_DATA, shared


@pytest.fixture(autouse=True)
def no_data_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may read the developer's own data folder or mirror, nor download from the internet."""
    monkeypatch.delenv("JURIST_DATA_DIR", raising=False)
    monkeypatch.setenv("JURIST_DATA_URL", "file:///nonexistent-jurist-mirror")


def folder(name: str) -> Path:
    return shared(name)


# -- LLMBar ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subset", "count"),
    [("Natural", 100), ("Neighbor", 134), ("GPTInst", 92), ("GPTOut", 47), ("Manual", 46), ("MT-Bench", 200)],
)
def test_llmbar_subsets_have_the_published_sizes(subset: str, count: int) -> None:
    loaded = load_llmbar(subset, root=folder("llmbar"))
    assert len(loaded.items) == count
    assert len({it.id for it in loaded.items}) == count
    assert {it.label for it in loaded.items} == {"A", "B"}
    assert all(it.metadata["subset"] == subset for it in loaded.items)


def test_llmbar_maps_label_1_to_a_and_keeps_output_order() -> None:
    root = folder("llmbar")
    raw = json.loads((root / "LLMBar" / "Natural" / "dataset.json").read_text())
    items = load_llmbar("natural", root=root).items  # subset names are case-insensitive
    assert items[0].id == "llmbar-natural-0"
    for record, item in zip(raw, items, strict=True):
        assert item.response_a == record["output_1"] and item.response_b == record["output_2"]
        assert item.label == {1: "A", 2: "B"}[record["label"]]


def test_llmbar_unknown_subset_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="Neighbor"):
        load_llmbar("Adversarial", root="/nowhere")


# Every set of the LLMBar repository, laid out as its Dataset/ folder is (checked against princeton-nlp/LLMBar at
# the pinned commit). Only some are in ../shared/data; the others are read from a small copy of that layout.
LLMBAR_PATHS = {
    "Constraint": "CaseStudy/Constraint/dataset.json",
    "Negation": "CaseStudy/Negation/dataset.json",
    "Normal": "CaseStudy/Normal/dataset.json",
    "Base_9": "CaseStudy/Base_9/dataset.json",
    "Base_10": "CaseStudy/Base_10/dataset.json",
    "FairEval": "Processed/FairEval/dataset.json",
    "LLMEval^2": "Processed/LLMEval^2/dataset.json",
}


@pytest.mark.parametrize(("subset", "relative"), LLMBAR_PATHS.items())
def test_llmbar_case_study_and_processed_sets_load_from_the_repository_layout(
    tmp_path: Path, subset: str, relative: str
) -> None:
    pairs = [
        {"input": f"Write one word about {subset}.", "output_1": "Sea.", "output_2": "Many words here.", "label": 1},
        {"input": "Do not say yes.", "output_1": "Yes.", "output_2": "No.", "label": 2},
    ]
    write_json(tmp_path / relative, pairs)
    loaded = load_llmbar(subset.upper(), root=tmp_path)  # names are case-insensitive
    assert loaded.path == str(tmp_path / relative)
    assert [it.label for it in loaded.items] == ["A", "B"]
    assert loaded.items[0].response_b == "Many words here." and loaded.items[1].prompt == "Do not say yes."
    assert {it.metadata["subset"] for it in loaded.items} == {subset}
    assert loaded.items[1].id == f"llmbar-{subset.lower()}-1"
    assert describe_labels(loaded) == "labels: A 1, B 1 (from label: 1->A, 2->B)"
    assert loaded.warnings == []  # LLMBar's 1/2 are read by its own documented convention


def test_llmbar_spellings_without_the_caret_and_with_a_dash(tmp_path: Path) -> None:
    write_json(tmp_path / LLMBAR_PATHS["LLMEval^2"], TINY_LLMBAR)
    write_json(tmp_path / LLMBAR_PATHS["Base_9"], TINY_LLMBAR)
    assert load_llmbar("llmeval2", root=tmp_path).items[0].metadata["subset"] == "LLMEval^2"
    assert load_llmbar("Base-9", root=tmp_path).items[0].metadata["subset"] == "Base_9"


def test_llmbar_spec_lists_every_set_and_the_download_url_is_quoted(tmp_path: Path) -> None:
    for subset in ("Constraint", "Base_10", "FairEval", "LLMEval^2", "MT-Bench"):
        assert subset in BENCHMARKS["llmbar"].option
    url = LLMBAR.url(LLMBAR_PATHS["LLMEval^2"], "https://example.org")
    assert url == f"https://example.org/princeton-nlp/LLMBar/{LLMBAR.ref}/Dataset/Processed/LLMEval%5E2/dataset.json"


def test_llmbar_set_with_a_caret_downloads_from_a_mirror(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    write_json(mirror / LLMBAR.repo / LLMBAR.ref / "Dataset" / LLMBAR_PATHS["LLMEval^2"], TINY_LLMBAR)
    monkeypatch.setenv("JURIST_DATA_URL", mirror.as_uri())
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert [it.label for it in load_benchmark("llmbar:LLMEval^2").items] == ["A", "B"]


# -- SummEval ----------------------------------------------------------------------------------------------


def test_summeval_is_100_articles_by_16_summaries_with_all_aspects() -> None:
    loaded = load_summeval("consistency", root=folder("summeval"))
    assert len(loaded.items) == 1600
    groups = Counter(it.metadata["group"] for it in loaded.items)
    assert len(groups) == 100 and set(groups.values()) == {16}
    first = loaded.items[0]
    assert first.id == "summeval-A0-S0" and first.metadata["system"] == "S0"
    assert set(first.metadata["scores"]) == {"coherence", "consistency", "fluency", "relevance"}
    assert all(it.label == it.metadata["scores"]["consistency"] for it in loaded.items)
    assert all(1.0 <= float(it.label or 0) <= 5.0 for it in loaded.items)


def test_summeval_unknown_aspect() -> None:
    with pytest.raises(ConfigError, match="coherence, consistency, fluency, relevance"):
        load_summeval("accuracy", root="/nowhere")


# -- UniEval -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "count"), [("topical_chat", 360), ("qags_cnndm", 235), ("qags_xsum", 239), ("sfres", 1181), ("sfhot", 875)]
)
def test_unieval_sets_have_the_published_sizes(name: str, count: int) -> None:
    loaded = load_unieval(name, root=folder("unieval_meta"))
    assert len(loaded.items) == count
    assert len({it.id for it in loaded.items}) == count
    assert all(it.label == it.metadata["scores"][it.metadata["aspect"]] for it in loaded.items)


def test_unieval_topical_chat_groups_dialogues_and_shows_the_fact() -> None:
    items = load_unieval("topical_chat", "groundedness", root=folder("unieval_meta")).items
    groups = Counter(it.metadata["group"] for it in items)
    assert len(groups) == 60 and set(groups.values()) == {6}
    assert len({it.metadata["system"] for it in items}) == 6
    assert "\n\nFact: " in items[0].prompt and items[0].metadata["fact"].strip() in items[0].prompt
    assert items[0].metadata["aspect"] == "groundedness"


def test_unieval_reference_only_where_it_is_not_the_source() -> None:
    root = folder("unieval_meta")
    assert all(it.reference is None for it in load_unieval("qags_xsum", root=root).items)
    sf = load_unieval("sfres", "naturalness", root=root).items
    assert all(it.reference for it in sf)
    assert sf[0].prompt == "confirm(area=dont_care)"


def test_unieval_aspect_must_belong_to_the_set() -> None:
    with pytest.raises(ConfigError, match="consistency"):
        load_unieval("qags_cnndm", "overall", root="/nowhere")


# -- PandaLM -----------------------------------------------------------------------------------------------


def test_pandalm_majority_labels_match_the_published_distribution() -> None:
    loaded = load_pandalm(root=folder("pandalm_testset"))
    assert len(loaded.items) == 999
    assert Counter(it.label for it in loaded.items) == {"tie": 105, "A": 422, "B": 472}
    for item in loaded.items:
        annotations = item.metadata["annotations"]
        assert len(annotations) == 3 and Counter(annotations)[item.label] >= 2


def test_pandalm_prompt_joins_instruction_and_input() -> None:
    root = folder("pandalm_testset")
    raw = json.loads((root / "testset-v1.json").read_text())
    items = {it.id: it for it in load_pandalm(root=root).items}
    with_input = next(r for r in raw if r["input"])
    without_input = next(r for r in raw if not r["input"])
    assert items[f"pandalm-{with_input['idx']}"].prompt == f"{with_input['instruction']}\n\n{with_input['input']}"
    assert items[f"pandalm-{without_input['idx']}"].prompt == without_input["instruction"]


def test_majority_of_three_and_the_three_way_split() -> None:
    assert majority(["A", "A", "tie"]) == "A"
    assert majority(["B", "tie", "B"]) == "B"
    assert majority(["A", "B", "tie"]) == "tie"


def test_pandalm_predictions_of_both_judges() -> None:
    root = folder("pandalm_testset")
    pandalm = load_pandalm_predictions("pandalm-7b", root=root)
    gpt = load_pandalm_predictions("gpt-3.5-turbo", root=root)
    assert len(pandalm) == 999 and Counter(pandalm.values())["tie"] == 107
    assert len(gpt) == 974  # the 25 "garbage" answers are left out
    assert Counter(gpt.values()) == {"B": 476, "A": 460, "tie": 38}
    assert set(gpt) <= {it.id for it in load_pandalm(root=root).items}


# -- EvalBiasBench -----------------------------------------------------------------------------------------


def test_evalbiasbench_has_80_pairs_in_6_bias_types() -> None:
    items = load_evalbiasbench(root=folder("evalbiasbench")).items
    assert len(items) == 80 and len({it.id for it in items}) == 80
    assert Counter(it.metadata["bias"] for it in items) == {
        "length bias": 17,
        "concreteness": 14,
        "empty reference": 13,
        "content_continuation": 12,
        "nested_instruction": 12,
        "familiar knowledge preference bias": 12,
    }


def test_evalbiasbench_order_is_seeded_and_the_label_follows_the_better_response() -> None:
    root = folder("evalbiasbench")
    raw = [r for records in json.loads((root / "biasbench.json").read_text()).values() for r in records]
    items = load_evalbiasbench(root=root).items
    labels = Counter(it.label for it in items)
    assert labels["A"] > 20 and labels["B"] > 20  # not always the first response
    for record, item in zip(raw, items, strict=True):
        better = record["response1"] if record["label"] == 1 else record["response2"]
        assert (item.response_a if item.label == "A" else item.response_b) == better
    assert [it.label for it in load_evalbiasbench(root=root).items] == [it.label for it in items]
    assert [it.label for it in load_evalbiasbench(root=root, seed=1).items] != [it.label for it in items]


# -- AlpacaEval --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("model", "win_rate"), [("claude-2.1", 15.73), ("gpt-3.5-turbo-1106", 9.18)])
def test_alpaca_eval_preferences_reproduce_the_published_win_rate(model: str, win_rate: float) -> None:
    items = load_alpaca_eval_annotations(model, root=folder("alpaca_eval")).items
    assert len(items) == 805
    wins = [0.5 if it.metadata["preference"] == 0 else it.metadata["preference"] - 1 for it in items]
    assert sum(wins) / len(wins) * 100 == pytest.approx(win_rate, abs=0.005)


def test_alpaca_eval_joins_the_outputs_by_instruction() -> None:
    items = load_alpaca_eval_annotations("alpaca-7b_verbose", root=folder("alpaca_eval")).items
    assert len(items) == 802  # this variant has fewer rows; the join must not rely on positions
    for item in items:
        assert len(item.response_a or "") == item.metadata["length_a"]
        assert len(item.response_b or "") == item.metadata["length_b"]
        assert item.metadata["generator_a"] == "gpt4_1106_preview"
        assert item.id == f"alpaca_eval-alpaca-7b_verbose-{item.metadata['group']}"


def test_alpaca_eval_models_and_an_unknown_one() -> None:
    root = folder("alpaca_eval")
    models = alpaca_eval_models(root)
    assert "claude-2.1" in models and "NullModel" in models and len(models) == 8
    with pytest.raises(ConfigError, match=r"claude-2\.1"):
        load_alpaca_eval_annotations("gpt-7", root=root)


def test_preference_label_thresholds() -> None:
    assert preference_label(1.0000630276) == "A"
    assert preference_label(1.49) == "A"
    assert preference_label(1.5) == "tie"
    assert preference_label(0) == "tie"
    assert preference_label(1.51) == "B"


# -- MT-Bench ----------------------------------------------------------------------------------------------


def test_mt_bench_questions_with_reference_answers() -> None:
    items = load_mt_bench_questions(root=folder("mt_bench")).items
    assert len(items) == 80
    assert set(Counter(it.metadata["category"] for it in items).values()) == {10}
    with_reference = [it for it in items if it.reference]
    assert len(with_reference) == 30
    assert {it.metadata["category"] for it in with_reference} == {"math", "reasoning", "coding"}
    assert all(it.prompt == it.metadata["turns"][0] and len(it.metadata["turns"]) == 2 for it in items)


# -- the registry ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "count"),
    [
        ("llmbar:Neighbor", 134),
        ("summeval:fluency", 1600),
        ("topical_chat:overall", 360),
        ("pandalm", 999),
        ("evalbiasbench", 80),
        ("alpaca_eval:claude-2.1", 805),
        ("mt_bench", 80),
        ("llmbar", 100),
    ],
)
def test_load_benchmark_specs(spec: str, count: int) -> None:
    if not SHARED_DATA.exists():
        pytest.skip("no shared data")
    assert len(load_benchmark(spec, data_dir=SHARED_DATA).items) == count


def test_load_benchmark_bad_specs() -> None:
    with pytest.raises(ConfigError, match="llmbar, summeval, topical_chat"):
        load_benchmark("helm")
    with pytest.raises(ConfigError, match="needs an option"):
        load_benchmark("alpaca_eval")
    with pytest.raises(ConfigError, match="takes no option"):
        load_benchmark("pandalm:all")
    assert {"llmbar", "summeval", "sfhot", "rewardbench", "judgebench"} <= set(BENCHMARKS)


# -- where the files come from -----------------------------------------------------------------------------

NATURAL = "LLMBar/Natural/dataset.json"
TINY_LLMBAR = [
    {"input": "Say hi.", "output_1": "Hi!", "output_2": "Bye.", "label": 1},
    {"input": "Add 2 and 2.", "output_1": "5", "output_2": "4", "label": 2},
]


def write_json(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return path


def test_jurist_data_dir_is_used_when_no_root_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    folder("llmbar")
    monkeypatch.setenv("JURIST_DATA_DIR", str(SHARED_DATA))
    loaded = load_llmbar("GPTOut")
    assert len(loaded.items) == 47
    assert loaded.path == str(SHARED_DATA / "llmbar" / "LLMBar" / "Adversarial" / "GPTOut" / "dataset.json")


def test_missing_file_under_jurist_data_dir_says_where_to_get_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("JURIST_DATA_DIR", str(tmp_path))
    with pytest.raises(InputError) as caught:
        load_summeval()
    text = str(caught.value)
    assert str(tmp_path / "summeval" / "summeval.jsonl") in text
    assert "raw.githubusercontent.com/maiush/PPairS" not in text  # the test mirror is set, so it names that
    assert "file:///nonexistent-jurist-mirror/maiush/PPairS/" in text and "JURIST_DATA_DIR" in text


def test_missing_file_under_root_names_the_path_and_the_url(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        load_pandalm(root=tmp_path)
    assert caught.value.file == str(tmp_path / "testset-v1.json")
    assert "WeOpenML/PandaLM/main/data/testset-v1.json" in str(caught.value)


def test_download_into_the_cache_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    published = write_json(mirror / LLMBAR.repo / LLMBAR.ref / "Dataset" / NATURAL, TINY_LLMBAR)
    monkeypatch.setenv("JURIST_DATA_URL", mirror.as_uri())
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    loaded = load_llmbar()
    cached = tmp_path / "cache" / "jurist" / "data" / "llmbar" / NATURAL
    assert loaded.path == str(cached) and cached.read_bytes() == published.read_bytes()
    assert [it.label for it in loaded.items] == ["A", "B"]
    assert [p.name for p in cached.parent.iterdir()] == ["dataset.json"]  # no temporary file left behind
    published.unlink()  # a second load must not need the network
    assert len(load_llmbar().items) == 2


def test_failed_download_leaves_nothing_in_the_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("JURIST_DATA_URL", (tmp_path / "empty-mirror").as_uri())
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(InputError, match=r"could not download .*empty-mirror/princeton-nlp/LLMBar/"):
        load_llmbar("Manual")
    target = tmp_path / "cache" / "jurist" / "data" / "llmbar" / "LLMBar" / "Adversarial" / "Manual"
    assert list(target.iterdir()) == []


def test_alpaca_eval_files_map_to_the_repository_layout() -> None:
    from jurist.data.benchmarks.alpaca_eval import SOURCE

    url = SOURCE.url("annotations/claude-2.1.json", "https://example.org")
    assert url.endswith("/results/claude-2.1/weighted_alpaca_eval_gpt4_turbo/annotations.json")
    assert SOURCE.url("model_outputs/claude-2.1.json", "x").endswith("/results/claude-2.1/model_outputs.json")


# -- malformed data ----------------------------------------------------------------------------------------


def test_malformed_row_names_the_file_and_row(tmp_path: Path) -> None:
    rows = [*TINY_LLMBAR, {"input": "Name a colour.", "output_1": "Red."}]
    path = write_json(tmp_path / NATURAL, rows)
    with pytest.raises(InputError) as caught:
        load_llmbar(root=tmp_path)
    assert caught.value.file == str(path) and caught.value.line == 3 and caught.value.field == "output_2"


def test_bad_label_and_broken_json(tmp_path: Path) -> None:
    write_json(tmp_path / NATURAL, [{**TINY_LLMBAR[0], "label": 3}])
    with pytest.raises(InputError, match="label 3 is not 1 or 2") as caught:
        load_llmbar(root=tmp_path)
    assert caught.value.line == 1 and caught.value.field == "label"
    (tmp_path / NATURAL).write_text('[{"input": "x",', encoding="utf-8")
    with pytest.raises(InputError, match="malformed JSON"):
        load_llmbar(root=tmp_path)


def test_summeval_score_that_is_not_a_number(tmp_path: Path) -> None:
    row = {"article_id": "A0", "summary_id": "S0", "article": "Text.", "summary": "Sum."}
    row |= {"coherence": 3, "consistency": "high", "fluency": 3, "relevance": 3}
    (tmp_path / "summeval.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_summeval(root=tmp_path)
    assert caught.value.line == 1 and caught.value.field == "consistency"


# -- formats read from the user's file ---------------------------------------------------------------------


def rewardbench_rows(n: int) -> list[dict[str, object]]:
    return [
        {"id": i, "prompt": f"Question {i}?", "chosen": f"good {i}", "rejected": f"bad {i}", "subset": "math-prm"}
        | {"chosen_model": "human", "rejected_model": "gpt-4"}
        for i in range(n)
    ]


def test_rewardbench_orders_are_mixed_and_labels_point_at_chosen(tmp_path: Path) -> None:
    path = tmp_path / "rewardbench.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rewardbench_rows(40)), encoding="utf-8")
    items = load_rewardbench(path).items
    assert 10 < sum(it.label == "A" for it in items) < 30
    for it in items:
        chosen = it.response_a if it.label == "A" else it.response_b
        assert chosen == f"good {it.id.removeprefix('rewardbench-')}"
        assert it.metadata["swapped"] == (it.label == "B")
        assert it.metadata["subset"] == "math-prm" and it.metadata["rejected_model"] == "gpt-4"
    assert [it.label for it in load_rewardbench(path).items] == [it.label for it in items]
    assert [it.label for it in load_rewardbench(path, seed=7).items] != [it.label for it in items]


def test_rewardbench_row_without_rejected(tmp_path: Path) -> None:
    rows = rewardbench_rows(2)
    del rows[1]["rejected"]
    path = write_json(tmp_path / "rb.json", rows)
    with pytest.raises(InputError) as caught:
        load_rewardbench(path)
    assert caught.value.field == "rejected" and caught.value.line is not None and caught.value.line > 1


JUDGEBENCH = [
    {"pair_id": "p1", "original_id": "o1", "source": "mmlu-pro-law", "question": "Q1", "response_model": "gpt-4o"}
    | {"response_A": "first", "response_B": "second", "label": "A>B"},
    {"pair_id": "p2", "original_id": "o2", "source": "livebench-math", "question": "Q2", "response_model": "gpt-4o"}
    | {"response_A": "one", "response_B": "two", "label": "B>A"},
]


@pytest.mark.parametrize("suffix", ["json", "jsonl"])
def test_judgebench_json_and_jsonl(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"judgebench.{suffix}"
    if suffix == "json":
        write_json(path, JUDGEBENCH)
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in JUDGEBENCH), encoding="utf-8")
    items = load_judgebench(path).items
    assert [(it.id, it.label, it.metadata["subset"]) for it in items] == [
        ("judgebench-p1", "A", "mmlu-pro-law"),
        ("judgebench-p2", "B", "livebench-math"),
    ]
    assert items[1].prompt == "Q2" and items[1].response_b == "two"


def test_judgebench_bad_label_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "jb.jsonl"
    rows = [JUDGEBENCH[0], {**JUDGEBENCH[1], "label": "better"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_judgebench(path)
    assert caught.value.line == 2 and caught.value.field == "label"
    with pytest.raises(InputError, match="no such file"):
        load_judgebench(tmp_path / "absent.jsonl")


def test_mt_bench_human_votes_become_items_with_their_annotations(tmp_path: Path) -> None:
    def conversation(model: str) -> list[dict[str, str]]:
        return [
            {"role": "user", "content": "Write a haiku."},
            {"role": "assistant", "content": f"haiku by {model}"},
            {"role": "user", "content": "Now make it rhyme."},
            {"role": "assistant", "content": f"rhyme by {model}"},
        ]

    def row(judge: str, winner: str, turn: int) -> dict[str, object]:
        return {
            "question_id": 81,
            "model_a": "m1",
            "model_b": "m2",
            "winner": winner,
            "judge": judge,
            "turn": turn,
            "conversation_a": conversation("m1"),
            "conversation_b": conversation("m2"),
        }

    path = tmp_path / "human.jsonl"
    rows = [
        row("expert_1", "model_a", 1),
        row("expert_2", "model_a", 1),
        row("expert_3", "tie (bothbad)", 1),
        row("expert_1", "model_b", 2),
        row("expert_2", "model_a", 2),
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    items = {it.id: it for it in load_benchmark(f"mt_bench_human:{path}").items}
    first, second = items["mt_bench_human-81-m1-m2-t1"], items["mt_bench_human-81-m1-m2-t2"]
    assert first.label == "A" and first.metadata["annotations"] == ["A", "A", "tie"] and first.turns is None
    assert first.response_a == "haiku by m1" and first.response_b == "haiku by m2"
    assert second.label == "tie"  # one vote each way
    assert second.prompt == "Now make it rhyme." and second.response_b == "rhyme by m2"
    assert second.turns is not None and [t.content for t in second.turns] == ["Write a haiku.", "haiku by m1"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({**rows[0], "winner": "model_c"}) + "\n")
    with pytest.raises(InputError, match="model_c"):
        load_benchmark(f"mt_bench_human:{bad}")


# -- FairEval: a loader that joins four files --------------------------------------------------------------------
# A small copy of the layout of i-Eval/FairEval (our own questions and answers, the authors' file names and fields).

FAIREVAL_QUESTIONS = [
    {"question_id": 1, "text": "How do I keep basil alive indoors?", "category": "generic"},
    {"question_id": 2, "text": "Estimate how many bicycles are in Amsterdam.", "category": "fermi"},
    {"question_id": 3, "text": "Write a haiku about rain.", "category": "writing"},
]


def faireval_folder(tmp_path: Path, votes: str = "CHATGPT\nTIE\nVICUNA13B") -> Path:
    root = tmp_path / "FairEval"
    (root / "answer").mkdir(parents=True)
    (root / "review").mkdir()
    (root / "question.jsonl").write_text("".join(json.dumps(q) + "\n" for q in FAIREVAL_QUESTIONS))
    for name, model in (("gpt35", "gpt-3.5-turbo:20230327"), ("vicuna-13b", "vicuna-13b:20230322-clean-lang")):
        answers = [
            {"answer_id": f"{name}-{q['question_id']}", "model_id": model, "question_id": q["question_id"]}
            | {"text": f"{name} answers question {q['question_id']}."}
            for q in reversed(FAIREVAL_QUESTIONS)  # joined by question id, not by position
        ]
        (root / "answer" / f"answer_{name}.jsonl").write_text("".join(json.dumps(a) + "\n" for a in answers))
    (root / "review" / "review_gpt35_vicuna-13b_human.txt").write_text(votes)  # no final newline, as published
    return root


def test_faireval_joins_questions_both_answer_files_and_the_human_review(tmp_path: Path) -> None:
    root = faireval_folder(tmp_path)
    loaded = load_faireval(root)
    assert [it.id for it in loaded.items] == ["faireval-1", "faireval-2", "faireval-3"]
    first = loaded.items[0]
    assert first.prompt == "How do I keep basil alive indoors?"
    assert first.response_a == "gpt35 answers question 1." and first.response_b == "vicuna-13b answers question 1."
    assert [it.label for it in loaded.items] == ["A", "tie", "B"]
    assert first.metadata == {
        "category": "generic",
        "subset": "generic",
        "models": ["gpt-3.5-turbo:20230327", "vicuna-13b:20230322-clean-lang"],
    }
    assert loaded.lines == {"faireval-1": 1, "faireval-2": 2, "faireval-3": 3}
    assert describe_labels(loaded) == "labels: A 1, B 1, tie 1 (from label: CHATGPT->A, VICUNA13B->B, TIE->tie)"
    assert [it.label for it in load_benchmark(f"faireval:{root}").items] == ["A", "tie", "B"]
    assert "faireval" in BENCHMARKS


def test_faireval_mismatched_files_name_the_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        load_faireval(faireval_folder(tmp_path / "short", "CHATGPT\nTIE"))
    assert caught.value.file.endswith("review_gpt35_vicuna-13b_human.txt") and "2 human labels for 3" in str(
        caught.value
    )
    with pytest.raises(InputError) as caught:
        load_faireval(faireval_folder(tmp_path / "bad", "CHATGPT\nBOTH\nTIE"))
    assert caught.value.line == 2 and "'BOTH'" in str(caught.value)
    root = faireval_folder(tmp_path / "missing")
    answers = root / "answer" / "answer_vicuna-13b.jsonl"
    answers.write_text("\n".join(answers.read_text().splitlines()[1:]))  # drop the answer to question 3
    with pytest.raises(InputError) as caught:
        load_faireval(root)
    assert caught.value.file == str(answers) and "no answer to question 3" in str(caught.value)


# -- --field and --label-map on a benchmark's items ----------------------------------------------------------------


def test_remap_reads_another_column_of_a_benchmark() -> None:
    loaded = load_summeval("coherence", root=folder("summeval"))
    fluency = remap(loaded, "pointwise", {"label": "scores.fluency"}, None)
    assert [it.label for it in fluency.items] == [it.metadata["scores"]["fluency"] for it in loaded.items]
    assert [it.label for it in fluency.items] == [it.label for it in load_summeval("fluency", folder("summeval")).items]
    assert fluency.lines == loaded.lines and fluency.path == loaded.path
    assert [it.prompt for it in fluency.items] == [it.prompt for it in loaded.items]


def test_remap_relabels_pandalm_with_one_annotator_and_a_label_map() -> None:
    loaded = load_pandalm(folder("pandalm_testset"))
    raw = json.loads((folder("pandalm_testset") / "testset-v1.json").read_text())
    # the loader keeps each annotator's vote under `annotations`; a position in it picks one annotator
    first = remap(loaded, "pairwise", {"label": "annotations.0"}, None)
    assert [it.label for it in first.items] == [{0: "tie", 1: "A", 2: "B"}[r["annotator1"]] for r in raw]
    swapped = remap(loaded, "pairwise", None, {"A": "B", "B": "A", "tie": "tie"})
    assert [it.label for it in swapped.items] == [{"A": "B", "B": "A", "tie": "tie"}[it.label] for it in loaded.items]
