"""The brute-force Hamming scan and its memory-mapped cache file, against a Python reference."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from revimg.imaging.hashing import hamming
from revimg.index import search
from tests.conftest import is_mapped

ROWS = 3000
THRESHOLDS = (-1, 0, 5, 31, 70, 128, 256)


def _random_table(seed: int, rows: int = ROWS) -> tuple[list[bytes], np.ndarray, np.ndarray]:
    """Random 32-byte hashes with near copies of a few of them planted at known distances."""
    rng = np.random.default_rng(seed)
    raw = rng.integers(0, 256, size=(rows, 32), dtype=np.uint8)
    hashes = [bytes(r) for r in raw]
    ids = rng.permutation(np.arange(1, rows + 1) * 7).astype(np.int64)
    views = rng.integers(0, 2, size=rows).astype(np.int16)
    return hashes, ids, views


def _flip(h: bytes, bits: list[int]) -> bytes:
    value = int.from_bytes(h, "big")
    for b in bits:
        value ^= 1 << b
    return value.to_bytes(32, "big")


def _queries(hashes: list[bytes], seed: int) -> list[bytes]:
    """Eight query variants: some near-copies of table rows, some unrelated."""
    rng = np.random.default_rng(seed + 1)
    out = []
    for k, distance in enumerate((0, 3, 12, 30, 45, 80, None, 0)):
        if distance is None:
            out.append(bytes(rng.integers(0, 256, size=32, dtype=np.uint8)))
            continue
        row = int(rng.integers(0, len(hashes)))
        bits = [int(b) for b in rng.choice(256, size=distance, replace=False)]
        out.append(_flip(hashes[row], bits) if k != 7 else hashes[row])
    return out


def _reference(
    hashes: list[bytes], ids: np.ndarray, views: np.ndarray, queries: list[bytes], max_distance: int
) -> list[search.Hit]:
    """Row order; for each row the lowest-numbered query variant at the smallest distance."""
    hits = []
    for row, h in enumerate(hashes):
        distances = [hamming(h, q) for q in queries]
        if not distances:
            continue
        best = min(distances)
        if best <= max_distance:
            hits.append(search.Hit(int(ids[row]), int(views[row]), distances.index(best), best))
    return hits


def _arrays(hashes: list[bytes], ids: np.ndarray, views: np.ndarray, generation: int = 3):
    return search.from_blobs(f"test-index:{generation}", b"".join(hashes), ids, views)


def _query_array(queries: list[bytes]) -> np.ndarray:
    return np.frombuffer(b"".join(queries), dtype=np.uint8).reshape(-1, 32)


@pytest.fixture(scope="module")
def table() -> tuple[list[bytes], np.ndarray, np.ndarray, list[bytes]]:
    hashes, ids, views = _random_table(20240601)
    return hashes, ids, views, _queries(hashes, 20240601)


@pytest.mark.parametrize("max_distance", THRESHOLDS)
def test_scan_matches_brute_force_reference(table, max_distance: int) -> None:
    hashes, ids, views, queries = table
    arrays = _arrays(hashes, ids, views)
    got = search.scan(arrays, search.query_words(_query_array(queries)), max_distance)
    want = _reference(hashes, ids, views, queries, max_distance)
    assert got == want
    if max_distance == 256:
        assert len(got) == ROWS
    if max_distance < 0:
        assert got == []


def test_planted_near_copies_are_found_with_their_variant(table) -> None:
    hashes, ids, views, queries = table
    hits = search.scan(_arrays(hashes, ids, views), search.query_words(_query_array(queries)), 31)
    found = {(h.variant, h.distance) for h in hits}
    # variants 0..3 are copies at 0, 3, 12 and 30 bits; variant 7 is an exact copy
    for variant, distance in ((0, 0), (1, 3), (2, 12), (3, 30), (7, 0)):
        assert (variant, distance) in found
    assert all(h.distance <= 31 for h in hits)


@pytest.mark.parametrize("chunk", [1, 7, 256, ROWS - 1, ROWS, ROWS + 5])
def test_chunked_scan_equals_unchunked(table, chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    hashes, ids, views, queries = table
    arrays = _arrays(hashes[:600], ids[:600], views[:600])
    words = search.query_words(_query_array(queries))
    want = _reference(hashes[:600], ids[:600], views[:600], queries, 128)
    monkeypatch.setattr(search, "CHUNK_ROWS", chunk)
    assert search.scan(arrays, words, 128) == want


def test_ties_between_variants_keep_the_lowest_numbered() -> None:
    h = bytes(range(32))
    arrays = _arrays([h], np.array([5]), np.array([1]))
    # the same hash as variants 0 and 1: the first wins
    hits = search.scan(arrays, search.query_words(_query_array([_flip(h, [0]), h, h])), 0)
    assert hits == [search.Hit(5, 1, 1, 0)]


def test_scan_of_empty_arrays_and_empty_queries() -> None:
    empty = _arrays([], np.zeros(0, np.int64), np.zeros(0, np.int16))
    assert len(empty) == 0
    q = search.query_words(np.zeros((1, 32), np.uint8))
    assert search.scan(empty, q, 256) == []
    one = _arrays([bytes(32)], np.array([1]), np.array([0]))
    no_queries = search.query_words(np.zeros((0, 32), np.uint8))
    assert no_queries.shape == (0, 4)
    assert search.scan(one, no_queries, 256) == []


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=32, max_size=32), st.binary(min_size=32, max_size=32))
def test_scan_distance_is_the_bitwise_hamming_distance(a: bytes, b: bytes) -> None:
    arrays = _arrays([a], np.array([1]), np.array([0]))
    hits = search.scan(arrays, search.query_words(_query_array([b])), 256)
    assert [h.distance for h in hits] == [hamming(a, b)]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=8))
def test_query_words_and_blobs_share_one_layout(hashes: list[bytes]) -> None:
    words = search.query_words(_query_array(hashes))
    arrays = _arrays(hashes, np.arange(len(hashes)), np.zeros(len(hashes)))
    assert words.dtype == np.uint64 and words.shape == (len(hashes), 4)
    assert np.array_equal(words, arrays.words)
    # the most significant bit of the first byte is the top bit of the first word
    assert all(int(words[i, 0]) >> 56 == hashes[i][0] for i in range(len(hashes)))


# -- the cache file -------------------------------------------------------------------------------


def test_cache_round_trip_is_memory_mapped(table, tmp_path: Path) -> None:
    hashes, ids, views, queries = table
    arrays = _arrays(hashes, ids, views, generation=41)
    path = tmp_path / "search.bin"
    search.write_cache(path, arrays)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["search.bin"]  # no temporary left
    back = search.read_cache(path)
    assert back is not None
    assert back.stamp == "test-index:41" and len(back) == ROWS
    assert is_mapped(back.words)
    assert np.array_equal(back.words, arrays.words)
    assert np.array_equal(back.ids, ids) and np.array_equal(back.views, views)
    words = search.query_words(_query_array(queries))
    assert search.scan(back, words, 40) == search.scan(arrays, words, 40)


def test_cache_overwrite_replaces_the_previous_file(table, tmp_path: Path) -> None:
    hashes, ids, views, _ = table
    path = tmp_path / "search.bin"
    search.write_cache(path, _arrays(hashes, ids, views, generation=1))
    mapped = search.read_cache(path)
    search.write_cache(path, _arrays(hashes[:10], ids[:10], views[:10], generation=2))
    back = search.read_cache(path)
    assert back is not None and back.stamp == "test-index:2" and len(back) == 10
    # the earlier mapping still reads the old file's rows (replaced, not rewritten in place)
    assert mapped is not None and np.array_equal(mapped.words[:10], back.words)
    assert len(mapped) == ROWS


def test_empty_cache_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "search.bin"
    search.write_cache(path, _arrays([], np.zeros(0, np.int64), np.zeros(0, np.int16), 9))
    back = search.read_cache(path)
    assert back is not None and back.stamp == "test-index:9" and len(back) == 0
    assert back.words.shape == (0, 4)
    assert search.scan(back, search.query_words(np.zeros((1, 32), np.uint8)), 256) == []


def _valid_cache(tmp_path: Path) -> Path:
    hashes, ids, views = _random_table(7, rows=20)
    path = tmp_path / "search.bin"
    search.write_cache(path, _arrays(hashes, ids, views, generation=5))
    assert search.read_cache(path) is not None
    return path


def test_missing_cache_reads_as_none(tmp_path: Path) -> None:
    assert search.read_cache(tmp_path / "nope.bin") is None
    assert search.read_cache(tmp_path) is None  # a folder


@pytest.mark.parametrize(
    "damage",
    [
        "bad-magic",
        "truncated",
        "one-byte-more",
        "header-only",
        "short-header",
        "empty",
        "rows-huge",
    ],
)
def test_damaged_cache_reads_as_none(tmp_path: Path, damage: str) -> None:
    path = _valid_cache(tmp_path)
    data = bytearray(path.read_bytes())
    if damage == "bad-magic":
        data[0:8] = b"NOTREVIM"
    elif damage == "truncated":
        data = data[:-3]
    elif damage == "one-byte-more":
        data += b"\0"
    elif damage == "header-only":
        data = data[:24]
    elif damage == "short-header":
        data = data[:10]
    elif damage == "empty":
        data = bytearray()
    elif damage == "rows-huge":
        data[56:64] = struct.pack("<Q", 2**60)
    path.write_bytes(bytes(data))
    assert search.read_cache(path) is None


def test_cache_with_wrong_row_count_reads_as_none(tmp_path: Path) -> None:
    path = _valid_cache(tmp_path)
    data = bytearray(path.read_bytes())
    data[56:64] = struct.pack("<Q", 21)
    path.write_bytes(bytes(data))
    assert search.read_cache(path) is None
