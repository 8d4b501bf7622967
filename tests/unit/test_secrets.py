"""The one home of secrets: known values are scrubbed from every text that leaves a backend, URLs lose theirs."""

from __future__ import annotations

import base64

import pytest

from jurist import BackendError, FakeBackend, GenerateRequest, GenerateResponse
from jurist.backends.base import Message, TokenLogprob
from jurist.errors import ConfigError, ContextOverflowError
from jurist.run.resilience import ResilientBackend, RetryPolicy
from jurist.secrets import register, scrub, secret_env, split_url

from .helpers import run

KEY = "hunter2-pass-0042"


def request() -> GenerateRequest:
    return GenerateRequest(messages=(Message(role="user", content="Rate this."),))


def test_registered_values_are_scrubbed_and_short_ones_ignored() -> None:
    register(KEY, "x", None, "")
    assert scrub(f"the key is {KEY}, twice: {KEY}") == "the key is ***, twice: ***"
    # A value too short to be a secret would blank out ordinary text.
    assert scrub("x marks the spot") == "x marks the spot"


def test_key_like_strings_are_scrubbed_without_registration() -> None:
    assert scrub("Incorrect API key provided: sk-proj-Ab3dEf6hIj9kLmN0pQ.") == "Incorrect API key provided: ***."
    # Ordinary words with a dash and no digit stay.
    assert scrub("a key-insight and the sk-learn library") == "a key-insight and the sk-learn library"


def test_secret_env_reads_and_registers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JURIST_TEST_SECRET_ENV", "envsecret-77aa11")
    assert secret_env("JURIST_TEST_SECRET_ENV") == "envsecret-77aa11"
    assert scrub("echo envsecret-77aa11") == "echo ***"
    assert secret_env("JURIST_TEST_NOT_SET_AT_ALL") is None


def test_split_url_removes_userinfo_and_redacts_secret_query_values() -> None:
    url = split_url("http://alice:pa%40ss-word-9@gateway.example:8080/v1/?api-version=2024-06&api_key=QK-123456789")
    assert url.username == "alice" and url.password == "pa@ss-word-9"
    # Sent: no userinfo (it travels as a header), every query parameter kept.
    assert url.url == "http://gateway.example:8080/v1?api-version=2024-06&api_key=QK-123456789"
    # Shown and stored: no credentials at all.
    assert url.public == "http://gateway.example:8080/v1?api-version=2024-06&api_key=***"
    for value in ("pa@ss-word-9", "pa%40ss-word-9", "QK-123456789"):
        assert scrub(f"<{value}>") == "<***>"
    basic = base64.b64encode(b"alice:pa@ss-word-9").decode()
    assert scrub(f"Authorization: Basic {basic}") == "Authorization: Basic ***"


def test_split_url_without_secrets_is_unchanged() -> None:
    url = split_url("https://api.example.com/v1")
    assert (url.url, url.public, url.username, url.password) == (
        "https://api.example.com/v1",
        "https://api.example.com/v1",
        "",
        "",
    )


@pytest.mark.parametrize("bad", ["localhost:8000/v1", "ftp://host/v1", "http://host:port/v1", "http:///v1"])
def test_a_base_url_that_cannot_be_used_is_a_config_error(bad: str) -> None:
    with pytest.raises(ConfigError, match="--base-url"):
        split_url(bad)


def test_resilient_backend_scrubs_response_text_logprobs_and_errors() -> None:
    register(KEY)
    echo = GenerateResponse(
        text=f"you sent Bearer {KEY}",
        logprobs=[TokenLogprob(token=KEY, logprob=-0.1, top={KEY: -0.1, "x": -3.0})],
    )
    wrapped = ResilientBackend(FakeBackend([echo]))
    response = run(wrapped.generate(request()))
    assert KEY not in response.text and "***" in response.text
    assert KEY not in response.model_dump_json()

    overflow = ContextOverflowError(f"prompt too long for key {KEY}", status=400)
    failing = ResilientBackend(FakeBackend([overflow]), retry=RetryPolicy(max_retries=0))
    with pytest.raises(ContextOverflowError) as info:
        run(failing.generate(request()))
    assert KEY not in str(info.value) and info.value.reason == "context_overflow"

    transient = BackendError(f"HTTP 503: {KEY}", status=503, retryable=True, reason="http_503")
    exhausted = ResilientBackend(FakeBackend([transient]), retry=RetryPolicy(max_retries=0))
    with pytest.raises(BackendError) as info2:
        run(exhausted.generate(request()))
    assert KEY not in str(info2.value) and info2.value.reason == "retries_exhausted"
