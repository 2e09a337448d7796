"""Hash banks from URLs: download, checks (scheme, size, SHA-256, redirects), update, kill.

Every test talks to a real HTTP server on 127.0.0.1 started here (with ETag,
Last-Modified and 304 written below), or to ``httpx.MockTransport`` for https addresses;
nothing reaches the network.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import signal
import socket
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from revimg.cli import app
from revimg.errors import FetchError
from revimg.imaging.hashing import ImageHashes
from revimg.index import bank_fetch
from revimg.index.backend import DB_NAME
from revimg.index.store import open_index
from tests.reliability_figures import REVIMG, cli_env, run_cli

runner = CliRunner()
HTTP = "--allow-http"


def pdq(n: int) -> str:
    """A distinct 64-digit PDQ hash per number."""
    return hashlib.sha256(f"photo {n}".encode()).hexdigest()


def body(*names: int, sha: dict[int, str] | None = None) -> bytes:
    """A JSON Lines bank of the photos ``names`` (numbers), some with a SHA-256."""
    lines = []
    for n in names:
        record: dict[str, Any] = {"pdq": pdq(n), "name": f"photo-{n}"}
        if sha and n in sha:
            record["sha256"] = sha[n]
        lines.append(json.dumps(record))
    return ("\n".join(lines) + "\n").encode()


@dataclass
class Route:
    """What the server answers at one path."""

    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    length: str | None = "real"  # "real", None (no Content-Length: read to the close), digits
    status: int = 200
    location: str | None = None


@dataclass
class Server:
    """A tiny bank server on 127.0.0.1 (HTTP/1.0: every answer ends with the connection)."""

    port: int
    routes: dict[str, Route] = field(default_factory=dict)
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def _handler(server: Server) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            server.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
            route = server.routes.get(self.path)
            if route is None:
                self.send_error(404)
                return
            if route.location is not None:
                self.send_response(302)
                self.send_header("Location", route.location)
                self.end_headers()
                return
            match = route.etag is not None and self.headers.get("If-None-Match") == route.etag
            since = self.headers.get("If-Modified-Since")
            if match or (route.last_modified is not None and since == route.last_modified):
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(route.status)
            if route.etag:
                self.send_header("ETag", route.etag)
            if route.last_modified:
                self.send_header("Last-Modified", route.last_modified)
            if route.length == "real":
                self.send_header("Content-Length", str(len(route.body)))
            elif route.length is not None:
                self.send_header("Content-Length", route.length)
            self.end_headers()
            self.wfile.write(route.body)

    return Handler


@pytest.fixture
def server() -> Iterator[Server]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    state = Server(httpd.server_address[1])
    httpd.RequestHandlerClass = _handler(state)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def cli(*args: str) -> Any:
    return runner.invoke(app, list(args))


def state(location: Path) -> tuple[Any, ...]:
    """Everything a failed or killed update must leave as it was."""
    conn = sqlite3.connect(f"{(location / DB_NAME).resolve().as_uri()}?mode=ro", uri=True)
    try:
        return tuple(
            tuple(conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall())
            for table in ("images", "views", "meta", "bank_sources", "bank_holdings")
        )
    finally:
        conn.close()


def names(location: Path) -> set[str]:
    with open_index(location) as index:
        return {e.name for e in index.entries()}


def no_leftovers(location: Path) -> None:
    if location.exists():
        assert not list(location.glob(f"{bank_fetch.PART_PREFIX}*")), "a download was left"


# -- import ------------------------------------------------------------------------------------


def test_import_from_url_records_the_source_and_info_shows_it(
    server: Server, tmp_path: Path
) -> None:
    data = body(1, 2, 3)
    server.routes["/banks/stock.jsonl"] = Route(data, etag='"v1"', last_modified="Sat, 05 Dec")
    url = server.url("/banks/stock.jsonl")
    ix = tmp_path / "index"
    done = cli("index", "import", url, "--index", str(ix), HTTP)
    assert done.exit_code == 0, done.output
    assert "imported (+3, -0), 3 entries" in done.output
    assert names(ix) == {"photo-1", "photo-2", "photo-3"}
    no_leftovers(ix)
    info = json.loads(cli("index", "info", "--index", str(ix), "--format", "json").output)
    [source] = info["banks"]
    assert source["url"] == url and source["origin"] == "stock.jsonl"
    assert source["etag"] == '"v1"' and source["last_modified"] == "Sat, 05 Dec"
    assert source["sha256"] == hashlib.sha256(data).hexdigest() and source["entries"] == 3
    assert info["by_origin"] == {"stock.jsonl": 3}
    table = runner.invoke(
        app, ["index", "info", "--index", str(ix), "--format", "table"], env={"COLUMNS": "200"}
    ).output
    assert url in table and "stock.jsonl: 3 entries" in table
    assert hashlib.sha256(data).hexdigest() in table


def test_sha256_checked_before_anything_is_merged(server: Server, tmp_path: Path) -> None:
    data = body(1, 2)
    server.routes["/b.jsonl"] = Route(data)
    url, ix = server.url("/b.jsonl"), tmp_path / "index"
    wrong = "0" * 64
    bad = cli("index", "import", url, "--index", str(ix), HTTP, "--sha256", wrong)
    assert bad.exit_code == 2
    line = bad.output.strip()
    assert "\n" not in line and line.startswith("Error: ")
    assert f"expected {wrong}, got {hashlib.sha256(data).hexdigest()}" in line
    assert not ix.exists()  # a first import that failed leaves nothing behind
    right = hashlib.sha256(data).hexdigest().upper()
    done = cli("index", "import", url, "--index", str(ix), HTTP, "--sha256", right)
    assert done.exit_code == 0, done.output
    assert names(ix) == {"photo-1", "photo-2"}
    malformed = cli("index", "import", url, "--index", str(ix), HTTP, "--sha256", "abc")
    assert malformed.exit_code == 2 and "64 hex digits" in malformed.output


def test_a_mismatch_leaves_an_existing_index_unchanged(server: Server, tmp_path: Path) -> None:
    server.routes["/a.jsonl"] = Route(body(1))
    server.routes["/b.jsonl"] = Route(body(2))
    ix = tmp_path / "index"
    assert cli("index", "import", server.url("/a.jsonl"), "--index", str(ix), HTTP).exit_code == 0
    before = state(ix)
    bad = cli(
        "index", "import", server.url("/b.jsonl"), "--index", str(ix), HTTP, "--sha256", "1" * 64
    )
    assert bad.exit_code == 2 and "SHA-256 mismatch" in bad.output
    assert state(ix) == before
    no_leftovers(ix)


@pytest.mark.parametrize("length", ["real", None], ids=["content-length", "no-content-length"])
def test_size_cap_refuses_a_large_bank(server: Server, tmp_path: Path, length: str | None) -> None:
    data = body(*range(40))  # about 4 KB
    server.routes["/big.jsonl"] = Route(data, length=length)
    ix = tmp_path / "index"
    args = ("index", "import", server.url("/big.jsonl"), "--index", str(ix), HTTP)
    refused = cli(*args, "--max-size", "1KB")
    assert refused.exit_code == 2
    assert refused.output.count("\n") == 1 and "over the size limit of 1024 bytes" in refused.output
    if length == "real":  # refused on the header, before the body
        assert f"the bank is {len(data)} bytes" in refused.output
    assert not ix.exists()
    done = cli(*args, "--max-size", "1MB")
    assert done.exit_code == 0, done.output
    assert len(names(ix)) == 40


def test_size_cap_holds_when_content_length_lies(tmp_path: Path) -> None:
    """A server that announces a small body and sends a large one is cut off at the cap."""

    def answer(request: httpx.Request) -> httpx.Response:
        chunks = [b"a" * 1000] * 50
        return httpx.Response(
            200, headers={"Content-Length": "10"}, stream=httpx.ByteStream(b"".join(chunks))
        )

    client = httpx.Client(transport=httpx.MockTransport(answer))
    ix = tmp_path / "index"
    with pytest.raises(FetchError, match="the bank is over the size limit of 20000 bytes"):
        bank_fetch.import_url(ix, "https://bank.example/b.txt", client=client, max_bytes=20_000)
    assert not ix.exists()


def test_plain_http_is_refused_without_allow_http(server: Server, tmp_path: Path) -> None:
    server.routes["/b.jsonl"] = Route(body(1))
    ix = tmp_path / "index"
    refused = cli("index", "import", server.url("/b.jsonl"), "--index", str(ix))
    assert refused.exit_code == 2
    assert refused.output.count("\n") == 1 and "refusing plain http" in refused.output
    assert "--allow-http" in refused.output
    assert server.seen == [] and not ix.exists()
    other = cli("index", "import", "ftp://127.0.0.1/b.jsonl", "--index", str(ix))
    assert other.exit_code == 2 and "only https URLs" in other.output


def _redirecting(target: str) -> httpx.Client:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.scheme == "https":
            return httpx.Response(302, headers={"Location": target})
        return httpx.Response(200, content=body(7))

    return httpx.Client(transport=httpx.MockTransport(answer))


def test_a_redirect_from_https_to_http_is_refused(tmp_path: Path) -> None:
    ix = tmp_path / "index"
    url = "https://bank.example/b.jsonl"
    with pytest.raises(FetchError, match="redirected from https to http://plain.example/b.jsonl"):
        bank_fetch.import_url(ix, url, client=_redirecting("http://plain.example/b.jsonl"))
    assert not ix.exists()
    result = bank_fetch.import_url(
        ix, url, client=_redirecting("http://plain.example/b.jsonl"), allow_http=True
    )
    assert result.status == "imported" and names(ix) == {"photo-7"}


def test_too_many_redirects_end_with_one_line(tmp_path: Path) -> None:
    client = _redirecting("https://bank.example/again")
    with pytest.raises(FetchError, match="more than 5 redirects"):
        bank_fetch.import_url(tmp_path / "index", "https://bank.example/b.jsonl", client=client)


def test_a_redirect_between_http_urls_is_followed(server: Server, tmp_path: Path) -> None:
    server.routes["/old.jsonl"] = Route(location="/new.jsonl")
    server.routes["/new.jsonl"] = Route(body(1, 2))
    ix = tmp_path / "index"
    done = cli("index", "import", server.url("/old.jsonl"), "--index", str(ix), HTTP)
    assert done.exit_code == 0, done.output
    assert names(ix) == {"photo-1", "photo-2"}


def test_an_unreachable_server_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ix = tmp_path / "index"
    done = cli("index", "import", f"http://127.0.0.1:{port}/b.jsonl", "--index", str(ix), HTTP)
    assert done.exit_code == 2
    assert done.output.count("\n") == 1
    assert f"127.0.0.1:{port}" in done.output and "cannot connect" in done.output
    assert not ix.exists()


def test_an_http_error_status_names_it(server: Server, tmp_path: Path) -> None:
    done = cli(
        "index", "import", server.url("/missing.jsonl"), "--index", str(tmp_path / "i"), HTTP
    )
    assert done.exit_code == 2 and "HTTP 404" in done.output


def test_a_bad_line_in_a_downloaded_bank_imports_nothing(server: Server, tmp_path: Path) -> None:
    server.routes["/b.jsonl"] = Route(body(1) + b'{"pdq": "xyz"}\n')
    ix = tmp_path / "index"
    done = cli("index", "import", server.url("/b.jsonl"), "--index", str(ix), HTTP)
    assert done.exit_code == 2 and "line 2" in done.output
    assert not ix.exists()
    skipped = cli("index", "import", server.url("/b.jsonl"), "--index", str(ix), HTTP, "--skip-bad")
    assert skipped.exit_code == 0 and "skipped 1 bad lines" in skipped.output


# -- update ------------------------------------------------------------------------------------


def test_update_unchanged_uses_a_conditional_request(server: Server, tmp_path: Path) -> None:
    server.routes["/e.jsonl"] = Route(body(1), etag='"e1"')
    server.routes["/m.jsonl"] = Route(body(2), last_modified="Sat, 05 Dec 2026 10:00:00 GMT")
    ix = tmp_path / "index"
    for path in ("/e.jsonl", "/m.jsonl"):
        assert cli("index", "import", server.url(path), "--index", str(ix), HTTP).exit_code == 0
    before = state(ix)
    server.seen.clear()
    done = cli("index", "update", "--index", str(ix), HTTP)
    assert done.exit_code == 0, done.output
    assert done.output.count(": unchanged") == 2
    assert state(ix) == before
    sent = dict(server.seen)
    assert sent["/e.jsonl"]["if-none-match"] == '"e1"'
    assert sent["/m.jsonl"]["if-modified-since"] == "Sat, 05 Dec 2026 10:00:00 GMT"


def test_update_replaces_the_entries_of_a_changed_bank(server: Server, tmp_path: Path) -> None:
    server.routes["/b.jsonl"] = Route(body(1, 2, 3), etag='"v1"')
    ix = tmp_path / "index"
    assert cli("index", "import", server.url("/b.jsonl"), "--index", str(ix), HTTP).exit_code == 0
    server.routes["/b.jsonl"] = Route(body(2, 3, 4, 5), etag='"v2"')
    done = cli("index", "update", "--index", str(ix), HTTP)
    assert done.exit_code == 0, done.output
    assert "updated (+2, -1), 4 entries" in done.output
    assert names(ix) == {"photo-2", "photo-3", "photo-4", "photo-5"}
    with open_index(ix) as index:
        [source] = index.bank_sources()
        assert source.etag == '"v2"' and source.entries == 4
    again = cli("index", "update", "--index", str(ix), HTTP)
    assert "unchanged" in again.output


def test_update_keeps_entries_that_others_hold(server: Server, tmp_path: Path) -> None:
    """An entry leaves with a bank only if a URL bank brought it and none holds it now:
    local photos, entries of a bank imported from a file before, and entries another URL
    bank holds all stay."""
    ix = tmp_path / "index"
    local_sha = "ab" * 32
    with open_index(ix, create=True) as index:  # a photo indexed on this machine
        hashes = ImageHashes(local_sha, 10, 10, bytes.fromhex(pdq(9)), 100, None)
        index.put_file("/photos/own.jpg", "own.jpg", 1, 1, hashes)
    file_bank = tmp_path / "friends.jsonl"
    file_bank.write_bytes(body(3))
    assert cli("index", "import", str(file_bank), "--index", str(ix)).exit_code == 0
    server.routes["/s.jsonl"] = Route(body(1, 2, 3, 9, sha={9: local_sha}), etag='"s1"')
    server.routes["/t.jsonl"] = Route(body(1), etag='"t1"')
    for path in ("/s.jsonl", "/t.jsonl"):
        assert cli("index", "import", server.url(path), "--index", str(ix), HTTP).exit_code == 0
    assert names(ix) == {"own.jpg", "photo-1", "photo-2", "photo-3"}
    server.routes["/s.jsonl"] = Route(body(4), etag='"s2"')
    done = cli("index", "update", "--index", str(ix), HTTP)
    assert done.exit_code == 0, done.output
    assert "s.jsonl: updated (+1, -1)" in done.output  # only photo-2 left
    assert "t.jsonl: unchanged" in done.output
    assert names(ix) == {"own.jpg", "photo-1", "photo-3", "photo-4"}
    server.routes["/t.jsonl"] = Route(body(5), etag='"t2"')  # the last holder of photo-1
    done = cli("index", "update", "--index", str(ix), HTTP)
    assert "t.jsonl: updated (+1, -1)" in done.output, done.output
    assert names(ix) == {"own.jpg", "photo-3", "photo-4", "photo-5"}


def test_a_release_corrects_the_entries_its_bank_alone_brought(
    server: Server, tmp_path: Path
) -> None:
    """An ordinary merge keeps stored values; an update gives the entries its bank alone
    brought the new body's fields, and leaves entries others gave or hold as they are."""

    def line(sha: str, name: str, credit: str) -> str:
        return json.dumps({"pdq": pdq(1), "sha256": sha, "name": name, "meta": {"credit": credit}})

    own, shared, earlier = "a" * 64, "b" * 64, "c" * 64
    ix = tmp_path / "index"
    file_bank = tmp_path / "earlier.jsonl"
    file_bank.write_text(line(earlier, "from-file", "file") + "\n")
    assert cli("index", "import", str(file_bank), "--index", str(ix)).exit_code == 0
    v1 = [line(own, "old-name", "A"), line(shared, "shared", "S"), line(earlier, "e", "X")]
    server.routes["/s.jsonl"] = Route("\n".join(v1).encode(), etag='"1"')
    server.routes["/t.jsonl"] = Route(line(shared, "shared", "T").encode(), etag='"1"')
    for path in ("/s.jsonl", "/t.jsonl"):
        assert cli("index", "import", server.url(path), "--index", str(ix), HTTP).exit_code == 0
    v2 = [line(own, "new-name", "B"), line(shared, "renamed", "S2"), line(earlier, "e2", "Y")]
    v2.append(line(own, "second-line", "C"))  # a repeat: the first line wins
    server.routes["/s.jsonl"] = Route("\n".join(v2).encode(), etag='"2"')
    done = cli("index", "update", "--index", str(ix), HTTP)
    assert "s.jsonl: updated (+0, -0), 3 entries, 1 changed" in done.output, done.output
    with open_index(ix) as index:
        got = {e.sha256: (e.name, e.meta) for e in index.entries()}
    assert got == {
        own: ("new-name", {"credit": "B"}),
        shared: ("shared", {"credit": "S"}),  # T holds it too
        earlier: ("from-file", {"credit": "file"}),  # there before
    }


