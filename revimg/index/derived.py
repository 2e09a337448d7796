"""The derived search files of an index folder, rebuilt from the database when they fall
behind it: ``search.bin`` (PDQ rows), ``search.mih`` (multi-index hashing over them),
``features.bin`` (local features) and ``foreign.npz`` (other tools' 64-bit hashes).
A mixin of :class:`revimg.index.store.SQLiteIndex`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from revimg.files import replacing
from revimg.imaging.hashing import MIN_QUALITY
from revimg.index import db, mih, search, tally
from revimg.index.backend import CACHE_NAME, FEATURES_NAME, FOREIGN_NAME, MIH_NAME, VIEW_NAMES

_T = TypeVar("_T")
#: From this many searchable rows on, searches go through multi-index hashing, not a scan.
MIH_MIN_ROWS = 100_000
#: Photos added since the features file was built that a check reads from the database
#: (an extension in memory); more, and the file is built again.
FEATURES_EXTENSION_MAX = 64
#: Rows read from SQLite per step when the search file is rebuilt.
_LOAD_CHUNK = 100_000


class DerivedFiles:
    """Search-file reads and rebuilds of an open index (uses the store's connection)."""

    _conn: sqlite3.Connection
    _folder: Path | None
    location: str

    def _load_arrays(self) -> search.SearchArrays:
        conn = self._conn
        codes = {name: i for i, name in enumerate(VIEW_NAMES)}
        conn.execute("BEGIN")  # one snapshot: generation and rows agree
        try:
            stamp = self.stamp()
            parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
            for sql, view_of in (
                ("SELECT id, pdq FROM images WHERE pdq_quality >= ? ORDER BY id", None),
                (
                    "SELECT image_id, pdq, name FROM views WHERE quality >= ? ORDER BY image_id",
                    codes,
                ),
            ):
                cur = conn.execute(sql, (MIN_QUALITY,))
                while rows := cur.fetchmany(_LOAD_CHUNK):  # bounded memory: no row objects
                    words = search.words_of(b"".join([r[1] for r in rows]))
                    ids = np.fromiter((r[0] for r in rows), np.int64, len(rows))
                    if view_of is None:
                        views = np.zeros(len(rows), np.int16)
                    else:
                        views = np.fromiter((view_of[r[2]] for r in rows), np.int16, len(rows))
                    parts.append((words, ids, views))
        finally:
            conn.execute("COMMIT")
        if not parts:
            return search.from_blobs(stamp, b"", np.empty(0, np.int64), np.empty(0, np.int16))
        return search.SearchArrays(
            stamp,
            np.concatenate([p[0] for p in parts]),
            np.concatenate([p[1] for p in parts]),
            np.concatenate([p[2] for p in parts]),
        )

    @db.reads
    def arrays(self) -> search.SearchArrays:
        """The searchable rows, from the mapped cache when it is current."""
        stamp = self.stamp()
        if self._arrays is not None and self._arrays.stamp == stamp:
            return self._arrays
        self._arrays = self._sidecar(
            CACHE_NAME,
            search.read_cache,
            lambda found: found.stamp == stamp,
            self._load_arrays,
            search.write_cache,
        )
        return self._arrays

    @db.reads
    def feature_count(self) -> int:
        """How many photos have local features (hash-bank entries have none)."""
        return self.counts().features

    @db.reads
    def has_features(self) -> bool:
        """Whether any photo has local features (one page read, whatever the size)."""
        return self._conn.execute("SELECT 1 FROM features LIMIT 1").fetchone() is not None

    @db.reads
    def feature_searcher(self) -> Any:
        """The inverted file over every photo's local features: the saved file, extended
        in memory by the few photos added since it was built, or else built again."""
        from revimg.imaging import features
        from revimg.index import feature_search

        stamp = self.stamp()
        if self._searcher is not None and self._searcher[0] == stamp:
            return self._searcher[1]
        path = self._folder / FEATURES_NAME if self._folder is not None else None
        found = feature_search.FeatureSearcher.load(path) if path is not None else None
        extra = self._features_extension(found) if found is not None else None
        if found is not None and extra is not None:
            searcher = found[1]
            held = tally.stored(self._conn, self._meta("write_token") or "")
            if held is not None and held.features_removed and found[0] != stamp:
                searcher = feature_search.PrunedSearcher(
                    searcher, held.features_removed, self._with_features
                )
            if extra:
                searcher = feature_search.ExtendedSearcher(
                    searcher, feature_search.FeatureSearcher(extra)
                )
            self._searcher = (stamp, searcher)
            return searcher
        rows = self._conn.execute("SELECT image_id, blob FROM features ORDER BY image_id")
        made = feature_search.FeatureSearcher((i, features.from_blob(b)) for i, b in rows)
        if path is not None:
            try:
                made.save(path, self._features_label() or stamp)
            except OSError:
                pass  # a read-only index still searches, from memory
        self._searcher = (stamp, made)
        return made

    def _features_label(self, held: tally.Tally | None = None) -> str | None:
        """What a features file built now is labelled with: this index and the last
        change of its features (None when the index's counts are not kept)."""
        held = held or tally.stored(self._conn, self._meta("write_token") or "")
        labels = held.features_labels() if held is not None else []
        return f"{(self._meta('index_id') or 'none')[:12]}f{labels[-1]}" if labels else None

    def _features_extension(self, found: tuple[str, Any]) -> list[tuple[int, Any]] | None:
        """The photos a saved features file lacks (it was built before they were added and
        nothing else changed since), at most FEATURES_EXTENSION_MAX; None: not usable."""
        from revimg.imaging import features

        label, searcher = found
        if label == self.stamp():
            return []
        held = tally.stored(self._conn, self._meta("write_token") or "")
        if held is None:
            return None
        prefix = f"{(self._meta('index_id') or 'none')[:12]}f"
        labels = held.features_labels()
        if not label.startswith(prefix) or label[len(prefix) :] not in labels:
            return None
        last = int(searcher.ids[-1]) if len(searcher) else 0
        floor = held.floor_for(label[len(prefix) :])
        if floor is not None:  # built before the highest ids were removed: given again since?
            last = min(last, floor)
        rows = self._conn.execute(
            "SELECT image_id, blob FROM features WHERE image_id > ? ORDER BY image_id LIMIT ?",
            (last, FEATURES_EXTENSION_MAX + 1),
        ).fetchall()
        if len(rows) > FEATURES_EXTENSION_MAX:
            return None
        return [(i, features.from_blob(b)) for i, b in rows]

    def _with_features(self, ids: list[int]) -> set[int]:
        """Which of these ids are photos in the index with local features."""
        sql = "SELECT image_id FROM features WHERE image_id IN ({marks})"
        return {i for (i,) in db.in_chunks(self._conn, sql, ids)}

    @db.reads
    def features_of(self, ids: Iterable[int]) -> dict[int, Any]:
        """Local features by image id (ids without features are left out)."""
        from revimg.imaging import features

        sql = "SELECT image_id, blob FROM features WHERE image_id IN ({marks})"
        return {
            image_id: features.from_blob(blob)
            for image_id, blob in db.in_chunks(self._conn, sql, ids)
        }

    def multi_index(self) -> mih.MultiIndex | None:
        """Bucket tables over the searchable rows (large indexes only), mapped when current."""
        arrays = self.arrays()
        if len(arrays) < MIH_MIN_ROWS:
            return None
        if self._mih is not None and self._mih.stamp == arrays.stamp:
            return self._mih
        path = self._folder / MIH_NAME if self._folder is not None else None
        found = mih.read(path) if path is not None else None
        if found is not None and found.stamp == arrays.stamp and found.rows == len(arrays):
            self._mih = found
            return found
        made = None
        if path is not None:
            try:
                made = mih.build_file(path, arrays.stamp, np.asarray(arrays.words))
            except OSError:
                made = None  # a read-only index still searches, from memory
        self._mih = made or mih.build(arrays.stamp, np.asarray(arrays.words))
        return self._mih

    def _sidecar(
        self,
        name: str,
        read: Callable[[Path], _T | None],
        current: Callable[[_T], bool],
        build: Callable[[], _T],
        write: Callable[[Path, _T], None],
    ) -> _T:
        """A derived search file: mapped when current, else rebuilt (and saved if possible)."""
        path = self._folder / name if self._folder is not None else None
        found = read(path) if path is not None else None
        if found is not None and current(found):
            return found
        made = build()
        if path is not None:
            try:
                write(path, made)
            except OSError:
                pass  # a read-only index still searches, from memory
        return made

    def rebuild_search_files(self) -> None:
        """Build the derived search files again from the database, after they were found to
        disagree with it (copied from another index, or damaged on disk)."""
        self._arrays = None
        self._mih = None
        self._searcher = None
        self._foreign = None
        if self._folder is not None:
            for name in (CACHE_NAME, MIH_NAME, FEATURES_NAME, FOREIGN_NAME):
                try:
                    (self._folder / name).unlink(missing_ok=True)
                except OSError:
                    pass  # a read-only index: the rebuilt files stay in memory
        self._rebuilt = True
        self.refresh()

    def refresh(self) -> None:
        """Bring the search files up to date now (after a build), not at the next check."""
        self.arrays()
        self.multi_index()
        if self.has_features():
            self.feature_searcher()
        if self.foreign_kinds():
            self.foreign_arrays()

    def shared_search_files(self) -> bool:
        """Bring the search files up to date; whether other processes can map them.

        True when every search file is saved and current on disk, so that worker processes
        (a batch check) opening this index search without rebuilding anything.
        """
        self.refresh()
        if self._folder is None:
            return False
        stamp = self.stamp()
        cache = search.read_cache(self._folder / CACHE_NAME)
        if cache is None or cache.stamp != stamp:
            return False
        if len(cache) >= MIH_MIN_ROWS:
            table = mih.read(self._folder / MIH_NAME)
            if table is None or table.stamp != stamp or table.rows != len(cache):
                return False
        if self.has_features():
            from revimg.index import feature_search

            found = feature_search.FeatureSearcher.load(self._folder / FEATURES_NAME)
            if found is None or self._features_extension(found) is None:
                return False
        if self.foreign_kinds():
            foreign = _read_foreign(self._folder / FOREIGN_NAME)
            if foreign is None or foreign[0] != stamp:
                return False
        return True

    @db.reads
    def foreign_kinds(self) -> tuple[str, ...]:
        """The kinds of other tools' 64-bit hashes this index holds (none: an empty tuple);
        from the kept counts, so a check reads no table for it."""
        return tuple(kind for kind, n in sorted(self.counts().foreign.items()) if n)

    def _load_foreign(self) -> tuple[str, dict[str, tuple[np.ndarray, np.ndarray]]]:
        conn = self._conn
        conn.execute("BEGIN")  # one snapshot: stamp and rows agree
        try:
            stamp = self.stamp()
            rows = conn.execute(
                "SELECT kind, image_id, hash FROM foreign_hashes ORDER BY kind, image_id"
            )
            by_kind: dict[str, tuple[list[int], list[int]]] = {}
            for kind, image_id, value in rows:
                ids, hashes = by_kind.setdefault(kind, ([], []))
                ids.append(image_id)
                hashes.append(value)
        finally:
            conn.execute("COMMIT")
        return stamp, {
            kind: (np.array(ids, np.int64), np.array(hashes, np.int64).view(np.uint64))
            for kind, (ids, hashes) in by_kind.items()
        }

    @db.reads
    def foreign_arrays(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per kind of other tools' hashes: (image ids, 64-bit hashes), mapped when current."""
        stamp = self.stamp()
        if self._foreign is not None and self._foreign[0] == stamp:
            return self._foreign[1]
        self._foreign = self._sidecar(
            FOREIGN_NAME,
            _read_foreign,
            lambda found: found[0] == stamp,
            self._load_foreign,
            _write_foreign,
        )
        return self._foreign[1]

    def foreign_search(
        self, kind: str, queries: np.ndarray, max_distance: int
    ) -> list[tuple[int, int, int]]:
        """(image id, distance, query row) of the ``kind`` entries within ``max_distance``
        bits of any of the (k,) uint64 query hashes, each entry's nearest row once."""
        found = self.foreign_arrays().get(kind)
        if found is None or not len(found[0]) or not len(queries):
            return []
        ids, hashes = found
        # one XOR and popcount pass per query hash (about 2 ms a million), then the exact
        # nearest query row of the few rows within reach
        near = np.unique(
            np.concatenate(
                [np.flatnonzero(np.bitwise_count(hashes ^ q) <= max_distance) for q in queries]
            )
        )
        if not len(near):
            return []
        block = np.bitwise_count(hashes[near, None] ^ queries[None, :])
        rows = block.argmin(axis=1)
        nearest = block[np.arange(len(near)), rows]
        return [
            (int(ids[at]), int(d), int(r)) for at, d, r in zip(near, nearest, rows, strict=True)
        ]

    @db.reads
    def search(self, queries: np.ndarray, max_distance: int) -> list[search.Hit]:
        """Rows within ``max_distance`` PDQ bits of any of the (k, 32) query hashes."""
        arrays = self.arrays()
        words = search.query_words(queries)
        table = self.multi_index()
        pairs = mih.candidates(table, words, max_distance) if table is not None else None
        if pairs is None:
            return search.scan(arrays, words, max_distance)
        return search.check_pairs(arrays, words, pairs[0], pairs[1], max_distance)


def _read_foreign(path: Path) -> tuple[str, dict[str, tuple[np.ndarray, np.ndarray]]] | None:
    """The foreign-hash search file, or None when it is missing or unreadable."""
    try:
        with np.load(path, allow_pickle=False) as data:
            stamp = str(data["stamp"])
            kinds = [str(k) for k in data["kinds"]]
            return stamp, {
                kind: (data[f"ids_{i}"].astype(np.int64), data[f"hashes_{i}"].astype(np.uint64))
                for i, kind in enumerate(kinds)
            }
    except (OSError, ValueError, KeyError, EOFError):
        return None


def _write_foreign(path: Path, made: tuple[str, dict[str, tuple[np.ndarray, np.ndarray]]]) -> None:
    """Write the foreign-hash search file, replacing it atomically."""
    stamp, by_kind = made
    arrays: dict[str, np.ndarray] = {"stamp": np.array(stamp), "kinds": np.array(list(by_kind))}
    for i, (ids, hashes) in enumerate(by_kind.values()):
        arrays[f"ids_{i}"] = ids
        arrays[f"hashes_{i}"] = hashes
    with replacing(path) as tmp, tmp.open("wb") as out:
        np.savez(out, **arrays)
