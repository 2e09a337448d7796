"""Perceptual hashes of an image: PDQ (256 bits) and pHash (64 bits), plus SHA-256.

- PDQ is Meta's photo hash, the one that shared hash banks use; ``pdqhash`` computes it
  and its seven dihedral variants (rotations and mirrors) in one pass.
- pHash is imagehash's DCT hash, reimplemented here with a numpy matrix product so that
  checking a photo never imports scipy; ``tests/test_hashing.py`` pins it to imagehash.

Hashes are ``bytes`` in the hex order of their reference implementations (most
significant bit first), so ``bytes.hex()`` is the familiar hex string.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache

import numpy as np
from PIL import Image

from revimg.imaging import Decoded

PDQ_BITS = 256
PHASH_BITS = 64
#: PDQ quality below which a hash describes too little detail to match on (Meta's advice: 50).
MIN_QUALITY = 50

#: Dihedral variants in pdqhash's order, named by the edit that turns the original photo
#: into the query: the query's variant ``k`` undoes that edit.
VARIANTS: tuple[str, ...] = (
    "original",
    "rotated-90-cw",
    "rotated-180",
    "rotated-90-ccw",
    "flipped-upside-down",
    "mirrored",
    "mirrored+rotated-90-ccw",
    "mirrored+rotated-90-cw",
)
#: Pillow transposes that produce pdqhash's variant ``k`` from an image (None: identity).
VARIANT_TRANSPOSE: tuple[Image.Transpose | None, ...] = (
    None,
    Image.Transpose.ROTATE_90,
    Image.Transpose.ROTATE_180,
    Image.Transpose.ROTATE_270,
    Image.Transpose.FLIP_TOP_BOTTOM,
    Image.Transpose.FLIP_LEFT_RIGHT,
    Image.Transpose.TRANSPOSE,
    Image.Transpose.TRANSVERSE,
)


@dataclass(frozen=True)
class View:
    """The PDQ hash of one region of a photo (``box`` in fractions of width and height)."""

    name: str
    box: tuple[float, float, float, float]
    pdq: bytes
    quality: int


@dataclass(frozen=True)
class ImageHashes:
    """Everything revimg stores about one photo; never any pixels."""

    sha256: str
    width: int
    height: int
    pdq: bytes
    pdq_quality: int
    phash: bytes
    views: tuple[View, ...] = ()

    def as_dict(self) -> dict[str, object]:
        """Hex fields, as ``revimg hash`` prints them."""
        return {
            "sha256": self.sha256,
            "width": self.width,
            "height": self.height,
            "pdq": self.pdq.hex(),
            "pdq_quality": self.pdq_quality,
            "phash": self.phash.hex(),
        }


@dataclass(frozen=True)
class QueryHashes:
    """A query photo's hashes with every dihedral variant, for matching."""

    hashes: ImageHashes
    pdq_variants: np.ndarray  # (8, 32) uint8, row k = variant k
    phash_variants: np.ndarray  # (8, 8) uint8
    quality: int


def _bits_to_bytes(bits: np.ndarray) -> bytes:
    return np.packbits(np.asarray(bits, dtype=np.uint8).reshape(-1)).tobytes()


def pdq_dihedral(img: Image.Image) -> tuple[np.ndarray, int]:
    """PDQ hashes of all eight dihedral variants, as an (8, 32) uint8 array, and the quality."""
    import pdqhash  # compiled extension: imported on first use

    arr = np.ascontiguousarray(np.asarray(img, dtype=np.uint8))
    vectors, quality = pdqhash.compute_dihedral(arr)
    packed = np.stack([np.packbits(np.asarray(v, dtype=np.uint8)) for v in vectors])
    return packed, int(quality)


def pdq(img: Image.Image) -> tuple[bytes, int]:
    """The PDQ hash (32 bytes, reference hex order) and quality (0-100) of an RGB image."""
    import pdqhash

    arr = np.ascontiguousarray(np.asarray(img, dtype=np.uint8))
    vector, quality = pdqhash.compute(arr)
    return _bits_to_bytes(vector), int(quality)


