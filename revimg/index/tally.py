"""What an index holds, counted as it changes: answered without reading every row.

``SELECT count(*)`` walks every page of a table; the features table alone is 15 KB a
photo, so counting it at a library of 1e5 photos read 1.6 GB. Instead, every write adds
what it changed to a :class:`Tally`, which is stored in the ``meta`` table (key
``counts``) in the same transaction, labelled with that write's token. A tally whose
label is not the database's current write token (an index written by an older revimg,
or never counted) is not trusted: reads count the rows instead, and the next write
stores a fresh count.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

KEY = "counts"
#: Writes that only added photos with features, remembered since the last other change
#: of the features table: a features file built after any of them is extended, not rebuilt.
APPENDS_KEPT = 32
#: Photos with features removed since the last other change of the features table that a
#: features file built before them tolerates (a check asks it for as many more candidates
#: and drops the ids that are gone); one more removal rebuilds the file.
REMOVALS_KEPT = 256


@dataclass
class Tally:
    """Rows of an index: photos, photos with local features, low-quality photos, photos
    per origin and views per name."""

    images: int = 0
    features: int = 0
    low: int = 0
    origins: Counter[str] = field(default_factory=Counter)
    views: Counter[str] = field(default_factory=Counter)
    #: The token of the last write that changed the features table other than by adding
    #: photos or removing a few (replaced features, too many removals), then the tokens of
    #: the writes since that added or removed: the states a features file can be extended
    #: from.
    features_base: str = ""
    features_appends: list[str] = field(default_factory=list)
    #: Photos with features removed since ``features_base`` (their rows may still be in a
    #: features file built before: a search drops them).
    features_removed: int = 0
    #: In a write's delta: the highest id left after it removed the highest ids (-1: none).
    features_floor: int = -1
    #: ``[token, floor]`` of each write since the base that removed the highest ids: ids
    #: above ``floor`` can be given again to photos added after it, so a features file
    #: built before that write reads those from the database, beside its own rows.
    features_floors: list[list[Any]] = field(default_factory=list)
    #: In a write's delta: it added features to new photos / changed others.
    features_added: bool = False
    features_changed: bool = False
    #: Hashes other tools made (revimg.imaging.foreign), per kind.
    foreign: Counter[str] = field(default_factory=Counter)

    def add(self, other: Tally, sign: int = 1) -> None:
        """Add ``other`` (``sign`` -1: take it away)."""
        self.images += sign * other.images
        self.features += sign * other.features
        self.low += sign * other.low
        for name, n in other.origins.items():
            self.origins[name] += sign * n
        for name, n in other.views.items():
            self.views[name] += sign * n
        for name, n in other.foreign.items():
            self.foreign[name] += sign * n
        self.features_added |= other.features_added
        self.features_changed |= other.features_changed

    def floor_for(self, label: str) -> int | None:
        """The lowest id above which a features file labelled ``label`` may hold stale
        rows of ids given again since (None: it holds none)."""
        labels = self.features_labels()
        if label not in labels:
            return None
        at = labels.index(label)
        later = [f for t, f in self.features_floors if t in labels and labels.index(t) > at]
        return min(later) if later else None

    def features_labels(self) -> list[str]:
        """The features states, oldest first, that the current one extends by additions."""
        return [self.features_base, *self.features_appends] if self.features_base else []

    def moved_on(self, delta: Tally, token: str) -> None:
        """Record write ``token``'s changes to the features table."""
        removed = self.features_removed + delta.features_removed
        if delta.features_changed or removed > REMOVALS_KEPT:
            self.features_base, self.features_appends = token, []
            self.features_removed, self.features_floors = 0, []
        elif delta.features_added or delta.features_removed:
            self.features_appends = [*self.features_appends, token][-APPENDS_KEPT:]
            self.features_removed = removed
            if delta.features_floor >= 0:
                self.features_floors.append([token, delta.features_floor])
            kept = set(self.features_appends)  # older files cannot be extended anyway
            self.features_floors = [f for f in self.features_floors if f[0] in kept]

    def as_dict(self) -> dict[str, object]:
        return {
            "images": self.images,
            "features": self.features,
            "low": self.low,
            "origins": {k: v for k, v in sorted(self.origins.items()) if v},
            "views": {k: v for k, v in sorted(self.views.items()) if v},
            "foreign": {k: v for k, v in sorted(self.foreign.items()) if v},
        }


def _counter(value: object) -> Counter[str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and type(v) is int and v >= 0 for k, v in value.items()
    ):
        raise ValueError("not a count per name")
    return Counter(value)


