"""Build and batch-check on a Dask cluster give exactly what one machine gives.

On a LocalCluster of 2 worker processes and on real ``dask scheduler`` / ``dask worker``
processes: the index holds the same rows as a plain build (every table, features blobs
included; only each row's times, and the ids and tokens each index draws, differ), a
rerun redoes nothing, and ``check --format json`` prints the same bytes. A worker killed
(SIGKILL) while it hashes fails nothing, and loses or doubles no entry.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

from .helpers import (
    META,
    RUN_S,
    STOCK,
    DaskProcesses,
    cli_env,
    index_contents,
    revimg,
    start,
    start_scheduler,
    suspects,
)

Plain = tuple[Path, dict[str, Any], str]
PHOTOS = len(list(STOCK.glob("*.jpg")))
FIRST = f"added {PHOTOS}, updated 0, skipped 0, failed 0 in "
AGAIN = f"added 0, updated 0, skipped {PHOTOS}, failed 0 in "


def build_args(location: Path, *options: str) -> list[str | Path]:
    return ["index", "build", STOCK, "--meta", META, "--index", location, *options]


def same_as_plain(
    plain: Plain,
    location: Path,
    options: list[str],
    env: dict[str, str] | None = None,
    *,
    rerun: bool = True,
    check: bool = True,
) -> None:
    """Build and check with ``options`` (the cluster); compare with the plain path."""
    _, contents, checked = plain
    built = revimg(*build_args(location, *options), env=env)
    assert built.returncode == 0, built.stderr
    assert FIRST in built.stderr
    assert index_contents(location) == contents
    if rerun:
        again = revimg(*build_args(location, *options), env=env)
        assert again.returncode == 0 and AGAIN in again.stderr, again.stderr
    if not check:
        return
    args = ["check", *suspects(), "--index", location, "--format", "json"]
    on_cluster = revimg(*args, *options, env=env)
    assert on_cluster.returncode == 2, on_cluster.stderr  # the README is not a photo
    assert on_cluster.stdout == plain[2]


def test_local_cluster_gives_what_one_process_gives(
    local_cluster: str, plain_build: Plain, tmp_path: Path
) -> None:
    same_as_plain(plain_build, tmp_path / "index", ["--cluster", local_cluster])


def test_sent_bytes_give_the_same_index(
    local_cluster: str, plain_build: Plain, tmp_path: Path
) -> None:
    """--send-bytes: the client reads the photos; the workers never open their paths (the
    build's and the check's)."""
    options = ["--cluster", local_cluster, "--send-bytes"]
    same_as_plain(plain_build, tmp_path / "index", options, rerun=False)


def test_dask_processes_give_what_one_process_gives(
    dask_processes: DaskProcesses, plain_build: Plain, tmp_path: Path
) -> None:
    """A real scheduler and workers; the address from $REVIMG_CLUSTER this time."""
    env = cli_env(REVIMG_CLUSTER=dask_processes.address)
    same_as_plain(plain_build, tmp_path / "index", [], env, rerun=False)


def test_a_worker_killed_mid_build_loses_and_doubles_nothing(
    dask_processes: DaskProcesses, plain_build: Plain, tmp_path: Path
) -> None:
    """A third worker holds in its first chunk; killed there, its chunk runs elsewhere."""
    held = dask_processes.add_worker("--no-nanny", env=cli_env(REVIMG_HOLD_AT="cluster-hash:1"))
    try:
        dask_processes.wait_for_workers(3)
        location = tmp_path / "index"
        build = start(
            ["revimg", *map(str, build_args(location, "--cluster", dask_processes.address))]
        )
        try:
            held.wait_for_line("revimg: holding at cluster-hash:1")
            held.popen.send_signal(signal.SIGKILL)
            assert build.popen.wait(timeout=RUN_S) == 0, "".join(build.lines)
        finally:
            build.kill()
        assert held.popen.wait(timeout=RUN_S) == -signal.SIGKILL
        assert build.wait_for_line("added ").startswith(FIRST)  # the summary line
        assert index_contents(location) == plain_build[1]
    finally:
        held.kill()
        dask_processes.procs.remove(held)


def test_a_shard_set_on_the_cluster_answers_as_the_whole_index(
    local_cluster: str, plain_build: Plain, tmp_path: Path
) -> None:
    """`check --cluster` against a shard set: each shard answers on a worker, and the merged
    JSON is the unsharded index's, byte for byte."""
    location, _, checked = plain_build
    shards = tmp_path / "shards"
    split = revimg("index", "shard", "--parts", "3", shards, "--index", location)
    assert split.returncode == 0, split.stderr
    args = ["check", *suspects(), "--index", shards, "--format", "json"]
    for sent in ((), ("--send-bytes",)):
        on_cluster = revimg(*args, "--cluster", local_cluster, *sent)
        assert on_cluster.returncode == 2, on_cluster.stderr  # the README is not a photo
        assert on_cluster.stdout == checked, sent


def test_a_worker_killed_mid_check_loses_no_photo(plain_build: Plain, tmp_path: Path) -> None:
    """The only worker holds in the check's first chunk; a second worker joins; the first is
    SIGKILLed there: Dask runs its chunks on the second, and the JSON is the plain one."""
    location, _, checked = plain_build
    cluster = start_scheduler(tmp_path)
    try:
        held = cluster.add_worker("--no-nanny", env=cli_env(REVIMG_HOLD_AT="cluster-check:1"))
        cluster.wait_for_workers(1)  # every chunk goes to it: it is the only worker
        out = tmp_path / "check.json"
        args = ["revimg", "check", *map(str, suspects()), "--index", str(location)]
        with out.open("w") as stdout:
            check = start([*args, "--format", "json", "--cluster", cluster.address], None, stdout)
            try:
                held.wait_for_line("revimg: holding at cluster-check:1")
                cluster.add_worker()
                cluster.wait_for_workers(2)
                held.popen.send_signal(signal.SIGKILL)
                assert check.popen.wait(timeout=RUN_S) == 2, "".join(check.lines)  # a README
            finally:
                check.kill()
        assert held.popen.wait(timeout=RUN_S) == -signal.SIGKILL
        assert out.read_text() == checked
    finally:
        for proc in reversed(cluster.procs):
            proc.kill()
