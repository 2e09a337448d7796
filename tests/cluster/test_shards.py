"""Batch checks against a shard set on a 2-worker Dask LocalCluster (processes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from revimg.errors import IndexUnusable
from revimg.index import shards
from revimg.index.store import open_index
from revimg.matching.checker import check
from revimg.report.data import result_dict
from tests.conftest import STOCK, SUSPECTS

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0"
    )
    try:
        with distributed.Client(cluster) as c:
            yield c
    finally:
        cluster.close()


@pytest.fixture(scope="module")
def shard_set(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from tests.index import test_shards

    source = test_shards.make_source(tmp_path_factory.mktemp("dask") / "source")
    with open_index(source) as index:
        shards.split(index, source.parent / "out", 3)
    return source, source.parent / "out"


def _dicts(results: list[Any]) -> list[Any]:
    return [result_dict(r) for r in results]


def test_the_cluster_answers_as_the_local_shard_set(
    client: Any, shard_set: tuple[Path, Path]
) -> None:
    from revimg.cluster.shards import check_sharded

    source, out = shard_set
    photos: list[Any] = [*sorted(SUSPECTS.glob("*.jpg")), *sorted(STOCK.glob("*.jpg"))[:4]]
    photos += [b"not a photo", (SUSPECTS / "resized.jpg").read_bytes()]
    got = check_sharded(client, out, photos, top=3)
    with shards.ShardedIndex.open(out) as sharded:
        local = check(sharded, photos, top=3)
    with open_index(source) as index:
        whole = check(index, photos, top=3)
    assert _dicts(got) == _dicts(local) == _dicts(whole)
    assert [r.query for r in got][:2] == [str(p) for p in photos[:2]]
    assert got[-2].error is not None and sum(bool(r.matches) for r in got) >= 7


def test_a_missing_shard_is_an_error_on_the_cluster(
    client: Any, shard_set: tuple[Path, Path], tmp_path: Path
) -> None:
    from revimg.cluster.shards import check_sharded

    source, _ = shard_set
    with open_index(source) as index:
        shards.split(index, tmp_path / "out", 2)
    (tmp_path / "out" / "shard-001" / "source-ids.npy").unlink()
    with pytest.raises(IndexUnusable, match="shard-001/source-ids.npy: its id map is missing"):
        check_sharded(client, tmp_path / "out", [SUSPECTS / "mirrored.jpg"])
