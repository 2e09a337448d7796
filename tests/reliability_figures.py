"""Helpers shared by the reliability tests: run the real CLI with bounds, record figures.

``run_cli`` starts ``python -m revimg`` as a child process with a wall-clock bound and
reports its exit code, output, duration and peak memory (from ``wait4``), so that a test
can say "no hang, no unbounded memory" with numbers.

When ``REVIMG_FIGURES`` names a file (``benchmarks/reliability.py`` sets it), the tests
append their figures to it as JSON lines; otherwise ``record`` does nothing. The variable
is read at import time, before the autouse fixture of ``conftest.py`` clears ``REVIMG_*``.
"""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import IO, Any

FIGURES_FILE = os.environ.get("REVIMG_FIGURES")
#: Bigger runs by hand: set these before running pytest (read at import time).
FUZZ_EXAMPLES = int(os.environ.get("REVIMG_FUZZ_EXAMPLES", "0") or 0)
KILL_TRIALS = int(os.environ.get("REVIMG_KILL_TRIALS", "0") or 0)
KILL_PHOTOS = int(os.environ.get("REVIMG_KILL_PHOTOS", "0") or 0)

#: Run every hostile input through its own CLI process (by hand; CI runs a sample).
HOSTILE_ALL = os.environ.get("REVIMG_HOSTILE_ALL", "") not in ("", "0")

REPO = Path(__file__).resolve().parent.parent
#: ``python -m revimg``, plus a note of the process's own peak memory at exit. A child's
#: ``ru_maxrss`` starts from its parent's (Linux keeps it across fork and exec), so the
#: pytest process's size would hide the child's; VmHWM belongs to the child alone.
_PEAK_NOTE = """
import atexit, os, runpy, sys
def _note():
    try:
        with open("/proc/self/status") as fh:
            kb = [line.split()[1] for line in fh if line.startswith("VmHWM:")]
        with open(os.environ["REVIMG_TEST_PEAK_FILE"], "w") as fh:
            fh.write(kb[0] if kb else "")
    except (OSError, KeyError, IndexError):
        pass
atexit.register(_note)
sys.argv = ["revimg", *sys.argv[1:]]
runpy.run_module("revimg", run_name="__main__", alter_sys=True)
"""
REVIMG = [sys.executable, "-c", _PEAK_NOTE]


def record(name: str, **figures: Any) -> None:
    """Append one figure set to ``$REVIMG_FIGURES`` (when set)."""
    if FIGURES_FILE:
        with open(FIGURES_FILE, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"name": name, **figures}, sort_keys=True) + "\n")


@dataclass(frozen=True)
class Ran:
    """A finished (or killed) CLI run."""

    args: tuple[str, ...]
    code: int
    stdout: bytes
    stderr: bytes
    seconds: float
    max_rss_mb: float
    timed_out: bool

    @property
    def err(self) -> str:
        return self.stderr.decode("utf-8", "backslashreplace")

    @property
    def out(self) -> str:
        """stdout as Python would read it back (file names that are not UTF-8 survive)."""
        return self.stdout.decode("utf-8", "surrogateescape")

    def err_lines(self) -> list[str]:
        return [line for line in self.err.split("\n") if line.strip()]


def cli_env(**extra: str) -> dict[str, str]:
    """The environment for a child revimg: this one (already isolated by conftest)."""
    env = dict(os.environ)
    env.setdefault("LC_ALL", "C.UTF-8")
    env["PYTHONPATH"] = str(REPO)
    env.update(extra)
    return env


def run_cli(
    args: Sequence[str],
    *,
    timeout: float,
    stdin: bytes | IO[bytes] | None = None,
    env: dict[str, str] | None = None,
    preexec_fn: Callable[[], None] | None = None,
    cwd: Path | None = None,
) -> Ran:
    """Run ``python -m revimg ARGS``; kill it after ``timeout`` seconds (``timed_out``).

    ``stdin`` is bytes to feed, or an open file (a pipe) to hand over. Output goes to
    temporary files (no pipe can fill up), and the child is reaped with ``wait4`` so that
    its own peak resident memory is known.
    """
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile() as peak,
    ):
        stdin_file: IO[bytes] | None = None
        if isinstance(stdin, bytes):
            stdin_file = tempfile.TemporaryFile()
            stdin_file.write(stdin)
            stdin_file.seek(0)
        started = time.perf_counter()
        proc = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
            [*REVIMG, *args],
            stdin=stdin_file or stdin or subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env={**(env or cli_env()), "REVIMG_TEST_PEAK_FILE": peak.name},
            preexec_fn=preexec_fn,  # noqa: PLW1509 - only to limit the child
            cwd=cwd,
            start_new_session=True,
        )
        timed_out = False
        try:
            status, rusage = _wait4(proc.pid, started + timeout)
            if status is None:
                timed_out = True
                os.killpg(proc.pid, 9)
                status, rusage = _wait4(proc.pid, None)
        finally:
            if stdin_file is not None:
                stdin_file.close()
        assert status is not None and rusage is not None
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        seconds = time.perf_counter() - started
        if timed_out:
            _kill_group(proc.pid)  # the workers of the build just killed
        out.seek(0)
        err.seek(0)
        noted = Path(peak.name).read_text().strip()
        peak_kb = int(noted) if noted.isdigit() else rusage.ru_maxrss
        return Ran(
            tuple(args), proc.returncode, out.read(), err.read(), seconds, peak_kb / 1024, timed_out
        )


def _wait4(pid: int, deadline: float | None) -> tuple[int | None, Any]:
    """``(status, rusage)`` once ``pid`` exits, or ``(None, None)`` at the deadline."""
    delay = 0.002
    while True:
        flags = 0 if deadline is None else os.WNOHANG
        done, status, rusage = os.wait4(pid, flags)
        if done:
            return status, rusage
        if deadline is not None and time.perf_counter() >= deadline:
            return None, None
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, 9)
    except (ProcessLookupError, PermissionError):
        pass


_CAP_DAC_OVERRIDE = 1
_CAP_DAC_READ_SEARCH = 2
_PR_CAPBSET_DROP = 24


@cache
def file_modes_apply() -> str | None:
    """None when file modes bind this process's children, else why they cannot be made to.

    Root ignores file modes; a child of root is made to obey them by dropping the two
    capabilities that bypass them (``drop_file_mode_override`` as ``preexec_fn``).
    """
    if os.geteuid() != 0:
        return None
    if not sys.platform.startswith("linux"):
        return "running as root, and file modes cannot be enforced on this system"
    with tempfile.NamedTemporaryFile() as locked:
        os.chmod(locked.name, 0)
        try:
            probe = subprocess.run(  # noqa: S603
                [sys.executable, "-c", f"open({locked.name!r}, 'rb')"],
                preexec_fn=drop_file_mode_override,  # noqa: PLW1509
                capture_output=True,
                check=False,
            )
        except subprocess.SubprocessError as exc:
            return f"running as root, and CAP_DAC_OVERRIDE cannot be dropped ({exc})"
    if b"PermissionError" in probe.stderr:
        return None
    return "running as root, and file modes do not bind a child that dropped CAP_DAC_OVERRIDE"


def drop_file_mode_override() -> None:
    """``preexec_fn``: the child (even root) then obeys file modes (Linux)."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")
