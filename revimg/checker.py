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


def check_source(
    index: IndexBackend,
    source: Source,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    top: int = DEFAULT_TOP,
) -> CheckResult:
    """Check one photo; a photo that cannot be read gives a result with ``error`` set."""
    try:
        data, decoded = _load(source)
        query = hashing.hash_query(decoded, data)
    except ImageError as exc:
        return CheckResult(query=source.label, error=exc.reason)
    matches, warnings = find_matches(index, query, threshold=threshold, top=top)
    return CheckResult(
        query=source.label,
        matches=matches,
        quality=query.quality,
        sha256=query.hashes.sha256,
        warnings=warnings,
    )


def check_sources(
    index: IndexBackend,
    sources: Iterable[Source],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    top: int = DEFAULT_TOP,
) -> Iterator[CheckResult]:
    """Check photos in order, one result each."""
    for source in sources:
        yield check_source(index, source, threshold=threshold, top=top)


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
