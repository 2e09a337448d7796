"""Perceptual hashes of an image: PDQ (256 bits) and pHash (64 bits), plus SHA-256.

- PDQ is Meta's photo hash, the one that shared hash banks use; :mod:`revimg.imaging.pdq` computes
  it and its seven dihedral variants (rotations and mirrors) in one pass, from a luma array
  that the regions of a photo (views, content boxes) share.
- pHash is imagehash's DCT hash, reimplemented here with a numpy matrix product so that
  checking a photo never imports scipy; ``tests/imaging/test_hashing.py`` pins it to imagehash.

Hashes are ``bytes`` in the hex order of their reference implementations (most
significant bit first), so ``bytes.hex()`` is the familiar hex string.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
from PIL import Image

from revimg.imaging import pdq as pdqlib
from revimg.imaging.decoding import Decoded

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
    #: imagehash's pHash; None for a photo being checked (matching uses PDQ only).
    phash: bytes | None
    views: tuple[View, ...] = ()
    #: Local features (``revimg.imaging.features`` blob) for the crop-robust stage; never exported.
    features: bytes | None = None

    def as_dict(self) -> dict[str, object]:
        """Hex fields, as ``revimg hash`` prints them."""
        return {
            "sha256": self.sha256,
            "width": self.width,
            "height": self.height,
            "pdq": self.pdq.hex(),
            "pdq_quality": self.pdq_quality,
            "phash": self.phash.hex() if self.phash is not None else None,
        }


@dataclass(frozen=True)
class QueryView:
    """One region of a query photo, hashed in all eight dihedral variants."""

    #: "full"; "content" (the photo inside a border or app bars, peeled off the edges);
    #: "framed" (a photo-like region of a screenshot or page); "avatar" (a round avatar)
    name: str
    box: tuple[float, float, float, float] | None
    pdq_variants: np.ndarray  # (8, 32) uint8, row k = variant k
    quality: int


@dataclass(frozen=True)
class QueryRegion:
    """A photo-like region of a query (see :mod:`revimg.imaging.regions`) with its local features,
    found in the region cut out at full resolution."""

    kind: str  # "framed" or "avatar"
    box: tuple[float, float, float, float]
    features: Any  # revimg.imaging.features.Features of the region, and of its mirror image
    mirrored_features: Any
    #: The region's grey working copy (features.working_grey), for the appearance check
    grey: np.ndarray | None = None


@dataclass(frozen=True)
class QueryHashes:
    """A query photo's hashes with every dihedral variant, for matching."""

    hashes: ImageHashes
    views: tuple[QueryView, ...]
    quality: int
    features: Any = None  # revimg.imaging.features.Features of the query, and of its mirror image
    mirrored_features: Any = None
    #: Photo-like regions of a screenshot or page, each searched on its own.
    regions: tuple[QueryRegion, ...] = ()
    #: The query looks like a screenshot, a page or a framed photo rather than a photo.
    screenshot_like: bool = False
    #: The query's grey working copy (features.working_grey), for the appearance check
    grey: np.ndarray | None = None
    #: Other tools' 64-bit hashes of the whole query (revimg.imaging.foreign): kind -> (8,) uint64,
    #: row k = variant k; only the kinds the index holds
    foreign: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def pdq_variants(self) -> np.ndarray:
        """Every searchable hash: (8 * len(views), 32) uint8, view by view."""
        return np.concatenate(
            [v.pdq_variants for v in self.views if v.quality >= MIN_QUALITY]
            or [np.zeros((0, 32), np.uint8)]
        )

    def searchable_views(self) -> list[QueryView]:
        """The views with enough detail to search on, in ``pdq_variants`` order."""
        return [v for v in self.views if v.quality >= MIN_QUALITY]


def _bits_to_bytes(bits: np.ndarray) -> bytes:
    return np.packbits(np.asarray(bits, dtype=np.uint8).reshape(-1)).tobytes()


def pdq_dihedral(img: Image.Image) -> tuple[np.ndarray, int]:
    """PDQ hashes of all eight dihedral variants, as an (8, 32) uint8 array, and the quality."""
    return pdqlib.dihedral_luma(pdqlib.luma(img))


def pdq(img: Image.Image) -> tuple[bytes, int]:
    """The PDQ hash (32 bytes, reference hex order) and quality (0-100) of an RGB image."""
    return pdqlib.hash_luma(pdqlib.luma(img))


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