def test_a_failed_update_leaves_that_bank_and_updates_the_others(
    server: Server, tmp_path: Path
) -> None:
    ix = tmp_path / "index"
    server.routes["/bad.jsonl"] = Route(body(1), etag='"a1"')
    server.routes["/good.jsonl"] = Route(body(2), etag='"g1"')
    for path in ("/bad.jsonl", "/good.jsonl"):
        assert cli("index", "import", server.url(path), "--index", str(ix), HTTP).exit_code == 0
    server.routes["/good.jsonl"] = Route(body(3), etag='"g2"')
    failures = {
        "bad line": Route(body(4) + b"not a hash\n", etag='"a2"'),
        "HTTP 500": Route(body(4), etag='"a3"', status=500),
        "over the size limit": Route(body(*range(100, 200)), etag='"a4"'),
    }
    for reason, route in failures.items():
        server.routes["/bad.jsonl"] = route
        done = cli("index", "update", "--index", str(ix), HTTP, "--max-size", "2KB")
        assert done.exit_code == 2, done.output
        [line] = [ln for ln in done.output.splitlines() if "bad.jsonl" in ln]
        assert "bad.jsonl: failed (" in line
        assert (reason if reason != "bad line" else "line 2") in line
        if reason == "over the size limit":  # the fact from the core, the option from the CLI
            assert line.endswith("(--max-size changes the limit)"), line
        no_leftovers(ix)
    assert names(ix) == {"photo-1", "photo-3"}  # the bad bank as it was, the good one updated
    with open_index(ix) as index:
        etags = {s.url.rsplit("/", 1)[1]: s.etag for s in index.bank_sources()}
    assert etags == {"bad.jsonl": '"a1"', "good.jsonl": '"g2"'}


