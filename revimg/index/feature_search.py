"""The local-feature search file: candidate retrieval through an inverted file.

Each ORB descriptor (:mod:`revimg.imaging.features`) gives :data:`KEY_TABLES` words, the
first ``KEY_TABLES * KEY_BITS`` bits of the descriptor cut into disjoint :data:`KEY_BITS`-bit
substrings (multi-index hashing: two descriptors of the same corner usually agree exactly on
at least one substring, unrelated ones almost never). Photos are ranked by tf-idf cosine over
shared words. Nothing is trained, so nothing can leak from evaluation photos, and adding
photos needs no retraining. The file is read by ``pread`` of the blocks a query needs.
"""

from __future__ import annotations

import math
import os
import struct
import weakref
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from revimg.imaging.features import Features

#: Retrieval: words per descriptor and bits per word (whole bytes of the descriptor;
#: KEY_TABLES << KEY_BITS must fit in 32 bits).
KEY_TABLES = 2
KEY_BITS = 24
#: A saved searcher keeps every FENCE-th word in memory and reads one block of words to
#: look a word up (512 bytes, and its offsets), instead of mapping all of them.
FENCE = 128


def _raw_words(descriptors: np.ndarray) -> np.ndarray:
    """Words of a set of descriptors (repeats included): table number and KEY_BITS-bit
    substring."""
    if not len(descriptors):
        return np.zeros(0, np.uint64)
    nbytes = KEY_BITS // 8
    chunks = descriptors[:, : KEY_TABLES * nbytes].reshape(-1, KEY_TABLES, nbytes)
    keys = np.zeros(chunks.shape[:2], np.uint64)
    for i in range(nbytes):
        keys = (keys << np.uint64(8)) | chunks[:, :, i]
    keys += np.arange(KEY_TABLES, dtype=np.uint64) << np.uint64(KEY_BITS)
    return keys.ravel()


def words_of(descriptors: np.ndarray) -> np.ndarray:
    """Distinct words of a set of descriptors: table number and KEY_BITS-bit substring."""
    return np.unique(_raw_words(descriptors)).astype(np.uint32)


def _align(x: int, to: int = 64) -> int:
    return (x + to - 1) // to * to


