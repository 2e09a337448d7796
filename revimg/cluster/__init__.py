"""The engine beyond one machine: build and batch-check on a Dask cluster.

Optional (``pip install 'revimg-cli[dask]'``): nothing outside this package imports dask,
and this package imports it only when a cluster is asked for. Workers decode, hash and
search; this process stays the index's single writer, so a build on a cluster writes the
same entries, in the same order and batches, as a build on one machine.

- ``connect``: a client of a running scheduler (an address), or of a ``LocalCluster``
  started here (``local``); checks that the workers hash as this process does.
- ``build.hasher``: plugs into ``revimg.index.builder.run`` in place of its worker processes.
- ``check.searcher``: plugs into ``revimg.matching.checker.check_sources`` in place of its workers.

Photos and the index are read by the workers from paths they must see too (shared
storage), unless the photos' bytes are sent (``send_bytes``).
"""

from __future__ import annotations

from revimg.cluster.connect import LOCAL, connect

__all__ = ["LOCAL", "connect"]
