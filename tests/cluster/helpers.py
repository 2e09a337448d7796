"""Helpers of the cluster tests: child processes, index contents, dask processes."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

#: This checkout (not ``tests.conftest``'s: another checkout's tests package may shadow it).
REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
STOCK = EXAMPLES / "stock"
SUSPECTS = EXAMPLES / "suspects"
META = EXAMPLES / "stock-meta.csv"
#: Bound on each CLI run and on waiting for a cluster to come up.
RUN_S = 120.0
#: Index columns that legitimately differ between two builds of the same photos: times.
TIMES = {"images": ("added", "updated")}
#: meta keys drawn anew by every index (ids, tokens, times); the rest must be equal.
META_DRAWN = {"created", "updated", "index_id", "write_token"}
#: Keys of the stored counts that are tokens drawn at each write.
COUNT_TOKENS = {"features_appends", "features_base", "token"}


def cli_env(**extra: str) -> dict[str, str]:
    """The environment for a child process (revimg, dask worker): this checkout first."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def revimg(
    *args: str | Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m revimg ARGS`` to the end (bounded)."""
    return subprocess.run(
        [sys.executable, "-m", "revimg", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=RUN_S,
        env=env or cli_env(),
    )


def suspects() -> list[str]:
    """Every file in examples/suspects (a README among the photos: an error result too)."""
    return sorted(str(p) for p in SUSPECTS.iterdir())


def index_contents(location: Path) -> dict[str, Any]:
    """Every table's rows in id order, without the columns and keys in TIMES, META_DRAWN."""
    conn = sqlite3.connect(f"{(location / 'index.sqlite').as_uri()}?mode=ro", uri=True)
    try:
        out: dict[str, Any] = {}
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in sorted(tables):
            columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
            kept = [c for c in columns if c not in TIMES.get(table, ())]
            rows = conn.execute(f"SELECT {', '.join(kept)} FROM {table} ORDER BY 1, 2").fetchall()
            out[table] = rows
        meta = {k: v for k, v in out.pop("meta") if k not in META_DRAWN}
        counts = json.loads(meta.pop("counts"))
        meta["counts"] = {k: v for k, v in counts.items() if k not in COUNT_TOKENS}
        out["meta"] = meta
        return out
    finally:
        conn.close()


@dataclass
class Proc:
    """A process started by a test, its stderr lines as they come (read by a thread)."""

    popen: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    seen: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        threading.Thread(target=self._read, args=(self.popen.stderr,), daemon=True).start()

    def _read(self, stream: IO[str] | None) -> None:
        assert stream is not None
        for line in stream:
            with self.seen:
                self.lines.append(line)
                self.seen.notify_all()
        stream.close()
        with self.seen:
            self.lines.append("")  # the end of the stream
            self.seen.notify_all()

    def wait_for_line(self, text: str, timeout: float = RUN_S) -> str:
        """The first stderr line containing ``text``; fails if the stream ends first."""
        with self.seen:
            found = self.seen.wait_for(
                lambda: any(text in line or line == "" for line in self.lines), timeout
            )
            assert found, f"no line with {text!r} in {timeout} s: {''.join(self.lines)}"
            line = next(line for line in self.lines if text in line or line == "")
            assert line, f"the process ended before saying {text!r}: {''.join(self.lines)}"
            return line

    def kill(self) -> None:
        """Kill the process (if still running), reap it and wait for its stderr's end."""
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait(timeout=RUN_S)
        with self.seen:
            self.seen.wait_for(lambda: "" in self.lines, RUN_S)


def start(
    args: list[str], env: dict[str, str] | None = None, stdout: IO[str] | None = None
) -> Proc:
    """Start ``python -m ARGS`` (stdout to ``stdout`` or discarded, stderr read line by line)."""
    popen = subprocess.Popen(
        [sys.executable, "-m", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL if stdout is None else stdout,
        stderr=subprocess.PIPE,
        text=True,
        env=env or cli_env(),
    )
    return Proc(popen)


@dataclass
class DaskProcesses:
    """A ``dask scheduler`` and its ``dask worker`` processes, all on 127.0.0.1."""

    address: str
    scheduler_file: Path
    procs: list[Proc]

    def add_worker(self, *options: str, env: dict[str, str] | None = None) -> Proc:
        worker = start(
            [
                "dask",
                "worker",
                "--scheduler-file",
                str(self.scheduler_file),
                "--host",
                "127.0.0.1",
                "--nthreads",
                "1",
                "--no-dashboard",
                *options,
            ],
            env,
        )
        self.procs.append(worker)
        return worker

    def wait_for_workers(self, count: int) -> None:
        """Until ``count`` workers are registered with the scheduler (as it reports)."""
        from distributed import Client

        with Client(self.address, timeout=RUN_S) as client:
            client.wait_for_workers(count, timeout=RUN_S)
            # workers that died are gone from the count; exactly ``count`` now
            assert len(client.scheduler_info(n_workers=-1)["workers"]) == count


def start_scheduler(folder: Path) -> DaskProcesses:
    """A ``dask scheduler`` on 127.0.0.1 (no workers yet), once it says where it listens."""
    scheduler_file = folder / "scheduler.json"
    scheduler = start(
        [
            "dask",
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(scheduler_file),
        ]
    )
    cluster = DaskProcesses("", scheduler_file, [scheduler])
    try:
        line = scheduler.wait_for_line("Scheduler at:")
    except BaseException:
        scheduler.kill()
        raise
    cluster.address = line.split("Scheduler at:", 1)[1].strip()
    return cluster
