"""The index database's schema: its migrations, applied in order, and the keys of bank entries.

``PRAGMA user_version`` is the number of migrations applied. A migration is only ever added,
never changed: an index written by an older revimg is brought up to date when it is opened
(in one transaction), and one written by a newer revimg is refused.
"""

from __future__ import annotations

import hashlib

from revimg.index.backend import Entry

MIGRATIONS: tuple[str, ...] = (
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
SCHEMA_VERSION = len(MIGRATIONS)


def plain_bank_key(pdq: bytes, name: str) -> str:
    """The key of a bank entry without a SHA-256: its PDQ hash and name, digested."""
    digest = hashlib.blake2b(pdq + name.encode("utf-8", "surrogatepass"), digest_size=15)
    return "bank:" + digest.hexdigest()


def bank_key(entry: Entry) -> str:
    if entry.sha256:
        return f"bank:{entry.sha256}"
    if entry.foreign is not None:  # the kind is part of the key: a pHash is not a dHash
        kind, value = entry.foreign
        return plain_bank_key(kind.encode("ascii") + b":" + value, entry.name)
    return plain_bank_key(entry.pdq, entry.name)
