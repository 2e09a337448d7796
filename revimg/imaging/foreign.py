"""64-bit hashes that other tools made: imagehash's pHash (dHash, wHash and aHash refused).

People keep lists of ``str(imagehash.phash(Image.open(path)))`` for the photos they know.
revimg imports such lists (:mod:`revimg.index.bank`) and matches a query against them with the
SAME kind of hash, computed with imagehash itself (its bits are what the list's author got),
in all eight dihedral variants of the query (mirrors, quarter turns).

Each kind has a limit in bits of 64, measured in ``benchmarks/accuracy.py`` as the largest
distance at which no two distinct pictures met (see the README). A kind that cannot tell
copies from other pictures at any useful distance is refused at import (``REFUSED``).

Score, on PDQ's scale: ``1 - distance / (4 * limit)``, clipped to [0, 1]. PDQ's own score
is the same formula with its limit of 32 bits of 256, so a kind's limit sits at the
default threshold 0.75 for every kind, a stricter threshold asks for fewer differing bits
in the same proportion, and a looser one is capped at the kind's ``ceiling``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from revimg.imaging.hashing import VARIANT_TRANSPOSE

BITS = 64


def _imagehash() -> Any:
    import imagehash  # scipy and PyWavelets come with it: only when an index needs it

    return imagehash


@dataclass(frozen=True)
class Kind:
    """One accepted kind of 64-bit hash: how to compute it, and how far a copy may be."""

    name: str
    compute: Callable[[Image.Image], Any]  # image -> imagehash.ImageHash
    #: Largest distance (bits of 64) reported at the default threshold 0.75.
    limit: int
    #: Largest distance ever reported, whatever the threshold (the measured safe reach).
    ceiling: int


def _phash(img: Image.Image) -> Any:
    return _imagehash().phash(img)


#: The kinds revimg matches, by the name a bank gives them. pHash: copies re-saved,
#: resized, re-encoded, turned grey, blurred, mirrored or turned a quarter are within 2 bits
#: (brighter: 97% within 6), and no two of 641,379 pairs of distinct pictures were within 7
#: (benchmarks/accuracy.py --foreign; pHash distances are even: it has 32 bits set).
KINDS: dict[str, Kind] = {
    "phash": Kind("phash", _phash, limit=6, ceiling=8),
}
#: Kinds a bank may name that revimg will not match, with the one-line reason (measured on
#: the same 641,379 pairs of distinct pictures, queries with PDQ quality 50 or more).
REFUSED: dict[str, str] = {
    "dhash": (
        "dHash (imagehash dhash) is refused: distinct pictures share identical dHashes too "
        "often (11 of 641,379 measured pairs, 57 within 2 bits) for a match to be evidence; "
        "share pHashes (imagehash.phash) instead"
    ),
    "whash": (
        "wHash (imagehash whash) is refused: distinct pictures share identical wHashes too "
        "often (385 of 641,379 measured pairs, 12 of 3,540 pairs of whole photos) for a match "
        "to be evidence; share pHashes (imagehash.phash) instead"
    ),
    "ahash": (
        "aHash (imagehash average_hash) is refused: distinct pictures share identical aHashes "
        "too often (150 of 641,379 measured pairs) for a match to be evidence; share pHashes "
        "(imagehash.phash) instead"
    ),
}
#: Every kind a bank may name (accepted or refused), so a refused one is named, not unknown.
NAMES = (*KINDS, *REFUSED)


def score_of(kind: str, distance: int) -> float:
    """Similarity in [0, 1] of a ``kind`` distance; see the module docstring."""
    return max(0.0, min(1.0, 1.0 - distance / (4 * KINDS[kind].limit)))


def max_distance_for(kind: str, threshold: float) -> int:
    """The largest ``kind`` distance whose score reaches ``threshold`` (at most its ceiling)."""
    k = KINDS[kind]
    return min(k.ceiling, int((1.0 - threshold) * 4 * k.limit + 1e-9))


def to_bytes(value: Any) -> bytes:
    """An ``imagehash.ImageHash`` of 64 bits as 8 bytes, in its hex order."""
    return bytes.fromhex(str(value))


def to_signed(value: bytes) -> int:
    """8 hash bytes as the signed 64-bit integer SQLite stores."""
    return int.from_bytes(value, "big", signed=True)


def from_signed(value: int) -> bytes:
    """The 8 hash bytes of a stored signed 64-bit integer."""
    return value.to_bytes(8, "big", signed=True)


def of_image(img: Image.Image, kind: str) -> bytes:
    """The ``kind`` hash of one image, exactly as imagehash computes it (8 bytes)."""
    return to_bytes(KINDS[kind].compute(img))


def dihedral(img: Image.Image, kinds: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Per kind, its hash of the eight dihedral variants of ``img`` as (8,) uint64, row ``k``
    being :data:`revimg.imaging.hashing.VARIANTS` ``k`` (the variant that undoes that edit)."""
    if not kinds:
        return {}
    grey = img.convert("L")  # what imagehash converts to first; done once for all variants
    variants = [grey if t is None else grey.transpose(t) for t in VARIANT_TRANSPOSE]
    return {
        kind: np.array(
            [int.from_bytes(of_image(v, kind), "big") for v in variants], dtype=np.uint64
        )
        for kind in kinds
    }


def distances(stored: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """(n, len(queries)) Hamming distances between stored and query 64-bit hashes."""
    return np.bitwise_count(stored[:, None] ^ queries[None, :])
