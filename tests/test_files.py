"""Output files: a regular file is replaced atomically; a device or a read FIFO is written in
place, never replaced; anything else is refused without waiting."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from revimg.cli import app
from revimg.files import OutputError, output_text
from tests.conftest import SUSPECTS


def test_a_regular_file_is_replaced_whole_and_private_when_asked(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    with output_text(target, private=True) as out:
        out.write("new\n")
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    with pytest.raises(RuntimeError), output_text(target) as out:
        out.write("half")
        raise RuntimeError("stopped")
    assert target.read_text() == "new\n"  # as it was
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]  # no temporary left


def test_a_device_is_written_in_place_never_replaced() -> None:
    with output_text(os.devnull) as out:
        out.write("x" * 1000)
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_a_fifo_with_a_reader_gets_the_text_and_stays_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # the reader is there first
    try:
        with output_text(fifo) as out:
            out.write("through the pipe\n")  # fits in the pipe's buffer
        assert os.read(reader, 1000) == b"through the pipe\n"
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(fifo.stat().st_mode)


@pytest.mark.parametrize("kind", ["fifo", "folder", "missing-folder"])
def test_other_targets_are_refused_at_once(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "x"
    if kind == "fifo":
        os.mkfifo(target)  # nobody reads it: refused, not waited for
    elif kind == "folder":
        target.mkdir()
    else:
        target = tmp_path / "no" / "x"
    with pytest.raises(OutputError, match=str(target)), output_text(target) as out:
        out.write("x")


def test_cli_report_and_export_onto_devices_and_fifos(tmp_path: Path, built_index: Path) -> None:
    runner = CliRunner()
    ix = ["--index", str(built_index)]
    done = runner.invoke(
        app, ["check", str(SUSPECTS / "mirrored.jpg"), *ix, "--report", os.devnull]
    )
    assert done.exit_code == 1, done.output
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    refused = runner.invoke(app, ["index", "export", *ix, "-o", str(fifo)])
    assert refused.exit_code == 2
    assert "nothing reads" in refused.output and stat.S_ISFIFO(fifo.stat().st_mode)


def test_replacing_renames_over_the_target_and_leaves_nothing_behind(tmp_path: Path) -> None:
    from revimg.files import TMP_SUFFIX, replacing, write_sections

    target = tmp_path / "search.bin"
    target.write_bytes(b"old")
    with replacing(target) as tmp:
        assert tmp.parent == target.parent and tmp.name.endswith(TMP_SUFFIX)
        tmp.write_bytes(b"new")
        assert target.read_bytes() == b"old"  # replaced only when the block ends
    assert target.read_bytes() == b"new"
    with pytest.raises(ValueError), replacing(target) as tmp:
        tmp.write_bytes(b"half")
        raise ValueError("killed half way")
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["search.bin"]
    import numpy as np

    write_sections(target, b"HEAD", [(8, b"ab"), (16, np.arange(3, dtype="<u2"))], 32)
    data = target.read_bytes()
    assert len(data) == 32 and data[:4] == b"HEAD" and data[8:10] == b"ab"
    assert data[16:22] == np.arange(3, dtype="<u2").tobytes()
