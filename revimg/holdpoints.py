"""Named points where a process can be told to stop and wait, so crash tests kill it there.

A test that kills ``revimg`` must kill it at a known moment, not after a guessed delay
(a faster machine finishes first, a slower one has not started). With
``REVIMG_HOLD_AT=NAME:N`` in the environment, the N-th time the process reaches the point
``NAME`` it writes ``revimg: holding at NAME:N`` on stderr and waits there until it is
killed; the test reads that line and sends the signal. Without the variable (every normal
run) a point costs one dictionary look-up.

Points: ``bank-batch`` (a bank import has merged one more batch, inside its transaction),
``bank-commit`` (every batch merged, just before the commit), ``bank-replace`` (a bank
downloaded from a URL has replaced its entries, inside the transaction, just before the
commit), ``cluster-hash`` and ``cluster-check`` (a Dask worker starts a chunk of a build or
a check: ``revimg.cluster``; set the variable in that worker's environment).
"""

from __future__ import annotations

import os
import sys
import time

ENV = "REVIMG_HOLD_AT"

_seen: dict[str, int] = {}


def reached(name: str) -> None:
    """Count one pass through point ``name``; hold here if the environment asks for it."""
    wanted = os.environ.get(ENV)
    if not wanted:
        return
    _seen[name] = count = _seen.get(name, 0) + 1
    if wanted != f"{name}:{count}":
        return
    sys.stderr.write(f"revimg: holding at {name}:{count}\n")
    sys.stderr.flush()
    while True:  # until killed
        time.sleep(3600)