class FeatureSearcher:
    """Inverted file over descriptor substrings, tf-idf cosine voting (numpy only).

    Memory: one int32 posting per (photo, distinct word), about ``KEY_TABLES * MAX_FEATURES``
    per photo, plus one uint32 word and one uint32 offset per distinct word in the index.
    A query touches only the postings of its own words (about 800 words, two tables).
    """

    def __init__(self, items: Iterable[tuple[int, Features]]) -> None:
        ids: list[int] = []
        keys: list[np.ndarray] = []
        for image_id, features in items:
            # (word, row) in one 64-bit key: one sort orders the postings by word, then
            # by photo, and puts a photo's repeats of a word side by side
            row = np.uint64(len(ids))
            keys.append((_raw_words(features.descriptors).astype(np.uint64) << 32) | row)
            ids.append(int(image_id))
        self._ids = np.array(ids, np.int64)
        n = len(ids)
        flat = np.concatenate(keys) if keys else np.zeros(0, np.uint64)
        del keys
        flat.sort()
        if len(flat):
            flat = flat[np.r_[True, flat[1:] != flat[:-1]]]  # one posting per (word, photo)
        rows = (flat & np.uint64(0xFFFFFFFF)).astype(np.int32)
        flat >>= np.uint64(32)
        words = flat.astype(np.uint32)
        del flat
        # sorted already: each word starts where it differs from the one before
        starts = np.flatnonzero(np.r_[True, words[1:] != words[:-1]]) if len(words) else rows[:0]
        self._words = words[starts]
        df = np.diff(np.r_[starts, len(words)])
        del words
        offset_type = np.uint32 if len(rows) < 1 << 32 else np.uint64
        self._offsets = np.r_[starts, len(rows)].astype(offset_type)
        self._postings = rows
        self._n = n
        idf2 = self._idf(df) ** 2
        norms = np.sqrt(np.bincount(rows, weights=np.repeat(idf2, df), minlength=n))
        self._norms = np.where(norms > 0, norms, 1.0).astype(np.float32)
        self._fence = np.ascontiguousarray(self._words[::FENCE])
        self._fd: int | None = None  # a saved searcher reads its big arrays from here
        self._at: dict[str, int] = {}

    #: Arrays that make up a searcher, in file order, with their on-disk dtypes.
    _ARRAYS = (
        ("_ids", "<i8"),
        ("_words", "<u4"),
        ("_offsets", "<u8"),
        ("_postings", "<i4"),
        ("_norms", "<f4"),
        ("_fence", "<u4"),  # every FENCE-th word: which block of words to read
    )
    _MAGIC = b"REVIMGF2"
    _FILE_HEADER = struct.Struct("<8s48s6Q")  # magic, stamp, length of each array

    def save(self, path: Path, stamp: str) -> None:
        """Write the searcher's arrays to ``path`` atomically, labelled with ``stamp``."""
        from revimg.files import write_sections

        arrays = [np.ascontiguousarray(getattr(self, name), dtype=dt) for name, dt in self._ARRAYS]
        header = self._FILE_HEADER.pack(
            self._MAGIC, stamp.encode("ascii"), *(len(a) for a in arrays)
        )
        sections, at = [], _align(self._FILE_HEADER.size)
        for a in arrays:
            sections.append((at, a.tobytes()))
            at = _align(at + a.nbytes)
        write_sections(path, header, sections, at)

    @classmethod
    def load(cls, path: Path) -> tuple[str, FeatureSearcher] | None:
        """``(stamp, searcher)`` memory-mapped from a file written by :meth:`save`, or None."""
        try:
            size = path.stat().st_size
            with open(path, "rb") as fh:
                magic, raw, *lengths = cls._FILE_HEADER.unpack(fh.read(cls._FILE_HEADER.size))
            stamp = raw.rstrip(b"\0").decode("ascii")
        except (OSError, struct.error, UnicodeDecodeError):
            return None
        if magic != cls._MAGIC:
            return None
        searcher = cls.__new__(cls)
        searcher._at = {}
        at = _align(cls._FILE_HEADER.size)
        for (name, dt), length in zip(cls._ARRAYS, lengths, strict=True):
            nbytes = length * np.dtype(dt).itemsize
            if at + nbytes > size:
                return None
            searcher._at[name] = at
            array = (
                np.asarray(np.memmap(path, dtype=dt, mode="r", offset=at, shape=(length,)))
                if length
                else np.zeros(0, dt)
            )
            setattr(searcher, name, array)
            at = _align(at + nbytes)
        if at != size or len(searcher._offsets) != len(searcher._words) + 1:
            return None
        if len(searcher._norms) != len(searcher._ids):
            return None
        if len(searcher._fence) != -(-len(searcher._words) // FENCE):
            return None
        searcher._n = len(searcher._ids)
        # Lookups read the words, offsets and postings they need with pread: a mapping
        # would map (and count in the check's memory) every page around each one touched.
        # The descriptor keeps this file readable if a rebuild replaces it meanwhile.
        try:
            searcher._fd = os.open(path, os.O_RDONLY)
        except OSError:
            return None
        weakref.finalize(searcher, os.close, searcher._fd)
        searcher._fence = np.array(searcher._fence)  # small: read once
        return stamp, searcher

    def _idf(self, df: np.ndarray) -> np.ndarray:
        return np.log1p(self._n / np.maximum(df, 1).astype(np.float64))

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def ids(self) -> np.ndarray:
        """The image id of each row, ascending."""
        return self._ids

    @property
    def norms(self) -> np.ndarray:
        """Each row's tf-idf norm (float32), as :meth:`candidates` divides by it."""
        return self._norms

    @property
    def words(self) -> np.ndarray:
        """Every distinct word the photos hold, ascending."""
        return self._words

    @property
    def offsets(self) -> np.ndarray:
        """Where each word's postings start (and, last, where they all end)."""
        return self._offsets

    @property
    def postings(self) -> int:
        return len(self._postings)

    def nbytes(self) -> int:
        arrays = (self._ids, self._words, self._offsets, self._postings, self._norms)
        return sum(a.nbytes for a in arrays)

    def _pread(self, name: str, starts: list[int], counts: list[int]) -> np.ndarray:
        """Elements ``[start, start + count)`` of the saved array ``name``, for each pair,
        concatenated: only those bytes are read from the file."""
        dt = np.dtype(dict(self._ARRAYS)[name])
        base = self._at[name]
        parts = []
        for start, count in zip(starts, counts, strict=True):
            want = count * dt.itemsize
            got = os.pread(self._fd, want, base + start * dt.itemsize)  # type: ignore[arg-type]
            if len(got) != want:
                raise ValueError("the features file is shorter than its header says")
            parts.append(got)
        return np.frombuffer(b"".join(parts), dt)

    def _lookup(self, words: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(starts, lengths)`` of the postings of each of these (sorted, distinct) words
        that the index holds. A saved searcher reads one block of FENCE words and their
        offsets per block that may hold a query word, not the whole table."""
        return self.lookup_held(words)[1:]

    def lookup_held(self, words: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`_lookup`, and first a mask of the ``words`` the index holds (a sharded
        index weighs each held word by its frequency over all shards: revimg.shards)."""
        if self._fd is None:
            pos = np.searchsorted(self._words, words).clip(0, len(self._words) - 1)
            held = self._words[pos] == words
            pos = pos[held]
            starts = self._offsets[pos].astype(np.int64)
            return held, starts, self._offsets[pos + 1].astype(np.int64) - starts
        total = len(self._words)
        block = np.searchsorted(self._fence, words, side="right").astype(np.int64) - 1
        held = np.zeros(len(words), bool)
        inside = np.flatnonzero(block >= 0)
        words, block = words[block >= 0], block[block >= 0]
        blocks = np.unique(block)
        if not len(blocks):
            return held, np.zeros(0, np.int64), np.zeros(0, np.int64)
        firsts = (blocks * FENCE).tolist()
        counts = [min(FENCE, total - f) for f in firsts]
        # every block's words tagged with the block's rank: one sorted array to search
        rank = np.repeat(np.arange(len(blocks), dtype=np.uint64), counts)
        tagged = (rank << np.uint64(32)) | self._pread("_words", firsts, counts).astype(np.uint64)
        mine = np.searchsorted(blocks, block).astype(np.uint64)
        keys = (mine << np.uint64(32)) | words.astype(np.uint64)
        at = np.searchsorted(tagged, keys).clip(0, len(tagged) - 1)
        found = tagged[at] == keys
        at = at[found]
        # offsets of the same blocks (one more each: where the last word's postings end)
        offsets = self._pread("_offsets", firsts, [c + 1 for c in counts]).astype(np.int64)
        sizes = np.asarray(counts, np.int64)
        rank_of = mine[found].astype(np.int64)  # the block rank of each word found
        in_block = at - np.r_[0, np.cumsum(sizes)][:-1][rank_of]
        at_offsets = np.r_[0, np.cumsum(sizes + 1)][:-1][rank_of] + in_block
        starts = offsets[at_offsets]
        held[inside[found]] = True
        return held, starts, offsets[at_offsets + 1] - starts

    def postings_of(self, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """The postings of each word, concatenated: ranges close together in one read."""
        total = int(lengths.sum())
        shift = np.repeat(starts - np.r_[0, np.cumsum(lengths)[:-1]], lengths)
        if self._fd is None:
            return np.asarray(self._postings[np.arange(total) + shift])
        ends = starts + lengths
        order = np.argsort(starts, kind="stable")
        s, e = starts[order], ends[order]
        # a new read where the gap from everything before is more than 4096 postings
        reach = np.maximum.accumulate(e)
        new = np.r_[True, s[1:] > reach[:-1] + 4096]
        group = np.cumsum(new) - 1
        first = s[new]
        last = np.maximum.reduceat(e, np.flatnonzero(new))
        buffer = self._pread("_postings", first.tolist(), (last - first).tolist())
        buffer_at = np.r_[0, np.cumsum(last - first)][:-1]
        place = np.empty(len(starts), np.int64)  # where each word's range starts in buffer
        place[order] = buffer_at[group] + (s - first[group])
        index = np.repeat(place - np.r_[0, np.cumsum(lengths)[:-1]], lengths)
        return buffer[np.arange(total) + index]

    def _scores(self, query: Features) -> tuple[np.ndarray, np.ndarray]:
        """``(rows, scores)``: the rows that share a word with the query, and their cosine."""
        none = (np.zeros(0, np.int64), np.zeros(0))
        n = self._n
        words = words_of(query.descriptors)
        if not len(words) or not n or not len(self._words):
            return none
        starts, lengths = self._lookup(words)
        if len(lengths) and (
            lengths.min() < 0 or starts.min() < 0 or (starts + lengths).max() > len(self._postings)
        ):
            raise ValueError("the features file's offsets are damaged")
        idf2 = self._idf(lengths) ** 2
        # words the index has never seen count in the query's norm with the highest idf
        q_norm = math.sqrt(float(idf2.sum()) + (len(words) - len(starts)) * math.log1p(n) ** 2)
        total = int(lengths.sum())
        if not total:
            return none
        hits = self.postings_of(starts, lengths)
        if hits.min() < 0 or hits.max() >= n:
            raise ValueError("the features file's postings are damaged")
        rows, inverse = np.unique(hits, return_inverse=True)
        sums = np.bincount(inverse, weights=np.repeat(idf2, lengths), minlength=len(rows))
        return rows.astype(np.int64), sums / (self._norms[rows] * q_norm)

    def candidates(
        self, query: Features, top: int = 10, *, mirrored_query: Features | None = None
    ) -> list[tuple[int, float]]:
        """``(image_id, score)`` of the best ``top`` photos (cosine in 0..1), best first.

        Work and memory follow the query's postings, not the number of photos."""
        rows, scores = self._scores(query)
        mirrored = None
        if mirrored_query is not None:
            more_rows, more = self._scores(mirrored_query)
            mirrored = (self._ids[more_rows], more)
        return ranked((self._ids[rows], scores), mirrored, top)


def ranked(
    found: tuple[np.ndarray, np.ndarray], mirrored: tuple[np.ndarray, np.ndarray] | None, top: int
) -> list[tuple[int, float]]:
    """The best ``top`` ``(image_id, score)`` of a query's scores (ids and scores), with the
    better of the two per photo when the mirrored query's are given; ties go to the lower id
    (a shard set ranks its merged candidates with the same rule)."""
    ids, scores = found
    if mirrored is not None:
        more_ids, more = mirrored
        ids, at = np.unique(np.r_[ids, more_ids], return_inverse=True)
        best = np.zeros(len(ids))
        np.maximum.at(best, at, np.r_[scores, more])
        scores = best
    keep = scores > 0
    ids, scores = ids[keep], scores[keep]
    order = np.lexsort((ids, -scores))[:top]
    return [(int(ids[i]), float(scores[i])) for i in order]


class PrunedSearcher:
    """A saved searcher that may still hold photos removed since it was saved (at most
    ``removed`` of them): it asks for that many more candidates and keeps the live ones."""

    def __init__(
        self,
        base: FeatureSearcher,
        removed: int,
        alive: Callable[[list[int]], set[int]],
    ) -> None:
        self.base = base
        self.removed = removed
        self._alive = alive

    def __len__(self) -> int:
        return len(self.base)

    def candidates(
        self, query: Features, top: int = 10, *, mirrored_query: Features | None = None
    ) -> list[tuple[int, float]]:
        """The best ``top`` photos that are still in the index, best first."""
        found = self.base.candidates(query, top + self.removed, mirrored_query=mirrored_query)
        live = self._alive([image_id for image_id, _ in found]) if found else set()
        return [c for c in found if c[0] in live][:top]


class ExtendedSearcher:
    """A saved searcher and a small one over the photos added since it was saved: a photo
    added to a large index is searchable without building the large one again."""

    def __init__(self, base: FeatureSearcher | PrunedSearcher, extra: FeatureSearcher) -> None:
        self.base = base
        self.extra = extra

    def __len__(self) -> int:
        return len(self.base) + len(self.extra)

    def candidates(
        self, query: Features, top: int = 10, *, mirrored_query: Features | None = None
    ) -> list[tuple[int, float]]:
        """The best ``top`` of each part (scores of the small part are not on the same
        scale as the large one's: neither crowds the other out), best first."""
        found = self.base.candidates(query, top, mirrored_query=mirrored_query)
        found += self.extra.candidates(query, top, mirrored_query=mirrored_query)
        return sorted(found, key=lambda c: (-c[1], c[0]))
