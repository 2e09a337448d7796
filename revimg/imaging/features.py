"""Local features (ORB) for a second, crop-robust matching stage.

Perceptual hashes describe a whole photo, so a crop, a small rotation or a photo pasted
into a screenshot changes the hash completely. Local features survive those edits: the
same corners of the same photo come back, with the same binary descriptors, wherever the
photo ends up in the query. revimg does what crop-robust search services do, in three parts:

1. :func:`extract` - at most :data:`MAX_FEATURES` ORB keypoints of a grey copy of the
   image resized to :data:`WORK_SIDE` pixels on its long side, spread over an 8 x 8 grid so
   that a crop of any part of the photo keeps some of them. Deterministic; flat colours and
   gradients give no keypoints at all. ORB is not mirror invariant: queries are also
   extracted mirrored (:func:`extract_with_mirror`).
2. :mod:`revimg.index.feature_search` - candidate retrieval through an inverted file of
   descriptor substrings, ranked by tf-idf cosine.
3. :mod:`revimg.matching.verify` - geometric verification of one candidate: Hamming matching
   with Lowe's ratio test, a RANSAC similarity transform with a tight 3 px threshold at the
   working size, then a strict acceptance rule (``verify.accept``).

The acceptance rule (measured by ``benchmarks/features_eval.py`` on 60 photos):

- at least MIN_INLIERS (16) inliers. True copies (all 19 edits of accuracy.py, crop to
  60 % area included) have 26 or more; two different shots of one scene at most 9;
  unrelated photos at most 9.
- the inliers fall in at least MIN_CELLS (5) cells of an 8 x 8 grid over the matched box,
  and in at least MIN_COVERAGE (25 %) of the cells where the candidate has keypoints at all
  (true copies: 7+ cells, 33 %+). Two screenshots of different photos that share the same
  app chrome match on its text with up to 40 inliers, but in at most 4 cells and 17 %.
- coverage + agreement >= MIN_EVIDENCE (0.9), where agreement is the fraction of aligned,
  co-located keypoints of the same scale whose descriptors match (``verify._agreement``):
  true copies >= 1.21, different photos under the same watermark <= 0.75 (they agree on
  the watermark and nowhere else).
- a plausible geometry: scale 0.2-5, the box covers at least 20 % of the candidate, at
  least 25 % of the putative matches are inliers.

Limits: the query is looked at with its long side at 512 px, so a photo shown much smaller
than that inside a bigger image (a thumbnail in a screenshot, scale > ~2) loses keypoints;
images with little texture (flat colours, gradients, sky) give few or no keypoints and are
left to the perceptual hashes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

# revimg runs one process per core (builds, batch checks): OpenCV's own thread pool would
# only oversubscribe the cores, and a pool that exists when a worker is forked can
# deadlock it. Keypoints of a 512-pixel image take a few milliseconds on one thread.
cv2.setNumThreads(1)

#: Version of the blob layout written by :func:`to_blob` (and of the extractor settings).
#: 2 appends the appearance signature (:mod:`revimg.imaging.appearance`); 1 is still read.
FORMAT_VERSION = 2
_MAGIC = b"RVF"
_HEADER = struct.Struct("<3sBIIH")  # magic, version, width, height, n

#: Long side, in pixels, of the grey working copy that keypoints are found in.
WORK_SIDE = 512
#: Keypoints kept per image.
MAX_FEATURES = 400
#: Keypoints that ORB is asked for before the grid keeps the spread-out best of them.
DETECT_FEATURES = 1500
#: FAST corner threshold (OpenCV's default is 20; lower finds corners in dim photos).
FAST_THRESHOLD = 12
#: Cells per side of the grid that spreads the kept keypoints over the image.
GRID = 8
DESCRIPTOR_BYTES = 32


@dataclass(frozen=True, eq=False)
class Features:
    """ORB keypoints of one image."""

    points: np.ndarray  # (n, 2) float32, x and y as fractions of the width and height
    descriptors: np.ndarray  # (n, 32) uint8
    width: int  # size (px) of the image the features were extracted from
    height: int
    #: (n,) uint8 pyramid level of each keypoint (its patch is 31 * 1.2**level working px);
    #: None when unknown, and then the agreement probe ignores scale.
    octaves: np.ndarray | None = None
    #: The indexed photo's appearance signature (:func:`revimg.imaging.appearance.signature`), or
    #: None (a query, or a photo indexed before signatures were stored).
    appearance: bytes | None = None

    def __len__(self) -> int:
        return len(self.points)


def work_size(width: int, height: int) -> tuple[int, int]:
    """Size of the grey working copy of a ``width`` x ``height`` image."""
    s = WORK_SIDE / max(width, height, 1)
    return max(1, round(width * s)), max(1, round(height * s))


ORB_SCALE = 1.2  # OpenCV's default ORB pyramid step


def _orb() -> cv2.ORB:
    # Cheap to create (~1 us); one per call keeps extraction thread-safe.
    return cv2.ORB_create(
        nfeatures=DETECT_FEATURES, scaleFactor=ORB_SCALE, fastThreshold=FAST_THRESHOLD
    )


def working_grey(img: Image.Image) -> np.ndarray:
    """The grey working copy that keypoints are found in (long side WORK_SIDE), uint8."""
    grey = img.convert("L")
    size = work_size(grey.width, grey.height)
    if size != grey.size:
        grey = grey.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(grey)


def _spread(keypoints: list[cv2.KeyPoint], width: int, height: int, n: int) -> list[int]:
    """Indices of at most ``n`` keypoints: round-robin over grid cells, strongest first."""
    if len(keypoints) <= n:
        return list(range(len(keypoints)))
    xy = np.array([k.pt for k in keypoints], np.float64)
    response = np.array([k.response for k in keypoints], np.float64)
    cx = np.minimum((xy[:, 0] * GRID / width).astype(np.int64), GRID - 1)
    cy = np.minimum((xy[:, 1] * GRID / height).astype(np.int64), GRID - 1)
    cell = cy * GRID + cx
    # rank of each keypoint within its cell (0 = strongest); ties broken by position
    order = np.lexsort((xy[:, 0], xy[:, 1], -response, cell))
    sorted_cells = cell[order]
    starts = np.flatnonzero(np.r_[True, sorted_cells[1:] != sorted_cells[:-1]])
    lengths = np.diff(np.r_[starts, len(order)])
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order)) - np.repeat(starts, lengths)
    keep = np.lexsort((xy[:, 0], xy[:, 1], -response, rank))[:n]
    return sorted(keep.tolist())


#: Below this many pixels on a side, a photo has no usable local features (and OpenCV's
#: ORB pyramid fails on a side of a few pixels).
MIN_SIDE = 64


def _from_array(grey: np.ndarray, width: int, height: int, n: int) -> Features:
    h, w = grey.shape
    if min(h, w) < MIN_SIDE:
        return _empty(width, height)
    orb = _orb()
    keypoints = list(orb.detect(grey, None))
    keypoints = [keypoints[i] for i in _spread(keypoints, w, h, n)]
    descriptors = None
    if keypoints:
        keypoints, descriptors = orb.compute(grey, keypoints)
    if descriptors is None or not len(keypoints):
        return _empty(width, height)
    xy = np.array([k.pt for k in keypoints], np.float64) / (w, h)
    # quantised exactly as the blob stores them, so a round trip changes nothing
    points = (np.rint(np.clip(xy, 0.0, 1.0) * 65535) / 65535).astype(np.float32)
    octaves = np.array([k.octave for k in keypoints], np.int64).clip(0, 255).astype(np.uint8)
    return Features(points, np.ascontiguousarray(descriptors, np.uint8), width, height, octaves)


def _empty(width: int, height: int) -> Features:
    return Features(
        np.zeros((0, 2), np.float32),
        np.zeros((0, DESCRIPTOR_BYTES), np.uint8),
        width,
        height,
        np.zeros(0, np.uint8),
    )


def extract(img: Image.Image, n: int | None = None) -> Features:
    """Features of an upright image (any mode and size); deterministic."""
    return _from_array(working_grey(img), img.width, img.height, MAX_FEATURES if n is None else n)


def extract_with_mirror(
    img: Image.Image, n: int | None = None, *, grey: np.ndarray | None = None
) -> tuple[Features, Features]:
    """Features of a query and of its mirror image (left-right), sharing one resize
    (``grey``: the image's :func:`working_grey`, when the caller has it)."""
    grey = working_grey(img) if grey is None else grey
    n = MAX_FEATURES if n is None else n
    return (
        _from_array(grey, img.width, img.height, n),
        _from_array(np.ascontiguousarray(grey[:, ::-1]), img.width, img.height, n),
    )


def inside_disc(f: Features, radius: float) -> Features:
    """The keypoints inside the ellipse inscribed in the image, scaled by ``radius``."""
    u = (f.points[:, 0] - 0.5) * 2
    v = (f.points[:, 1] - 0.5) * 2
    keep = u * u + v * v <= radius * radius
    octaves = None if f.octaves is None else f.octaves[keep]
    return Features(f.points[keep], f.descriptors[keep], f.width, f.height, octaves, f.appearance)


def to_blob(f: Features) -> bytes:
    """Compact bytes (16 + 37 n + the signature): a header, points as uint16 fractions,
    octaves, descriptors, then the appearance signature's length (uint16) and bytes."""
    n = len(f.points)
    if n > 0xFFFF:
        raise ValueError(f"too many keypoints ({n})")
    points = np.rint(np.clip(f.points, 0.0, 1.0) * 65535).astype("<u2")
    descriptors = np.ascontiguousarray(f.descriptors, np.uint8)
    if descriptors.shape != (n, DESCRIPTOR_BYTES):
        raise ValueError(f"descriptors have shape {descriptors.shape}, expected ({n}, 32)")
    octaves = np.zeros(n, np.uint8) if f.octaves is None else np.asarray(f.octaves, np.uint8)
    if octaves.shape != (n,):
        raise ValueError(f"octaves have shape {octaves.shape}, expected ({n},)")
    header = _HEADER.pack(_MAGIC, FORMAT_VERSION, f.width, f.height, n)
    signature = f.appearance or b""
    if len(signature) > 0xFFFF:
        raise ValueError(f"appearance signature of {len(signature)} bytes")
    tail = struct.pack("<H", len(signature)) + signature
    return header + points.tobytes() + octaves.tobytes() + descriptors.tobytes() + tail


def from_blob(b: bytes) -> Features:
    """Inverse of :func:`to_blob`; ``ValueError`` for anything else."""
    if len(b) < _HEADER.size:
        raise ValueError("feature blob is too short")
    magic, version, width, height, n = _HEADER.unpack_from(b)
    if magic != _MAGIC:
        raise ValueError("not a feature blob")
    if version not in (1, FORMAT_VERSION):
        raise ValueError(f"feature blob version {version}, expected {FORMAT_VERSION}")
    expected = _HEADER.size + n * (5 + DESCRIPTOR_BYTES)
    signature = None
    if version >= 2:
        if len(b) < expected + 2:
            raise ValueError(f"feature blob has {len(b)} bytes, expected at least {expected + 2}")
        (length,) = struct.unpack_from("<H", b, expected)
        signature = bytes(b[expected + 2 : expected + 2 + length]) or None
        expected += 2 + length
    if len(b) != expected:
        raise ValueError(f"feature blob has {len(b)} bytes, expected {expected}")
    off = _HEADER.size
    raw = np.frombuffer(b, "<u2", count=2 * n, offset=off).reshape(n, 2)
    points = (raw.astype(np.float32) / np.float32(65535)).astype(np.float32)
    octaves = np.frombuffer(b, np.uint8, count=n, offset=off + 4 * n).copy()
    descriptors = np.frombuffer(b, np.uint8, count=n * DESCRIPTOR_BYTES, offset=off + 5 * n)
    return Features(
        points, descriptors.reshape(n, DESCRIPTOR_BYTES).copy(), width, height, octaves, signature
    )
