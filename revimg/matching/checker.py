"""The library entry points a script uses: hash photos, check them against an index.

import revimg

with revimg.open_index("~/revimg-index") as index:
    for result in revimg.check(index, ["photo.jpg"]):
        print(result.verdict, [m.entry.name for m in result.matches])
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from revimg.errors import ImageError, RevimgError
from revimg.imaging import hashing
from revimg.imaging.photo import Photo
from revimg.index.backend import IndexBackend
from revimg.matching.find import DEFAULT_THRESHOLD, DEFAULT_TOP, find_matches
from revimg.matching.result import CheckResult, NotRun

if TYPE_CHECKING:
    import httpx

    from revimg.online.search import ProviderResult
    from revimg.online.settings import OnlineSettings
    from revimg.provenance import Provenance

#: Photos searched online at the same time (each runs its providers concurrently).
ONLINE_PHOTOS_AT_ONCE = 4
#: Photos in flight per worker process of a batch check.
PHOTOS_AHEAD = 4
#: Fewer photos than this are checked in this process: starting workers costs more.
MIN_BATCH_FOR_WORKERS = 4


def jobs_for(photos: int) -> int:
    """Worker processes for a batch of this many photos: every core, or none for a few."""
    from revimg.config import default_jobs

    return min(default_jobs(), photos) if photos >= MIN_BATCH_FOR_WORKERS else 1


def hash_source(photo: Photo) -> hashing.ImageHashes:
    """Hash one photo as ``revimg hash`` does (whole image, no crop views).

    Raises:
        ImageError: the photo could not be read or decoded.
    """
    return hashing.hash_image(photo.decoded(), photo.read(), with_views=False)


Hashed = tuple[str, "hashing.QueryHashes | None", "str | None", "Provenance | None"]


def hash_for_query(
    photo: Photo, with_features: bool = True, foreign_kinds: tuple[str, ...] = ()
) -> Hashed:
    """Decode and hash a photo to check, and read what it says about itself.

    Returns ``(label, hashes, None, provenance)``, or ``(label, None, reason, None)``.
    """
    try:
        decoded, data = photo.decoded(), photo.read()
        hashes = hashing.hash_query(
            decoded, data, with_features=with_features, foreign_kinds=foreign_kinds
        )
    except ImageError as exc:
        return photo.label, None, exc.reason, None
    return photo.label, hashes, None, _provenance(data, photo.label)


def _provenance(data: bytes, label: str) -> Provenance | None:
    from revimg import provenance

    try:
        return provenance.inspect(data, label)
    except RevimgError:  # unreadable metadata never stops a check
        return None


def result_of(
    index: IndexBackend | None,
    label: str,
    query: hashing.QueryHashes | None,
    error: str | None,
    found: Provenance | None,
    threshold: float,
    top: int,
    skipped: Sequence[NotRun] = (),
) -> CheckResult:
    if query is None:
        return CheckResult(query=label, error=error or "cannot read the photo")
    if index is None:  # no local index: the photo's own metadata is all there is offline
        matches, warnings = [], []
    else:
        matches, warnings = find_matches(index, query, threshold=threshold, top=top)
    return CheckResult(
        query=label,
        matches=matches,
        quality=query.quality,
        sha256=query.hashes.sha256,
        warnings=warnings,
        provenance=found,
        screenshot_like=query.screenshot_like,
        skipped=list(skipped),
    )


def check_source(
    index: IndexBackend | None,
    photo: Photo,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    top: int = DEFAULT_TOP,
    skipped: Sequence[NotRun] = (),
) -> CheckResult:
    """Check one photo; a photo that cannot be read gives a result with ``error`` set.

    With ``index`` None (there is no local index), only what the photo says about itself
    is read: pass a :class:`NotRun` for the index in ``skipped`` so the verdict says so.
    """
    hashed = hash_for_query(photo, wants_features(index), foreign_kinds_of(index))
    return result_of(index, *hashed, threshold, top, skipped)


def foreign_kinds_of(index: IndexBackend | None) -> tuple[str, ...]:
    """The kinds of other tools' hashes (imagehash pHash) the index holds, if any."""
    return () if index is None else index.foreign_kinds()


