"""The shared HTTP helper: retries, backoff, Retry-After, deadline, size cap, redaction."""

from __future__ import annotations

import logging

import httpx
import pytest

from revimg.errors import ProviderError
from revimg.online.http import (
    Deadline,
    backoff_delay,
    fetch,
    redact,
    register_secret,
    retry_after,
    status_error,
)

from .helpers import KEY, Recorder, Sleeps, fast_options

URL = "https://api.example.com/search"
NOW = 1_700_000_000.0  # the fake wall clock of fast_options


def ok(payload: bytes = b'{"ok": true}', **headers: str) -> httpx.Response:
    return httpx.Response(200, content=payload, headers=headers)


def get(client: httpx.Client, options, **kwargs):
    return fetch(client, "GET", URL, provider="demo", options=options, **kwargs)


def test_success_returns_status_body_and_tries(mock_client) -> None:
    rec = Recorder(ok())
    fetched = get(mock_client(rec), fast_options())
    assert (fetched.status, fetched.body, fetched.tries) == (200, b'{"ok": true}', 1)
    assert fetched.json() == {"ok": True}


def test_5xx_is_retried_with_exponential_backoff(mock_client, sleeps: Sleeps) -> None:
    rec = Recorder(httpx.Response(503), httpx.Response(502), httpx.Response(500), ok())
    options = fast_options(sleeps, tries=4, backoff=1.0, random=lambda: 0.0)
    fetched = get(mock_client(rec), options)
    assert fetched.status == 200 and fetched.tries == 4
    # random() == 0 gives the lower half of each ceiling: 1, 2, 4 -> 0.5, 1, 2
    assert sleeps.delays == [0.5, 1.0, 2.0]


def test_backoff_jitter_stays_between_half_and_full_ceiling() -> None:
    low = fast_options(backoff=1.0, max_backoff=5.0, random=lambda: 0.0)
    high = fast_options(backoff=1.0, max_backoff=5.0, random=lambda: 0.999999)
    assert [backoff_delay(n, low) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 2.5]
    assert [round(backoff_delay(n, high), 3) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 5.0]
    import random

    rng = random.Random(7)
    jittered = fast_options(backoff=1.0, random=rng.random)
    delays = {backoff_delay(3, jittered) for _ in range(50)}
    assert len(delays) > 40 and all(2.0 <= d <= 4.0 for d in delays)


def test_last_status_is_returned_after_the_last_try(mock_client, sleeps: Sleeps) -> None:
    rec = Recorder(httpx.Response(503))
    fetched = get(mock_client(rec), fast_options(sleeps, tries=3))
    assert fetched.status == 503 and fetched.tries == 3 and len(rec.requests) == 3
    assert len(sleeps.delays) == 2


def test_4xx_is_not_retried(mock_client) -> None:
    rec = Recorder(httpx.Response(401), ok())
    fetched = get(mock_client(rec), fast_options())
    assert fetched.status == 401 and len(rec.requests) == 1


def test_final_callback_stops_retries(mock_client) -> None:
    rec = Recorder(httpx.Response(429, content=b"out"), ok())
    fetched = get(mock_client(rec), fast_options(), final=lambda status, body: body == b"out")
    assert fetched.status == 429 and len(rec.requests) == 1


def test_retry_after_seconds_is_honoured(mock_client, sleeps: Sleeps) -> None:
    rec = Recorder(httpx.Response(429, headers={"Retry-After": "7"}), ok())
    get(mock_client(rec), fast_options(sleeps))
    assert sleeps.delays == [7.0]


def test_retry_after_http_date_is_honoured(mock_client, sleeps: Sleeps) -> None:
    # NOW is 2023-11-14 22:13:20 GMT; the server asks to come back 12 s later.
    rec = Recorder(
        httpx.Response(503, headers={"Retry-After": "Tue, 14 Nov 2023 22:13:32 GMT"}), ok()
    )
    get(mock_client(rec), fast_options(sleeps))
    assert sleeps.delays == [12.0]


