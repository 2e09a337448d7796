"""``revimg.holdpoints``: a process told to hold at a point says so there and waits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from revimg import holdpoints

PROGRAM = (
    "import sys; from revimg import holdpoints\n"
    "for i in range(3):\n"
    "    print(i, flush=True); holdpoints.reached('step')\n"
)


def test_without_the_variable_a_point_does_nothing(monkeypatch) -> None:
    monkeypatch.delenv(holdpoints.ENV, raising=False)
    for _ in range(3):
        holdpoints.reached("step")


def test_holds_at_the_named_pass_and_says_so() -> None:
    env = {**os.environ, holdpoints.ENV: "step:2"}
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-c", PROGRAM],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stderr is not None and proc.stdout is not None
    assert proc.stderr.readline() == b"revimg: holding at step:2\n"
    assert proc.poll() is None  # waiting to be killed
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.stdout.read() == b"0\n1\n"  # it held in the second pass, before the third
    proc.stdout.close()
    proc.stderr.close()
