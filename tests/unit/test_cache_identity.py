"""A backend's cache identity holds everything besides the request that decides its answers, and no secret."""

from __future__ import annotations

from pathlib import Path

from jurist import FakeBackend
from jurist.backends.anthropic import AnthropicBackend
from jurist.backends.base import cache_identity
from jurist.backends.openai_compat import OpenAIBackend
from jurist.backends.replay import ReplayBackend


def test_the_server_and_the_provider_are_part_of_the_identity() -> None:
    here = OpenAIBackend("m", base_url="http://127.0.0.1:8000/v1")
    there = OpenAIBackend("m", base_url="http://127.0.0.1:9000/v1")
    other_model = OpenAIBackend("n", base_url="http://127.0.0.1:8000/v1")
    claude = AnthropicBackend("m", base_url="http://127.0.0.1:8000/v1")
    identities = {cache_identity(b) for b in (here, there, other_model, claude)}
    assert len(identities) == 4
    assert here.name == there.name  # the name alone could not tell them apart
    # The same server written with a trailing slash is the same server.
    assert cache_identity(OpenAIBackend("m", base_url="http://127.0.0.1:8000/v1/")) == cache_identity(here)


def test_the_identity_holds_no_credential() -> None:
    secret = "identity-pass-31337"
    backend = OpenAIBackend("m", base_url=f"http://user:{secret}@127.0.0.1:8000/v1?api_key={secret}x")
    assert secret not in cache_identity(backend)
    assert secret not in backend.base_url


def test_a_feature_given_up_changes_the_identity() -> None:
    full = OpenAIBackend("m", base_url="http://127.0.0.1:8000/v1")
    assert cache_identity(OpenAIBackend("m", base_url="http://127.0.0.1:8000/v1", json_schema=False)) != (
        cache_identity(full)
    )
    assert cache_identity(OpenAIBackend("m", base_url="http://127.0.0.1:8000/v1", logprobs=False)) != (
        cache_identity(full)
    )


def test_backends_without_an_identity_are_known_by_name(tmp_path: Path) -> None:
    assert cache_identity(FakeBackend(["x"], name="scripted")) == "scripted"
    recorded = tmp_path / "records.jsonl"
    recorded.write_text('{"texts": ["q"], "completion": "A"}\n')
    first = cache_identity(ReplayBackend.from_file(recorded))
    recorded.write_text('{"texts": ["q"], "completion": "B"}\n')
    assert cache_identity(ReplayBackend.from_file(recorded)) != first  # its name holds the content's hash
