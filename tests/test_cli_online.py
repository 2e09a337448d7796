"""`revimg check --online` end to end: the real CLI against a fake TinEye on 127.0.0.1.

The server speaks the documented TinEye shapes (tests/data/providers/tineye/); the CLI finds
it through REVIMG_TINEYE_URL, as a proxy or a test would. These runs prove what leaves the
machine (and when nothing does), retries, the deadline, the cache, and that the API key is
never printed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import STOCK, SUSPECTS
from tests.online.helpers import FakeTinEye, serving

KEY = "tineye-test-key-5f1c9a0e7b"
UNRELATED = SUSPECTS / "unrelated.jpg"


@pytest.fixture
def tineye() -> Iterator[FakeTinEye]:
    with serving(FakeTinEye()) as server:
        yield server


def _env(server: FakeTinEye | None, home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["REVIMG_HOME"] = str(home)
    if server is not None:
        host, port = server.server_address[:2]
        env["REVIMG_TINEYE_URL"] = f"http://{host}:{port}"
        env["REVIMG_TINEYE_KEY"] = KEY
    env.update(extra)
    return env


def _run(args: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "revimg", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def _check_online(
    photos: list[Path], index: Path, env: dict[str, str], *extra: str
) -> subprocess.CompletedProcess:
    """``revimg check PHOTOS --index INDEX --online tineye EXTRA...``."""
    return _run(
        ["check", *map(str, photos), "--index", str(index), "--online", "tineye", *extra], env
    )


def _config(home: Path, text: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(text, encoding="utf-8")


def test_without_online_nothing_is_sent_even_with_a_key(
    tineye: FakeTinEye, built_index: Path, isolated_env: Path
) -> None:
    done = _run(
        ["check", str(UNRELATED), "--index", str(built_index), "-f", "json"],
        _env(tineye, isolated_env),
    )
    assert done.returncode == 0, done.stderr
    assert tineye.seen == []
    (result,) = json.loads(done.stdout)
    assert result["online"] == [] and result["verdict"] == "no_match"


def test_online_finds_web_copies_and_says_what_was_sent(
    tineye: FakeTinEye, built_index: Path, isolated_env: Path
) -> None:
    env = _env(tineye, isolated_env)
    done = _check_online([UNRELATED], built_index, env, "-f", "json")
    assert done.returncode == 1, done.stderr  # web copies on a stock site: evidence
    (result,) = json.loads(done.stdout)
    (web,) = result["online"]
    assert web["provider"] == "tineye" and web["sent"] == "bytes" and web["error"] is None
    assert web["host"].startswith("127.0.0.1")
    assert {m["domain"] for m in web["matches"]} == {"stock.example.com", "blog.example.org"}
    assert result["evidence"] == ["web"] and result["web"]["stock_sites"] == ["stock.example.com"]
    (request,) = tineye.seen
    assert request["method"] == "POST" and request["key"] == KEY
    assert b"\xff\xd8\xff" in request["body"]  # a JPEG went out, as asked

    # The table view says what left the machine and where; the second run is cached.
    again = _check_online([UNRELATED], built_index, env, "-f", "table")
    assert again.returncode == 1
    assert "FOUND ON THE WEB" in again.stdout
    assert "answered from the cache" in again.stdout
    assert len(tineye.seen) == 1
    fresh = _check_online([UNRELATED], built_index, env, "--no-cache", "-f", "table")
    assert "sent: the photo to 127.0.0.1" in fresh.stdout
    assert len(tineye.seen) == 2


def test_image_url_sends_only_the_address(
    tineye: FakeTinEye, built_index: Path, isolated_env: Path
) -> None:
    url = "https://example.com/profile/jane.jpg"
    done = _check_online(
        [UNRELATED], built_index, _env(tineye, isolated_env), "--image-url", url, "-f", "json"
    )
    assert done.returncode == 1, done.stderr
    (request,) = tineye.seen
    assert request["method"] == "GET" and request["body"] == b""
    assert "image_url=https%3A%2F%2Fexample.com%2Fprofile%2Fjane.jpg" in str(request["path"])
    (result,) = json.loads(done.stdout)
    assert result["online"][0]["sent"] == "url"


def test_retries_a_slow_answer_and_a_503_then_succeeds(
    tineye: FakeTinEye, built_index: Path, isolated_env: Path
) -> None:
    _config(isolated_env, "[online]\ntimeout = 1\ndeadline = 20\ntries = 3\n")
    tineye.script = [("slow", 3.0), ("status", 503), ("ok",)]
    done = _check_online(
        [UNRELATED], built_index, _env(tineye, isolated_env), "--no-cache", "-f", "json"
    )
    (result,) = json.loads(done.stdout)
    assert result["online"][0]["error"] is None, result["online"][0]
    assert len(result["online"][0]["matches"]) == 2
    assert len(tineye.seen) == 3
    assert done.returncode == 1


def test_deadline_cuts_a_hanging_provider_and_keeps_the_local_result(
    tineye: FakeTinEye, built_index: Path, isolated_env: Path
) -> None:
    _config(isolated_env, "[online]\ntimeout = 30\ndeadline = 1.5\n")
    tineye.script = [("slow", 30.0)]
    started = time.monotonic()
    mirrored = SUSPECTS / "mirrored.jpg"
    done = _check_online(
        [mirrored], built_index, _env(tineye, isolated_env), "--no-cache", "-f", "json"
    )
    assert time.monotonic() - started < 15
    (result,) = json.loads(done.stdout)
    assert "tineye" in result["online"][0]["error"]
    assert result["matches"], "the local match is still reported"
    assert done.returncode == 1  # the local match decides; the provider failure is shown


def test_nothing_checked_at_all_is_exit_2(tineye: FakeTinEye, isolated_env: Path) -> None:
    tineye.script = [("status", 401)]
    done = _check_online(
        [UNRELATED], isolated_env / "none", _env(tineye, isolated_env), "--no-cache", "-f", "json"
    )
    assert done.returncode == 2
    (result,) = json.loads(done.stdout)
    assert result["verdict"] == "incomplete"
    assert [(n["part"], n["kind"]) for n in result["not_run"]] == [
        ("index", "missing"),
        ("online:tineye", "auth"),
    ]


def test_the_key_never_appears_after_auth_failures(
    tineye: FakeTinEye, built_index: Path, isolated_env: Path
) -> None:
    tineye.script = [("status", 401)]
    env = _env(tineye, isolated_env)
    outputs = []
    for fmt in ("json", "table", "csv"):
        done = _check_online(
            [UNRELATED, STOCK / "kphotoalbum__jesper.jpg"],
            built_index,
            env,
            "--no-cache",
            "-f",
            fmt,
        )
        outputs += [done.stdout, done.stderr]
        assert "Traceback" not in done.stderr
    report = isolated_env / "report.html"
    done = _check_online([UNRELATED], built_index, env, "--no-cache", "--report", str(report))
    outputs += [done.stdout, done.stderr, report.read_text(encoding="utf-8")]
    outputs += [_run(["providers", "-f", "json"], env).stdout, _run(["providers"], env).stdout]
    assert any("refused" in text or "401" in text for text in outputs)
    for text in outputs:
        assert KEY not in text
    for path in isolated_env.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path


def test_providers_lists_what_each_needs_and_sends(isolated_env: Path) -> None:
    done = _run(["providers", "-f", "jsonl"], _env(None, isolated_env))
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    names = {r["name"]: r for r in rows}
    assert {"tineye", "vision", "serpapi-lens"} <= set(names)
    assert names["tineye"]["configured"] is False
    assert "REVIMG_TINEYE_KEY" in names["tineye"]["key_names"]
    configured = _run(
        ["providers", "-f", "jsonl"], _env(None, isolated_env, REVIMG_VISION_KEY="k" * 20)
    )
    assert any(json.loads(x)["configured"] for x in configured.stdout.splitlines())


def test_links_prints_browser_search_pages() -> None:
    done = _run(["links", "https://example.com/p.jpg", "-f", "jsonl"], dict(os.environ))
    engines = {json.loads(x)["engine"]: json.loads(x)["url"] for x in done.stdout.splitlines()}
    assert engines["tineye"].startswith("https://www.tineye.com/search/")
    assert "https%3A%2F%2Fexample.com%2Fp.jpg" in engines["google-lens"]
    bad = _run(["links", "file:///etc/passwd"], dict(os.environ))
    assert bad.returncode == 2 and bad.stderr.startswith("Error: ")


def test_a_failed_provider_is_never_a_no_match_in_any_format(
    tineye: FakeTinEye, built_index: Path, isolated_env: Path
) -> None:
    tineye.script = [("status", 401)]
    env = _env(tineye, isolated_env)
    done = _check_online([UNRELATED], built_index, env, "--no-cache", "-f", "json")
    assert done.returncode == 2
    (result,) = json.loads(done.stdout)
    assert result["verdict"] == "incomplete"
    assert result["not_run"] == [
        {
            "part": "online:tineye",
            "kind": "auth",
            "reason": result["online"][0]["error"],
        }
    ]
    for extra in ((), ("--quiet",)):
        table = _check_online([UNRELATED], built_index, env, "--no-cache", "-f", "table", *extra)
        assert table.returncode == 2
        assert "NOT FULLY CHECKED" in table.stdout and "no match" not in table.stdout.lower()
        assert "not run: tineye: the API key was refused" in table.stdout
    rows = _check_online([UNRELATED], built_index, env, "--no-cache", "-f", "csv")
    assert rows.returncode == 2
    header, row = rows.stdout.splitlines()[:2]
    cells = dict(zip(header.split(","), row.split(","), strict=False))
    assert cells["verdict"] == "incomplete" and cells["not_run"] == "online:tineye: auth"


def test_a_match_stays_a_match_when_a_provider_fails(
    tineye: FakeTinEye, built_index: Path, isolated_env: Path
) -> None:
    tineye.script = [("status", 401)]
    mirrored = SUSPECTS / "mirrored.jpg"
    env = _env(tineye, isolated_env)
    done = _check_online([mirrored], built_index, env, "--no-cache", "-f", "json")
    assert done.returncode == 1
    (result,) = json.loads(done.stdout)
    assert result["verdict"] == "match" and result["not_run"][0]["part"] == "online:tineye"
    # a batch says how many photos were fully checked
    both = _check_online([mirrored, UNRELATED], built_index, env, "--no-cache", "-f", "jsonl")
    assert both.returncode == 2
    assert (
        "2 photos: 1 likely match, 1 not fully checked; fully checked: 0 of 2"
        in both.stderr.splitlines()
    )


def test_no_key_sends_nothing_and_says_so(built_index: Path, isolated_env: Path) -> None:
    env = _env(None, isolated_env)
    done = _check_online([UNRELATED], built_index, env, "-f", "table")
    assert done.returncode == 2
    assert "sent: nothing to tineye (not searched: no API key)" in done.stdout
    assert "NOT FULLY CHECKED: the web search on tineye (no API key) did not run" in done.stdout


def test_a_refused_connection_is_not_reported_as_sent(
    built_index: Path, isolated_env: Path
) -> None:
    import socket

    with socket.socket() as probe:  # a port on this machine that nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    _config(isolated_env, "[online]\ntries = 1\n")
    env = _env(None, isolated_env, REVIMG_TINEYE_URL=f"http://127.0.0.1:{port}")
    env["REVIMG_TINEYE_KEY"] = KEY
    done = _check_online([UNRELATED], built_index, env, "--no-cache", "-f", "json")
    assert done.returncode == 2
    (result,) = json.loads(done.stdout)
    (web,) = result["online"]
    assert web["sent"] == "nothing" and result["not_run"][0]["kind"] == "connect"
    table = _check_online([UNRELATED], built_index, env, "--no-cache", "-f", "table")
    assert "sent: nothing to tineye (not searched: could not connect)" in table.stdout
    assert "sent: the photo" not in table.stdout
