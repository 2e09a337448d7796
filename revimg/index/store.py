"""The embedded index: photos' hashes and metadata in SQLite, searched from a mapped array.

An index is a folder holding ``index.sqlite`` (WAL mode; the source of truth) and
``search.bin`` (the searchable rows, rebuilt from SQLite whenever its generation number
falls behind). ``Index`` is the interface matching and the CLI use; another engine (a
server for indexes that outgrow one machine) would implement the same methods.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sqlite3
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from revimg.errors import IndexMissing, IndexUnusable
from revimg.imaging.hashing import MIN_QUALITY, ImageHashes, View
from revimg.index import db, mih, schema, search, tally
from revimg.index.backend import (
    DB_NAME,
    VIEW_NAMES,
    Entry,
)
from revimg.index.bank_merge import BankMerging
from revimg.index.derived import DerivedFiles


class SQLiteIndex(BankMerging, DerivedFiles):
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
        db_file = folder / DB_NAME
        label = str(folder)
        if folder.exists() and not folder.is_dir():
            raise IndexUnusable(f"{label}: the index location must be a folder, not a file")
        if not db_file.exists():
            if not create:
                raise IndexMissing(label)
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise IndexUnusable(
                    f"{label}: cannot create the index folder ({exc.strerror})"
                ) from None
        if not create and _zero_bytes(db_file):
            raise IndexMissing(label)  # opening it would write a database header into it
        try:
            conn = db.connect(db_file)
        except sqlite3.Error as exc:
            if "locked" in str(exc) or "busy" in str(exc):  # another revimg is setting it up
                raise IndexUnusable(db.write_error(label, exc)) from None
            if not db_file.exists() or "readonly" not in str(exc).replace("-", ""):
                raise IndexUnusable(f"{label}: cannot open the index ({exc})") from None
            try:  # a read-only folder: search it without locking (nothing can write there)
                conn = sqlite3.connect(
                    f"{db_file.resolve().as_uri()}?immutable=1", uri=True, isolation_level=None
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
            if version > schema.SCHEMA_VERSION:
                raise IndexUnusable(
                    f"{self.location}: the index was written by a newer revimg "
                    f"(schema {version}, this version reads up to {schema.SCHEMA_VERSION}); "
                    "upgrade revimg"
                )
            if version == schema.SCHEMA_VERSION:
                return
            conn.create_function("revimg_bank_key", 2, schema.plain_bank_key, deterministic=True)
            conn.execute("BEGIN IMMEDIATE")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            for number in range(version, schema.SCHEMA_VERSION):
                for statement in schema.MIGRATIONS[number].split(";"):
                    if statement.strip():
                        conn.execute(statement)
            if version == 0:
                now = str(db.now())
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
            conn.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION}")
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
                ("updated", str(db.now())),
                ("versions", json.dumps(library_versions())),
                # drawn anew by every write: binds the derived search files to this state of
                # this database (two copies of one index, written apart, never share it)
                ("write_token", token),
            ],
        )

    @db.reads
    def file_states(self, paths: Iterable[str] | None = None) -> dict[str, tuple[int, int]]:
        """``path -> (size, mtime_ns)`` for every indexed local file (for incremental builds),
        or for these ``paths`` only (looked up by their keys: a few files, a few reads)."""
        if paths is not None:
            sql = "SELECT path, size, mtime_ns FROM images WHERE key IN ({marks})"
            rows = list(db.in_chunks(self._conn, sql, (f"file:{p}" for p in paths)))
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
        now = db.now()
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
                        (json.dumps(merged, sort_keys=True), db.now(), row[0]),
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
        for image_id, name, box, pdq, quality in db.in_chunks(self._conn, sql, ids):
            out.setdefault(image_id, []).append(
                View(name, _box(box, image_id), bytes(pdq), quality)
            )
        return out

    def entries(self) -> Iterator[Entry]:
        """Every entry, in id order, with its views."""
        try:
            yield from self._entries()
        except db.DAMAGE as exc:
            raise db.damaged(self.location, exc) from None

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

    @db.reads
    def get(self, ids: Iterable[int]) -> dict[int, Entry]:
        """Entries by id (missing ids are left out)."""
        out: dict[int, Entry] = {}
        sql = f"SELECT {self._COLUMNS} FROM images WHERE id IN ({{marks}})"
        for r in db.in_chunks(self._conn, sql, ids):
            out[r[0]] = self._entry(r)
        views = self._views_of(list(out))
        return {i: dataclasses.replace(e, views=tuple(views.get(i, ()))) for i, e in out.items()}

    @db.reads
    def by_sha256(self, sha256: str) -> list[Entry]:
        """Entries whose file content is exactly this."""
        rows = self._conn.execute(
            f"SELECT {self._COLUMNS} FROM images WHERE sha256 = ? ORDER BY id", (sha256,)
        ).fetchall()
        return [self._entry(r) for r in rows]

    @db.reads
    def count(self) -> int:
        """Number of indexed photos."""
        return self.counts().images

    @db.reads
    def counts(self) -> tally.Tally:
        """What the index holds, from the tally its writes keep (rows counted only for an
        index that has none it can trust)."""
        found = tally.stored(self._conn, self._meta("write_token") or "")
        return found if found is not None else tally.scan(self._conn, MIN_QUALITY)

    def _meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    @db.reads
    def generation(self) -> int:
        """A number that grows with every change to the searchable rows."""
        return int(self._meta("generation") or 0)

    @db.reads
    def stamp(self) -> str:
        """This index's id, the token of its last write and its generation: what a search
        file must carry to be current (at most 45 characters: the files keep 48)."""
        index_id = (self._meta("index_id") or "none")[:12]
        token = (self._meta("write_token") or "")[:12]
        return f"{index_id}{token}:{self.generation()}"

    @db.reads
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
            "schema_version": schema.SCHEMA_VERSION,
            "created": float(self._meta("created") or 0),
            "updated": float(self._meta("updated") or 0),
            "generation": self.generation(),
            "hashed_with": stored,
            "running": versions.library_versions(),
            "banks": [dataclasses.asdict(b) for b in self.bank_sources()],
        }

    # -- searching -------------------------------------------------------------------------


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (or ``ROLLBACK``), bumping the generation."""

    def __init__(self, index: SQLiteIndex) -> None:
        self._index = index
        self._changes = 0

    def __enter__(self) -> None:
        try:
            self._index._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise IndexUnusable(db.write_error(self._index.location, exc)) from None
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
                raise IndexUnusable(db.write_error(self._index.location, exc)) from None
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if exc_type is not None and issubclass(exc_type, sqlite3.Error):
            raise IndexUnusable(db.write_error(self._index.location, rest[0])) from None  # type: ignore[arg-type]


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


def _zero_bytes(path: Path) -> bool:
    """The database file is empty and no write-ahead log holds anything for it."""
    try:
        if path.stat().st_size:
            return False
        wal = path.with_name(path.name + "-wal")
        return not wal.exists() or wal.stat().st_size == 0
    except OSError:
        return False


def open_index(location: str | Path, *, create: bool = False) -> SQLiteIndex:
    """Open (or with ``create``, create) the index at ``location``."""
    return SQLiteIndex.open(location, create=create)


@contextlib.contextmanager
def opened_or_removed(location: str | Path) -> Iterator[SQLiteIndex]:
    """The index at ``location``, created if needed and closed after the block; if the block
    fails, an index (and a folder) that did not exist before it are removed again, so a
    failed first import leaves nothing behind.
    """
    folder = Path(location)
    folder_existed = folder.exists()
    db_existed = (folder / DB_NAME).exists()
    try:
        with open_index(folder, create=True) as index:
            yield index
    except BaseException:
        if not db_existed:
            for leftover in folder.glob(f"{DB_NAME}*"):
                leftover.unlink(missing_ok=True)
            if not folder_existed:
                with contextlib.suppress(OSError):
                    folder.rmdir()
        raise
