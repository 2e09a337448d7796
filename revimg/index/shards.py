"""Sharded indexes: one index split into N shard indexes that are searched as one.

``revimg index shard --parts N OUT`` (:func:`split`) writes::

    OUT/shards.json          the manifest, written last (format, parts, key rule, the
                             source's stamp, each shard's entries and stamp)
    OUT/shard-000/ ...       each a normal revimg index (SQLite, search files) plus
        source-ids.npy       the source index's id of each shard entry, in shard id order
        feature-norms.npy    (indexes with local features) each photo's tf-idf norm over
                             the whole source, in the order of the shard's features file
    OUT/feature-words.npy    (with local features) every retrieval word of the source and
    OUT/feature-df.npy       the number of its photos that have it (document frequency)

An entry goes to shard ``blake2b-64(key) mod N``, where the key is its SHA-256 (copies of
one file land together) or else its hash (PDQ, or the other tool's hash) and name: the
same entry goes to the same shard whatever order the split runs in.

A check against OUT (:func:`open_any` sees the manifest) asks every shard and merges. The
answer equals the source index's, entry for entry, ids included:

- entries keep the source's ids (``source-ids.npy``): every ranking that breaks ties by
  id (the top-N cut, equal scores) orders them as the source does;
- PDQ and foreign-hash hits depend on one entry each: the union over shards is the
  source's set of hits;
- local-feature candidates are ranked by tf-idf cosine, whose weights (idf) and photo
  norms depend on the whole index. Each shard scores its photos with the source's
  frequencies (``feature-df.npy``) and norms (``feature-norms.npy``), with the same
  floating-point operations in the same order, so a photo's score is bit for bit the one
  the source gives it; each shard keeps its best ``top`` and the merge keeps the best
  ``top`` of those (any photo of the overall best ``top`` is among its shard's best).

The source must have current search files (as after a build); one whose features file
was extended in memory by photos added since ranks those apart (``ExtendedSearcher``).

A shard set is read-only: change the source and split again. A missing or changed shard,
or a missing or damaged manifest, raises ``IndexUnusable`` naming it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from revimg.errors import IndexMissing, IndexUnusable, UsageError
from revimg.files import TMP_SUFFIX, replacing
from revimg.imaging.hashing import ImageHashes
from revimg.index import search
from revimg.index.backend import Entry
from revimg.index.store import SQLiteIndex, open_index

MANIFEST_NAME = "shards.json"
FORMAT = "revimg-shards"
VERSION = 1
IDS_NAME = "source-ids.npy"
NORMS_NAME = "feature-norms.npy"
WORDS_NAME = "feature-words.npy"
DF_NAME = "feature-df.npy"
KEY_RULE = "blake2b-64(sha256, else hash kind:hex and name) mod parts"
MAX_PARTS = 999
#: Entries written to a shard per transaction.
BATCH = 2000


def shard_folder(number: int) -> str:
    """The folder name of shard ``number``."""
    return f"shard-{number:03d}"


def shard_of(entry: Entry, parts: int) -> int:
    """The shard an entry belongs in: see the module docstring (``KEY_RULE``)."""
    if entry.sha256:
        key = b"sha256:" + entry.sha256.encode("ascii")
    elif entry.foreign is not None:
        kind, value = entry.foreign
        key = kind.encode("ascii") + b":" + value.hex().encode("ascii") + b"\0"
        key += entry.name.encode("utf-8", "surrogatepass")
    else:
        key = b"pdq:" + entry.pdq.hex().encode("ascii") + b"\0"
        key += entry.name.encode("utf-8", "surrogatepass")
    digest = hashlib.blake2b(key, digest_size=8).digest()
    return int.from_bytes(digest, "big") % parts


# -- splitting -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SplitStats:
    """What a split wrote."""

    parts: int
    entries: int
    per_shard: list[int]
    replaced: bool
    seconds: float


def _ours(path: Path) -> bool:
    """A file or folder a split writes (so an unfinished split may be written over)."""
    name = path.name
    if name.endswith(TMP_SUFFIX) or name in (MANIFEST_NAME, WORDS_NAME, DF_NAME):
        return True
    return path.is_dir() and name.startswith("shard-") and name[6:].isdigit()


def _prepare(out: Path, source_stamp: str) -> bool:
    """Make ``out`` ready for a split; True when an older split is replaced."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: the shard folder must be a folder, not a file")
    if not out.exists():
        try:
            out.mkdir(parents=True)
        except OSError as exc:
            raise UsageError(f"{out}: cannot create the shard folder ({exc.strerror})") from None
        return False
    items = list(out.iterdir())
    if not items:
        return False
    manifest = out / MANIFEST_NAME
    if manifest.exists():
        try:
            found = json.loads(manifest.read_text("utf-8"))
            same = found["source"]["stamp"][:12] == source_stamp[:12]
        except (OSError, ValueError, KeyError, TypeError):
            same = False
        if not same:
            raise UsageError(
                f"{out}: holds the shards of another index; nothing was changed: "
                "choose an empty folder"
            )
        manifest.unlink()  # first: a split killed from here on is an unfinished one
    elif not all(_ours(p) for p in items):
        raise UsageError(
            f"{out}: the folder is not empty and is not a shard set; nothing was changed: "
            "choose an empty folder"
        )
    for path in items:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    return True