@pytest.mark.parametrize("kind", ["plain", "csv"])
def test_update_replaces_plain_lists_and_csv_banks(
    server: Server, tmp_path: Path, kind: str
) -> None:
    def make(*numbers: int) -> bytes:
        if kind == "plain":
            return "".join(f"{pdq(n)} photo-{n}\n" for n in numbers).encode()
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["name", "pdq", "meta"])
        writer.writerows([f"photo-{n}", pdq(n), json.dumps({"n": n})] for n in numbers)
        return out.getvalue().encode()

    server.routes["/list"] = Route(make(1, 2), etag='"1"')
    ix = tmp_path / "index"
    first = cli("index", "import", server.url("/list"), "--index", str(ix), HTTP)
    assert first.exit_code == 0, first.output
    assert names(ix) == {"photo-1", "photo-2"}
    server.routes["/list"] = Route(make(2, 3, 4), etag='"2"')
    done = cli("index", "update", "--index", str(ix), HTTP)
    assert "updated (+2, -1), 3 entries" in done.output, done.output
    assert names(ix) == {"photo-2", "photo-3", "photo-4"}


def test_an_interrupted_download_leaves_no_file_and_no_index(
    server: Server, tmp_path: Path
) -> None:
    server.routes["/b.jsonl"] = Route(body(1, 2))
    ix = tmp_path / "index"

    def interrupt(done: int, total: int | None) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        bank_fetch.import_url(ix, server.url("/b.jsonl"), allow_http=True, on_progress=interrupt)
    assert not ix.exists()
    ix.mkdir()
    with pytest.raises(KeyboardInterrupt):
        bank_fetch.import_url(ix, server.url("/b.jsonl"), allow_http=True, on_progress=interrupt)
    assert list(ix.iterdir()) == []


