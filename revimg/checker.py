"""The library entry points a script uses: hash photos, check them against an index.

from revimg.checker import check_paths
from revimg.index import open_index

with open_index("~/revimg-index") as index:
    for result in check_paths(index, ["photo.jpg"]):
        print(result.verdict, [m.entry.name for m in result.matches])
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from revimg import hashing, imaging
from revimg.errors import ImageError
from revimg.index import IndexBackend
from revimg.matching import DEFAULT_THRESHOLD, DEFAULT_TOP, CheckResult, find_matches
from revimg.sources import Source


def _load(source: Source) -> tuple[bytes, imaging.Decoded]:
    if source.data is not None:
        if not source.data:
            raise ImageError(source.label, "no image data on standard input")
        return source.data, imaging.decode(source.data, source.label)
    assert source.path is not None
    return imaging.load(source.path, source.label)


def hash_source(source: Source) -> hashing.ImageHashes:
    """Hash one photo as ``revimg hash`` does (whole image, no crop views).

    Raises:
        ImageError: the photo could not be read or decoded.
    """
    data, decoded = _load(source)
    return hashing.hash_image(decoded, data, with_views=False)


def hash_for_query(source: Source) -> tuple[str, hashing.QueryHashes | None, str | None]:
    """Decode and hash a photo to check: ``(label, hashes, None)`` or ``(label, None, reason)``."""
    try:
        data, decoded = _load(source)
        return source.label, hashing.hash_query(decoded, data), None
    except ImageError as exc:
        return source.label, None, exc.reason


def _result(
    index: IndexBackend,
    label: str,
    query: hashing.QueryHashes | None,
    error: str | None,
    threshold: float,
    top: int,
) -> CheckResult:
    if query is None:
        return CheckResult(query=label, error=error or "cannot read the photo")
    matches, warnings = find_matches(index, query, threshold=threshold, top=top)
    return CheckResult(
        query=label,
        matches=matches,
        quality=query.quality,
        sha256=query.hashes.sha256,
        warnings=warnings,
    )


def check_source(
    index: IndexBackend,
    source: Source,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    top: int = DEFAULT_TOP,
) -> CheckResult:
    """Check one photo; a photo that cannot be read gives a result with ``error`` set."""
    return _result(index, *hash_for_query(source), threshold, top)


def check_sources(
    index: IndexBackend,
    sources: Iterable[Source],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    top: int = DEFAULT_TOP,
    jobs: int = 1,
) -> Iterator[CheckResult]:
    """Check photos in order, one result each; ``jobs`` > 1 hashes them on that many cores."""
    if jobs <= 1:
        for source in sources:
            yield check_source(index, source, threshold=threshold, top=top)
        return
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for label, query, error in pool.map(hash_for_query, sources, chunksize=2):
            yield _result(index, label, query, error, threshold, top)


def check_paths(
    index: IndexBackend,
    paths: Iterable[str | Path],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    top: int = DEFAULT_TOP,
) -> Iterator[CheckResult]:
    """Check photo files in order, one result each."""
    sources = (Source(str(p), path=Path(p)) for p in paths)
    return check_sources(index, sources, threshold=threshold, top=top)
