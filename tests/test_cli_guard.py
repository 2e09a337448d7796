"""The edge of the command line: nothing escapes as a traceback, a closed pipe ends quietly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from revimg import cli
from tests.conftest import SUSPECTS


def _main(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["revimg", *args])
    with pytest.raises(SystemExit) as ended:
        cli.main()
    return ended.value.code  # type: ignore[return-value]


@pytest.mark.parametrize("error", [RuntimeError("boom"), RecursionError(), KeyError("k")])
def test_an_unexpected_error_is_one_line_and_exit_2_never_1(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    built_index: Path,
    error: Exception,
) -> None:
    def broken(*args: object, **kwargs: object) -> object:
        raise error

    monkeypatch.setattr("revimg.matching.checker.check_sources", broken)
    monkeypatch.setattr(cli, "check_sources", broken, raising=False)
    code = _main(monkeypatch, "check", str(SUSPECTS / "mirrored.jpg"), "--index", str(built_index))
    err = capsys.readouterr().err
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: unexpected "), err
    assert "Traceback" not in err


def test_debug_shows_the_traceback(monkeypatch: pytest.MonkeyPatch, built_index: Path) -> None:
    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("boom")

    monkeypatch.setattr("revimg.matching.checker.check_sources", broken)
    monkeypatch.setenv("REVIMG_DEBUG", "1")
    monkeypatch.setattr(
        sys,
        "argv",
        ["revimg", "check", str(SUSPECTS / "mirrored.jpg"), "--index", str(built_index)],
    )
    with pytest.raises(RuntimeError, match="boom"):
        cli.main()


def test_exit_codes_still_answer_the_question(
    monkeypatch: pytest.MonkeyPatch, built_index: Path
) -> None:
    ix = ["--index", str(built_index)]
    assert _main(monkeypatch, "check", str(SUSPECTS / "mirrored.jpg"), *ix) == 1
    assert _main(monkeypatch, "check", str(SUSPECTS / "unrelated.jpg"), *ix) == 0
    assert _main(monkeypatch, "check", str(SUSPECTS / "missing.jpg"), *ix) == 2
    assert _main(monkeypatch, "check", "--no-such-option") == 2
    assert _main(monkeypatch, "--version") == 0


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "table"])
def test_a_closed_pipe_ends_quietly_with_141(built_index: Path, fmt: str) -> None:
    """As ``revimg check ... | head`` does once head has read enough: the reader is gone
    before revimg writes (so the test does not depend on how fast either side is)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(  # noqa: S603
            [
                sys.executable,
                "-m",
                "revimg",
                "check",
                str(SUSPECTS / "mirrored.jpg"),
                "--index",
                str(built_index),
                "--format",
                fmt,
            ],
            stdout=write_end,
            stderr=subprocess.PIPE,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)
    assert done.returncode == cli.EXIT_BROKEN_PIPE, done.stderr
    assert done.stderr.decode() == ""
