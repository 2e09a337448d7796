"""Where a photo may be inside a bigger image: a screenshot, a web page, a chat, an avatar.

A victim rarely holds the profile photo as a file: they hold a screenshot of a chat, a
dating-app card, a profile page with a round avatar. Hashing the whole screenshot (or
finding keypoints in it shrunk to 512 px) loses the photo among the app's chrome. This
module proposes the regions of a query that look like a photo, so that each is searched
as its own view, cut out at full resolution:

1. On a copy reduced to at most :data:`WORK_SIDE` px, an image whose two most common exact
   colours cover :data:`MIN_UI_SHARE` or more is taken for UI (a screenshot, a page); a
   photo stops here (:func:`ui_share`, one colour count).
2. The UI's palette: colour bins whose pixels lie inside flat areas (:data:`FILL_PX`
   across) and make :data:`PALETTE_SHARE` of the image. Photos are noisy, so their common
   colours are not flat and do not count.
3. Pixels in no palette colour are opened (lines of text and thin icons go) and closed (a
   time stamp or caption drawn over a photo is bridged), then split into connected
   components. A component becomes a region when it is big enough (:data:`MIN_AREA`,
   :data:`MIN_SIDE_PX` a side), not the whole image, textured (:data:`MIN_DENSITY`), not
   mostly exactly flat (:data:`MAX_FLAT`) and with :data:`MIN_LEVELS` grey levels (drawn
   buttons have about 40). A component with little texture is also split to its textured
   part (an avatar over a gradient cover).
4. A component whose shape is a disc (it fills about pi/4 of its square bounding box, and a
   circle drawn in that box covers it) is an ``avatar``: the centre square of a photo with
   its corners lost. Everything else is ``framed``.

Nothing here decides a match: a region is only searched, and the usual evidence (PDQ
distance, or local features with the acceptance rule) decides.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image

#: Long side, in pixels, of the reduced copy regions are looked for in.
WORK_SIDE = 768
#: Neighbourhood grey range (levels) at or below which a pixel is flat.
FLAT_LEVELS = 3
#: A colour bin holding this share of the image is one of the UI's colours ...
PALETTE_SHARE = 0.004
#: ... counting only pixels inside flat areas this many reduced pixels across ...
FILL_PX = 7
#: ... of which at most this many are kept ...
PALETTE_MAX = 16
#: ... and a pixel within this many levels (every channel) of one of them is UI.
PALETTE_TOLERANCE = 6
#: Side (reduced pixels) of the opening that removes text and the closing that bridges
#: overlays.
OPEN_PX = 5
#: A region covers at least this share of the image ...
MIN_AREA = 0.004
#: ... and at least this many pixels of the original on each side.
MIN_SIDE_PX = 96
#: A region covering this share of the image in both directions is the whole image.
WHOLE = 0.92
#: Share of busy (textured) pixels in a region: a photo has texture, a gradient or a
#: flat button in an unusual colour does not.
MIN_DENSITY = 0.15
#: Share of exactly flat pixels above which a region is a drawn element (a button with an
#: icon on it), not a photo, whose noise leaves few pixels exactly flat.
MAX_FLAT = 0.5
#: A component with less texture than this may be a photo joined to a smooth area: its
#: textured part is proposed as well.
SPLIT_DENSITY = 0.6
#: Distinct grey levels a region has at least: photos have 200 and more, a drawn button
#: with an anti-aliased icon about 40.
MIN_LEVELS = 96
#: Regions kept per query, largest first.
MAX_REGIONS = 4
#: A framed region fills at least this share of its bounding box.
MIN_FILL = 0.45
#: Keypoints of an avatar further from its centre than this (fraction of the radius) are
#: dropped: their patches straddle the disc's edge.
AVATAR_KEYPOINT_RADIUS = 0.9
#: Disc test: the fill of the bounding box (a disc fills pi/4 = 0.785) ...
DISC_FILL = (0.68, 0.86)
#: ... width / height ...
DISC_ASPECT = (0.85, 1.18)
#: ... and the share of the component inside the inscribed circle.
DISC_INSIDE = 0.95


@dataclass(frozen=True)
class Region:
    """A part of the query that may be a photo: ``box`` in fractions of width and height."""

    kind: str  # "framed" (a rectangle, maybe with rounded corners) or "avatar" (a disc)
    box: tuple[float, float, float, float]


def _range(arr: np.ndarray) -> np.ndarray:
    """(h, w): the grey range (max - min) of each pixel's 3 x 3 neighbourhood."""
    h, w = arr.shape
    pad = np.pad(arr, 1, mode="edge")
    hi = pad[1 : h + 1, 1 : w + 1].copy()
    lo = hi.copy()
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            if dy == 1 and dx == 1:
                continue
            part = pad[dy : dy + h, dx : dx + w]
            np.maximum(hi, part, out=hi)
            np.minimum(lo, part, out=lo)
    return hi - lo