def stored(conn: sqlite3.Connection, token: str) -> Tally | None:
    """The stored tally if it was written with ``token`` (and is well formed), else None."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (KEY,)).fetchone()
    if row is None:
        return None
    try:
        data = json.loads(row[0])
        if not isinstance(data, dict) or data.get("token") != token:
            return None
        numbers = [data["images"], data["features"], data["low"]]
        if not all(type(n) is int and n >= 0 for n in numbers):
            return None
        base, appends = data["features_base"], data["features_appends"]
        if not isinstance(base, str) or not (
            isinstance(appends, list) and all(isinstance(a, str) for a in appends)
        ):
            return None
        removed, floors = data["features_removed"], data["features_floors"]
        if type(removed) is not int or removed < 0 or not isinstance(floors, list):
            return None
        if not all(
            isinstance(f, list)
            and len(f) == 2
            and isinstance(f[0], str)
            and type(f[1]) is int
            and f[1] >= 0
            for f in floors
        ):
            return None
        return Tally(
            *numbers,
            _counter(data["origins"]),
            _counter(data["views"]),
            base,
            appends,
            removed,
            features_floors=floors,
            foreign=_counter(data["foreign"]),
        )
    except (ValueError, KeyError, TypeError):
        return None


def store(conn: sqlite3.Connection, tally: Tally, token: str) -> None:
    """Write ``tally``, labelled with the write ``token`` it belongs to."""
    data = {
        "token": token,
        **tally.as_dict(),
        "features_base": tally.features_base,
        "features_appends": tally.features_appends,
        "features_removed": tally.features_removed,
        "features_floors": tally.features_floors,
    }
    value = json.dumps(data, sort_keys=True)
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (KEY, value))


def scan(conn: sqlite3.Connection, min_quality: int) -> Tally:
    """Count every row (once, for an index without a trusted tally)."""
    tally = Tally()
    tally.images = int(conn.execute("SELECT count(*) FROM images").fetchone()[0])
    tally.features = int(conn.execute("SELECT count(*) FROM features").fetchone()[0])
    tally.low = int(
        conn.execute(
            "SELECT count(*) FROM images WHERE pdq_quality < ?", (min_quality,)
        ).fetchone()[0]
    )
    tally.origins.update(
        dict(conn.execute("SELECT origin, count(*) FROM images GROUP BY origin").fetchall())
    )
    tally.views.update(
        dict(conn.execute("SELECT name, count(*) FROM views GROUP BY name").fetchall())
    )
    tally.foreign.update(
        dict(conn.execute("SELECT kind, count(*) FROM foreign_hashes GROUP BY kind").fetchall())
    )
    return tally


def of_ids(conn: sqlite3.Connection, ids: Iterable[int], min_quality: int) -> Tally:
    """The rows of these photos (a few: each is looked up by its key)."""
    tally = Tally()
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for origin, n, low in conn.execute(
            f"SELECT origin, count(*), sum(pdq_quality < ?) FROM images WHERE id IN ({marks})"
            " GROUP BY origin",
            (min_quality, *chunk),
        ):
            tally.images += n
            tally.low += int(low or 0)
            tally.origins[origin] += n
        tally.features += int(
            conn.execute(
                f"SELECT count(*) FROM features WHERE image_id IN ({marks})", chunk
            ).fetchone()[0]
        )
        for name, n in conn.execute(
            f"SELECT name, count(*) FROM views WHERE image_id IN ({marks}) GROUP BY name", chunk
        ):
            tally.views[name] += n
        for kind, n in conn.execute(
            f"SELECT kind, count(*) FROM foreign_hashes WHERE image_id IN ({marks}) GROUP BY kind",
            chunk,
        ):
            tally.foreign[kind] += n
    return tally


def of_new_rows(conn: sqlite3.Connection, after_id: int, min_quality: int) -> Tally:
    """The photos with ids above ``after_id`` (the rows a bank batch just added; banks
    rows have no views or features)."""
    tally = Tally()
    for origin, n, low in conn.execute(
        "SELECT origin, count(*), sum(pdq_quality < ?) FROM images WHERE id > ? GROUP BY origin",
        (min_quality, after_id),
    ):
        tally.images += n
        tally.low += int(low or 0)
        tally.origins[origin] += n
    return tally


def of_plain(origin: str, added: int, low: int) -> Tally:
    """``added`` bank rows of one origin, ``low`` of them below the quality floor."""
    return Tally(images=added, low=low, origins=Counter({origin: added}))
