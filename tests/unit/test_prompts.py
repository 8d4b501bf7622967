"""Prompt templates: the built-in ones for each mode, user TOML templates, and MT-Bench's official files."""

from __future__ import annotations

import pytest

from jurist import ConfigError, FakeBackend, Item
from jurist.prompts import builtin_template, load_template

from .helpers import make, run, shared, user_text

MT_BENCH = "mt_bench/judge_prompts.jsonl"

POINT = Item(id="p", prompt="Name a prime.", response="Seven.")
PAIR = Item(id="q", prompt="Name a prime.", response_a="Seven.", response_b="Nine.")
LIST = Item(id="r", prompt="Name a prime.", responses=["Seven.", "Nine.", "Eleven."])
ITEMS = {"pointwise": POINT, "pairwise": PAIR, "listwise": LIST}


def _messages(mode, item, **config):
    judge = make(FakeBackend(["unused"]), mode=mode, **config)
    (request,) = judge.requests(item)[:1]
    return request.messages


@pytest.mark.parametrize("mode", ["pointwise", "pairwise", "listwise"])
def test_builtin_template_renders_every_mode(mode):
    messages = _messages(mode, ITEMS[mode])
    assert messages[0].role == "system" and messages[0].content.strip()
    user = messages[-1].content
    assert messages[-1].role == "user"
    assert "Name a prime." in user
    assert "Seven." in user
    assert "Answer with only a JSON object" in user
    assert "Criteria:" not in user
    assert "Reference answer" not in user
    assert "{{" not in user and "{%" not in user


def test_pointwise_template_lists_scale_and_rubric_descriptors():
    user = _messages("pointwise", POINT, rubric="helpfulness")[-1].content
    assert "Criteria: How well does the response help" in user
    assert "- 5: Fully and correctly does what was asked" in user
    assert "an integer from 1 to 5" in user
    assert '"score": "1" | "2" | "3" | "4" | "5"' in user


@pytest.mark.parametrize("mode", ["pointwise", "pairwise", "listwise"])
def test_builtin_template_with_rubric_and_reference(mode):
    item = ITEMS[mode].model_copy(update={"reference": "Two is the smallest prime."})
    user = _messages(mode, item, rubric="honesty")[-1].content
    assert "Criteria: Is the response truthful" in user
    assert "# Reference answer\nTwo is the smallest prime." in user


def test_listwise_template_numbers_every_response():
    user = _messages("listwise", LIST)[-1].content
    assert "# Response 1\nSeven." in user
    assert "# Response 3\nEleven." in user
    assert "Rank all 3 responses" in user


def test_rationale_order_in_the_answer_format():
    before = _messages("pairwise", PAIR, rationale="before")[-1].content
    assert before.index('"rationale"') < before.index('"winner"')
    after = _messages("pairwise", PAIR, rationale="after")[-1].content
    assert after.index('"winner"') < after.index('"rationale"')
    assert '"rationale"' not in _messages("pairwise", PAIR, rationale="none")[-1].content


def test_builtin_templates_have_versions_and_distinct_hashes():
    hashes = {builtin_template(m).content_hash() for m in ("pointwise", "pairwise", "listwise")}
    assert len(hashes) == 3
    assert builtin_template("pairwise").version


# -- user TOML templates -----------------------------------------------------------------------------------


def test_user_toml_template(tmp_path):
    path = tmp_path / "terse.toml"
    path.write_text(
        'name = "terse"\nversion = "2"\nmode = "pointwise"\n'
        'user = """Q: {{ prompt }}\\nA: {{ response }}\\n{{ output_format }}"""\n'
    )
    template = load_template(str(path), "pointwise")
    assert template.name == "terse" and template.version == "2"
    messages = _messages("pointwise", POINT, template=str(path))
    assert len(messages) == 1  # no system prompt
    assert messages[0].content.startswith("Q: Name a prime.\nA: Seven.\nAnswer with only a JSON object")


def test_user_toml_template_for_another_mode_is_refused(tmp_path):
    path = tmp_path / "pair.toml"
    path.write_text('name = "p"\nmode = "pairwise"\nuser = "{{ prompt }}"\n')
    with pytest.raises(ConfigError, match="pairwise"):
        load_template(str(path), "pointwise")


