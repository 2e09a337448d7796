"""Multi-index hashing returns exactly what a full scan returns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from revimg.index import backend, derived, mih, search
from revimg.index.store import open_index
from tests.conftest import is_mapped


def _flip(word_row: np.ndarray, n_bits: int, rng: np.random.Generator) -> np.ndarray:
    out = word_row.copy()
    for b in rng.choice(256, n_bits, replace=False):
        out[b // 64] ^= np.uint64(1) << np.uint64(63 - b % 64)
    return out


def _data(n: int, seed: int = 7) -> tuple[search.SearchArrays, np.ndarray]:
    rng = np.random.default_rng(seed)
    words = rng.integers(0, 2**64 - 1, size=(n, 4), dtype=np.uint64, endpoint=True)
    queries = rng.integers(0, 2**64 - 1, size=(12, 4), dtype=np.uint64, endpoint=True)
    # plant neighbours of some queries at distances around the thresholds
    for k, dist in enumerate([0, 5, 23, 24, 31, 32, 33, 36, 44, 47]):
        words[(k * 97) % n] = _flip(queries[k], dist, rng)
    arrays = search.SearchArrays(
        "t:1", words, np.arange(n, dtype=np.int64) + 1000, np.zeros(n, np.int16)
    )
    return arrays, queries


@pytest.mark.parametrize("n", [3_000, 70_000])
@pytest.mark.parametrize("max_distance", [0, 10, 23, 31, 32, 40, 47])
def test_candidates_then_check_equals_full_scan(n: int, max_distance: int) -> None:
    arrays, queries = _data(n)
    table = mih.build(arrays.stamp, arrays.words)
    pairs = mih.candidates(table, queries, max_distance)
    assert pairs is not None
    got = search.check_pairs(arrays, queries, pairs[0], pairs[1], max_distance)
    want = search.scan(arrays, queries, max_distance)
    assert sorted((h.image_id, h.distance) for h in got) == sorted(
        (h.image_id, h.distance) for h in want
    )
    assert want or max_distance < 5


def test_large_radius_falls_back_to_scan() -> None:
    arrays, queries = _data(2_000)
    table = mih.build(arrays.stamp, arrays.words)
    assert mih.candidates(table, queries, 80) is None


def test_chunk_width_follows_size() -> None:
    assert mih.chunk_bits(10) == mih.MIN_BITS
    assert mih.chunk_bits(1_000_000) == 20
    assert mih.chunk_bits(10**9) == mih.MAX_BITS


def test_file_round_trip_and_damage(tmp_path: Path) -> None:
    arrays, queries = _data(5_000)
    table = mih.build(arrays.stamp, arrays.words)
    path = tmp_path / "search.mih"
    mih.build_file(path, arrays.stamp, arrays.words)
    back = mih.read(path)
    assert back is not None and back.stamp == "t:1" and back.rows == 5_000
    assert (np.asarray(back.order) == table.order).all()
    path.write_bytes(path.read_bytes()[:-4])
    assert mih.read(path) is None
    assert mih.read(tmp_path / "missing") is None


def test_index_uses_multi_index_above_the_size_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from revimg.index.bank import import_lines

    rng = np.random.default_rng(3)
    lines = [bytes(rng.integers(0, 256, 32, dtype=np.uint8)).hex() + f" e{i}" for i in range(3000)]
    with open_index(tmp_path / "ix", create=True) as ix:
        import_lines(ix, "\n".join(lines), "bank", "bank.txt")
        queries = np.stack(
            [np.frombuffer(bytes.fromhex(ln.split()[0]), np.uint8) for ln in lines[:50]]
        )
        scanned = ix.search(queries, 32)
        assert ix.multi_index() is None
    monkeypatch.setattr(derived, "MIH_MIN_ROWS", 1000)
    with open_index(tmp_path / "ix") as ix:
        assert ix.search(queries, 32) == scanned
        assert ix.multi_index() is not None
    assert (tmp_path / "ix" / backend.MIH_NAME).exists()
    assert len(scanned) == 50


def test_build_file_writes_the_same_tables_without_holding_them(tmp_path: Path) -> None:
    arrays, queries = _data(20_000)
    in_memory = mih.build(arrays.stamp, arrays.words)
    path = tmp_path / "search.mih"
    mapped = mih.build_file(path, arrays.stamp, arrays.words)
    assert mapped is not None and is_mapped(mapped.order)
    assert (mapped.chunks, mapped.bits, mapped.rows) == (in_memory.chunks, in_memory.bits, 20_000)
    assert (np.asarray(mapped.order) == in_memory.order).all()
    assert (np.asarray(mapped.offsets) == in_memory.offsets).all()
    assert [p.name for p in tmp_path.iterdir()] == ["search.mih"]  # no temporary file left