def test_a_download_left_by_a_killed_run_is_swept_away(server: Server, tmp_path: Path) -> None:
    server.routes["/b.jsonl"] = Route(body(1))
    ix = tmp_path / "index"
    ix.mkdir()
    old = ix / f"{bank_fetch.PART_PREFIX}left.part"
    recent = ix / f"{bank_fetch.PART_PREFIX}under-way.part"
    old.write_bytes(b"x")
    recent.write_bytes(b"y")
    day_ago = old.stat().st_mtime - bank_fetch.STALE_PART_S - 1
    os.utime(old, (day_ago, day_ago))
    done = cli("index", "import", server.url("/b.jsonl"), "--index", str(ix), HTTP)
    assert done.exit_code == 0, done.output
    assert not old.exists() and recent.exists()


def test_update_without_url_banks_says_so(tmp_path: Path) -> None:
    bank_file = tmp_path / "b.jsonl"
    bank_file.write_bytes(body(1))
    ix = tmp_path / "index"
    assert cli("index", "import", str(bank_file), "--index", str(ix)).exit_code == 0
    done = cli("index", "update", "--index", str(ix))
    assert done.exit_code == 0 and "no banks imported from URLs" in done.output
    missing = cli("index", "update", "--index", str(tmp_path / "none"))
    assert missing.exit_code == 2 and "no index at" in missing.output