class _Writer:
    """One shard being written: pending entries of one kind, in source id order."""

    def __init__(self, index: SQLiteIndex) -> None:
        self.index = index
        self.ids: list[int] = []
        self._files: list[tuple[Entry, int, int]] = []
        self._banked: list[Entry] = []

    def add(self, entry: Entry, state: tuple[int, int] | None, source: SQLiteIndex) -> None:
        is_file = entry.path is not None and state is not None
        if (self._files and not is_file) or (self._banked and is_file):
            self.flush(source)  # ids follow the source's order: one kind at a time
        if is_file:
            assert state is not None
            self._files.append((entry, *state))
        else:
            self._banked.append(entry)
        self.ids.append(entry.id)
        if len(self._files) + len(self._banked) >= BATCH:
            self.flush(source)

    def flush(self, source: SQLiteIndex) -> None:
        from revimg.imaging import features

        if self._files:
            blobs = source.features_of(e.id for e, _, _ in self._files)
            self.index.put_files(
                (
                    e.path or "",
                    e.name,
                    size,
                    mtime_ns,
                    ImageHashes(
                        sha256=e.sha256 or "",
                        width=e.width or 0,
                        height=e.height or 0,
                        pdq=e.pdq,
                        pdq_quality=e.pdq_quality,
                        phash=e.phash,
                        views=e.views,
                        features=features.to_blob(blobs[e.id]) if e.id in blobs else None,
                    ),
                    e.meta,
                )
                for e, size, mtime_ns in self._files
            )
            self._files = []
        if self._banked:
            self.index.put_bank_batches([self._banked])
            self._banked = []


def split(
    source: SQLiteIndex,
    out: str | Path,
    parts: int,
    *,
    on_progress: Callable[[int], None] | None = None,
) -> SplitStats:
    """Split ``source`` into ``parts`` shard indexes in the folder ``out``.

    Raises:
        UsageError: ``parts`` out of range, or ``out`` is neither empty nor an older shard
            set of this same index.
        IndexUnusable: the source or a shard cannot be read or written.
    """
    started = time.perf_counter()
    if not 1 <= parts <= MAX_PARTS:
        raise UsageError(f"parts must be between 1 and {MAX_PARTS}, got {parts}")
    folder = Path(out).expanduser()
    source.refresh()
    stamp = source.stamp()
    replaced = _prepare(folder, stamp)
    writers = [_Writer(open_index(folder / shard_folder(k), create=True)) for k in range(parts)]
    try:
        states = source.file_states()
        done = 0
        for entry in source.entries():
            state = states.get(entry.path) if entry.path is not None else None
            writers[shard_of(entry, parts)].add(entry, state, source)
            done += 1
            if on_progress is not None and done % BATCH == 0:
                on_progress(done)
        for w in writers:
            w.flush(source)
            w.index.refresh()
        shards = [_finish(folder, k, w) for k, w in enumerate(writers)]
        feature_photos = _write_feature_stats(source, folder, writers)
    finally:
        for w in writers:
            w.index.close()
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "parts": parts,
        "key_rule": KEY_RULE,
        "source": {"location": source.location, "stamp": stamp, "entries": done},
        "feature_photos": feature_photos,
        "created": time.time(),
        "shards": shards,
    }
    with replacing(folder / MANIFEST_NAME) as tmp:
        tmp.write_text(json.dumps(manifest, indent=1) + "\n", "utf-8")
    return SplitStats(
        parts, done, [s["entries"] for s in shards], replaced, time.perf_counter() - started
    )