def _busy(arr: np.ndarray) -> np.ndarray:
    """(h, w) bool: the 3 x 3 neighbourhood's grey range exceeds FLAT_LEVELS."""
    return _range(arr) > FLAT_LEVELS


def ui_share(small: Image.Image) -> float:
    """Share of the image in its two most common exact colours (sampled every other pixel).

    App chrome and page backgrounds are drawn in a few exact colours; a photo's sky or wall
    is a gradient with noise, whose most common colours cover a few percent of it.
    """
    rgb = np.asarray(small.convert("RGB"))[::2, ::2].reshape(-1, 3).astype(np.int32)
    if not len(rgb):
        return 0.0
    packed = (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]
    _, counts = np.unique(packed, return_counts=True)
    top = np.partition(counts, len(counts) - 2)[-2:] if len(counts) > 1 else counts
    return float(top.sum() / len(packed))


def _reduced(img: Image.Image) -> tuple[Image.Image, int]:
    factor = max(1, -(-max(img.size) // WORK_SIDE))
    return (img.reduce(factor) if factor > 1 else img), factor


def _is_disc(mask: np.ndarray) -> bool:
    h, w = mask.shape
    if not DISC_ASPECT[0] <= w / max(h, 1) <= DISC_ASPECT[1]:
        return False
    fill = mask.mean()
    if not DISC_FILL[0] <= fill <= DISC_FILL[1]:
        return False
    yy, xx = np.mgrid[0:h, 0:w]
    inside = ((xx + 0.5 - w / 2) / (w / 2)) ** 2 + ((yy + 0.5 - h / 2) / (h / 2)) ** 2 <= 1.1
    return bool(mask[inside].sum() >= DISC_INSIDE * mask.sum())


@dataclass(frozen=True)
class Proposal:
    """The photo-like regions of an image, and whether it looks like a screenshot or page."""

    regions: tuple[Region, ...]
    #: Much of the image is flat colour (app chrome, a page): a screenshot, not a photo.
    screenshot_like: bool


#: An image with at least this share in its two most common exact colours is taken for a
#: screenshot or page (chat backgrounds, letterboxes, page margins); see :func:`ui_share`.
MIN_UI_SHARE = 0.25


def analyse(img: Image.Image) -> Proposal:
    """Photo-like regions of ``img`` and whether it looks like UI (none for a plain photo)."""
    small, factor = _reduced(img)
    if small.width < 16 or small.height < 16:
        return Proposal((), False)
    if ui_share(small) < MIN_UI_SHARE:  # a photo, not a screenshot or page
        return Proposal((), False)
    rgb = np.asarray(small.convert("RGB"), dtype=np.int16)
    grey = np.asarray(small.convert("L"), dtype=np.int16)
    spread = _range(grey)
    flat = spread <= 1
    other = _not_ui(rgb, _fills(flat))
    return Proposal(_components(other, spread > FLAT_LEVELS, flat, grey, factor), True)


def _palette(rgb: np.ndarray, flat: np.ndarray) -> np.ndarray:
    """(k, 3) the UI's colours: colour bins (8 levels a channel) whose FLAT pixels make at
    least PALETTE_SHARE of the image, each as the mean colour of those pixels. UI is drawn
    in flat fills; a photo's common colours are noisy, so they do not count."""
    total = rgb[::2, ::2].shape[0] * rgb[::2, ::2].shape[1]
    sample = rgb[::2, ::2][flat[::2, ::2]].astype(np.int64)
    codes = ((sample[:, 0] >> 3) << 10) | ((sample[:, 1] >> 3) << 5) | (sample[:, 2] >> 3)
    counts = np.bincount(codes, minlength=1 << 15)
    common = np.flatnonzero(counts >= PALETTE_SHARE * total)
    common = common[np.argsort(-counts[common], kind="stable")][:PALETTE_MAX]
    sums = np.stack(
        [np.bincount(codes, weights=sample[:, c], minlength=1 << 15)[common] for c in range(3)],
        axis=1,
    )
    return sums / counts[common][:, None]


def _fills(flat: np.ndarray) -> np.ndarray:
    """Flat pixels inside a flat area at least FILL_PX across: backgrounds, bars, bubbles
    (not the strokes of text, not a photo's small flat patches)."""
    import cv2

    k = cv2.getStructuringElement(cv2.MORPH_RECT, (FILL_PX, FILL_PX))
    return cv2.erode(flat.astype(np.uint8), k).astype(bool)


def _not_ui(rgb: np.ndarray, flat: np.ndarray) -> np.ndarray:
    """(h, w) bool: pixels not within about PALETTE_TOLERANCE of a UI colour.

    A look-up table over colours at 4 levels a channel (64 ** 3 entries) marks the bins
    within reach of a palette colour: one table look-up per pixel instead of a comparison
    with every palette colour (the tolerance grows by up to 3 levels at bin edges).
    """
    near = np.zeros((64, 64, 64), bool)
    for colour in _palette(rgb, flat):
        lo = np.clip((colour - PALETTE_TOLERANCE).astype(np.int64), 0, 255) >> 2
        hi = np.clip((colour + PALETTE_TOLERANCE).astype(np.int64), 0, 255) >> 2
        near[lo[0] : hi[0] + 1, lo[1] : hi[1] + 1, lo[2] : hi[2] + 1] = True
    q = rgb >> 2
    return ~near[q[..., 0], q[..., 1], q[..., 2]]


def _components(
    other: np.ndarray, busy: np.ndarray, flat: np.ndarray, grey: np.ndarray, factor: int
) -> tuple[Region, ...]:
    """Regions from the mask of pixels in no UI colour (see the module docstring)."""
    import cv2  # only for images that may hold a photo (not for plain photos)

    mask = other.astype(np.uint8)
    # opening removes lines of text and thin icons (anti-aliased strokes are off-palette);
    # closing then bridges what is drawn over a photo (a time stamp, white caption text)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (OPEN_PX, OPEN_PX))
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, k)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, k)
    found: list[tuple[float, Region]] = []
    for area, region, smooth in _regions_of(mask, busy, flat, grey, factor):
        if region is not None:
            found.append((area, region))
        if smooth is not None:
            # a photo joined to a smooth area (an avatar over a gradient cover, a photo
            # beside a gradient banner): the textured part alone is a region too
            grow = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3 * OPEN_PX, 3 * OPEN_PX))
            textured = smooth & cv2.dilate(busy.astype(np.uint8), grow)
            textured = cv2.morphologyEx(textured, cv2.MORPH_OPEN, k)
            found += [(a, r) for a, r, _ in _regions_of(textured, busy, flat, grey, factor) if r]
    found.sort(key=lambda t: -t[0])
    kept: list[Region] = []
    for _, region in found:
        if all(_iou(region.box, other.box) < 0.8 for other in kept):
            kept.append(region)
    return tuple(kept[:MAX_REGIONS])


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _regions_of(
    mask: np.ndarray, busy: np.ndarray, flat: np.ndarray, grey: np.ndarray, factor: int
) -> Iterator[tuple[int, Region | None, np.ndarray | None]]:
    """Per connected component of ``mask``: its area, the region it makes (or None), and
    the component as a full-size uint8 mask when much of it is smooth (else None)."""
    import cv2

    h, w = mask.shape
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=4)
    for label in range(1, count):
        x, y, cw, ch, area = (int(v) for v in stats[label])
        if area < MIN_AREA * h * w or min(cw, ch) * factor < MIN_SIDE_PX:
            continue
        part = labels[y : y + ch, x : x + cw] == label
        density = float(busy[y : y + ch, x : x + cw][part].mean())
        smooth = None
        if density < SPLIT_DENSITY:
            smooth = (labels == label).astype(np.uint8)
        region = None
        whole = cw >= WHOLE * w and ch >= WHOLE * h
        box = (x / w, y / h, (x + cw) / w, (y + ch) / h)
        if whole or density < MIN_DENSITY:  # the whole image; a gradient
            pass
        elif flat[y : y + ch, x : x + cw][part].mean() > MAX_FLAT:  # a button, an icon
            pass
        elif len(np.unique(grey[y : y + ch, x : x + cw][part])) < MIN_LEVELS:  # an icon
            pass
        elif _is_disc(part):
            region = Region("avatar", box)
        elif part.mean() >= MIN_FILL:
            region = Region("framed", box)
        yield area, region, smooth


def disc_mask(height: int, width: int, margin: float = 1.0) -> np.ndarray:
    """(height, width) bool: inside the ellipse inscribed in the box, scaled by ``margin``."""
    yy, xx = np.mgrid[0:height, 0:width]
    u = (xx + 0.5 - width / 2) / (width / 2)
    v = (yy + 0.5 - height / 2) / (height / 2)
    return u * u + v * v <= margin * margin


def fill_outside_disc(lum: np.ndarray) -> np.ndarray:
    """A copy of an avatar's square luma with the corners outside the disc set to the mean
    of the disc's rim: the page colour there says nothing about the photo and would move
    its perceptual hash further from the photo's centre square."""
    h, w = lum.shape
    inside = disc_mask(h, w)
    rim = inside & ~disc_mask(h, w, 0.85)
    out = np.array(lum, dtype=np.float32, copy=True)
    if rim.any():
        out[~inside] = float(out[rim].mean())
    return out
