"""SQLite plumbing that the index's parts share: the connection, chunked IN lists, and
damage and write errors turned into one line each."""

from __future__ import annotations

import functools
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from revimg.errors import IndexUnusable

BUSY_TIMEOUT_MS = 30_000
#: SQLite's page cache limit (KiB): 256 MB, and 1 GB while a bank streams in, so that the
#: key index of a ten-million-entry bank stays in memory (pages are taken only as needed).
CACHE_KB = 262_144
BULK_CACHE_KB = 1_048_576


def now() -> float:
    return time.time()


def text(value: str) -> str:
    """``value`` as an SQL string literal (for constants repeated on every row of a batch)."""
    if "\x00" in value:
        raise ValueError("NUL in an SQL literal")
    return "'" + value.replace("'", "''") + "'"


def connect(db: Path) -> sqlite3.Connection:
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


def in_chunks(
    conn: sqlite3.Connection, sql: str, values: Iterable[Any]
) -> Iterator[tuple[Any, ...]]:
    """Rows of ``sql`` (with ``{marks}`` for an IN list) over ``values``, 500 at a time."""
    ordered = sorted(set(values))
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        yield from conn.execute(sql.format(marks=",".join("?" * len(chunk))), chunk)


_F = TypeVar("_F", bound=Callable[..., Any])


def reads(method: _F) -> _F:
    """A method that reads the database: what a damaged database makes it raise (a table
    dropped, text that is not UTF-8, metadata that is not JSON, a generation that is not a
    number) becomes one ``IndexUnusable`` line; the database is left as it is."""

    @functools.wraps(method)
    def reading(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except DAMAGE as exc:
            raise damaged(self.location, exc) from None

    return reading  # type: ignore[return-value]


#: What reading a damaged database raises.
DAMAGE = (sqlite3.DatabaseError, ValueError, TypeError, KeyError)


def damaged(location: str, exc: Exception) -> IndexUnusable:
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return IndexUnusable(
        f"{location}: the index database is damaged ({reason[:200]}); nothing was changed",
        remedy="rebuild",
    )


def write_error(location: str, exc: sqlite3.Error) -> str:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return f"{location}: the index is busy (another revimg is writing to it); try again"
    if "readonly" in text or "read-only" in text:
        return f"{location}: the index is read-only; nothing was changed"
    if "full" in text:
        return f"{location}: the disk is full; nothing was changed"
    return f"{location}: cannot write to the index ({text}); nothing was changed"