def _finish(folder: Path, number: int, writer: _Writer) -> dict[str, Any]:
    """Check a written shard holds one row per entry given, in order; save its id map."""
    index = writer.index
    n = len(writer.ids)
    if index.count() != n or (n and (not index.get([n]) or index.get([n + 1]))):
        raise IndexUnusable(
            f"{index.location}: the shard does not hold one entry per source entry "
            f"({index.count()} for {n}); nothing is usable: split again"
        )
    ids = np.array(writer.ids, np.int64)
    with replacing(folder / shard_folder(number) / IDS_NAME) as tmp, tmp.open("wb") as fh:
        np.save(fh, ids, allow_pickle=False)
    return {"folder": shard_folder(number), "entries": n, "stamp": index.stamp()}


def _write_feature_stats(source: SQLiteIndex, folder: Path, writers: list[_Writer]) -> int:
    """Save the source's word frequencies and each shard's photo norms; returns how many
    photos of the source have local features."""
    if not source.has_features():
        return 0

    def items() -> Iterator[tuple[int, Any]]:
        ids = sorted(i for w in writers for i in w.ids)
        for start in range(0, len(ids), 500):
            found = source.features_of(ids[start : start + 500])
            yield from sorted(found.items())

    # the searcher the source itself builds: its norms and frequencies, bit for bit
    from revimg.index import feature_search  # OpenCV: only for indexes with local features

    whole = feature_search.FeatureSearcher(items())
    ids, norms = whole.ids, whole.norms
    _save(folder / WORDS_NAME, np.asarray(whole.words, np.uint32))
    _save(folder / DF_NAME, np.diff(np.asarray(whole.offsets, np.int64)).astype(np.uint32))
    for number, w in enumerate(writers):
        mine = np.array(w.ids, np.int64)
        searcher = w.index.feature_searcher() if w.index.has_features() else None
        local = np.asarray(searcher.ids, np.int64) if searcher is not None else np.zeros(0)
        rows = mine[local.astype(np.int64) - 1] if len(local) else np.zeros(0, np.int64)
        _save(folder / shard_folder(number) / NORMS_NAME, norms[np.searchsorted(ids, rows)])
    return len(ids)


def _save(path: Path, array: np.ndarray) -> None:
    with replacing(path) as tmp, tmp.open("wb") as fh:
        np.save(fh, np.ascontiguousarray(array), allow_pickle=False)


# -- one shard, in the source's ids ----------------------------------------------------------


@dataclass(frozen=True)
class FeatureStats:
    """The source's retrieval-word frequencies: what makes shard scores global."""

    photos: int
    words: np.ndarray
    df: np.ndarray

    def df_of(self, words: np.ndarray) -> np.ndarray:
        """Document frequency of each of these words over the whole source (0: none)."""
        if not len(self.words):
            return np.zeros(len(words), np.int64)
        pos = np.searchsorted(self.words, words).clip(0, len(self.words) - 1)
        return np.where(self.words[pos] == words, self.df[pos], 0).astype(np.int64)


