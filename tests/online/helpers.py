"""Helpers for the provider tests: recorded bodies, a scripted handler, fake sleep, photos."""

from __future__ import annotations

import contextlib
import io
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from revimg.online.http import RequestOptions

DATA = Path(__file__).resolve().parent.parent / "data" / "providers"
#: A fake API key; tests assert it never shows up where it must not.
KEY = "sk-test-9f8e7d6c5b4a39281706"
#: Text planted in the test photo's EXIF, which must never be uploaded.
EXIF_MARKER = "PRIVATE-GPS-NOTE-4711"
IMAGE_URL = "https://example.com/profile/jane.jpg"

Handler = Callable[[httpx.Request], httpx.Response]


def body(provider: str, name: str) -> bytes:
    """The bytes of a recorded response in ``tests/data/providers/<provider>/``."""
    return (DATA / provider / name).read_bytes()


def respond(provider: str, name: str, status: int = 200, **headers: str) -> httpx.Response:
    """A response carrying a recorded body (JSON content type for ``.json``)."""
    kind = "application/json" if name.endswith(".json") else "text/html"
    return httpx.Response(
        status, content=body(provider, name), headers={"content-type": kind, **headers}
    )


def loads(provider: str, name: str) -> Any:
    """A recorded JSON body, parsed."""
    return json.loads(body(provider, name))


class Recorder:
    """A MockTransport handler that records requests and answers from a script."""

    def __init__(self, *answers: httpx.Response | Handler | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):  # a fresh copy: a response streams only once
            return httpx.Response(answer.status_code, headers=answer.headers, content=answer.read())
        return answer(request)


class Sleeps:
    """A fake ``sleep`` that records delays and advances a fake monotonic clock."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.now = 1000.0

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def fast_options(sleeps: Sleeps | None = None, **overrides: Any) -> RequestOptions:
    """Retry options that never really sleep, with mid-range jitter."""
    values: dict[str, Any] = {
        "sleep": sleeps if sleeps is not None else (lambda s: None),
        "random": lambda: 0.5,
        "now": lambda: 1_700_000_000.0,
    }
    values.update(overrides)
    return RequestOptions(**values)


def make_jpeg(size: tuple[int, int] = (320, 240), *, exif_note: str | None = EXIF_MARKER) -> bytes:
    """A small JPEG with a gradient, and EXIF and comment text to check that they are stripped."""
    width, height = size
    img = Image.new("RGB", size)
    img.putdata(
        [
            ((x * 255) // width, (y * 255) // height, (x * y) % 256)
            for y in range(height)
            for x in range(width)
        ]
    )
    out = io.BytesIO()
    exif = Image.Exif()
    if exif_note:
        exif[0x010E] = exif_note  # ImageDescription
    comment = f"comment {exif_note}".encode() if exif_note else b""
    img.save(out, "JPEG", quality=95, exif=exif.tobytes(), comment=comment)
    return out.getvalue()


def make_noisy_jpeg(size: tuple[int, int]) -> bytes:
    """A JPEG of random noise: large on disk, to exercise downscaling."""
    import os

    img = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=98)
    return out.getvalue()


class FakeTinEye(ThreadingHTTPServer):
    """A TinEye on 127.0.0.1 that answers ``/rest/search/`` by a script of steps: ("ok",),
    ("status", N), ("slow", seconds); the documented bodies (search_ok, auth_401). Every
    request is kept in ``seen``: method, path, API key and body."""

    daemon_threads = False  # server_close() joins the handler threads
    block_on_close = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _TinEyeHandler)
        self.script: list[tuple] = [("ok",)]
        self.seen: list[dict[str, Any]] = []
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def next_step(self) -> tuple:
        with self.lock:
            return self.script.pop(0) if len(self.script) > 1 else self.script[0]


class _TinEyeHandler(BaseHTTPRequestHandler):
    server: FakeTinEye

    def do_GET(self) -> None:
        self._answer(b"")

    def do_POST(self) -> None:
        self._answer(self.rfile.read(int(self.headers.get("Content-Length", "0"))))

    def _answer(self, payload: bytes) -> None:
        server = self.server
        with server.lock:
            server.seen.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "key": self.headers.get("x-api-key"),
                    "body": payload,
                }
            )
        step = server.next_step()
        try:
            if step[0] == "slow" and server.stop.wait(step[1]):
                return  # the test is over
            status = step[1] if step[0] == "status" else 200
            name = {200: "search_ok.json", 401: "auth_401.json"}.get(status)
            content = body("tineye", name) if name else b"<html>busy</html>"
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting, as it should

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def serving(server: FakeTinEye) -> Iterator[FakeTinEye]:
    """Serve on a thread; at the end, release slow steps, stop and join."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