def test_update_refuses_a_plain_http_bank_without_allow_http(
    server: Server, tmp_path: Path
) -> None:
    server.routes["/b.jsonl"] = Route(body(1), etag='"v1"')
    ix = tmp_path / "index"
    assert cli("index", "import", server.url("/b.jsonl"), "--index", str(ix), HTTP).exit_code == 0
    server.seen.clear()
    done = cli("index", "update", "--index", str(ix))
    assert done.exit_code == 2 and "failed (refusing plain http" in done.output
    assert server.seen == []


def test_a_killed_update_changes_nothing(server: Server, tmp_path: Path) -> None:
    """SIGKILL ``revimg index update`` inside its transaction, once every entry is replaced
    (at the point it reports): the index is as before; the same update then lands."""
    server.routes["/b.jsonl"] = Route(body(1, 2, 3), etag='"v1"')
    ix = tmp_path / "index"
    assert cli("index", "import", server.url("/b.jsonl"), "--index", str(ix), HTTP).exit_code == 0
    server.routes["/b.jsonl"] = Route(body(3, 4), etag='"v2"')
    before = state(ix)
    args = ["index", "update", "--index", str(ix), HTTP]
    proc = subprocess.Popen(  # noqa: S603
        [*REVIMG, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**cli_env(), "REVIMG_HOLD_AT": "bank-replace:1"},
        start_new_session=True,
    )
    assert proc.stderr is not None
    said = []
    for raw in proc.stderr:  # blocks until the child writes a line or ends
        said.append(raw.decode("utf-8", "replace").rstrip("\n"))
        if said[-1] == "revimg: holding at bank-replace:1":
            break
    else:
        proc.wait()
        pytest.fail(f"revimg ended (exit {proc.returncode}) before holding: {said}")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    assert state(ix) == before
    with sqlite3.connect(ix / DB_NAME) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    ran = run_cli(args, timeout=120)
    assert ran.code == 0, ran.err
    assert "updated (+1, -2)" in ran.err
    assert names(ix) == {"photo-3", "photo-4"}


# -- core pieces -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("500000", 500_000), ("1KB", 1024), ("2G", 2 * 1024**3), ("1.5MB", 1_572_864)],
)
def test_parse_size(text: str, expected: int) -> None:
    assert bank_fetch.parse_size(text) == expected


def test_shown_urls_leave_credentials_out() -> None:
    assert bank_fetch.shown("https://me:secret@bank.example:8443/b.jsonl") == (
        "https://bank.example:8443/b.jsonl"
    )
    assert bank_fetch.default_origin("https://bank.example/x/known%20photos.txt") == (
        "known photos.txt"
    )