def wants_features(index: IndexBackend | None) -> bool:
    """Local features of a query are worth computing only if the index holds some."""
    return index is not None and index.has_features()


@dataclass(frozen=True)
class OnlineRequest:
    """Ask web reverse-search providers too (only when the user asked: see revimg.online.search)."""

    names: tuple[str, ...]
    settings: OnlineSettings
    image_url: str | None = None
    use_cache: bool = True
    client: httpx.Client | None = None


def _search_online(request: OnlineRequest, photo: Photo) -> list[ProviderResult]:
    from revimg.online.search import search_online

    data = None
    if request.image_url is None:  # with an address, only the address leaves the machine
        try:
            data = photo.read()  # the bytes the local check hashes: the file is read once
        except ImageError:
            return []  # the local check reports the unreadable photo
    return search_online(
        list(request.names),
        image_bytes=data,
        image_url=request.image_url,
        settings=request.settings,
        client=request.client,
        use_cache=request.use_cache,
    )


def check_sources(
    index: IndexBackend | None,
    photos: Iterable[Photo],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    top: int = DEFAULT_TOP,
    jobs: int | None = 1,
    online: OnlineRequest | None = None,
    skipped: Sequence[NotRun] = (),
    local: Callable[[list[Photo]], Iterable[CheckResult]] | None = None,
    keep_bytes: bool = False,
) -> Iterator[CheckResult]:
    """Check photos in order, one result each; ``jobs`` > 1 hashes them on that many cores
    (None: :func:`jobs_for` the batch).

    Each :class:`Photo` is read once: hashing, its metadata, the web search and the caller
    share its bytes. With ``keep_bytes`` (a report will show the photos), ``photo.read()``
    still has them while the caller handles the photo's result (they are let go when the
    next result is asked for); worker processes are then sent the bytes, not the path.

    With ``online``, each photo is also searched on the web, concurrently with the local
    search (a few photos at a time); the provider results land in ``CheckResult.online``,
    and a provider that failed makes the photo's verdict ``incomplete`` unless some part
    found a match. ``index`` None means there is no local index (see :func:`check_source`);
    ``skipped`` names the parts that did not run for every photo. ``local`` replaces the
    hashing and index search (``jobs``), with a cluster's (``revimg.cluster``), say: it
    yields one result per photo, in order; the web search stays in this process.
    """
    photos = list(photos)
    pending: list[Future[list[ProviderResult]]] = []
    web = ThreadPoolExecutor(max_workers=ONLINE_PHOTOS_AT_ONCE) if online is not None else None
    try:
        if web is not None and online is not None:
            pending = [web.submit(_search_online, online, s) for s in photos]
        read_here = keep_bytes or online is not None  # the bytes are needed here anyway
        if jobs is None:
            jobs = jobs_for(len(photos))
        found = (
            _local(index, photos, threshold, top, jobs, skipped, read_here)
            if local is None
            else local(photos)
        )
        for i, result in enumerate(found):
            if online is not None:
                result.online = list(pending[i].result())
            yield result
            photos[i].release()
    finally:
        if web is not None:
            for future in pending:
                future.cancel()
            web.shutdown(wait=True)


#: The index a batch-check worker process searches (opened by :func:`_open_in_worker`).
_worker_index: IndexBackend | None = None


def _open_in_worker(parent: int, location: str | None) -> None:
    """Worker initializer: exit with the parent; open the index to search it here too."""
    from revimg.index.builder import exit_with_parent
    from revimg.index.store import open_index

    exit_with_parent(parent)
    global _worker_index
    if location is not None:
        try:
            _worker_index = open_index(location)
        except RevimgError:
            _worker_index = None  # the parent searches what this worker hashes


def _check_in_worker(
    photo: Photo,
    with_features: bool,
    threshold: float,
    top: int,
    skipped: Sequence[NotRun] = (),
    foreign_kinds: tuple[str, ...] = (),
) -> CheckResult | Hashed:
    """Hash one photo and, when this worker has the index open, search it too."""
    return check_or_hash(
        _worker_index, photo, with_features, foreign_kinds, threshold, top, skipped
    )


