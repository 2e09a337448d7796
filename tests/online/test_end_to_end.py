"""End to end through real sockets: a fake TinEye on 127.0.0.1, reached via REVIMG_TINEYE_URL."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from revimg.online.search import search_online
from revimg.online.settings import load_settings

from .helpers import KEY, FakeTinEye, serving


@pytest.fixture
def tineye(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTinEye]:
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(proxy, raising=False)
        monkeypatch.delenv(proxy.lower(), raising=False)
    monkeypatch.setenv("REVIMG_TINEYE_KEY", KEY)
    with serving(FakeTinEye()) as server:
        host, port = server.server_address[:2]
        monkeypatch.setenv("REVIMG_TINEYE_URL", f"http://{host}:{port}")
        yield server


def search(jpeg: bytes, **kwargs):
    (result,) = search_online(
        "tineye",
        image_bytes=jpeg,
        settings=load_settings(),
        use_cache=False,
        sleep=lambda s: time.sleep(min(s, 0.01)),
        **kwargs,
    )
    return result


def test_slow_answer_times_out_then_the_retry_succeeds(tineye: FakeTinEye, jpeg: bytes) -> None:
    tineye.script = [("slow", 2.0), ("ok",)]
    started = time.monotonic()
    result = search(jpeg, timeout=0.3, deadline=10)
    assert time.monotonic() - started < 1.5
    assert result.error is None, result.error
    assert result.sent == "bytes" and result.host == tineye_host(tineye)
    assert [m.first_seen for m in result.matches] == ["2016-03-14", "2019-05-02"]
    assert len(tineye.seen) == 2
    for method, key, payload in ((r["method"], r["key"], r["body"]) for r in tineye.seen):
        assert method == "POST" and key == KEY
        assert b'name="image_upload"' in payload and b"\xff\xd8\xff" in payload


def test_503_then_success(tineye: FakeTinEye, jpeg: bytes) -> None:
    tineye.script = [("status", 503), ("ok",)]
    result = search(jpeg, timeout=5, deadline=10)
    assert result.error is None and len(result.matches) == 2
    assert len(tineye.seen) == 2


def test_503_every_time(tineye: FakeTinEye, jpeg: bytes) -> None:
    tineye.script = [("status", 503)]
    result = search(jpeg, timeout=5, deadline=10)
    assert result.error == "tineye: server error (HTTP 503) after 3 tries"
    assert len(tineye.seen) == 3


def test_overall_deadline_cuts_a_hanging_server(tineye: FakeTinEye, jpeg: bytes) -> None:
    tineye.script = [("slow", 5.0)]
    started = time.monotonic()
    result = search(jpeg, timeout=4, deadline=0.5)
    elapsed = time.monotonic() - started
    assert 0.4 < elapsed < 1.5
    assert result.error is not None
    assert result.error.startswith("tineye: timed out: the overall deadline of 0.5 s was reached")
    assert result.error_kind == "deadline" and result.matches == ()


def tineye_host(server: FakeTinEye) -> str:
    host, port = server.server_address[:2]
    return f"{host}:{port}"
