"""Brute-force Hamming search over a contiguous array of PDQ hashes.

The searchable part of an index is three parallel arrays (hash words, image id, view
code). They are written once into a single cache file next to the SQLite store and
memory-mapped, so opening an index of millions of photos costs no per-row Python work,
and a query is a vectorised XOR + popcount (``numpy.bitwise_count``) over the array.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from revimg.files import write_sections

_MAGIC = b"REVIMGS2"
_HEADER = struct.Struct("<8s48sQ")  # magic, stamp (index id and generation), rows
_ALIGN = 64
#: Rows scanned per step: bounds the temporary arrays to a few tens of MB.
CHUNK_ROWS = 1 << 20


@dataclass(frozen=True)
class SearchArrays:
    """The searchable rows: ``words`` (n, 4) uint64 PDQ hashes, ``ids`` and ``views``.

    ``stamp`` names the index and the generation of its rows, so that a cache left by a
    deleted index, or by an older state of this one, is never taken for the current one.
    """

    stamp: str
    words: np.ndarray
    ids: np.ndarray
    views: np.ndarray

    def __len__(self) -> int:
        return int(self.ids.shape[0])


@dataclass(frozen=True)
class Hit:
    """One row within reach of a query: the row, its distance and the query variant."""

    image_id: int
    view: int
    variant: int
    distance: int


def words_of(blobs: bytes) -> np.ndarray:
    """Concatenated 32-byte PDQ hashes as rows of four native 64-bit words."""
    return np.frombuffer(blobs, dtype=">u8").astype(np.uint64).reshape(-1, 4)


def from_blobs(stamp: str, blobs: bytes, ids: np.ndarray, views: np.ndarray) -> SearchArrays:
    """Build arrays from concatenated 32-byte PDQ hashes."""
    return SearchArrays(stamp, words_of(blobs), ids.astype(np.int64), views.astype(np.int16))


def _offsets(rows: int) -> tuple[int, int, int, int]:
    def up(x: int) -> int:
        return (x + _ALIGN - 1) // _ALIGN * _ALIGN

    words_at = up(_HEADER.size)
    ids_at = up(words_at + rows * 32)
    views_at = up(ids_at + rows * 8)
    end = views_at + rows * 2
    return words_at, ids_at, views_at, end


def write_cache(path: Path, arrays: SearchArrays) -> None:
    """Write arrays to ``path`` atomically."""
    rows = len(arrays)
    words_at, ids_at, views_at, end = _offsets(rows)
    sections: list[tuple[int, bytes | np.ndarray]] = [
        (words_at, np.asarray(arrays.words, dtype="<u8")),  # no copy when already so
        (ids_at, np.asarray(arrays.ids, dtype="<i8")),
        (views_at, np.asarray(arrays.views, dtype="<i2")),
    ]
    write_sections(path, _HEADER.pack(_MAGIC, arrays.stamp.encode("ascii"), rows), sections, end)


def read_cache(path: Path) -> SearchArrays | None:
    """Memory-map a cache file; None when it is missing, foreign or damaged."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            magic, raw_stamp, rows = _HEADER.unpack(fh.read(_HEADER.size))
        stamp = raw_stamp.rstrip(b"\0").decode("ascii")
    except (OSError, struct.error, UnicodeDecodeError):
        return None
    if magic != _MAGIC:
        return None
    words_at, ids_at, views_at, end = _offsets(rows)
    if size != end:
        return None
    if rows == 0:
        empty = np.zeros((0,), dtype=np.int64)
        return SearchArrays(stamp, np.zeros((0, 4), np.uint64), empty, empty.astype(np.int16))
    return SearchArrays(
        stamp,
        mapped(path, "<u8", words_at, (rows, 4)),
        mapped(path, "<i8", ids_at, (rows,)),
        mapped(path, "<i2", views_at, (rows,)),
    )


def mapped(path: Path, dtype: str, offset: int, shape: tuple[int, ...]) -> np.ndarray:
    """A read-only memory-mapped array, as a plain ndarray: indexing a ``np.memmap`` goes
    through Python code (``__getitem__``, ``__array_finalize__``) on every access, which
    cost ~2 ms of a check's search. The view keeps the mapping alive."""
    return np.asarray(np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape))


def query_words(pdq_variants: np.ndarray) -> np.ndarray:
    """(k, 32) uint8 hashes -> (k, 4) uint64 words in the cache's layout."""
    return (
        np.frombuffer(np.ascontiguousarray(pdq_variants).tobytes(), dtype=">u8")
        .astype(np.uint64)
        .reshape(-1, 4)
    )


def check_pairs(
    arrays: SearchArrays,
    queries: np.ndarray,
    rows: np.ndarray,
    which: np.ndarray,
    max_distance: int,
) -> list[Hit]:
    """Full distances for candidate (row, query) pairs; the best query per row within reach."""
    if rows.size == 0:
        return []
    # np.take rather than fancy indexing (3x faster on rows of a 2-D array), and the four
    # words' counts added by hand (a reduction over a short axis is slow in numpy).
    x = np.take(np.asarray(arrays.words), rows, axis=0)
    x ^= np.take(queries, which, axis=0)
    c = np.bitwise_count(x)
    d = c[:, 0].astype(np.uint16) + c[:, 1] + c[:, 2] + c[:, 3]
    close = np.nonzero(d <= max_distance)[0]
    best: dict[int, tuple[int, int]] = {}
    for i in close:
        row, dist, k = int(rows[i]), int(d[i]), int(which[i])
        if row not in best or (dist, k) < best[row]:
            best[row] = (dist, k)
    return [
        Hit(int(arrays.ids[row]), int(arrays.views[row]), k, dist)
        for row, (dist, k) in sorted(best.items())
    ]


def scan(arrays: SearchArrays, queries: np.ndarray, max_distance: int) -> list[Hit]:
    """Every row within ``max_distance`` bits of any query variant (its best variant)."""
    hits: list[Hit] = []
    n = len(arrays)
    for start in range(0, n, CHUNK_ROWS):
        block = np.asarray(arrays.words[start : start + CHUNK_ROWS])
        best = np.full(block.shape[0], 257, dtype=np.int32)
        best_variant = np.zeros(block.shape[0], dtype=np.int8)
        for k, q in enumerate(queries):
            d = np.bitwise_count(block ^ q).sum(axis=1, dtype=np.int32)
            better = d < best
            best = np.where(better, d, best)
            best_variant = np.where(better, np.int8(k), best_variant)
        rows = np.nonzero(best <= max_distance)[0]
        for r in rows:
            hits.append(
                Hit(
                    int(arrays.ids[start + r]),
                    int(arrays.views[start + r]),
                    int(best_variant[r]),
                    int(best[r]),
                )
            )
    return hits