def check_or_hash(
    index: IndexBackend | None,
    photo: Photo,
    with_features: bool,
    foreign_kinds: tuple[str, ...],
    threshold: float,
    top: int,
    skipped: Sequence[NotRun] = (),
) -> CheckResult | Hashed:
    """A worker's part of a batch check: the photo's result when it has ``index`` open,
    else only its hashes (for the parent to search: :func:`result_of`)."""
    hashed = hash_for_query(photo, with_features, foreign_kinds)
    return hashed if index is None else result_of(index, *hashed, threshold, top, skipped)


def _local(
    index: IndexBackend | None,
    photos: list[Photo],
    threshold: float,
    top: int,
    jobs: int,
    skipped: Sequence[NotRun],
    read_here: bool = False,
) -> Iterator[CheckResult]:
    if jobs <= 1 or index is None:
        for photo in photos:
            yield check_source(index, photo, threshold=threshold, top=top, skipped=skipped)
        return
    from concurrent.futures import ProcessPoolExecutor
    from functools import partial

    # Workers search too when they can map the index's search files: the search is half
    # the work of a check at ten million entries, too much for the parent alone.
    location = index.location if index.shared_search_files() else None
    work = partial(
        _check_in_worker,
        with_features=wants_features(index),
        threshold=threshold,
        top=top,
        skipped=tuple(skipped),
        foreign_kinds=index.foreign_kinds(),
    )

    def send(pool: ProcessPoolExecutor, photo: Photo) -> Future[CheckResult | Hashed]:
        if read_here:  # read once, here: the worker hashes these bytes
            with contextlib.suppress(ImageError):  # the worker says why it cannot
                photo.read()
        return pool.submit(work, photo)

    with ProcessPoolExecutor(
        max_workers=jobs, initializer=_open_in_worker, initargs=(os.getpid(), location)
    ) as pool:
        # a few photos ahead of the results, not the whole batch: bytes sent to the workers
        # are held only until their photo's result is out
        ahead = deque(send(pool, p) for p in photos[: jobs * PHOTOS_AHEAD])
        for next_at in itertools.count(jobs * PHOTOS_AHEAD):
            if not ahead:
                return
            done = ahead.popleft().result()
            if next_at < len(photos):
                ahead.append(send(pool, photos[next_at]))
            if isinstance(done, CheckResult):
                yield done
            else:
                yield result_of(index, *done, threshold, top, skipped)


def check_paths(
    index: IndexBackend,
    paths: Iterable[str | Path],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    top: int = DEFAULT_TOP,
) -> Iterator[CheckResult]:
    """Check photo files in order, one result each."""
    photos = (Photo(str(p), path=Path(p)) for p in paths)
    return check_sources(index, photos, threshold=threshold, top=top)


def check(
    index: IndexBackend | None,
    photos: Iterable[str | Path | bytes],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    top: int = DEFAULT_TOP,
    jobs: int = 1,
) -> list[CheckResult]:
    """Check photos (file paths, or a photo's bytes) against ``index``, one result each,
    in order; ``jobs`` > 1 spreads the work over that many processes.

    With ``index`` None, only what each photo says about itself is read, and each result
    says so (``not_run``: the index part; its verdict is ``incomplete`` unless the
    metadata is evidence on its own). A photo that cannot be read gives a result with
    ``error`` set; nothing here raises for one bad photo.
    """
    photos = [
        Photo(f"<photo {i + 1} (bytes)>", data=p)
        if isinstance(p, bytes)
        else Photo(str(p), path=Path(p))
        for i, p in enumerate(photos)
    ]
    skipped = (
        ()
        if index is not None
        else (NotRun("index", "missing", "no index was given, so no known photos were compared"),)
    )
    return list(
        check_sources(index, photos, threshold=threshold, top=top, jobs=jobs, skipped=skipped)
    )
