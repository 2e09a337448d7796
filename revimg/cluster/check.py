"""Batch checks on a Dask cluster: workers hash the photos and search the index.

Each worker thread opens the index itself, from the path the client uses (storage every
worker sees), and keeps it open between tasks (``_held``: keyed by location and stamp, so
a changed index is opened again). A worker that cannot open it (a machine without that
path) only hashes, and the client searches. Results come back in input order
(``revimg.cluster.ordered``), the same results as a check on one machine.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from revimg import holdpoints
from revimg.cluster.ordered import in_order
from revimg.errors import ImageError, RevimgError
from revimg.imaging.photo import Photo
from revimg.index.backend import IndexBackend
from revimg.matching.checker import (
    Hashed,
    check_or_hash,
    foreign_kinds_of,
    result_of,
    wants_features,
)
from revimg.matching.result import CheckResult, NotRun

if TYPE_CHECKING:
    from distributed import Client

#: Photos per cluster task.
CHUNK = 2
#: What a photo gets when it killed every worker that tried it.
CRASHED = "the decoder crashed on this photo (every worker that read it died)"

#: Per worker thread: ((location, stamp), the open index, or None if it cannot be opened).
_held = threading.local()


def _index_here(location: str, stamp: str) -> IndexBackend | None:
    """The index at ``location`` as of ``stamp``, opened once per worker thread."""
    from revimg.index.store import open_index

    key = (location, stamp)
    held = getattr(_held, "value", None)
    if held is not None and held[0] == key:
        return held[1]
    if held is not None and held[1] is not None:
        held[1].close()
    try:
        index: IndexBackend | None = open_index(location)
    except RevimgError:
        index = None
    _held.value = (key, index)
    return index


def check_chunk(
    sources: list[Photo],
    where: tuple[str, str] | None,
    with_features: bool,
    foreign_kinds: tuple[str, ...],
    threshold: float,
    top: int,
    skipped: tuple[NotRun, ...],
) -> list[CheckResult | Hashed]:
    """Runs on a worker: hash each photo, and search the index too when it can open it.

    Hold point ``cluster-check`` (``revimg.holdpoints``): each chunk a worker starts.
    """
    holdpoints.reached("cluster-check")
    index = _index_here(*where) if where is not None else None
    return [
        check_or_hash(index, photo, with_features, foreign_kinds, threshold, top, skipped)
        for photo in sources
    ]


def searcher(
    client: Client,
    index: IndexBackend | None,
    *,
    threshold: float,
    top: int,
    skipped: Sequence[NotRun] = (),
    send_bytes: bool = False,
    chunk: int = CHUNK,
) -> Callable[[list[Photo]], Iterator[CheckResult]]:
    """The ``local`` part of ``revimg.matching.checker.check_sources``, run on ``client``'s workers.

    A shard set (``revimg.index.shards``) is searched shard by shard on the workers
    (``revimg.cluster.shards``). With ``send_bytes``, this process reads each photo and
    sends its bytes; otherwise the workers read them from their paths (made absolute here:
    workers need not share this process's working folder).
    """
    from revimg.index.shards import ShardedIndex

    if isinstance(index, ShardedIndex):  # each shard answers on a worker that keeps it open
        from revimg.cluster.shards import iter_check_sharded

        location = index.location
        return lambda photos: iter_check_sharded(
            client,
            location,
            [_outgoing(p, send_bytes) for p in photos],  # paths absolute, or bytes read here
            threshold=threshold,
            top=top,
        )

    def run(sources: list[Photo]) -> Iterator[CheckResult]:
        where = None
        if index is not None and index.shared_search_files():
            where = (index.location, index.stamp())
        args = (where, wants_features(index), foreign_kinds_of(index), threshold, top)
        outgoing = (_outgoing(s, send_bytes) for s in sources)
        for done in in_order(
            client, outgoing, chunk, check_chunk, (*args, tuple(skipped)), _crashed
        ):
            if isinstance(done, CheckResult):
                yield done
            else:  # the worker could not open the index: search it here
                yield result_of(index, *done, threshold, top, skipped)

    return run


def _outgoing(source: Photo, send_bytes: bool) -> Photo:
    if source.path is None:
        return source
    if send_bytes:  # read here, once; bytes already read (for a web search) go along too
        with contextlib.suppress(ImageError):  # the worker tries the path and says why not
            source.read()
    return replace(source, path=Path(os.path.abspath(source.path)))


def _crashed(source: Photo) -> CheckResult:
    return CheckResult(query=source.label, error=CRASHED)
