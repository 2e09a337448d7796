"""Batch checks against a shard set on a Dask cluster (the ``dask`` extra).

:func:`check_sharded` hashes the photos on the workers, then sends each batch of query
hashes to every shard in one task. A shard is opened once per worker and kept open (its
search files stay mapped) in worker-local state: the task of shard k goes to worker
``k mod workers`` by preference, and any other worker opens the shard itself if that one
is gone (so Dask's own retries apply). Each shard answers every query of the batch with
all a check can ask of it (:class:`Answer`); the client merges the answers and runs the
ordinary check (``matching.find_matches``) on them, so the results are those of
``revimg check --index SHARDS`` and of the unsharded index, in input order.

The shard set must be on a path every worker sees; the client need not see it. Local
feature verification runs on the client, on the candidates the shards sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from revimg.errors import IndexUnusable
from revimg.imaging import foreign
from revimg.imaging.hashing import MIN_QUALITY, QueryHashes
from revimg.imaging.photo import Photo
from revimg.index.backend import Entry
from revimg.index.search import Hit
from revimg.index.shards import Shard, open_shard, read_feature_stats, read_manifest
from revimg.matching.find import (
    DEFAULT_THRESHOLD,
    DEFAULT_TOP,
    FEATURE_CANDIDATES,
    max_distance_for,
)
from revimg.matching.result import CheckResult

#: Queries sent to the shards in one task each.
BATCH = 256


@dataclass(frozen=True)
class Ask:
    """What a check asks a shard about one query (no pixels)."""

    sha256: str
    pdq: np.ndarray | None  # the query's PDQ variants, None when too flat to search
    pdq_limit: int
    foreign: dict[str, tuple[np.ndarray, int]]  # kind -> (variants, limit)
    looks: list[tuple[Any, Any]]  # local features and their mirror, per look
    feature_top: int


@dataclass
class Answer:
    """A shard's (or the merged) answer to one :class:`Ask`, in the source's ids."""

    exact: list[Entry] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    foreign: dict[str, list[tuple[int, int, int]]] = field(default_factory=dict)
    candidates: list[list[tuple[int, float]]] = field(default_factory=list)
    entries: dict[int, Entry] = field(default_factory=dict)
    features: dict[int, Any] = field(default_factory=dict)


def answer(shard: Shard, asks: Sequence[Ask]) -> list[Answer]:
    """One shard's answers to a batch of queries."""
    has_features = shard.index.has_features()
    out = []
    for ask in asks:
        a = Answer(exact=shard.by_sha256(ask.sha256))
        if ask.pdq is not None:
            a.hits = shard.search(ask.pdq, ask.pdq_limit)
        for kind, (variants, limit) in ask.foreign.items():
            a.foreign[kind] = shard.foreign_search(kind, variants, limit)
        wanted = {h.image_id for h in a.hits} | {i for f in a.foreign.values() for i, _, _ in f}
        for features, mirrored in ask.looks if has_features else []:
            found = shard.candidates(features, ask.feature_top, mirrored_query=mirrored)
            a.candidates.append(found)
        if a.candidates:
            ids = {i for found in a.candidates for i, _ in found}
            a.features = shard.features_of(ids)
            wanted |= ids
        a.entries = shard.get(wanted)
        out.append(a)
    return out


def merge(answers: Iterable[Answer], looks: int) -> Answer:
    """The answers of every shard to one query, as one."""
    merged = Answer(candidates=[[] for _ in range(looks)])
    for a in answers:
        merged.exact += a.exact
        merged.hits += a.hits
        for kind, found in a.foreign.items():
            merged.foreign.setdefault(kind, []).extend(found)
        for at, found in enumerate(a.candidates):
            merged.candidates[at] += found
        merged.entries.update(a.entries)
        merged.features.update(a.features)
    merged.exact.sort(key=lambda e: e.id)
    return merged


class Answered:
    """An ``IndexBackend`` for ONE query that serves the merged answers of the shards."""

    def __init__(self, location: str, query: QueryHashes, ask: Ask, got: Answer) -> None:
        self.location = location
        self._ask = ask
        self._got = got
        self._looks = {id(f): at for at, (f, _) in enumerate(ask.looks)}

    def by_sha256(self, sha256: str) -> list[Entry]:
        return list(self._got.exact)

    def search(self, queries: np.ndarray, max_distance: int) -> list[Hit]:
        self._expect(max_distance == self._ask.pdq_limit)
        return list(self._got.hits)

    def get(self, ids: Iterable[int]) -> dict[int, Entry]:
        entries = self._got.entries
        exact = {e.id: e for e in self._got.exact}
        return {i: entries.get(i) or exact[i] for i in ids if i in entries or i in exact}

    def has_features(self) -> bool:
        return bool(self._ask.looks)

    def feature_searcher(self) -> Answered:
        return self

    def candidates(
        self, query: Any, top: int = 10, *, mirrored_query: Any = None
    ) -> list[tuple[int, float]]:
        at = self._looks.get(id(query))
        self._expect(at is not None and top == self._ask.feature_top)
        found = self._got.candidates[at] if at is not None and self._got.candidates else []
        return sorted(found, key=lambda c: (-c[1], c[0]))[:top]

    def features_of(self, ids: Iterable[int]) -> dict[int, Any]:
        return {i: self._got.features[i] for i in ids if i in self._got.features}

    def foreign_kinds(self) -> tuple[str, ...]:
        return tuple(sorted(self._ask.foreign))

    def foreign_search(
        self, kind: str, queries: np.ndarray, max_distance: int
    ) -> list[tuple[int, int, int]]:
        self._expect(kind in self._ask.foreign and self._ask.foreign[kind][1] == max_distance)
        return list(self._got.foreign.get(kind, []))

    def rebuild_search_files(self) -> None:
        raise IndexUnusable(
            f"{self.location}: a shard's search files disagree with its database: check once "
            "without the cluster on a machine that can write the shards, or split again"
        )

    def _expect(self, ok: bool) -> None:
        if not ok:  # the check asked what was not prepared: a bug, not bad input
            raise RuntimeError("shards_dask: the check asked for an answer not prepared")


