"""The embedded index: photos' hashes and metadata in SQLite, searched from a mapped array.

An index is a folder holding ``index.sqlite`` (WAL mode; the source of truth) and
``search.bin`` (the searchable rows, rebuilt from SQLite whenever its generation number
falls behind). ``Index`` is the interface matching and the CLI use; another engine (a
server for indexes that outgrow one machine) would implement the same methods.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import itertools
import json
import sqlite3
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

from revimg import holdpoints
from revimg.errors import IndexMissing, IndexUnusable, RevimgError
from revimg.files import replacing
from revimg.imaging.hashing import MIN_QUALITY, ImageHashes, View
from revimg.index import mih, search, tally

_T = TypeVar("_T")
DB_NAME = "index.sqlite"
CACHE_NAME = "search.bin"
MIH_NAME = "search.mih"
FEATURES_NAME = "features.bin"
#: The 64-bit hashes other tools made (``revimg.imaging.foreign``), as arrays for a linear scan.
FOREIGN_NAME = "foreign.npz"
#: The PDQ stored for an entry that has only a 64-bit hash of another tool: never searched
#: (its quality is 0, below ``MIN_QUALITY``); the entry is matched through ``foreign_hashes``.
NO_PDQ = bytes(32)
#: From this many searchable rows on, searches go through multi-index hashing, not a scan.
MIH_MIN_ROWS = 100_000
#: View code 0 is the whole photo; others index into ``VIEW_NAMES``.
VIEW_NAMES: tuple[str, ...] = ("full", "centre-square")
BUSY_TIMEOUT_MS = 30_000
#: Photos added since the features file was built that a check reads from the database
#: (an extension in memory); more, and the file is built again.
FEATURES_EXTENSION_MAX = 64
#: Rows read from SQLite per step when the search file is rebuilt.
_LOAD_CHUNK = 100_000
#: SQLite's page cache limit (KiB): 256 MB, and 1 GB while a bank streams in, so that the
#: key index of a ten-million-entry bank stays in memory (pages are taken only as needed).
CACHE_KB = 262_144
BULK_CACHE_KB = 1_048_576


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


class IndexBackend(Protocol):
    """What matching and the CLI need from an index; SQLite is the built-in engine."""

    location: str

    def file_states(self) -> dict[str, tuple[int, int]]: ...
    def put_file(
        self,
        path: str,
        name: str,
        size: int,
        mtime_ns: int,
        hashes: ImageHashes,
        meta: dict[str, Any] | None = None,
    ) -> str: ...
    def put_bank_entry(self, entry: Entry) -> str: ...
    def merge_meta_by_path(self, items: Iterable[tuple[str, dict[str, Any]]]) -> int: ...
    def feature_count(self) -> int: ...
    def has_features(self) -> bool: ...
    def feature_searcher(self) -> Any: ...
    def features_of(self, ids: Iterable[int]) -> dict[int, Any]: ...
    def remove(self, paths: Iterable[str]) -> int: ...
    def remove_each(self, groups: Iterable[Iterable[str]]) -> list[int]: ...
    def entries(self) -> Iterator[Entry]: ...
    def get(self, ids: Iterable[int]) -> dict[int, Entry]: ...
    def by_sha256(self, sha256: str) -> list[Entry]: ...
    def search(self, queries: np.ndarray, max_distance: int) -> list[search.Hit]: ...
    def foreign_kinds(self) -> tuple[str, ...]: ...
    def foreign_search(
        self, kind: str, queries: np.ndarray, max_distance: int
    ) -> list[tuple[int, int, int]]: ...
    def rebuild_search_files(self) -> None: ...
    def shared_search_files(self) -> bool: ...
    def info(self) -> dict[str, Any]: ...
    def close(self) -> None: ...


_MIGRATIONS: tuple[str, ...] = (
    # 1: the first schema
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE images (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        path TEXT,
        name TEXT NOT NULL,
        origin TEXT NOT NULL,
        size INTEGER,
        mtime_ns INTEGER,
        sha256 TEXT,
        width INTEGER,
        height INTEGER,
        pdq BLOB NOT NULL CHECK (length(pdq) = 32),
        pdq_quality INTEGER NOT NULL,
        phash BLOB CHECK (phash IS NULL OR length(phash) = 8),
        meta TEXT NOT NULL DEFAULT '{}',
        added REAL NOT NULL,
        updated REAL NOT NULL
    );
    CREATE INDEX images_sha256 ON images (sha256);
    CREATE TABLE views (
        image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        box TEXT NOT NULL,
        pdq BLOB NOT NULL CHECK (length(pdq) = 32),
        quality INTEGER NOT NULL,
        PRIMARY KEY (image_id, name)
    );
    """,
    # 2: local features (ORB keypoints) of locally indexed photos, for the crop-robust stage
    """
    CREATE TABLE features (
        image_id INTEGER PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,
        blob BLOB NOT NULL
    );
    -- photos indexed before this version have no features: the next build rehashes them
    UPDATE images SET mtime_ns = -1 WHERE path IS NOT NULL;
    """,
    # 3: compact keys for bank entries without a SHA-256 (a digest of hash and name, not
    # 70 to 100 characters of text): a ten-million-entry bank's key index shrinks by two thirds
    """
    UPDATE images SET key = revimg_bank_key(pdq, name)
        WHERE path IS NULL AND sha256 IS NULL AND key LIKE 'bank:%';
    """,
    # 4: the SHA-256 index leaves out entries without one (hash-list entries): a bank import
    # no longer writes an index entry per row for nothing (about 1.2 us a row)
    """
    DROP INDEX images_sha256;
    CREATE INDEX images_sha256 ON images (sha256) WHERE sha256 IS NOT NULL;
    """,
    # 5: feature blobs carry an appearance signature (imaging.appearance, blob version 2), the
    # check that tells a copy from a second photo of the same face; photos indexed before
    # this version have none (their matches rest on geometry alone): the next build rehashes
    """
    UPDATE images SET mtime_ns = -1 WHERE path IS NOT NULL;
    """,
    # 6: hash banks imported from a URL (revimg.index.bank_fetch): where each came from, what its
    # server said about it (to ask again conditionally), and the entries it holds, so that an
    # update replaces them; ``brought`` marks entries this bank added to the index (only
    # those can leave with it)
    """
    CREATE TABLE bank_sources (
        id INTEGER PRIMARY KEY,
        url TEXT NOT NULL UNIQUE,
        origin TEXT NOT NULL,
        etag TEXT,
        last_modified TEXT,
        sha256 TEXT,
        fetched REAL NOT NULL,
        entries INTEGER NOT NULL
    );
    CREATE TABLE bank_holdings (
        source_id INTEGER NOT NULL REFERENCES bank_sources (id) ON DELETE CASCADE,
        image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
        brought INTEGER NOT NULL,
        PRIMARY KEY (source_id, image_id)
    ) WITHOUT ROWID;
    CREATE INDEX bank_holdings_image ON bank_holdings (image_id);
    """,
    # 7: 64-bit hashes made by other tools (imagehash pHash; the kind is kept), imported from
    # their hash lists: one per entry, signed as SQLite integers are; such an entry's own
    # PDQ is NO_PDQ with quality 0, so the PDQ search never sees it
    """
    CREATE TABLE foreign_hashes (
        image_id INTEGER PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        hash INTEGER NOT NULL
    );
    CREATE INDEX foreign_hashes_kind ON foreign_hashes (kind);
    """,
)
SCHEMA_VERSION = len(_MIGRATIONS)