@cache
def _dct_matrix(size: int = 32, keep: int = 8) -> np.ndarray:
    # Unnormalised DCT-II, as scipy.fftpack.dct computes it: 2 * sum x[n] cos(pi k (2n+1) / 2N).
    n = np.arange(size)
    k = np.arange(keep)[:, None]
    return 2.0 * np.cos(np.pi * k * (2 * n + 1) / (2 * size))


def phash_coefficients(img: Image.Image) -> np.ndarray:
    """The 8x8 low-frequency DCT block that imagehash's ``phash`` thresholds."""
    grey = np.asarray(img.convert("L").resize((32, 32), Image.Resampling.LANCZOS), dtype=np.float64)
    d = _dct_matrix()
    return d @ grey @ d.T


def _threshold(coeffs: np.ndarray) -> bytes:
    return _bits_to_bytes(coeffs > np.median(coeffs))


def phash(img: Image.Image) -> bytes:
    """imagehash's pHash (8 bytes, imagehash hex order), without importing scipy."""
    return _threshold(phash_coefficients(img))


def phash_dihedral(img: Image.Image) -> np.ndarray:
    """pHash of all eight dihedral variants as an (8, 8) uint8 array.

    DCT coefficient (u, v) of a mirrored image is the original's times (-1)**v, and a
    transpose swaps u and v, so every variant comes from one DCT block.
    """
    c = phash_coefficients(img)
    sign = (-1.0) ** np.arange(8)
    flip_cols = c * sign[None, :]  # left-right mirror
    flip_rows = c * sign[:, None]  # top-bottom flip
    both = c * sign[:, None] * sign[None, :]  # 180 degrees
    blocks = (
        c,
        flip_cols.T,  # rotate 90 ccw: a transpose of the left-right mirror
        both,
        flip_rows.T,  # rotate 90 cw: a transpose of the top-bottom flip
        flip_rows,
        flip_cols,
        c.T,
        both.T,
    )
    return np.stack([np.frombuffer(_threshold(b), dtype=np.uint8) for b in blocks])


def _crop(img: Image.Image, box: tuple[float, float, float, float]) -> Image.Image:
    w, h = img.size
    return img.crop((round(box[0] * w), round(box[1] * h), round(box[2] * w), round(box[3] * h)))


def centre_square(width: int, height: int) -> tuple[float, float, float, float] | None:
    """The centred square region of a photo, or None for photos already about square."""
    if width <= 0 or height <= 0 or 0.9 <= width / height <= 1.1:
        return None
    if width > height:
        side = height / width
        return ((1 - side) / 2, 0.0, (1 + side) / 2, 1.0)
    side = width / height
    return (0.0, (1 - side) / 2, 1.0, (1 + side) / 2)


def index_views(img: Image.Image) -> tuple[View, ...]:
    """Extra regions stored per indexed photo so that cropped copies still match."""
    views = []
    box = centre_square(*img.size)
    if box is not None:
        h, q = pdq(_crop(img, box))
        views.append(View("centre-square", box, h, q))
    return tuple(views)


def hash_image(decoded: Decoded, data: bytes, *, with_views: bool = True) -> ImageHashes:
    """Hash a decoded photo for the index."""
    img = decoded.image
    h, quality = pdq(img)
    return ImageHashes(
        sha256=hashlib.sha256(data).hexdigest(),
        width=decoded.width,
        height=decoded.height,
        pdq=h,
        pdq_quality=quality,
        phash=phash(img),
        views=index_views(img) if with_views else (),
    )


def hash_query(decoded: Decoded, data: bytes) -> QueryHashes:
    """Hash a photo to check, with every dihedral variant."""
    img = decoded.image
    pdq_vars, quality = pdq_dihedral(img)
    ph_vars = phash_dihedral(img)
    hashes = ImageHashes(
        sha256=hashlib.sha256(data).hexdigest(),
        width=decoded.width,
        height=decoded.height,
        pdq=pdq_vars[0].tobytes(),
        pdq_quality=quality,
        phash=ph_vars[0].tobytes(),
    )
    return QueryHashes(hashes, pdq_vars, ph_vars, quality)


def hamming(a: bytes, b: bytes) -> int:
    """Number of differing bits between two equal-length hashes."""
    if len(a) != len(b):
        raise ValueError(f"hashes differ in length: {len(a)} and {len(b)} bytes")
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_count()