def _median(a: np.ndarray, axis: int | None = None) -> np.ndarray:
    """``np.median`` for arrays without NaN, without importing ``numpy.ma`` (10-30 ms).

    The same arithmetic as numpy's: the middle value, or the mean of the two middle values.
    """
    s = np.sort(a, axis=axis)
    if axis is None:
        s = s.reshape(-1)
        axis = 0
    n = s.shape[axis]
    lo = np.take(s, (n - 1) // 2, axis=axis).astype(np.float64)
    if n % 2:
        return lo
    hi = np.take(s, n // 2, axis=axis).astype(np.float64)
    return np.add(lo, hi) / 2.0


def _threshold(coeffs: np.ndarray) -> bytes:
    return _bits_to_bytes(coeffs > _median(coeffs))


def phash(img: Image.Image) -> bytes:
    """imagehash's pHash (8 bytes, imagehash hex order), without importing scipy."""
    return _threshold(phash_coefficients(img))


def _crop(lum: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """The region ``box`` (fractions of width and height) of a luma array."""
    h, w = lum.shape
    return lum[round(box[1] * h) : round(box[3] * h), round(box[0] * w) : round(box[2] * w)]


def centre_square(width: int, height: int) -> tuple[float, float, float, float] | None:
    """The centred square region of a photo, or None for photos already about square."""
    if width <= 0 or height <= 0 or 0.9 <= width / height <= 1.1:
        return None
    if width > height:
        side = height / width
        return ((1 - side) / 2, 0.0, (1 + side) / 2, 1.0)
    side = width / height
    return (0.0, (1 - side) / 2, 1.0, (1 + side) / 2)


#: Smallest side (pixels) of a photo whose centre square is stored as an extra view.
MIN_VIEW_SIDE = 16


def index_views(img: Image.Image, lum: np.ndarray | None = None) -> tuple[View, ...]:
    """Extra regions stored per indexed photo so that cropped copies still match.

    ``lum`` is the photo's :func:`revimg.imaging.pdq.luma`, when the caller has it already.
    """
    views = []
    box = centre_square(*img.size)
    if box is not None and min(img.size) >= MIN_VIEW_SIDE:  # a sliver has no square to hash
        h, q = pdqlib.hash_luma(_crop(pdqlib.luma(img) if lum is None else lum, box))
        views.append(View("centre-square", box, h, q))
    return tuple(views)


def hash_image(
    decoded: Decoded, data: bytes, *, with_views: bool = True, with_features: bool = True
) -> ImageHashes:
    """Hash a decoded photo for the index (views and local features unless told not to)."""
    img = decoded.image
    lum = pdqlib.luma(img)
    h, quality = pdqlib.hash_luma(lum)
    grey = img.convert("L")  # what pHash and the local features both start from
    blob = None
    if with_features:
        import dataclasses

        from revimg.imaging import appearance, features

        found = features.extract(grey)
        blob = features.to_blob(dataclasses.replace(found, appearance=appearance.signature(grey)))
    return ImageHashes(
        sha256=hashlib.sha256(data).hexdigest(),
        width=decoded.width,
        height=decoded.height,
        pdq=h,
        pdq_quality=quality,
        phash=phash(grey),
        views=index_views(img, lum) if with_views else (),
        features=blob,
    )


def _line_stats(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of an (h, w, 3) int16 array: its median colour (float64, as ``np.median``),
    and each pixel's distance from it (the largest over the channels, float32).

    Works on a contiguous (h, 3, w) copy with a partial sort: about ten times faster than
    sorting along the middle axis and reducing over the three channels.
    """
    rows = np.ascontiguousarray(arr.transpose(0, 2, 1))
    n = rows.shape[-1]
    part = np.partition(rows, ((n - 1) // 2, n // 2), axis=-1)
    twice = part[..., (n - 1) // 2] + part[..., n // 2]  # (h, 3): twice the median
    dev = np.abs(2 * rows - twice[..., None])
    distance = np.maximum(np.maximum(dev[:, 0], dev[:, 1]), dev[:, 2]).astype(np.float32)
    return twice / 2.0, distance * np.float32(0.5)


def _longest_run(busy: np.ndarray, gap: int) -> tuple[int, int] | None:
    """The longest run of True values, bridging gaps of up to ``gap`` False values."""
    best: tuple[int, int] | None = None
    start = None
    last = -(gap + 2)
    for i, value in enumerate(busy):
        if not value:
            continue
        if start is None or i - last > gap + 1:
            start = i
        last = i
        if best is None or last - start > best[1] - best[0]:
            best = (start, last + 1)
    return best


def _peel_count(median: np.ndarray, share: np.ndarray) -> int:
    """How many of the first lines are margin or app bar, not photo.

    A line is margin when nearly all of it is one colour; a line that is mostly one colour
    (text on an app bar) is margin too when that colour is the one of the band it is in.
    """
    band: np.ndarray | None = None
    for i in range(len(share)):
        if share[i] >= 0.97:
            band = median[i]
        elif not (share[i] >= 0.75 and band is not None and np.abs(median[i] - band).max() <= 8):
            return i
    return len(share)


def _peel(median: np.ndarray, distance: np.ndarray) -> tuple[int, int]:
    """[start, end) of the lines left once margins and bars are peeled off both ends."""
    share = (distance <= 8).mean(axis=1)
    n = len(share)
    start = _peel_count(median, share)
    end = n - _peel_count(median[::-1][: n - start], share[::-1][: n - start])
    return start, end


def _busy(distance: np.ndarray) -> np.ndarray:
    """Lines that are not mostly one colour (within 12 levels for 85% of the line)."""
    return (distance <= 12).mean(axis=1) < 0.85


#: Longest side of the reduced copy that content boxes are looked for in.
BOXES_SIDE = 256


def content_boxes(img: Image.Image) -> list[tuple[float, float, float, float]]:
    """Where the photo may be inside a border, letterbox or app screenshot (0 to 2 guesses).

    Two guesses, because neither is always right: peeling strictly uniform rows and
    columns off the edges (borders, letterboxes), and the longest band of busy rows, then
    busy columns (app bars with text in them).
    """
    # Averaging blocks of pixels (box filter, integer factor) to at most BOXES_SIDE a side:
    # three times faster than a bicubic thumbnail, and as good for finding uniform lines.
    factor = -(-max(img.size) // BOXES_SIDE)
    small = img.reduce(factor) if factor > 1 else img
    arr = np.asarray(small, dtype=np.int16)
    h, w = arr.shape[:2]
    if h < 16 or w < 16:
        return []
    guesses: list[tuple[int, int, int, int]] = []
    row_median, row_distance = _line_stats(arr)
    rows = _peel(row_median, row_distance)
    if rows[1] > rows[0]:
        cols = _peel(*_line_stats(arr[rows[0] : rows[1]].transpose(1, 0, 2)))
        guesses.append((cols[0], rows[0], cols[1], rows[1]))
    run = _longest_run(_busy(row_distance), gap=max(1, h // 100))
    if run is not None:
        _, col_distance = _line_stats(arr[run[0] : run[1]].transpose(1, 0, 2))
        cols_run = _longest_run(_busy(col_distance), gap=max(1, w // 100))
        if cols_run is not None:
            guesses.append((cols_run[0], run[0], cols_run[1], run[1]))
    boxes: list[tuple[float, float, float, float]] = []
    for x0, y0, x1, y1 in guesses:
        if x1 - x0 < w * 0.25 or y1 - y0 < h * 0.25:
            continue
        if x1 - x0 > w * 0.97 and y1 - y0 > h * 0.97:
            continue
        box = (x0 / w, y0 / h, x1 / w, y1 / h)
        if all(max(abs(a - b) for a, b in zip(box, other, strict=True)) > 0.01 for other in boxes):
            boxes.append(box)
    return boxes


#: Long side above which a query is box-reduced before its PDQ hashes: PDQ samples 64
#: points a side, and a phone screenshot (a PNG at full size, 2340 px) made its matrix
#: products cost 25 ms a view. JPEGs are decoded at reduced scale already.
PDQ_QUERY_SIDE = 1024


def _pdq_copy(img: Image.Image) -> Image.Image:
    factor = -(-max(img.size) // PDQ_QUERY_SIDE)
    return img.reduce(factor) if factor > 1 else img


def hash_query(
    decoded: Decoded,
    data: bytes,
    *,
    with_features: bool = True,
    foreign_kinds: tuple[str, ...] = (),
) -> QueryHashes:
    """Hash a photo to check: every dihedral variant, of the whole image and of its content.

    ``with_features=False`` skips local features (and OpenCV): for an index that has none,
    such as one made only of imported hash banks. ``foreign_kinds`` names the other tools'
    hashes (``revimg.imaging.foreign``) to compute too: those the index holds.
    """
    from revimg.imaging import regions as regionlib

    img = decoded.image
    lum = pdqlib.luma(_pdq_copy(img))
    pdq_vars, quality = pdqlib.dihedral_luma(lum)
    views = [QueryView("full", None, pdq_vars, quality)]
    for box in content_boxes(img):
        inner_vars, inner_quality = pdqlib.dihedral_luma(_crop(lum, box))
        views.append(QueryView("content", box, inner_vars, inner_quality))
    proposal = regionlib.analyse(img)
    proposed = proposal.regions
    for region in proposed:
        part = _crop(lum, region.box)
        if region.kind == "avatar":
            part = regionlib.fill_outside_disc(part)
        region_vars, region_quality = pdqlib.dihedral_luma(part)
        views.append(QueryView(region.kind, region.box, region_vars, region_quality))
    hashes = ImageHashes(
        sha256=hashlib.sha256(data).hexdigest(),
        width=decoded.width,
        height=decoded.height,
        pdq=pdq_vars[0].tobytes(),
        pdq_quality=quality,
        phash=None,
    )
    found = mirrored = grey = None
    query_regions: list[QueryRegion] = []
    if with_features:
        from revimg.imaging import features

        # In a screenshot with photo-like regions, the whole image's keypoints would mostly
        # fall on the app's chrome and text: the regions, cut out at full size, are searched
        # instead (a third of a screenshot's check). Unless a region fills much of it (a
        # card, a photo opened full screen): then the whole image is looked at too, in case
        # the region missed part of the photo (a pale sky taken for the page).
        if not proposed or max(_area(r.box) for r in proposed) >= WHOLE_LOOK_AREA:
            grey = features.working_grey(img)
            found, mirrored = features.extract_with_mirror(img, grey=grey)
        for region in proposed:
            if found is None or _area(region.box) < WHOLE_LOOK_AREA:
                query_regions.append(_region_features(img, region))
    return QueryHashes(
        hashes,
        tuple(views),
        max(v.quality for v in views),
        found,
        mirrored,
        tuple(query_regions),
        screenshot_like=proposal.screenshot_like,
        grey=grey,
        foreign=_foreign_hashes(img, foreign_kinds),
    )


def _foreign_hashes(img: Image.Image, kinds: tuple[str, ...]) -> dict[str, np.ndarray]:
    if not kinds:
        return {}
    from revimg.imaging import (
        foreign,  # imagehash (scipy, PyWavelets): only for indexes that need it
    )

    return foreign.dihedral(img, kinds)


#: A screenshot's whole image is searched with local features too when one of its
#: regions covers at least this share of it.
WHOLE_LOOK_AREA = 0.35


def _area(box: tuple[float, float, float, float]) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def _pixel_box(
    size: tuple[int, int], box: tuple[float, float, float, float]
) -> tuple[int, int, int, int]:
    w, h = size
    return round(box[0] * w), round(box[1] * h), round(box[2] * w), round(box[3] * h)


def _region_features(img: Image.Image, region: Any) -> QueryRegion:
    """Local features of a region cut out at full resolution (an avatar: inside its disc)."""
    from revimg.imaging import features
    from revimg.imaging import regions as regionlib

    part = img.crop(_pixel_box(img.size, region.box))
    grey = features.working_grey(part)
    found, mirrored = features.extract_with_mirror(part, grey=grey)
    if region.kind == "avatar":  # keypoints on the disc's edge belong to the page, not the photo
        found = features.inside_disc(found, regionlib.AVATAR_KEYPOINT_RADIUS)
        mirrored = features.inside_disc(mirrored, regionlib.AVATAR_KEYPOINT_RADIUS)
    return QueryRegion(region.kind, region.box, found, mirrored, grey)


def hamming(a: bytes, b: bytes) -> int:
    """Number of differing bits between two equal-length hashes."""
    if len(a) != len(b):
        raise ValueError(f"hashes differ in length: {len(a)} and {len(b)} bytes")
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_count()