def _now() -> float:
    return time.time()


def _plain_bank_key(pdq: bytes, name: str) -> str:
    """The key of a bank entry without a SHA-256: its PDQ hash and name, digested."""
    digest = hashlib.blake2b(pdq + name.encode("utf-8", "surrogatepass"), digest_size=15)
    return "bank:" + digest.hexdigest()


def _bank_key(entry: Entry) -> str:
    if entry.sha256:
        return f"bank:{entry.sha256}"
    if entry.foreign is not None:  # the kind is part of the key: a pHash is not a dHash
        kind, value = entry.foreign
        return _plain_bank_key(kind.encode("ascii") + b":" + value, entry.name)
    return _plain_bank_key(entry.pdq, entry.name)


def _sql_text(value: str) -> str:
    """``value`` as an SQL string literal (for constants repeated on every row of a batch)."""
    if "\x00" in value:
        raise ValueError("NUL in an SQL literal")
    return "'" + value.replace("'", "''") + "'"


def _connect(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"PRAGMA cache_size = -{CACHE_KB}")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except BaseException:
        conn.close()
        raise
    return conn


def _in_chunks(
    conn: sqlite3.Connection, sql: str, values: Iterable[Any]
) -> Iterator[tuple[Any, ...]]:
    """Rows of ``sql`` (with ``{marks}`` for an IN list) over ``values``, 500 at a time."""
    ordered = sorted(set(values))
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        yield from conn.execute(sql.format(marks=",".join("?" * len(chunk))), chunk)


_F = TypeVar("_F", bound=Callable[..., Any])