class Shard:
    """One shard index, answering in the source's entry ids."""

    def __init__(
        self, index: SQLiteIndex, ids: np.ndarray, norms: np.ndarray | None, stats: Any
    ) -> None:
        self.index = index
        self.location = index.location
        self._ids = ids
        self._norms = norms
        self._stats: FeatureStats | None = stats

    def close(self) -> None:
        self.index.close()

    def _global(self, local: int) -> int:
        return int(self._ids[local - 1])

    def _entry(self, entry: Entry) -> Entry:
        return dataclasses.replace(entry, id=self._global(entry.id))

    def _local(self, ids: Iterable[int]) -> dict[int, int]:
        """Global id -> local id of the ids this shard holds."""
        wanted = np.fromiter(ids, np.int64)
        if not len(wanted) or not len(self._ids):
            return {}
        pos = np.searchsorted(self._ids, wanted).clip(0, len(self._ids) - 1)
        held = self._ids[pos] == wanted
        return dict(zip(wanted[held].tolist(), (pos[held] + 1).tolist(), strict=True))

    def entries(self) -> Iterator[Entry]:
        for entry in self.index.entries():
            yield self._entry(entry)

    def search(self, queries: np.ndarray, max_distance: int) -> list[search.Hit]:
        return [
            dataclasses.replace(h, image_id=self._global(h.image_id))
            for h in self.index.search(queries, max_distance)
        ]

    def by_sha256(self, sha256: str) -> list[Entry]:
        return [self._entry(e) for e in self.index.by_sha256(sha256)]

    def get(self, ids: Iterable[int]) -> dict[int, Entry]:
        local = self._local(ids)
        found = self.index.get(local.values())
        return {g: self._entry(found[i]) for g, i in local.items() if i in found}

    def features_of(self, ids: Iterable[int]) -> dict[int, Any]:
        local = self._local(ids)
        found = self.index.features_of(local.values())
        return {g: found[i] for g, i in local.items() if i in found}

    def foreign_search(
        self, kind: str, queries: np.ndarray, max_distance: int
    ) -> list[tuple[int, int, int]]:
        return [
            (self._global(i), d, r)
            for i, d, r in self.index.foreign_search(kind, queries, max_distance)
        ]

    def _scores(self, query: Any) -> tuple[np.ndarray, np.ndarray]:
        """``FeatureSearcher._scores`` with the whole source's frequencies and norms: the
        same operations in the same order, so the same floats (global ids, not rows)."""

        none = (np.zeros(0, np.int64), np.zeros(0))
        stats = self._stats
        if stats is None or self._norms is None or not self.index.has_features():
            return none
        searcher = self.index.feature_searcher()
        n = stats.photos
        from revimg.index import feature_search

        words = feature_search.words_of(query.descriptors)
        if not len(words) or not n or not len(searcher):
            return none
        df = stats.df_of(words)
        known = df > 0
        idf2 = np.log1p(n / np.maximum(df[known], 1).astype(np.float64)) ** 2
        q_norm = math.sqrt(float(idf2.sum()) + (len(words) - len(idf2)) * math.log1p(n) ** 2)
        held, starts, lengths = searcher.lookup_held(words)
        if not int(lengths.sum()):
            return none
        weights = np.zeros(len(words))
        weights[known] = idf2
        hits = searcher.postings_of(starts, lengths)
        rows, inverse = np.unique(hits, return_inverse=True)
        sums = np.bincount(inverse, weights=np.repeat(weights[held], lengths), minlength=len(rows))
        local = np.asarray(searcher.ids, np.int64)[rows]
        return self._ids[local - 1], sums / (self._norms[rows] * q_norm)

    def candidates(
        self, query: Any, top: int = 10, *, mirrored_query: Any = None
    ) -> list[tuple[int, float]]:
        """``FeatureSearcher.candidates`` over this shard's photos, scored globally."""
        mirrored = self._scores(mirrored_query) if mirrored_query is not None else None
        from revimg.index import feature_search

        return feature_search.ranked(self._scores(query), mirrored, top)


def _load_array(path: Path, what: str, rows: int | None = None) -> np.ndarray:
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        reason = "missing" if not path.exists() else f"unreadable ({type(exc).__name__})"
        raise IndexUnusable(f"{path}: {what} is {reason}: split the index again") from None
    if array.ndim != 1 or (rows is not None and len(array) != rows):
        raise IndexUnusable(f"{path}: {what} does not fit its shard: split the index again")
    return np.asarray(array)


