"""What an index is: its files, its entries, and the interface matching reads it through."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from revimg.imaging.hashing import View

if TYPE_CHECKING:  # OpenCV is imported by the searches that need it, not by every index
    from revimg.imaging.features import Features
    from revimg.index.search import Hit

DB_NAME = "index.sqlite"
CACHE_NAME = "search.bin"
MIH_NAME = "search.mih"
FEATURES_NAME = "features.bin"
#: The 64-bit hashes other tools made (``revimg.imaging.foreign``), as arrays for a linear scan.
FOREIGN_NAME = "foreign.npz"
#: The PDQ stored for an entry that has only a 64-bit hash of another tool: never searched
#: (its quality is 0, below ``MIN_QUALITY``); the entry is matched through ``foreign_hashes``.
NO_PDQ = bytes(32)
#: View code 0 is the whole photo; others index into ``VIEW_NAMES``.
VIEW_NAMES: tuple[str, ...] = ("full", "centre-square")


@dataclass(slots=True)
class Entry:
    """One indexed photo (no pixels): where it came from, its hashes and metadata.

    Not frozen: a frozen dataclass costs 5x more to build, which a bank of ten million
    entries feels; treat entries as values all the same.
    """

    id: int
    name: str
    path: str | None
    origin: str
    sha256: str | None
    width: int | None
    height: int | None
    pdq: bytes
    pdq_quality: int
    phash: bytes | None
    meta: dict[str, Any] = field(default_factory=dict)
    views: tuple[View, ...] = ()
    #: For an entry imported from another tool's hash list: (kind, 8 hash bytes), such as
    #: ("phash", ...); its ``pdq`` is ``NO_PDQ`` and its ``pdq_quality`` 0 (imaging.foreign).
    foreign: tuple[str, bytes] | None = None


@dataclass(frozen=True, slots=True)
class PlainBankBatch:
    """Bank entries that are a bare PDQ hash and a name (one origin, one quality), parsed
    in bulk: the bulk of big hash lists, with no ``Entry`` built per line."""

    origin: str
    names: list[str]
    pdqs: list[bytes]
    quality: int


@dataclass(frozen=True, slots=True)
class BankSource:
    """A hash bank imported from a URL: where it came from and what its server said."""

    url: str
    origin: str
    etag: str | None
    last_modified: str | None
    sha256: str | None
    fetched: float
    entries: int


class FeatureCandidates(Protocol):
    """Retrieval over local features: ``revimg.index.feature_search``'s searchers."""

    def __len__(self) -> int: ...
    def candidates(
        self, query: Features, top: int = 10, *, mirrored_query: Features | None = None
    ) -> list[tuple[int, float]]: ...


class IndexBackend(Protocol):
    """What a check reads from an index (``revimg.matching``): ``SQLiteIndex`` is the
    built-in engine, ``revimg.index.shards.ShardedIndex`` searches shard indexes as one.

    Writing (builds, banks) is ``SQLiteIndex``'s own: it is the one index that is written.
    """

    location: str

    def get(self, ids: Iterable[int]) -> dict[int, Entry]: ...
    def search(self, queries: np.ndarray, max_distance: int) -> list[Hit]: ...
    def has_features(self) -> bool: ...
    def feature_searcher(self) -> FeatureCandidates: ...
    def features_of(self, ids: Iterable[int]) -> dict[int, Features]: ...
    def foreign_kinds(self) -> tuple[str, ...]: ...
    def foreign_search(
        self, kind: str, queries: np.ndarray, max_distance: int
    ) -> list[tuple[int, int, int]]: ...
    def rebuild_search_files(self) -> None: ...
    def shared_search_files(self) -> bool: ...
    def stamp(self) -> str: ...
    def close(self) -> None: ...