def test_retry_after_is_capped(mock_client, sleeps: Sleeps) -> None:
    rec = Recorder(httpx.Response(429, headers={"Retry-After": "3600"}), ok())
    get(mock_client(rec), fast_options(sleeps, retry_after_cap=9.0))
    assert sleeps.delays == [9.0]


def test_retry_after_parsing() -> None:
    assert retry_after("5", NOW, 30) == 5.0
    assert retry_after("Tue, 14 Nov 2023 22:13:10 GMT", NOW, 30) == 0.0  # already past
    assert retry_after("Tue, 14 Nov 2023 23:13:20 GMT", NOW, 30) == 30.0
    assert retry_after("soon", NOW, 30) is None
    assert retry_after("-3", NOW, 30) is None
    assert retry_after(None, NOW, 30) is None


def test_deadline_stops_retries_and_reports_the_last_status(mock_client, sleeps: Sleeps) -> None:
    rec = Recorder(httpx.Response(503))
    deadline = Deadline(1.2, clock=sleeps.clock)
    options = fast_options(sleeps, tries=10, backoff=1.0, random=lambda: 0.0, deadline=deadline)
    fetched = get(mock_client(rec), options)
    # Waits 0.5 (t=0.5), then would wait 1.0 but only 0.7 s are left: stop there.
    assert sleeps.delays == [0.5]
    assert fetched.status == 503 and fetched.tries == 2


def test_retry_after_beyond_the_deadline_is_not_waited_for(mock_client, sleeps: Sleeps) -> None:
    rec = Recorder(httpx.Response(429, headers={"Retry-After": "20"}), ok())
    options = fast_options(sleeps, deadline=Deadline(10, clock=sleeps.clock))
    fetched = get(mock_client(rec), options)
    assert fetched.status == 429 and sleeps.delays == [] and len(rec.requests) == 1


def test_expired_deadline_sends_nothing(mock_client, sleeps: Sleeps) -> None:
    rec = Recorder(ok())
    deadline = Deadline(5, clock=sleeps.clock)
    sleeps.now += 6
    with pytest.raises(ProviderError) as caught:
        get(mock_client(rec), fast_options(sleeps, deadline=deadline))
    assert str(caught.value) == "demo: timed out: the overall deadline of 5 s was reached"
    assert caught.value.kind == "deadline" and rec.requests == []


def test_timeout_is_capped_by_the_time_left(mock_client, sleeps: Sleeps) -> None:
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return ok()

    options = fast_options(sleeps, timeout=20.0, deadline=Deadline(3.0, clock=sleeps.clock))
    get(mock_client(handler), options)
    assert seen[0]["read"] == pytest.approx(3.0) and seen[0]["connect"] == pytest.approx(3.0)
    get(mock_client(handler), fast_options(timeout=20.0))
    assert seen[1]["read"] == 20.0


def test_timeout_within_the_deadline_reports_the_deadline(mock_client, sleeps: Sleeps) -> None:
    rec = Recorder(httpx.ReadTimeout("slow"))
    options = fast_options(sleeps, timeout=20.0, deadline=Deadline(3.0, clock=sleeps.clock))
    with pytest.raises(ProviderError) as caught:
        get(mock_client(rec), options)
    assert str(caught.value) == (
        "demo: timed out: the overall deadline of 3 s was reached after 1 try"
    )


def test_connection_errors_are_retried_then_reported(mock_client, sleeps: Sleeps) -> None:
    rec = Recorder(httpx.ConnectError("[Errno 111] Connection refused"))
    with pytest.raises(ProviderError) as caught:
        get(mock_client(rec), fast_options(sleeps))
    assert str(caught.value) == (
        "demo: could not connect to api.example.com ([Errno 111] Connection refused) (3 tries)"
    )
    # no try reached the server: nothing was sent
    assert caught.value.kind == "connect" and len(rec.requests) == 3