# -- the shard set, as one index ---------------------------------------------------------------


def read_manifest(location: str | Path) -> dict[str, Any]:
    """The manifest of the shard set at ``location``.

    Raises:
        IndexUnusable: it is missing, unreadable or not a revimg shard manifest.
    """
    path = Path(location).expanduser() / MANIFEST_NAME
    try:
        found = json.loads(path.read_text("utf-8"))
        if found["format"] != FORMAT:
            raise ValueError("not a revimg shard manifest")
        if found["version"] != VERSION:
            raise ValueError(f"version {found['version']}, this revimg reads {VERSION}")
        shards = found["shards"]
        if len(shards) != found["parts"] or not all(
            isinstance(s["folder"], str) and isinstance(s["entries"], int) for s in shards
        ):
            raise ValueError("its shard list does not match its parts")
    except FileNotFoundError:
        raise IndexUnusable(
            f"{path}: the shard manifest is missing (an unfinished split?): split the index again"
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexUnusable(
            f"{path}: the shard manifest is damaged ({exc}): split the index again"
        ) from None
    return dict(found)


def open_shard(folder: Path, listed: dict[str, Any], stats: FeatureStats | None) -> Shard:
    """One shard of a set, checked against what the manifest says of it."""
    path = folder / listed["folder"]
    if listed["folder"] != path.name or not path.is_dir():
        raise IndexUnusable(f"{path}: a shard of this set is missing: split the index again")
    try:
        index = open_index(path)
    except IndexMissing:
        raise IndexUnusable(
            f"{path}: a shard of this set has no index: split the index again"
        ) from None
    try:
        if index.stamp() != listed["stamp"] or index.count() != listed["entries"]:
            raise IndexUnusable(
                f"{path}: the shard changed since the split (a shard set is read-only): "
                "split the index again"
            )
        ids = _load_array(path / IDS_NAME, "its id map", listed["entries"])
        norms = None
        if stats is not None:
            norms = _load_array(path / NORMS_NAME, "its feature norms", index.feature_count())
        return Shard(index, ids, norms, stats)
    except BaseException:
        index.close()
        raise


class ShardedIndex:
    """A shard set searched as one index (``IndexBackend``): read-only."""

    def __init__(self, location: str, manifest: dict[str, Any], shards: list[Shard]) -> None:
        self.location = location
        self.manifest = manifest
        self.shards = shards

    @classmethod
    def open(cls, location: str | Path) -> ShardedIndex:
        """Open the shard set at ``location`` (raises ``IndexUnusable`` naming what is wrong)."""
        folder = Path(location).expanduser()
        manifest = read_manifest(folder)
        stats = read_feature_stats(folder, manifest)
        shards: list[Shard] = []
        try:
            for listed in manifest["shards"]:
                shards.append(open_shard(folder, listed, stats))
        except BaseException:
            for s in shards:
                s.close()
            raise
        return cls(str(folder), manifest, shards)

    def __enter__(self) -> ShardedIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for s in self.shards:
            s.close()

    # reading: every shard asked, answers merged

    def search(self, queries: np.ndarray, max_distance: int) -> list[search.Hit]:
        return [h for s in self.shards for h in s.search(queries, max_distance)]

    def by_sha256(self, sha256: str) -> list[Entry]:
        return sorted((e for s in self.shards for e in s.by_sha256(sha256)), key=lambda e: e.id)

    def get(self, ids: Iterable[int]) -> dict[int, Entry]:
        wanted = list(ids)
        return {i: e for s in self.shards for i, e in s.get(wanted).items()}

    def features_of(self, ids: Iterable[int]) -> dict[int, Any]:
        wanted = list(ids)
        return {i: f for s in self.shards for i, f in s.features_of(wanted).items()}

    def foreign_kinds(self) -> tuple[str, ...]:
        return tuple(sorted({k for s in self.shards for k in s.index.foreign_kinds()}))

    def foreign_search(
        self, kind: str, queries: np.ndarray, max_distance: int
    ) -> list[tuple[int, int, int]]:
        return [h for s in self.shards for h in s.foreign_search(kind, queries, max_distance)]

    def has_features(self) -> bool:
        return any(s.index.has_features() for s in self.shards)

    def feature_count(self) -> int:
        return sum(s.index.feature_count() for s in self.shards)

    def feature_searcher(self) -> MergedSearcher:
        return MergedSearcher(self.shards)

    def entries(self) -> Iterator[Entry]:
        """Every entry, in the source's id order."""
        import heapq

        yield from heapq.merge(*(s.entries() for s in self.shards), key=lambda e: e.id)

    def file_states(self) -> dict[str, tuple[int, int]]:
        return {p: st for s in self.shards for p, st in s.index.file_states().items()}

    def rebuild_search_files(self) -> None:
        for s in self.shards:
            s.index.rebuild_search_files()

    def shared_search_files(self) -> bool:
        return False  # batch-check workers hash; this process searches the shards

    def stamp(self) -> str:
        """The split's own stamp: the source's state, and when it was split."""
        return f"{self.manifest['source']['stamp']}@{self.manifest['created']!r}"

    def info(self) -> dict[str, Any]:
        infos = [s.index.info() for s in self.shards]
        origins: dict[str, int] = {}
        for i in infos:
            for k, v in i["by_origin"].items():
                origins[k] = origins.get(k, 0) + v
        return {
            "location": self.location,
            "shards": len(self.shards),
            "source": self.manifest["source"],
            "entries": sum(i["entries"] for i in infos),
            "by_origin": origins,
            "local_features": sum(i["local_features"] for i in infos),
            "size_bytes": sum(i["size_bytes"] for i in infos),
            "per_shard": [
                {"location": i["location"], "entries": i["entries"], "size_bytes": i["size_bytes"]}
                for i in infos
            ],
        }

    # writing: refused

    def _read_only(self, *args: Any, **kwargs: Any) -> Any:
        raise IndexUnusable(f"{self.location}: a shard set is read-only", remedy="reshard")

    put_file = put_bank_entry = merge_meta_by_path = remove = remove_each = _read_only


class MergedSearcher:
    """Local-feature candidates over every shard: each shard's best, scored globally."""

    def __init__(self, shards: list[Shard]) -> None:
        self._shards = shards

    def __len__(self) -> int:
        return sum(s.index.feature_count() for s in self._shards)

    def candidates(
        self, query: Any, top: int = 10, *, mirrored_query: Any = None
    ) -> list[tuple[int, float]]:
        found = [
            c for s in self._shards for c in s.candidates(query, top, mirrored_query=mirrored_query)
        ]
        return sorted(found, key=lambda c: (-c[1], c[0]))[:top]


def read_feature_stats(folder: Path, manifest: dict[str, Any]) -> FeatureStats | None:
    """The source's word frequencies saved beside the shards (None: it had no features)."""
    photos = manifest.get("feature_photos", 0)
    if not isinstance(photos, int) or photos < 0:
        raise IndexUnusable(f"{folder / MANIFEST_NAME}: the shard manifest is damaged")
    if not photos:
        return None
    words = _load_array(folder / WORDS_NAME, "the shard set's word list")
    df = _load_array(folder / DF_NAME, "the shard set's word frequencies", len(words))
    return FeatureStats(photos, words, df)


def is_shard_set(location: str | Path) -> bool:
    """Whether ``location`` holds a shard set (or the remains of an unfinished split)."""
    folder = Path(location).expanduser()
    return (folder / MANIFEST_NAME).exists() or (
        folder.is_dir() and (folder / shard_folder(0)).is_dir()
    )


def open_any(location: str | Path, *, create: bool = False) -> Any:
    """The index at ``location``: a shard set when it holds one, else a plain index.

    Raises:
        IndexUnusable: a damaged shard set, or ``create`` asked of a shard set.
        IndexMissing: no index there (and not ``create``).
    """
    if is_shard_set(location):
        if create:
            raise IndexUnusable(f"{location}: a shard set is read-only", remedy="reshard")
        return ShardedIndex.open(location)
    return open_index(location, create=create)