def ask_of(query: QueryHashes, threshold: float, has_features: bool) -> Ask:
    """What a check of ``query`` asks of the shards (as ``matching.find_matches`` asks)."""
    foreign_asks = {}
    if query.foreign and query.hashes.pdq_quality >= MIN_QUALITY:
        foreign_asks = {
            kind: (variants, foreign.max_distance_for(kind, threshold))
            for kind, variants in query.foreign.items()
        }
    looks = [(query.features, query.mirrored_features)]
    looks += [(r.features, r.mirrored_features) for r in query.regions]
    return Ask(
        sha256=query.hashes.sha256,
        pdq=query.pdq_variants if query.searchable_views() else None,
        pdq_limit=max_distance_for(threshold),
        foreign=foreign_asks,
        looks=[(f, m) for f, m in looks if f is not None and len(f)] if has_features else [],
        feature_top=FEATURE_CANDIDATES,
    )


# -- on the workers ---------------------------------------------------------------------------

#: Shards this worker process has open: (location, created, number) -> shard.
_OPEN: dict[tuple[str, float, int], Shard] = {}


def _shard(location: str, created: float, number: int) -> Shard:
    key = (location, created, number)
    if key not in _OPEN:
        folder = Path(location)
        manifest = read_manifest(folder)
        if manifest["created"] != created:
            raise IndexUnusable(f"{location}: the shard set was split again during the check")
        stats = read_feature_stats(folder, manifest)
        _OPEN[key] = open_shard(folder, manifest["shards"][number], stats)
    return _OPEN[key]


def _answer_task(location: str, created: float, number: int, asks: list[Ask]) -> list[Answer]:
    return answer(_shard(location, created, number), asks)


def _describe(location: str) -> tuple[dict[str, Any], bool, tuple[str, ...]]:
    """The manifest, whether any shard has local features, and the foreign hash kinds."""
    manifest = read_manifest(location)
    shards = [
        _shard(location, manifest["created"], k) for k in range(len(manifest["shards"]))
    ]  # opened here too: every shard is checked before any photo is hashed
    kinds = sorted({k for s in shards for k in s.index.foreign_kinds()})
    return manifest, any(s.index.has_features() for s in shards), tuple(kinds)


# -- on the client ----------------------------------------------------------------------------


def check_sharded(
    client: Any,
    location: str | Path,
    photos: Iterable[str | Path | bytes | Photo],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    top: int = DEFAULT_TOP,
) -> list[CheckResult]:
    """Check photos against the shard set at ``location`` on ``client``'s cluster.

    Args:
        client: a ``distributed.Client``.
        location: the shard set's folder, as the workers see it.
        photos: paths the workers can read, photo bytes, or ``Photo`` objects.

    Returns one ``CheckResult`` per photo, in input order (equal to a local check).

    Raises:
        IndexUnusable: the shard set is missing or damaged (the message names what).
    """
    return list(iter_check_sharded(client, location, photos, threshold=threshold, top=top))


def iter_check_sharded(
    client: Any,
    location: str | Path,
    photos: Iterable[str | Path | bytes | Photo],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    top: int = DEFAULT_TOP,
) -> Iterator[CheckResult]:
    """:func:`check_sharded`, one result at a time, in input order."""
    from revimg.matching.checker import hash_for_query, result_of

    where = str(Path(location).expanduser())
    sources = [_source(i, p) for i, p in enumerate(photos)]
    manifest, has_features, kinds = client.submit(_describe, where, pure=False).result()
    created, parts = manifest["created"], len(manifest["shards"])
    workers = sorted(client.scheduler_info()["workers"])
    hashed = client.map(
        hash_for_query,
        sources,
        with_features=has_features,
        foreign_kinds=kinds,
        pure=False,
    )
    for start in range(0, len(sources), BATCH):
        done = client.gather(hashed[start : start + BATCH])
        queries = [(i, h[1]) for i, h in enumerate(done) if h[1] is not None]
        asks = [ask_of(q, threshold, has_features) for _, q in queries]
        sent = client.scatter([asks], hash=False)[0] if asks else None
        futures = (
            [
                client.submit(
                    _answer_task,
                    where,
                    created,
                    k,
                    sent,
                    workers=[workers[k % len(workers)]] if workers else None,
                    allow_other_workers=True,
                    pure=False,
                )
                for k in range(parts)
            ]
            if asks
            else []
        )
        per_shard = client.gather(futures) if futures else []
        merged: dict[int, Answered] = {}
        for at, ((i, query), ask) in enumerate(zip(queries, asks, strict=True)):
            got = merge((answers[at] for answers in per_shard), len(ask.looks))
            merged[i] = Answered(where, query, ask, got)
        for i, h in enumerate(done):
            yield result_of(merged.get(i), *h, threshold, top)


def _source(i: int, photo: str | Path | bytes | Photo) -> Photo:
    if isinstance(photo, Photo):
        return photo
    if isinstance(photo, bytes):
        return Photo(f"<photo {i + 1} (bytes)>", data=photo)
    return Photo(str(photo), path=Path(photo))
