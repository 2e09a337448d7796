"""Clusters for the cluster tests: a LocalCluster, and real dask scheduler/worker processes.

Both are module-scoped (started once per test file) and stopped at the end; processes
started here are killed by their own pid. Readiness is what the processes report (the
scheduler's "Scheduler at:" line, the workers registered), never a guessed delay.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .helpers import (
    META,
    STOCK,
    DaskProcesses,
    cli_env,
    index_contents,
    revimg,
    start_scheduler,
    suspects,
)

pytest.importorskip("distributed")


@pytest.fixture(scope="session")
def plain_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], str]:
    """examples/stock built the plain way (one process), its contents and its check JSON."""
    location = tmp_path_factory.mktemp("plain") / "index"
    built = revimg("index", "build", STOCK, "--meta", META, "--index", location, "-j", "1")
    assert built.returncode == 0, built.stderr
    checked = revimg("check", *suspects(), "--index", location, "--format", "json")
    assert checked.returncode == 2, checked.stderr  # the README among them is not a photo
    contents = index_contents(location)
    assert len(contents["images"]) == len(list(STOCK.glob("*.jpg")))
    assert len(contents["features"]) == len(contents["images"])
    return location, contents, checked.stdout


@pytest.fixture(scope="module")
def dask_processes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskProcesses]:
    """A real scheduler and 2 workers (processes started here), killed at the end."""
    cluster = start_scheduler(tmp_path_factory.mktemp("dask"))
    try:
        cluster.add_worker()
        cluster.add_worker()
        cluster.wait_for_workers(2)
        yield cluster
    finally:
        for proc in reversed(cluster.procs):
            proc.kill()


@pytest.fixture(scope="module")
def local_cluster() -> Iterator[str]:
    """A LocalCluster of 2 worker processes (through revimg.cluster.connect); its address."""
    from revimg.cluster import connect

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", cli_env()["PYTHONPATH"])
        with connect("local", workers=2) as client:
            yield client.scheduler.address
