"""Hash banks merged into the index: entries in batches, and banks from a URL replaced
whole when their server has a new version. A mixin of :class:`revimg.index.store.SQLiteIndex`.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections import Counter
from collections.abc import Iterable
from typing import Any

from revimg import holdpoints
from revimg.imaging.hashing import MIN_QUALITY
from revimg.index import db, schema, tally
from revimg.index.backend import BankSource, Entry, PlainBankBatch


class BankMerging:
    """Bank writes of an open index (uses the store's connection and write transaction)."""

    _conn: sqlite3.Connection
    location: str

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
        self._conn.execute(f"PRAGMA cache_size = -{db.BULK_CACHE_KB}")
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
                        added = self._insert_plain(batch, db.now())
                        counts["added"] += added
                        counts["same"] += len(batch.names) - added
                    else:
                        for outcome in self._put_bank_batch(batch):
                            counts[outcome] += 1
                    holdpoints.reached("bank-batch")
                holdpoints.reached("bank-commit")
        finally:
            self._conn.execute(f"PRAGMA cache_size = -{db.CACHE_KB}")
            if journal != "wal":
                self._conn.execute("PRAGMA journal_mode = WAL")
        return counts

    def _existing(self, column: str, values: set[str]) -> dict[str, tuple[int, str]]:
        found: dict[str, tuple[int, str]] = {}
        sql = (
            f"SELECT {column}, id, meta FROM images WHERE {column} IN ({{marks}}) ORDER BY id DESC"
        )
        for value, image_id, meta in db.in_chunks(self._conn, sql, values):
            found[value] = (image_id, meta)  # descending ids: the oldest entry wins
        return found

    def _insert_plain(self, batch: PlainBankBatch, now: float) -> int:
        """Insert a bulk-parsed batch; returns how many rows were new (the rest were there)."""
        keys = [schema.plain_bank_key(p, n) for p, n in zip(batch.pdqs, batch.names, strict=True)]
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
        statement = (
            "INSERT OR IGNORE INTO images (key, name, origin, pdq, pdq_quality, added, updated)"
            f" VALUES (?, ?, {db.text(origin)}, ?, ?, {now!r}, {now!r})"
        )
        before = self._conn.total_changes
        self._conn.executemany(statement, rows)
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
        keys = [schema.plain_bank_key(e.pdq, e.name) for e in plain]
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
        now = db.now()
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
        keys = [schema.bank_key(e) for e in rest]
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

    @db.reads
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
        conn.execute(f"PRAGMA cache_size = -{db.BULK_CACHE_KB}")
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
            conn.execute(f"PRAGMA cache_size = -{db.CACHE_KB}")
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
            added = self._insert_plain(batch, db.now())
            counts["added"] += added
            counts["same"] += len(batch.names) - added
            pairs = zip(batch.pdqs, batch.names, strict=True)
            keys = [schema.plain_bank_key(p, n) for p, n in pairs]
            shas: list[str] = []
        else:
            outcomes = self._put_bank_batch(batch)
            for outcome in outcomes:
                counts[outcome] += 1
            kept = [e for e, o in zip(batch, outcomes, strict=True) if o != "added"]
            counts["changed"] += self._refresh_own(source_id, kept)
            keys = [schema.bank_key(e) for e in batch if not e.sha256]
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
            db.in_chunks(
                conn,
                "SELECT key, id FROM images WHERE path IS NULL AND key IN ({marks})",
                {schema.bank_key(e) for e in entries},
            )
        )  # entries merged into a local photo have no such key
        seen = {
            i
            for (i,) in db.in_chunks(
                conn,
                "SELECT image_id FROM temp.bank_fresh WHERE image_id IN ({marks})",
                ids.values(),
            )
        }  # given by an earlier line of this body
        alone = {
            i
            for (i,) in db.in_chunks(
                conn,
                "SELECT image_id FROM bank_holdings WHERE image_id IN ({marks})"
                f" GROUP BY image_id HAVING count(*) = 1 AND max(source_id = {int(source_id)}"
                " AND brought = 1)",
                ids.values(),
            )
        }  # brought by this bank, held by no other
        first: dict[int, Entry] = {}
        for entry in entries:
            image_id = ids.get(schema.bank_key(entry))
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
                    db.now(),
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


_INSERT_BANK_ROW = (
    "INSERT INTO images (key, path, name, origin, sha256, width, height, pdq, pdq_quality,"
    " phash, meta, added, updated) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
)


def _fields(e: Entry) -> tuple[Any, ...]:
    """What a bank line says about an entry (not where it is or came from)."""
    views = sorted((v.name, v.box, v.pdq, v.quality) for v in e.views)
    return (e.name, e.width, e.height, e.pdq, e.pdq_quality, e.phash, e.meta, views)
