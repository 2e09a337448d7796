"""The index: known photos' hashes and metadata, no pixels; one writer, many readers.

- ``store``: :class:`~revimg.index.store.SQLiteIndex` (open, transactions, file entries),
  with ``bank_merge`` (hash banks merged in) and ``derived`` (search files) as its mixins;
  ``schema`` (migrations), ``db`` (SQLite plumbing), ``tally`` (counts kept per write).
- ``backend``: the index's files, :class:`~revimg.index.backend.Entry` and
  :class:`~revimg.index.backend.IndexBackend`, what a check reads.
- ``builder``: folders of photos into the index; ``metadata``: their sidecar CSV/JSON.
- ``bank``: hash-bank formats (import, export); ``bank_fetch``: banks from a URL.
- ``search``, ``mih``, ``feature_search``: the search files (PDQ rows, multi-index
  hashing, the local-feature inverted file).
- ``shards``: an index split into shard indexes, searched as one.
"""