def test_a_refused_retry_after_an_answer_is_not_nothing_sent(mock_client, sleeps: Sleeps) -> None:
    rec = Recorder(
        httpx.Response(503),
        httpx.ConnectError("[Errno 111] Connection refused"),
        httpx.ConnectTimeout("slow"),
    )
    with pytest.raises(ProviderError) as caught:
        get(mock_client(rec), fast_options(sleeps))
    assert caught.value.kind == "timeout"  # the first try reached the server


def test_timeout_then_success(mock_client, sleeps: Sleeps) -> None:
    rec = Recorder(httpx.ConnectTimeout("slow"), ok())
    fetched = get(mock_client(rec), fast_options(sleeps))
    assert fetched.status == 200 and fetched.tries == 2 and len(sleeps.delays) == 1


def test_declared_size_over_the_cap_is_refused(mock_client) -> None:
    rec = Recorder(ok(b"x" * 2000))
    with pytest.raises(ProviderError) as caught:
        get(mock_client(rec), fast_options(max_bytes=1024))
    assert caught.value.kind == "too_large"
    assert str(caught.value).startswith("demo: response too large (over ")
    assert len(rec.requests) == 1  # not retried


def test_streamed_body_over_the_cap_is_cut_off(mock_client) -> None:
    produced = []

    def endless():
        for _ in range(10_000):  # would be 640 MB
            produced.append(1)
            yield b"z" * 65536

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=endless())  # chunked: no Content-Length

    with pytest.raises(ProviderError, match=r"^demo: response too large \(over 5 MB\)$"):
        get(mock_client(handler), fast_options())
    assert len(produced) < 100  # stopped reading soon after 5 MB


def test_malformed_json_message() -> None:
    from revimg.online.http import Fetched

    fetched = Fetched("demo", 200, {}, b"<html>oops</html>", 1)
    with pytest.raises(ProviderError) as caught:
        fetched.json()
    assert str(caught.value) == "demo: malformed JSON in the response (HTTP 200)"
    with pytest.raises(ProviderError, match="malformed JSON"):
        Fetched("demo", 200, {}, b"\xff\xfe\x00", 1).json()


@pytest.mark.parametrize(
    ("status", "tries", "expected", "kind"),
    [
        (401, 1, "the API key was refused (HTTP 401)", "auth"),
        (402, 1, "quota exhausted (HTTP 402)", "quota"),
        (403, 1, "access denied (HTTP 403)", "auth"),
        (429, 3, "rate limited (HTTP 429) after 3 tries", "rate_limited"),
        (503, 1, "server error (HTTP 503) after 1 try", "server"),
        (404, 1, "request refused (HTTP 404)", "refused"),
        (302, 1, "unexpected HTTP status 302", "failed"),
    ],
)
def test_status_error_wording(status: int, tries: int, expected: str, kind: str) -> None:
    error = status_error("demo", status, tries)
    assert str(error) == f"demo: {expected}" and error.kind == kind and error.status == status
    detailed = status_error("demo", status, tries, "  <b>Too</b>\n many  ")
    assert str(detailed) == f"demo: {expected}: Too many"


def test_redact_hides_known_secrets_and_key_params() -> None:
    text = f"GET https://serpapi.com/search.json?engine=x&api_key={KEY}&url=y key={KEY}"
    clean = redact(text, [KEY])
    assert KEY not in clean
    assert "api_key=***&url=y" in clean
    assert redact("https://x.example/?key=abcdef&b=1") == "https://x.example/?key=***&b=1"
    assert redact("x-goog-api-key: abc123") == "x-goog-api-key: ***"


def test_httpx_log_lines_are_scrubbed(mock_client, caplog: pytest.LogCaptureFixture) -> None:
    register_secret(KEY)
    rec = Recorder(ok())
    with caplog.at_level(logging.DEBUG):
        fetch(
            mock_client(rec),
            "GET",
            "https://serpapi.com/search.json",
            provider="demo",
            options=fast_options(),
            params={"engine": "google_lens", "api_key": KEY},
        )
    assert KEY in str(rec.requests[0].url)  # it was sent...
    assert "HTTP Request: GET https://serpapi.com/search.json" in caplog.text
    assert KEY not in caplog.text  # ...but never logged
    assert "api_key=***" in caplog.text
