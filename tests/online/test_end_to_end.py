"""End to end through real sockets: a fake TinEye on 127.0.0.1, reached via REVIMG_TINEYE_URL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from revimg.online.search import search_online
from revimg.online.settings import load_settings

from .helpers import KEY, body

OK = body("tineye", "search_ok.json")


class FakeTinEye(ThreadingHTTPServer):
    """Answers ``/rest/search/`` from a script: ("ok",), ("status", 503), ("slow", seconds)."""

    daemon_threads = False  # server_close() joins the handler threads
    block_on_close = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.script: list[tuple] = []
        self.seen: list[tuple[str, str, bytes]] = []
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def next_step(self) -> tuple:
        with self.lock:
            return self.script.pop(0) if len(self.script) > 1 else self.script[0]


class Handler(BaseHTTPRequestHandler):
    server: FakeTinEye

    def do_GET(self) -> None:
        self.answer(b"")

    def do_POST(self) -> None:
        self.answer(self.rfile.read(int(self.headers.get("Content-Length", "0"))))

    def answer(self, payload: bytes) -> None:
        server = self.server
        with server.lock:
            server.seen.append((self.command, self.headers.get("x-api-key", ""), payload))
        step = server.next_step()
        try:
            if step[0] == "slow" and server.stop.wait(step[1]):
                return  # test is over
            status = step[1] if step[0] == "status" else 200
            content = b"<html>busy</html>" if status != 200 else OK
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting, as it should

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def tineye(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTinEye]:
    server = FakeTinEye()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    for proxy in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        monkeypatch.delenv(proxy, raising=False)
    host, port = server.server_address[:2]
    monkeypatch.setenv("REVIMG_TINEYE_URL", f"http://{host}:{port}")
    monkeypatch.setenv("REVIMG_TINEYE_KEY", KEY)
    try:
        yield server
    finally:
        server.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


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
    for method, key, payload in tineye.seen:
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