def _reads(method: _F) -> _F:
    """A method that reads the database: what a damaged database makes it raise (a table
    dropped, text that is not UTF-8, metadata that is not JSON, a generation that is not a
    number) becomes one ``IndexUnusable`` line; the database is left as it is."""

    @functools.wraps(method)
    def reading(self: SQLiteIndex, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except _DAMAGE as exc:
            raise _damaged(self.location, exc) from None

    return reading  # type: ignore[return-value]


#: What reading a damaged database raises.
_DAMAGE = (sqlite3.DatabaseError, ValueError, TypeError, KeyError)


def _damaged(location: str, exc: Exception) -> IndexUnusable:
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return IndexUnusable(
        f"{location}: the index database is damaged ({reason[:200]}); nothing "
        "was changed: rebuild it with 'revimg index build' or restore a copy"
    )


class SQLiteIndex:
    """An index folder: SQLite store plus a memory-mapped search cache."""

    def __init__(self, conn: sqlite3.Connection, folder: Path | None, location: str) -> None:
        self._conn = conn
        self._folder = folder
        self.location = location
        self._arrays: search.SearchArrays | None = None
        self._mih: mih.MultiIndex | None = None
        self._searcher: tuple[str, Any] | None = None
        self._foreign: tuple[str, dict[str, tuple[np.ndarray, np.ndarray]]] | None = None
        self._rebuilt = False  # the search files were rebuilt once by this connection
        self._delta = tally.Tally()  # what the open write transaction changed

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def open(cls, location: str | Path, *, create: bool = False) -> SQLiteIndex:
        """Open the index at ``location`` (a folder, or ``":memory:"``).

        Raises:
            IndexMissing: no index there and ``create`` is false.
            IndexUnusable: the folder cannot be created, or the database is damaged or newer.
        """
        if str(location) == ":memory:":
            conn = sqlite3.connect(":memory:", isolation_level=None)
            conn.execute("PRAGMA foreign_keys = ON")
            index = cls(conn, None, ":memory:")
            index._migrate()
            return index
        folder = Path(location).expanduser()
        db = folder / DB_NAME
        label = str(folder)
        if folder.exists() and not folder.is_dir():
            raise IndexUnusable(f"{label}: the index location must be a folder, not a file")
        if not db.exists():
            if not create:
                raise IndexMissing(label)
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise IndexUnusable(
                    f"{label}: cannot create the index folder ({exc.strerror})"
                ) from None
        if not create and _zero_bytes(db):
            raise IndexMissing(label)  # opening it would write a database header into it
        try:
            conn = _connect(db)
        except sqlite3.Error as exc:
            if "locked" in str(exc) or "busy" in str(exc):  # another revimg is setting it up
                raise IndexUnusable(_write_error(label, exc)) from None
            if not db.exists() or "readonly" not in str(exc).replace("-", ""):
                raise IndexUnusable(f"{label}: cannot open the index ({exc})") from None
            try:  # a read-only folder: search it without locking (nothing can write there)
                conn = sqlite3.connect(
                    f"{db.resolve().as_uri()}?immutable=1", uri=True, isolation_level=None
                )
            except sqlite3.Error as exc2:
                raise IndexUnusable(f"{label}: cannot open the index ({exc2})") from None
        index = cls(conn, folder, label)
        try:
            if not create and index._empty():
                # an empty database (0 bytes, or killed before its first schema): nothing to
                # read, and a command that only reads never writes one into being
                raise IndexMissing(label)
            index._migrate()
        except BaseException:
            conn.close()
            raise
        return index

    def _empty(self) -> bool:
        """True for a database without any schema yet (user_version 0 and no tables)."""
        try:
            version = self._conn.execute("PRAGMA user_version").fetchone()[0]
            tables = self._conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise IndexUnusable(
                f"{self.location}: the index database is unreadable ({exc})"
            ) from None
        return version == 0 and tables == 0

    def _migrate(self) -> None:
        conn = self._conn
        conn.isolation_level = None
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise IndexUnusable(
                    f"{self.location}: the index was written by a newer revimg "
                    f"(schema {version}, this version reads up to {SCHEMA_VERSION}); upgrade revimg"
                )
            if version == SCHEMA_VERSION:
                return
            conn.create_function("revimg_bank_key", 2, _plain_bank_key, deterministic=True)
            conn.execute("BEGIN IMMEDIATE")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            for number in range(version, SCHEMA_VERSION):
                for statement in _MIGRATIONS[number].split(";"):
                    if statement.strip():
                        conn.execute(statement)
            if version == 0:
                now = str(_now())
                conn.executemany(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                    [
                        ("created", now),
                        ("updated", now),
                        ("generation", "0"),
                        ("index_id", uuid.uuid4().hex),
                    ],
                )
            # counted once, here: every write from now on keeps the tally
            counted = tally.scan(conn, MIN_QUALITY)
            counted.features_base = uuid.uuid4().hex[:12]
            tally.store(conn, counted, self._meta("write_token") or "")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise IndexUnusable(
                f"{self.location}: the index database is unreadable ({exc})"
            ) from None

    def close(self) -> None:
        """Close the database connection."""
        self._arrays = None
        self._conn.close()

    def __enter__(self) -> SQLiteIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------------------

    def _write(self) -> _Transaction:
        return _Transaction(self)

    def _bump(self) -> None:
        counts = tally.stored(self._conn, self._meta("write_token") or "")
        token = uuid.uuid4().hex[:12]
        if counts is None:  # never counted, or written by an older revimg: count once
            counts = tally.scan(self._conn, MIN_QUALITY)
            counts.features_base = token  # and no features file extends from before
        else:
            counts.add(self._delta)
            counts.moved_on(self._delta, token)
        self._delta = tally.Tally()
        tally.store(self._conn, counts, token)
        self._conn.execute(
            "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)"
            " WHERE key = 'generation'"
        )
        from revimg.index.versions import library_versions

        self._conn.executemany(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            [
                ("updated", str(_now())),
                ("versions", json.dumps(library_versions())),
                # drawn anew by every write: binds the derived search files to this state of
                # this database (two copies of one index, written apart, never share it)
                ("write_token", token),
            ],
        )

    @_reads
    def file_states(self, paths: Iterable[str] | None = None) -> dict[str, tuple[int, int]]:
        """``path -> (size, mtime_ns)`` for every indexed local file (for incremental builds),
        or for these ``paths`` only (looked up by their keys: a few files, a few reads)."""
        if paths is not None:
            sql = "SELECT path, size, mtime_ns FROM images WHERE key IN ({marks})"
            rows = list(_in_chunks(self._conn, sql, (f"file:{p}" for p in paths)))
        else:
            rows = self._conn.execute(
                "SELECT path, size, mtime_ns FROM images WHERE path IS NOT NULL"
            ).fetchall()
        return {path: (size, mtime) for path, size, mtime in rows}

    def put_file(
        self,
        path: str,
        name: str,
        size: int,
        mtime_ns: int,
        hashes: ImageHashes,
        meta: dict[str, Any] | None = None,
    ) -> str:
        """Insert or replace a local file's entry; returns ``"added"`` or ``"updated"``."""
        with self._write():
            return self._put_file(path, name, size, mtime_ns, hashes, meta)

    def put_files(
        self, items: Iterable[tuple[str, str, int, int, ImageHashes, dict[str, Any] | None]]
    ) -> list[str]:
        """Several ``put_file`` calls in one transaction: all of them land, or none."""
        with self._write():
            return [self._put_file(*item) for item in items]

    def _put_file(
        self,
        path: str,
        name: str,
        size: int,
        mtime_ns: int,
        hashes: ImageHashes,
        meta: dict[str, Any] | None,
    ) -> str:
        conn = self._conn
        key = f"file:{path}"
        now = _now()
        row = conn.execute("SELECT id, meta FROM images WHERE key = ?", (key,)).fetchone()
        merged = json.loads(row[1]) if row else {}
        if meta:
            merged.update(meta)
        values = (
            path,
            name,
            size,
            mtime_ns,
            hashes.sha256,
            hashes.width,
            hashes.height,
            hashes.pdq,
            hashes.pdq_quality,
            hashes.phash,
            json.dumps(merged, sort_keys=True),
            now,
        )
        if row:
            image_id = row[0]
            self._delta.add(tally.of_ids(conn, [image_id], MIN_QUALITY), -1)
            self._delta.features_changed = True  # its features (if any) go or change
            conn.execute(
                "UPDATE images SET path=?, name=?, size=?, mtime_ns=?, sha256=?, width=?, height=?,"
                " pdq=?, pdq_quality=?, phash=?, meta=?, updated=? WHERE id=?",
                (*values, image_id),
            )
            conn.execute("DELETE FROM views WHERE image_id = ?", (image_id,))
            conn.execute("DELETE FROM features WHERE image_id = ?", (image_id,))
            outcome = "updated"
        else:
            cur = conn.execute(
                "INSERT INTO images (path, name, size, mtime_ns, sha256, width, height, pdq,"
                " pdq_quality, phash, meta, updated, key, origin, added)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (*values, key, "file", now),
            )
            image_id = cur.lastrowid
            outcome = "added"
        self._put_views(image_id, hashes.views)
        if hashes.features is not None:
            conn.execute(
                "INSERT INTO features (image_id, blob) VALUES (?, ?)", (image_id, hashes.features)
            )
            self._delta.features_added = True  # a new photo's id is above every other
        self._delta.add(tally.of_ids(conn, [int(image_id or 0)], MIN_QUALITY))
        return outcome

    def _put_views(self, image_id: int | None, views: Iterable[View]) -> None:
        self._conn.executemany(
            "INSERT OR REPLACE INTO views (image_id, name, box, pdq, quality) VALUES (?,?,?,?,?)",
            [
                (image_id, v.name, json.dumps(list(v.box)), v.pdq, v.quality)
                for v in views
                if v.name in VIEW_NAMES
            ],
        )

    def put_bank_entry(self, entry: Entry) -> str:
        """Merge one hash-bank entry: ``"added"``, ``"merged"`` (metadata filled) or ``"same"``."""
        return self.put_bank_entries([entry])[0]

    def put_bank_entries(self, entries: Iterable[Entry]) -> list[str]:
        """Merge many bank entries in one transaction: all of them land, or none.

        Returns one outcome per entry: ``"added"``, ``"merged"`` (metadata filled into an
        entry with the same content) or ``"same"``. An entry with a SHA-256 collapses with any
        entry of that content; one without collapses with the same hash under the same name.
        """
        batch = list(entries)
        with self._write():
            return self._put_bank_batch(batch)

    def put_bank_batches(self, batches: Iterable[list[Entry] | PlainBankBatch]) -> dict[str, int]:
        """Merge batches of bank entries in ONE transaction, holding one batch at a time.

        ``batches`` may be a generator that parses a bank as it goes: if it raises, the
        transaction is rolled back and the index is as it was. Returns outcome counts.
        """
        counts = {"added": 0, "merged": 0, "same": 0}
        self._conn.execute(f"PRAGMA cache_size = -{BULK_CACHE_KB}")
        # Into an empty index (nothing to keep for readers, nothing to undo but new pages),
        # a rollback journal writes each page once; WAL writes it twice (log, checkpoint).
        # Only when no other connection is open: else SQLite keeps WAL, and so do we.
        journal = self._conn.execute("PRAGMA journal_mode").fetchone()[0]
        if journal == "wal" and self.count() == 0:
            journal = self._conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
        try:
            with self._write():
                for batch in batches:
                    if isinstance(batch, PlainBankBatch):
                        added = self._insert_plain(batch, _now())
                        counts["added"] += added
                        counts["same"] += len(batch.names) - added
                    else:
                        for outcome in self._put_bank_batch(batch):
                            counts[outcome] += 1
                    holdpoints.reached("bank-batch")
                holdpoints.reached("bank-commit")
        finally:
            self._conn.execute(f"PRAGMA cache_size = -{CACHE_KB}")
            if journal != "wal":
                self._conn.execute("PRAGMA journal_mode = WAL")
        return counts

    def _existing(self, column: str, values: set[str]) -> dict[str, tuple[int, str]]:
        found: dict[str, tuple[int, str]] = {}
        sql = (
            f"SELECT {column}, id, meta FROM images WHERE {column} IN ({{marks}}) ORDER BY id DESC"
        )
        for value, image_id, meta in _in_chunks(self._conn, sql, values):
            found[value] = (image_id, meta)  # descending ids: the oldest entry wins
        return found

    def _insert_plain(self, batch: PlainBankBatch, now: float) -> int:
        """Insert a bulk-parsed batch; returns how many rows were new (the rest were there)."""
        keys = [_plain_bank_key(p, n) for p, n in zip(batch.pdqs, batch.names, strict=True)]
        rows = zip(keys, batch.names, batch.pdqs, itertools.repeat(batch.quality))
        added = self._insert_plain_rows(batch.origin, rows, now)
        low = added if batch.quality < MIN_QUALITY else 0
        self._delta.add(tally.of_plain(batch.origin, added, low))
        return added

    def _insert_plain_rows(
        self, origin: str, rows: Iterable[tuple[str, str, bytes, int]], now: float
    ) -> int:
        """``INSERT OR IGNORE`` (key, name, pdq, quality) rows of one origin on the unique
        key; returns how many were new. The values shared by every row are written into the
        statement instead of being bound millions of times."""
        sql = (
            "INSERT OR IGNORE INTO images (key, name, origin, pdq, pdq_quality, added, updated)"
            f" VALUES (?, ?, {_sql_text(origin)}, ?, ?, {now!r}, {now!r})"
        )
        before = self._conn.total_changes
        self._conn.executemany(sql, rows)
        return self._conn.total_changes - before

    def _put_plain(self, plain: list[Entry], now: float) -> list[str]:
        """Bank entries that are a bare PDQ hash and a name (the bulk of big hash lists).

        Nothing to merge into an existing entry, so ``INSERT OR IGNORE`` on the unique key
        decides "added" or "same" inside SQLite.
        """
        conn = self._conn
        origins = {e.origin for e in plain}
        if len(origins) > 1:  # one statement per origin (banks have one)
            outcome_of: dict[int, str] = {}
            for origin in origins:
                part = [i for i, e in enumerate(plain) if e.origin == origin]
                for i, o in zip(part, self._put_plain([plain[i] for i in part], now), strict=True):
                    outcome_of[i] = o
            return [outcome_of[i] for i in range(len(plain))]
        last_id = conn.execute("SELECT coalesce(max(id), 0) FROM images").fetchone()[0]
        keys = [_plain_bank_key(e.pdq, e.name) for e in plain]
        rows = [(k, e.name, e.pdq, e.pdq_quality) for k, e in zip(keys, plain, strict=True)]
        added = self._insert_plain_rows(plain[0].origin, rows, now)
        if added == len(plain):
            low = sum(e.pdq_quality < MIN_QUALITY for e in plain)
            self._delta.add(tally.of_plain(plain[0].origin, added, low))
            return ["added"] * added
        if added == 0:
            return ["same"] * len(plain)
        self._delta.add(tally.of_new_rows(conn, last_id, MIN_QUALITY))
        new = {
            k for (k,) in conn.execute("SELECT key FROM images WHERE id > ?", (last_id,))
        }  # the first entry with a new key was added; repeats of it are the same
        outcomes = []
        for k in keys:
            outcomes.append("added" if k in new else "same")
            new.discard(k)
        return outcomes

    def _put_bank_batch(self, batch: list[Entry]) -> list[str]:
        conn = self._conn
        now = _now()
        plain_at = [
            i
            for i, e in enumerate(batch)
            if not (e.sha256 or e.meta or e.views or e.phash or e.width or e.height or e.foreign)
        ]
        outcomes: list[str] = [""] * len(batch)
        if plain_at:
            for i, outcome in zip(
                plain_at, self._put_plain([batch[i] for i in plain_at], now), strict=True
            ):
                outcomes[i] = outcome
            if len(plain_at) == len(batch):
                return outcomes
        rest_at = [i for i, o in enumerate(outcomes) if not o]
        rest = [batch[i] for i in rest_at]
        keys = [_bank_key(e) for e in rest]
        by_sha = self._existing("sha256", {e.sha256 for e in rest if e.sha256})
        by_key = self._existing("key", {k for k, e in zip(keys, rest, strict=True) if not e.sha256})
        plain_rows: list[tuple[Any, ...]] = []
        foreign_rows: list[tuple[str, int, str]] = []
        for at, key, entry in zip(rest_at, keys, rest, strict=True):
            existing = by_sha.get(entry.sha256) if entry.sha256 else by_key.get(key)
            if existing is not None:
                image_id, old_text = existing
                old = json.loads(old_text)
                merged = {**entry.meta, **old}
                if merged == old:
                    outcomes[at] = "same"
                    continue
                text = json.dumps(merged, sort_keys=True)
                conn.execute(
                    "UPDATE images SET meta = ?, updated = ? WHERE id = ?", (text, now, image_id)
                )
                (by_sha if entry.sha256 else by_key)[entry.sha256 or key] = (image_id, text)
                outcomes[at] = "merged"
                continue
            row = (
                key,
                None,
                entry.name,
                entry.origin,
                entry.sha256,
                entry.width,
                entry.height,
                entry.pdq,
                entry.pdq_quality,
                entry.phash,
                json.dumps(entry.meta, sort_keys=True) if entry.meta else "{}",
                now,
                now,
            )
            if entry.foreign is not None:  # inserted once its row is there, by its key
                kind, value = entry.foreign
                foreign_rows.append((kind, int.from_bytes(value, "big", signed=True), key))
            if entry.views:
                cur = conn.execute(_INSERT_BANK_ROW, row)
                self._put_views(cur.lastrowid, entry.views)
                image_id = int(cur.lastrowid or 0)
                self._delta.add(tally.of_ids(conn, [image_id], MIN_QUALITY))
            else:
                plain_rows.append(row)
                image_id = -len(plain_rows)  # a placeholder: later duplicates only need to exist
            (by_sha if entry.sha256 else by_key)[entry.sha256 or key] = (image_id, row[10])
            outcomes[at] = "added"
        if plain_rows:
            conn.executemany(_INSERT_BANK_ROW, plain_rows)
            low = sum(row[8] < MIN_QUALITY for row in plain_rows)
            origins = Counter(row[3] for row in plain_rows)
            self._delta.add(tally.Tally(images=len(plain_rows), low=low, origins=origins))
        if foreign_rows:
            conn.executemany(
                "INSERT INTO foreign_hashes (image_id, kind, hash)"
                " SELECT id, ?, ? FROM images WHERE key = ?",
                foreign_rows,
            )
            self._delta.add(tally.Tally(foreign=Counter(kind for kind, _, _ in foreign_rows)))
        return outcomes

    # -- hash banks from URLs ----------------------------------------------------------------

    @_reads
    def bank_sources(self) -> list[BankSource]:
        """The hash banks imported from URLs, in the order they were first imported."""
        rows = self._conn.execute(
            "SELECT url, origin, etag, last_modified, sha256, fetched, entries"
            " FROM bank_sources ORDER BY id"
        ).fetchall()
        return [BankSource(*row) for row in rows]

    def replace_bank(
        self, source: BankSource, batches: Iterable[list[Entry] | PlainBankBatch]
    ) -> dict[str, int]:
        """Make the bank at ``source.url`` hold exactly the entries of ``batches`` (a new
        body of it), in ONE transaction: a failure or a kill anywhere leaves the index as it
        was. The first import of a URL is the same call (it held nothing before).

        Entries are merged as any bank import merges them. Then every entry this bank held
        before and does not hold now is let go; such an entry leaves the index only when
        this bank (or another URL bank since) brought it in, no other URL bank holds it and
        it is not a local photo. Entries that were there before (local photos, banks
        imported from files, metadata merged into them) stay.

        An entry that this bank alone brought and still holds takes the fields of the new
        body (an ordinary merge keeps the stored values): a release can correct its
        metadata.

        Returns counts: ``added``, ``merged``, ``same``, ``changed`` (entries given new
        fields), ``removed`` and ``entries`` (how many index entries the bank holds now).
        """
        conn = self._conn
        counts = {"added": 0, "merged": 0, "same": 0, "changed": 0, "removed": 0, "entries": 0}
        conn.execute(f"PRAGMA cache_size = -{BULK_CACHE_KB}")
        try:
            with self._write():
                source_id = self._bank_source_id(source)
                start = conn.execute("SELECT coalesce(max(id), 0) FROM images").fetchone()[0]
                conn.execute(
                    "CREATE TEMP TABLE IF NOT EXISTS bank_fresh (image_id INTEGER PRIMARY KEY)"
                )
                conn.execute("DELETE FROM temp.bank_fresh")
                for batch in batches:
                    self._replace_batch(source_id, batch, counts)
                    holdpoints.reached("bank-batch")
                counts["removed"] = self._let_go(source_id)
                conn.execute(
                    "INSERT INTO bank_holdings (source_id, image_id, brought)"
                    " SELECT ?, image_id, image_id > ? FROM temp.bank_fresh WHERE true"
                    " ON CONFLICT DO NOTHING",
                    (source_id, start),
                )
                counts["entries"] = conn.execute("SELECT count(*) FROM temp.bank_fresh").fetchone()[
                    0
                ]
                conn.execute(
                    "UPDATE bank_sources SET origin = ?, etag = ?, last_modified = ?,"
                    " sha256 = ?, fetched = ?, entries = ? WHERE id = ?",
                    (
                        source.origin,
                        source.etag,
                        source.last_modified,
                        source.sha256,
                        source.fetched,
                        counts["entries"],
                        source_id,
                    ),
                )
                conn.execute("DELETE FROM temp.bank_fresh")
                holdpoints.reached("bank-replace")
        finally:
            conn.execute(f"PRAGMA cache_size = -{CACHE_KB}")
        return counts

    def note_bank_fetched(
        self, url: str, etag: str | None, last_modified: str | None, fetched: float
    ) -> None:
        """Record a URL bank's new validators after it was fetched again unchanged."""
        with self._write():
            self._conn.execute(
                "UPDATE bank_sources SET etag = ?, last_modified = ?, fetched = ? WHERE url = ?",
                (etag, last_modified, fetched, url),
            )

    def _bank_source_id(self, source: BankSource) -> int:
        """The id of the URL bank ``source`` (recorded now if it is new), in a transaction."""
        row = self._conn.execute(
            "SELECT id FROM bank_sources WHERE url = ?", (source.url,)
        ).fetchone()
        if row is not None:
            return int(row[0])
        cur = self._conn.execute(
            "INSERT INTO bank_sources (url, origin, fetched, entries) VALUES (?, ?, ?, 0)",
            (source.url, source.origin, source.fetched),
        )
        return int(cur.lastrowid or 0)

    def _replace_batch(
        self, source_id: int, batch: list[Entry] | PlainBankBatch, counts: dict[str, int]
    ) -> None:
        """Merge one batch of a URL bank and note the ids of the entries it holds."""
        conn = self._conn
        if isinstance(batch, PlainBankBatch):
            added = self._insert_plain(batch, _now())
            counts["added"] += added
            counts["same"] += len(batch.names) - added
            keys = [_plain_bank_key(p, n) for p, n in zip(batch.pdqs, batch.names, strict=True)]
            shas: list[str] = []
        else:
            outcomes = self._put_bank_batch(batch)
            for outcome in outcomes:
                counts[outcome] += 1
            kept = [e for e, o in zip(batch, outcomes, strict=True) if o != "added"]
            counts["changed"] += self._refresh_own(source_id, kept)
            keys = [_bank_key(e) for e in batch if not e.sha256]
            shas = [e.sha256 for e in batch if e.sha256]
        conn.executemany(
            "INSERT OR IGNORE INTO temp.bank_fresh (image_id) SELECT id FROM images WHERE key = ?",
            ((k,) for k in keys),
        )
        conn.executemany(  # an entry with a SHA-256 merged into the entries of that content
            "INSERT OR IGNORE INTO temp.bank_fresh (image_id)"
            " SELECT id FROM images WHERE sha256 = ?",
            ((s,) for s in shas),
        )

    def _refresh_own(self, source_id: int, entries: list[Entry]) -> int:
        """Give the entries that bank ``source_id`` alone brought and still holds the fields
        of its new body (name, sizes, hashes, metadata, views: an ordinary merge keeps the
        stored values); the first line of an entry wins, as in any import. Returns how many
        entries changed."""
        conn = self._conn
        ids = dict(
            _in_chunks(
                conn,
                "SELECT key, id FROM images WHERE path IS NULL AND key IN ({marks})",
                {_bank_key(e) for e in entries},
            )
        )  # entries merged into a local photo have no such key
        seen = {
            i
            for (i,) in _in_chunks(
                conn,
                "SELECT image_id FROM temp.bank_fresh WHERE image_id IN ({marks})",
                ids.values(),
            )
        }  # given by an earlier line of this body
        alone = {
            i
            for (i,) in _in_chunks(
                conn,
                "SELECT image_id FROM bank_holdings WHERE image_id IN ({marks})"
                f" GROUP BY image_id HAVING count(*) = 1 AND max(source_id = {int(source_id)}"
                " AND brought = 1)",
                ids.values(),
            )
        }  # brought by this bank, held by no other
        first: dict[int, Entry] = {}
        for entry in entries:
            image_id = ids.get(_bank_key(entry))
            if image_id is not None and image_id not in seen:
                first.setdefault(image_id, entry)
        conn.executemany(
            "INSERT OR IGNORE INTO temp.bank_fresh (image_id) VALUES (?)", ((i,) for i in first)
        )
        stored = self.get(i for i in first if i in alone)
        changing = [i for i, old in stored.items() if _fields(old) != _fields(first[i])]
        self._delta.add(tally.of_ids(conn, changing, MIN_QUALITY), -1)  # as they were
        for image_id in changing:
            entry = first[image_id]
            conn.execute(
                "UPDATE images SET name = ?, width = ?, height = ?, pdq = ?, pdq_quality = ?,"
                " phash = ?, meta = ?, updated = ? WHERE id = ?",
                (
                    entry.name,
                    entry.width,
                    entry.height,
                    entry.pdq,
                    entry.pdq_quality,
                    entry.phash,
                    json.dumps(entry.meta, sort_keys=True) if entry.meta else "{}",
                    _now(),
                    image_id,
                ),
            )
            conn.execute("DELETE FROM views WHERE image_id = ?", (image_id,))
            self._put_views(image_id, entry.views)
        self._delta.add(tally.of_ids(conn, changing, MIN_QUALITY))  # as they are now
        return len(changing)

    def _let_go(self, source_id: int) -> int:
        """Drop the holdings of bank ``source_id`` that are not in ``temp.bank_fresh``, and
        the entries that leave with them; returns how many entries left the index."""
        conn = self._conn
        conn.execute("DROP TABLE IF EXISTS temp.bank_gone")
        conn.execute(
            "CREATE TEMP TABLE bank_gone AS SELECT image_id, brought FROM bank_holdings"
            " WHERE source_id = ? AND image_id NOT IN (SELECT image_id FROM temp.bank_fresh)",
            (source_id,),
        )
        conn.execute(
            "DELETE FROM bank_holdings WHERE source_id = ?"
            " AND image_id IN (SELECT image_id FROM temp.bank_gone)",
            (source_id,),
        )
        # an entry this bank brought that another URL bank holds stays, and leaves with that
        # bank in turn
        conn.execute(
            "UPDATE bank_holdings SET brought = 1"
            " WHERE image_id IN (SELECT image_id FROM temp.bank_gone WHERE brought)"
        )
        leaving = " AND ".join(
            (
                "path IS NULL",
                "id IN (SELECT image_id FROM temp.bank_gone WHERE brought)",
                "id NOT IN (SELECT image_id FROM bank_holdings)",
            )
        )
        ids = [i for (i,) in conn.execute(f"SELECT id FROM images WHERE {leaving}")]
        self._delta.add(tally.of_ids(conn, ids, MIN_QUALITY), -1)  # the counts follow
        removed = conn.execute(f"DELETE FROM images WHERE {leaving}").rowcount
        conn.execute("DROP TABLE temp.bank_gone")
        return int(removed)

    def set_meta(self, image_id: int, meta: dict[str, Any]) -> None:
        """Merge metadata fields into one entry."""
        with self._write():
            row = self._conn.execute("SELECT meta FROM images WHERE id = ?", (image_id,)).fetchone()
            if row is None:
                return
            merged = {**json.loads(row[0]), **meta}
            self._conn.execute(
                "UPDATE images SET meta = ?, updated = ? WHERE id = ?",
                (json.dumps(merged, sort_keys=True), _now(), image_id),
            )

    def merge_meta_by_path(self, items: Iterable[tuple[str, dict[str, Any]]]) -> int:
        """Merge metadata into local entries by path; returns how many changed."""
        changed = 0
        with self._write():
            for path, meta in items:
                row = self._conn.execute(
                    "SELECT id, meta FROM images WHERE path = ?", (path,)
                ).fetchone()
                if row is None:
                    continue
                old = json.loads(row[1])
                merged = {**old, **meta}
                if merged != old:
                    self._conn.execute(
                        "UPDATE images SET meta = ?, updated = ? WHERE id = ?",
                        (json.dumps(merged, sort_keys=True), _now(), row[0]),
                    )
                    changed += 1
        return changed

    def remove(self, paths: Iterable[str]) -> int:
        """Drop the entries of these local paths (or bank names); returns how many went."""
        return sum(self.remove_each([p] for p in paths))

    def remove_each(self, groups: Iterable[Iterable[str]]) -> list[int]:
        """Drop entries in one transaction: per group of spellings of one path (or bank
        name), how many entries went (0: none of them was in the index).
        """
        counts = []
        with self._write():
            # a local file's key is "file:" and its path: found through the key's index;
            # bank entries by name only when the index holds any (no index on names)
            held = self.counts()
            banked = held.images - held.origins.get("file", 0) > 0
            top = self._conn.execute("SELECT coalesce(max(id), 0) FROM images").fetchone()[0]
            for group in groups:
                ids: set[int] = set()
                for p in dict.fromkeys(group):
                    ids.update(
                        i
                        for (i,) in self._conn.execute(
                            "SELECT id FROM images WHERE key = ?", (f"file:{p}",)
                        )
                    )
                    if banked:
                        ids.update(
                            i
                            for (i,) in self._conn.execute(
                                "SELECT id FROM images WHERE path IS NULL AND name = ?", (p,)
                            )
                        )
                if ids:
                    gone = tally.of_ids(self._conn, ids, MIN_QUALITY)
                    # a features file built before keeps their rows: a search drops them
                    self._delta.add(gone, -1)
                    self._delta.features_removed += gone.features
                    self._conn.executemany(
                        "DELETE FROM images WHERE id = ?", [(i,) for i in sorted(ids)]
                    )
                counts.append(len(ids))
            left = self._conn.execute("SELECT coalesce(max(id), 0) FROM images").fetchone()[0]
            if self._delta.features_removed and left < top:
                # ids above ``left`` can be given again to photos added later: a features
                # file built before reads those from the database, beside its own rows
                self._delta.features_floor = left
        return counts

    # -- reading ---------------------------------------------------------------------------

    _COLUMNS = (
        "id, name, path, origin, sha256, width, height, pdq, pdq_quality, phash, meta,"
        " (SELECT kind FROM foreign_hashes WHERE image_id = images.id),"
        " (SELECT hash FROM foreign_hashes WHERE image_id = images.id)"
    )

    def _entry(self, row: tuple[Any, ...], views: tuple[View, ...] = ()) -> Entry:
        meta = json.loads(row[10])
        if not isinstance(meta, dict):
            raise ValueError(f"the metadata of entry {row[0]} is not an object")
        return Entry(
            id=row[0],
            name=row[1],
            path=row[2],
            origin=row[3],
            sha256=row[4],
            width=row[5],
            height=row[6],
            pdq=bytes(row[7]),
            pdq_quality=row[8],
            phash=bytes(row[9]) if row[9] is not None else None,
            meta=meta,
            views=views,
            foreign=None
            if row[11] is None
            else (row[11], int(row[12]).to_bytes(8, "big", signed=True)),
        )

    def _views_of(self, ids: list[int]) -> dict[int, list[View]]:
        out: dict[int, list[View]] = {}
        sql = (
            "SELECT image_id, name, box, pdq, quality FROM views WHERE image_id IN ({marks})"
            " ORDER BY image_id, name"
        )
        for image_id, name, box, pdq, quality in _in_chunks(self._conn, sql, ids):
            out.setdefault(image_id, []).append(
                View(name, _box(box, image_id), bytes(pdq), quality)
            )
        return out

    def entries(self) -> Iterator[Entry]:
        """Every entry, in id order, with its views."""
        try:
            yield from self._entries()
        except _DAMAGE as exc:
            raise _damaged(self.location, exc) from None

    def _entries(self) -> Iterator[Entry]:
        last = 0
        while True:
            rows = self._conn.execute(
                f"SELECT {self._COLUMNS} FROM images WHERE id > ? ORDER BY id LIMIT 1000", (last,)
            ).fetchall()
            if not rows:
                return
            views = self._views_of([r[0] for r in rows])
            for r in rows:
                yield self._entry(r, tuple(views.get(r[0], ())))
            last = rows[-1][0]

    @_reads
    def get(self, ids: Iterable[int]) -> dict[int, Entry]:
        """Entries by id (missing ids are left out)."""
        out: dict[int, Entry] = {}
        sql = f"SELECT {self._COLUMNS} FROM images WHERE id IN ({{marks}})"
        for r in _in_chunks(self._conn, sql, ids):
            out[r[0]] = self._entry(r)
        views = self._views_of(list(out))
        return {i: dataclasses.replace(e, views=tuple(views.get(i, ()))) for i, e in out.items()}

    @_reads
    def by_sha256(self, sha256: str) -> list[Entry]:
        """Entries whose file content is exactly this."""
        rows = self._conn.execute(
            f"SELECT {self._COLUMNS} FROM images WHERE sha256 = ? ORDER BY id", (sha256,)
        ).fetchall()
        return [self._entry(r) for r in rows]

    @_reads
    def count(self) -> int:
        """Number of indexed photos."""
        return self.counts().images

    @_reads
    def counts(self) -> tally.Tally:
        """What the index holds, from the tally its writes keep (rows counted only for an
        index that has none it can trust)."""
        found = tally.stored(self._conn, self._meta("write_token") or "")
        return found if found is not None else tally.scan(self._conn, MIN_QUALITY)

    def _meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    @_reads
    def generation(self) -> int:
        """A number that grows with every change to the searchable rows."""
        return int(self._meta("generation") or 0)

    @_reads
    def stamp(self) -> str:
        """This index's id, the token of its last write and its generation: what a search
        file must carry to be current (at most 45 characters: the files keep 48)."""
        index_id = (self._meta("index_id") or "none")[:12]
        token = (self._meta("write_token") or "")[:12]
        return f"{index_id}{token}:{self.generation()}"

    @_reads
    def info(self) -> dict[str, Any]:
        """Counts, sizes and versions, as ``revimg index info`` shows them."""
        from revimg.index import versions

        counted = self.counts()
        held = counted.as_dict()
        foreign = {k: v for k, v in sorted(counted.foreign.items()) if v}
        size = 0
        if self._folder is not None:
            size = sum(p.stat().st_size for p in self._folder.iterdir() if p.is_file())
        stored = json.loads(self._meta("versions") or "{}")
        return {
            "location": self.location,
            "entries": held["images"],
            "by_origin": held["origins"],
            "hash_kinds": ["pdq", "phash", "sha256"],
            "foreign_hashes": foreign,
            "views": held["views"],
            # a pHash-only entry's PDQ is a placeholder of quality 0, not a photo of low detail
            "low_quality_entries": held["low"] - sum(foreign.values()),
            "local_features": held["features"],
            "size_bytes": size,
            "schema_version": SCHEMA_VERSION,
            "created": float(self._meta("created") or 0),
            "updated": float(self._meta("updated") or 0),
            "generation": self.generation(),
            "hashed_with": stored,
            "running": versions.library_versions(),
            "banks": [dataclasses.asdict(b) for b in self.bank_sources()],
        }

    # -- searching -------------------------------------------------------------------------

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

    @_reads
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

    @_reads
    def feature_count(self) -> int:
        """How many photos have local features (hash-bank entries have none)."""
        return self.counts().features

    @_reads
    def has_features(self) -> bool:
        """Whether any photo has local features (one page read, whatever the size)."""
        return self._conn.execute("SELECT 1 FROM features LIMIT 1").fetchone() is not None

    @_reads
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
        last = int(searcher._ids[-1]) if len(searcher) else 0
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
        return {i for (i,) in _in_chunks(self._conn, sql, ids)}

    @_reads
    def features_of(self, ids: Iterable[int]) -> dict[int, Any]:
        """Local features by image id (ids without features are left out)."""
        from revimg.imaging import features

        sql = "SELECT image_id, blob FROM features WHERE image_id IN ({marks})"
        return {
            image_id: features.from_blob(blob)
            for image_id, blob in _in_chunks(self._conn, sql, ids)
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

    @_reads
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

    @_reads
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

    @_reads
    def search(self, queries: np.ndarray, max_distance: int) -> list[search.Hit]:
        """Rows within ``max_distance`` PDQ bits of any of the (k, 32) query hashes."""
        arrays = self.arrays()
        words = search.query_words(queries)
        table = self.multi_index()
        pairs = mih.candidates(table, words, max_distance) if table is not None else None
        if pairs is None:
            return search.scan(arrays, words, max_distance)
        return search.check_pairs(arrays, words, pairs[0], pairs[1], max_distance)


_INSERT_BANK_ROW = (
    "INSERT INTO images (key, path, name, origin, sha256, width, height, pdq, pdq_quality,"
    " phash, meta, added, updated) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
)


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (or ``ROLLBACK``), bumping the generation."""

    def __init__(self, index: SQLiteIndex) -> None:
        self._index = index
        self._changes = 0

    def __enter__(self) -> None:
        try:
            self._index._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise IndexUnusable(_write_error(self._index.location, exc)) from None
        self._changes = self._index._conn.total_changes
        self._index._delta = tally.Tally()

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        conn = self._index._conn
        if exc_type is None:
            try:
                if conn.total_changes != self._changes:
                    self._index._bump()
                conn.execute("COMMIT")
                return
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise IndexUnusable(_write_error(self._index.location, exc)) from None
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if exc_type is not None and issubclass(exc_type, sqlite3.Error):
            raise IndexUnusable(_write_error(self._index.location, rest[0])) from None  # type: ignore[arg-type]


def _fields(e: Entry) -> tuple[Any, ...]:
    """What a bank line says about an entry (not where it is or came from)."""
    views = sorted((v.name, v.box, v.pdq, v.quality) for v in e.views)
    return (e.name, e.width, e.height, e.pdq, e.pdq_quality, e.phash, e.meta, views)


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


def _box(text: str, image_id: int) -> tuple[float, float, float, float]:
    """A stored view box: four fractions (ValueError for anything else)."""
    box = json.loads(text)
    if (
        not isinstance(box, list)
        or len(box) != 4
        or not all(isinstance(b, int | float) and not isinstance(b, bool) for b in box)
        or not all(0.0 <= b <= 1.0 for b in box)
    ):
        raise ValueError(f"a view box of entry {image_id} is not four fractions")
    return (float(box[0]), float(box[1]), float(box[2]), float(box[3]))


def _zero_bytes(db: Path) -> bool:
    """The database file is empty and no write-ahead log holds anything for it."""
    try:
        if db.stat().st_size:
            return False
        wal = db.with_name(db.name + "-wal")
        return not wal.exists() or wal.stat().st_size == 0
    except OSError:
        return False


def _write_error(location: str, exc: sqlite3.Error) -> str:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return f"{location}: the index is busy (another revimg is writing to it); try again"
    if "readonly" in text or "read-only" in text:
        return f"{location}: the index is read-only; nothing was changed"
    if "full" in text:
        return f"{location}: the disk is full; nothing was changed"
    return f"{location}: cannot write to the index ({text}); nothing was changed"


def open_index(location: str | Path, *, create: bool = False) -> SQLiteIndex:
    """Open (or with ``create``, create) the index at ``location``."""
    return SQLiteIndex.open(location, create=create)


__all__ = [
    "BankSource",
    "Entry",
    "IndexBackend",
    "RevimgError",
    "SQLiteIndex",
    "VIEW_NAMES",
    "open_index",
]