def test_user_toml_template_with_jinja_syntax_error(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('name = "b"\nmode = "pointwise"\nuser = "{{ prompt "\n')
    with pytest.raises(ConfigError, match="syntax error"):
        load_template(str(path), "pointwise")


def test_user_toml_template_with_unknown_variable_fails_to_render(tmp_path):
    path = tmp_path / "typo.toml"
    path.write_text('name = "t"\nmode = "pointwise"\nuser = "{{ promt }}"\n')
    judge = make(FakeBackend(["unused"]), mode="pointwise", template=str(path))
    with pytest.raises(ConfigError, match="promt"):
        judge.requests(POINT)


def test_missing_and_unsupported_template_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_template(str(tmp_path / "nope.toml"), "pointwise")
    odd = tmp_path / "template.txt"
    odd.write_text("Rate {question}")
    with pytest.raises(ConfigError, match=r"\.toml"):
        load_template(str(odd), "pointwise")


# -- MT-Bench's official judge prompts as user templates -------------------------------------------------------


def test_mt_bench_default_picks():
    path = str(shared(MT_BENCH))
    single = load_template(path, "pointwise")
    assert single.name == "single-v1"
    assert single.engine == "format" and single.output == "text"
    pair = load_template(path, "pairwise")
    assert pair.name == "pair-v2"
    assert pair.tie_label == "C"
    assert load_template(path, "pointwise", with_reference=True).name == "single-math-v1"
    assert load_template(path, "pairwise", with_reference=True).name == "pair-math-v1"


def test_mt_bench_pick_by_name():
    path = str(shared(MT_BENCH))
    template = load_template(f"{path}#single-math-v1", "pointwise")
    assert template.name == "single-math-v1"
    assert template.needs_reference()
    assert not load_template(path, "pointwise").needs_reference()


def test_mt_bench_unknown_name_lists_the_names():
    path = str(shared(MT_BENCH))
    with pytest.raises(ConfigError) as info:
        load_template(f"{path}#single-v9", "pointwise")
    assert "single-v9" in str(info.value) and "pair-v2" in str(info.value)


@pytest.mark.parametrize(("name", "mode"), [("pair-v2-multi-turn", "pairwise"), ("single-v1-multi-turn", "pointwise")])
def test_mt_bench_multi_turn_templates_load_for_two_turn_items(name, mode):
    # they used to be refused; multi-turn items now fill them (tests/unit/test_multiturn.py renders them)
    path = str(shared(MT_BENCH))
    template = load_template(f"{path}#{name}", mode)
    assert template.multi_turn and template.engine == "format"
    assert not load_template(path, mode).multi_turn  # the default pick is still a single-turn template


def test_mt_bench_template_of_the_wrong_type_is_refused():
    path = str(shared(MT_BENCH))
    with pytest.raises(ConfigError, match="cannot judge pointwise"):
        load_template(f"{path}#pair-v2", "pointwise")
    with pytest.raises(ConfigError, match="listwise"):
        load_template(path, "listwise")


def test_mt_bench_pairwise_renders_and_reads_c_as_tie():
    path = str(shared(MT_BENCH))
    backend = FakeBackend(["Both answers are equally correct. [[C]]"])
    judge = make(backend, mode="pairwise", template=path, swap=False)
    verdict = run(judge(PAIR))
    assert verdict.error is None
    assert verdict.outcome.winner == "tie"
    request = backend.requests[0]
    assert request.json_schema is None  # the template states its own answer format
    assert request.messages[0].content.startswith("Please act as an impartial judge")
    user = user_text(request)
    assert "[User Question]\nName a prime." in user
    assert "[The Start of Assistant A's Answer]\nSeven.\n" in user
    assert "[The Start of Assistant B's Answer]\nNine.\n" in user


def test_mt_bench_pairwise_swapped_a_maps_back():
    path = str(shared(MT_BENCH))
    # The judge always says "[[A]]": in the swapped order that is response B, so the orders disagree.
    judge = make(FakeBackend(["[[A]]"]), mode="pairwise", template=path)
    verdict = run(judge(PAIR))
    assert [o.winner for o in verdict.outcome.orders] == ["A", "B"]
    assert verdict.outcome.consistent is False


def test_mt_bench_single_rating_on_a_ten_point_scale():
    path = str(shared(MT_BENCH))
    backend = FakeBackend(["The answer is correct but terse. Rating: [[8]]"])
    judge = make(backend, mode="pointwise", template=path)
    verdict = run(judge(POINT))
    assert verdict.error is None
    assert verdict.outcome.score == 8
    assert judge.scale.labels[-1] == "10"
    user = user_text(backend.requests[0])
    assert "[Question]\nName a prime." in user
    assert "[The Start of Assistant's Answer]\nSeven.\n" in user


def test_mt_bench_reference_template_fills_the_reference():
    path = str(shared(MT_BENCH))
    backend = FakeBackend(["Rating: [[3]]"])
    judge = make(backend, mode="pointwise", template=f"{path}#single-math-v1")
    item = POINT.model_copy(update={"reference": "2, 3, 5 and 7 are primes."})
    assert run(judge(item)).outcome.score == 3
    assert "2, 3, 5 and 7 are primes." in user_text(backend.requests[0])


# -- templates are code: sandboxed, and candidate texts are data ------------------------------------------------


def _toml_template(tmp_path, user, *, engine="jinja", name="t.toml"):
    path = tmp_path / name
    path.write_text(f'name = "t"\nmode = "pointwise"\nengine = "{engine}"\nuser = """{user}"""\n', encoding="utf-8")
    return str(path)


ESCAPES = [
    "{{ cycler.__init__.__globals__.os.popen('touch PWNED').read() }}",
    "{{ prompt.__class__.__mro__ }}",
    "{{ rubric['__class__'] }}",
    "{% set x = cycler.__init__ %}{{ x }}",
    "{{ prompt | attr('__class__') }}",
]


@pytest.mark.parametrize("user", ESCAPES)
def test_template_reaching_internals_is_refused_at_load(tmp_path, monkeypatch, user):
    monkeypatch.chdir(tmp_path)
    path = _toml_template(tmp_path, "Rate {{ response }}. " + user)
    with pytest.raises(ConfigError) as info:
        load_template(path, "pointwise")
    assert path in str(info.value) and "__" in str(info.value)
    assert not (tmp_path / "PWNED").exists()


def test_sandbox_refuses_what_only_rendering_reveals(tmp_path, monkeypatch):
    # The attribute name is only known when rendering (it comes from the data): the sandbox still refuses it.
    monkeypatch.chdir(tmp_path)
    path = _toml_template(tmp_path, "{{ (cycler | attr(metadata.name)) }}")
    judge = make(FakeBackend(["unused"]), mode="pointwise", template=path)
    item = POINT.model_copy(update={"metadata": {"name": "__init__"}})
    with pytest.raises(ConfigError, match="__init__"):
        judge.requests(item)


def test_template_cannot_change_the_item_it_renders(tmp_path):
    path = _toml_template(tmp_path, "{{ metadata.clear() }}{{ response }}")
    judge = make(FakeBackend(["unused"]), mode="pointwise", template=path)
    item = POINT.model_copy(update={"metadata": {"group": "g"}})
    with pytest.raises(ConfigError):
        judge.requests(item)
    assert item.metadata == {"group": "g"}


@pytest.mark.parametrize(
    "user",
    [
        "{question.__class__.__mro__}",
        "{answer.__class__}",
        "{question[0]}",
        "{answer!r}",
        "{answer:>99999999}",
    ],
)
def test_format_templates_take_only_plain_placeholders(tmp_path, user):
    path = _toml_template(tmp_path, "[Question] {question} " + user, engine="format")
    with pytest.raises(ConfigError, match="placeholder") as info:
        load_template(path, "pointwise")
    assert path in str(info.value)


def test_format_template_made_in_python_is_checked_when_rendering():
    from jurist.prompts import Template

    template = Template(name="t", mode="pointwise", user="{question.__class__}", engine="format")
    with pytest.raises(ConfigError, match="placeholder"):
        template.render({"prompt": "p", "response": "r"})


CANDIDATE = "{{ 7 * 7 }} {% if true %}yes{% endif %} {prompt} {question} {0} {__class__} }} {"


@pytest.mark.parametrize("template", [None, "mt_bench"])
def test_candidate_texts_are_data_never_template_code(template):
    config = {}
    if template == "mt_bench":
        config["template"] = str(shared(MT_BENCH))
    item = Item(id="p", prompt="Q " + CANDIDATE, response="A " + CANDIDATE, reference="R " + CANDIDATE)
    messages = _messages("pointwise", item, **config)
    user = messages[-1].content
    assert "Q " + CANDIDATE in user and "A " + CANDIDATE in user
    assert "49" not in user


def test_malformed_toml_template_names_the_line(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('name = "t"\nmode = "pointwise"\nuser = "unterminated\n')
    with pytest.raises(ConfigError) as info:
        load_template(str(path), "pointwise")
    assert f"{path}:3" in str(info.value)


def test_malformed_mt_bench_jsonl_template_names_the_line(tmp_path):
    path = tmp_path / "judge.jsonl"
    good = '{"name": "s", "type": "single", "prompt_template": "{question} {answer}", "output_format": "[[rating]]"}'
    path.write_text(good + "\n" + '{"name": "broken",\n')
    with pytest.raises(ConfigError) as info:
        load_template(str(path), "pointwise")
    assert f"{path}:2" in str(info.value)
    path.write_bytes(good.encode() + b"\n" + good.replace("single", "caf\xe9").encode("latin-1") + b"\n")
    with pytest.raises(ConfigError) as info:
        load_template(str(path), "pointwise")
    assert f"{path}:2" in str(info.value) and "UTF-8" in str(info.value)


def test_template_with_byte_order_mark_and_bad_utf8(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_text('\ufeffname = "t"\nmode = "pointwise"\nuser = "Rate {{ response }}"\n', encoding="utf-8")
    assert load_template(str(path), "pointwise").name == "t"
    path.write_bytes(b'name = "t"\nmode = "pointwise"\nuser = "caf\xe9 {{ response }}"\n')
    with pytest.raises(ConfigError) as info:
        load_template(str(path), "pointwise")
    assert f"{path}:3" in str(info.value) and "UTF-8" in str(info.value)
