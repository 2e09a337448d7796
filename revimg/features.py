"""Local features (ORB) for a second, crop-robust matching stage.

Perceptual hashes describe a whole photo, so a crop, a small rotation or a photo pasted
into a screenshot changes the hash completely. Local features survive those edits: the
same corners of the same photo come back, with the same binary descriptors, wherever the
photo ends up in the query. This module does what crop-robust search services do:

1. :func:`extract` - at most :data:`MAX_FEATURES` ORB keypoints of a grey copy of the
   image resized to :data:`WORK_SIDE` pixels on its long side, spread over an 8 x 8 grid so
   that a crop of any part of the photo keeps some of them. Deterministic; flat colours and
   gradients give no keypoints at all. ORB is not mirror invariant: queries are also
   extracted mirrored (:func:`extract_with_mirror`).
2. :class:`FeatureSearcher` - candidate retrieval through an inverted file: each descriptor
   gives :data:`KEY_TABLES` words, the first ``KEY_TABLES * KEY_BITS`` bits of the descriptor
   cut into disjoint :data:`KEY_BITS`-bit substrings (multi-index hashing: two descriptors of
   the same corner usually agree exactly on at least one substring, unrelated ones almost
   never). Photos are ranked by tf-idf cosine over shared words. Nothing is trained, so
   nothing can leak from evaluation photos, and adding photos needs no retraining.
3. :func:`verify` - geometric verification of one candidate: Hamming matching with Lowe's
   ratio test, a RANSAC similarity transform (rotation, uniform scale, translation) with a
   tight 3 px threshold at the working size, then a strict acceptance rule (:func:`accept`).

The acceptance rule (measured by ``benchmarks/features_eval.py`` on 60 photos):

- at least MIN_INLIERS (16) inliers. True copies (all 19 edits of accuracy.py, crop to
  60 % area included) have 26 or more; two different shots of one scene at most 9;
  unrelated photos at most 9.
- the inliers fall in at least MIN_CELLS (5) cells of an 8 x 8 grid over the matched box,
  and in at least MIN_COVERAGE (25 %) of the cells where the candidate has keypoints at all
  (true copies: 7+ cells, 33 %+). Two screenshots of different photos that share the same
  app chrome match on its text with up to 40 inliers, but in at most 4 cells and 17 %.
- coverage + agreement >= MIN_EVIDENCE (0.9), where agreement is the fraction of aligned,
  co-located keypoints of the same scale whose descriptors match (:func:`_agreement`):
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

import math
import os
import struct
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

# revimg runs one process per core (builds, batch checks): OpenCV's own thread pool would
# only oversubscribe the cores, and a pool that exists when a worker is forked can
# deadlock it. Keypoints of a 512-pixel image take a few milliseconds on one thread.
cv2.setNumThreads(1)

#: Version of the blob layout written by :func:`to_blob` (and of the extractor settings).
#: 2 appends the appearance signature (:mod:`revimg.appearance`); 1 is still read.
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

#: Lowe's ratio test: best match distance below this fraction of the second best.
RATIO = 0.8
#: Largest Hamming distance (of 256 bits) that counts as a putative match.
MAX_HAMMING = 64
#: RANSAC inlier threshold, in working-size pixels (long side WORK_SIDE).
REPROJ_PX = 3.0
RANSAC_ITERS = 2000

#: Acceptance rule (see :func:`accept`).
MIN_INLIERS = 16
MIN_INLIER_RATIO = 0.25
MIN_SCALE, MAX_SCALE = 0.2, 5.0
#: The query must show at least this fraction of the candidate's area.
MIN_BOX_AREA = 0.2
#: Inliers must fall in at least this many cells of a GRID x GRID grid over the box...
MIN_CELLS = 5
#: ... and in at least this fraction of the cells where the candidate has keypoints at all.
MIN_COVERAGE = 0.25
#: Agreement probe: candidate and (aligned) query keypoints this close, in working pixels,
#: look at the same spot; the spot agrees when their descriptors are this close.
PROBE_PX = 4.0
PROBE_SCALE = 1.25
PROBE_HAMMING = 64
#: coverage + agreement must reach this (true copies >= 1.0; shared overlays <= 0.75).
MIN_EVIDENCE = 0.9

#: Retrieval: words per descriptor and bits per word (whole bytes of the descriptor;
#: KEY_TABLES << KEY_BITS must fit in 32 bits).
KEY_TABLES = 2
KEY_BITS = 24
#: A saved searcher keeps every FENCE-th word in memory and reads one block of words to
#: look a word up (512 bytes, and its offsets), instead of mapping all of them.
FENCE = 128


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
    #: The indexed photo's appearance signature (:func:`revimg.appearance.signature`), or
    #: None (a query, or a photo indexed before signatures were stored).
    appearance: bytes | None = None

    def __len__(self) -> int:
        return len(self.points)


def work_size(width: int, height: int) -> tuple[int, int]:
    """Size of the grey working copy of a ``width`` x ``height`` image."""
    s = WORK_SIDE / max(width, height, 1)
    return max(1, round(width * s)), max(1, round(height * s))


_ORB_SCALE = 1.2  # OpenCV's default ORB pyramid step


def _orb() -> cv2.ORB:
    # Cheap to create (~1 us); one per call keeps extraction thread-safe.
    return cv2.ORB_create(
        nfeatures=DETECT_FEATURES, scaleFactor=_ORB_SCALE, fastThreshold=FAST_THRESHOLD
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


@dataclass(frozen=True)
class Verification:
    """Evidence that the query is a copy of (part of) the candidate."""

    inliers: int
    matches: int  # putative matches after the ratio test
    inlier_ratio: float
    box: tuple[float, float, float, float]  # region of the candidate the query covers
    rotation_deg: float  # query -> candidate, counter-clockwise in image coordinates
    scale: float  # candidate working pixels per query working pixel
    mirrored: bool  # the query is a mirror image of the candidate
    reprojection_px: float = 0.0  # median inlier error, working pixels
    spread: float = 0.0  # area between the inliers' 10th and 90th percentiles / box area
    cells: int = 0  # cells of a GRID x GRID grid over the box that hold an inlier
    coverage: float = 0.0  # cells / cells of that grid that hold any candidate keypoint
    agreement: float = 0.0  # co-located keypoint pairs whose descriptors agree (see _agreement)
    #: The fitted similarity: 2 x 3, query working pixels -> candidate working pixels
    #: (working size: :func:`work_size`; for a mirrored query, of the mirrored image).
    transform: tuple[tuple[float, float, float], tuple[float, float, float]] | None = None

    @property
    def box_area(self) -> float:
        return max(0.0, self.box[2] - self.box[0]) * max(0.0, self.box[3] - self.box[1])


def _pixels(f: Features) -> np.ndarray:
    return f.points * np.array(work_size(f.width, f.height), np.float32)


def _putative(query: Features, candidate: Features) -> tuple[np.ndarray, np.ndarray]:
    """Ratio-test matches, at most one query keypoint per candidate keypoint."""
    if len(candidate) < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    dist, nearest = cv2.batchDistance(
        query.descriptors, candidate.descriptors, cv2.CV_32S, normType=cv2.NORM_HAMMING, K=2
    )
    good = (dist[:, 0] <= MAX_HAMMING) & (dist[:, 0] < RATIO * dist[:, 1]) & (nearest[:, 0] >= 0)
    qi = np.flatnonzero(good)
    ci = nearest[qi, 0].astype(np.int64)
    # one query keypoint per candidate keypoint: the closest (then the lowest index)
    order = np.lexsort((qi, dist[qi, 0]))
    _, first = np.unique(ci[order], return_index=True)
    keep = np.sort(order[first])
    return qi[keep], ci[keep]


_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], np.uint8)


def _agreement(
    query: Features,
    candidate: Features,
    m: np.ndarray,
    box: tuple[float, float, float, float],
    scale: float,
) -> float:
    """Of the candidate keypoints in the box that have a query keypoint on the same spot
    (after alignment), the fraction whose descriptors match that keypoint.

    Inliers only show that *some* points agree. A copy agrees wherever both images have a
    corner; two photos that share an overlay (a watermark, app chrome, a caption) agree on
    the overlay and disagree everywhere else.
    """
    cp = candidate.points
    inside = np.flatnonzero(
        (cp[:, 0] >= box[0]) & (cp[:, 0] <= box[2]) & (cp[:, 1] >= box[1]) & (cp[:, 1] <= box[3])
    )
    if not len(inside):
        return 0.0
    c_px = _pixels(candidate)[inside].astype(np.float64)
    q_px = _pixels(query).astype(np.float64) @ m[:, :2].T + m[:, 2]
    d2 = ((c_px[:, None, :] - q_px[None, :, :]) ** 2).sum(axis=2)
    near = d2 <= PROBE_PX**2
    if query.octaves is not None and candidate.octaves is not None:
        # same spot at the same scale: patch sizes within PROBE_SCALE of each other
        log_ratio = (
            query.octaves[None, :].astype(np.float64) - candidate.octaves[inside][:, None]
        ) * math.log(_ORB_SCALE) + math.log(max(scale, 1e-9))
        near &= np.abs(log_ratio) <= math.log(PROBE_SCALE)
    ci, qi = np.nonzero(near)
    if not len(ci):
        return 0.0
    xor = candidate.descriptors[inside[ci]] ^ query.descriptors[qi]
    dist = _POPCOUNT[xor].sum(axis=1, dtype=np.int64)
    best = np.full(len(inside), 1 << 30, np.int64)
    np.minimum.at(best, ci, dist)
    co_located = best < (1 << 30)
    return float((best[co_located] <= PROBE_HAMMING).sum() / co_located.sum())


def measure(
    query: Features, candidate: Features, *, mirrored: bool = False, min_matches: int = 4
) -> Verification | None:
    """Match and fit a similarity transform; None with fewer than ``min_matches`` matches.

    No acceptance rule is applied here: see :func:`accept` and :func:`verify`.
    """
    min_matches = max(min_matches, 4)
    if len(query) < min_matches or len(candidate) < min_matches:
        return None
    qi, ci = _putative(query, candidate)
    if len(qi) < min_matches:
        return None
    src = _pixels(query)[qi].astype(np.float32)
    dst = _pixels(candidate)[ci].astype(np.float32)
    m, _ = cv2.estimateAffinePartial2D(
        src,
        dst,
        method=cv2.RANSAC,
        ransacReprojThreshold=REPROJ_PX,
        maxIters=RANSAC_ITERS,
        confidence=0.999,
        refineIters=10,
    )
    if m is None or not np.all(np.isfinite(m)):
        return None
    err = np.linalg.norm(src @ m[:, :2].T.astype(np.float32) + m[:, 2] - dst, axis=1)
    inl = err <= REPROJ_PX
    n_in = int(inl.sum())
    qw, qh = work_size(query.width, query.height)
    cw, ch = work_size(candidate.width, candidate.height)
    corners = np.array([[0, 0], [qw, 0], [qw, qh], [0, qh]], np.float64) @ m[:, :2].T + m[:, 2]
    corners /= (cw, ch)
    x0, y0 = corners.min(axis=0).clip(0.0, 1.0)
    x1, y1 = corners.max(axis=0).clip(0.0, 1.0)
    box = (float(x0), float(y0), float(x1), float(y1))
    area = (x1 - x0) * (y1 - y0)
    spread = 0.0
    cells = 0
    coverage = 0.0
    reproj = math.inf
    if n_in and area > 0:
        p = dst[inl] / (cw, ch)
        lo, hi = np.percentile(p, [10, 90], axis=0)
        spread = float((hi[0] - lo[0]) * (hi[1] - lo[1]) / area)
        gx = ((p[:, 0] - x0) / max(x1 - x0, 1e-9) * GRID).astype(np.int64).clip(0, GRID - 1)
        gy = ((p[:, 1] - y0) / max(y1 - y0, 1e-9) * GRID).astype(np.int64).clip(0, GRID - 1)
        cells = len(np.unique(gy * GRID + gx))
        cp = candidate.points
        inside = (cp[:, 0] >= x0) & (cp[:, 0] <= x1) & (cp[:, 1] >= y0) & (cp[:, 1] <= y1)
        cp = cp[inside]
        kx = ((cp[:, 0] - x0) / max(x1 - x0, 1e-9) * GRID).astype(np.int64).clip(0, GRID - 1)
        ky = ((cp[:, 1] - y0) / max(y1 - y0, 1e-9) * GRID).astype(np.int64).clip(0, GRID - 1)
        coverage = cells / max(len(np.unique(ky * GRID + kx)), cells)
    agreement = 0.0
    if n_in >= MIN_INLIERS and area > 0:
        agreement = _agreement(query, candidate, m, box, math.hypot(m[0, 0], m[1, 0]))
    if n_in:
        reproj = float(np.median(err[inl]))
    return Verification(
        inliers=n_in,
        matches=len(qi),
        inlier_ratio=n_in / len(qi),
        box=box,
        rotation_deg=float(math.degrees(math.atan2(m[1, 0], m[0, 0]))),
        scale=float(math.hypot(m[0, 0], m[1, 0])),
        mirrored=mirrored,
        reprojection_px=reproj,
        spread=spread,
        cells=cells,
        coverage=coverage,
        agreement=agreement,
        transform=tuple(tuple(float(x) for x in row) for row in m),  # type: ignore[arg-type]
    )


def accept(v: Verification | None) -> bool:
    """The acceptance rule: is this geometric evidence strong enough to call it a copy?"""
    return (
        v is not None
        and v.inliers >= MIN_INLIERS
        and v.inlier_ratio >= MIN_INLIER_RATIO
        and MIN_SCALE <= v.scale <= MAX_SCALE
        and v.box_area >= MIN_BOX_AREA
        and v.cells >= MIN_CELLS
        and v.coverage >= MIN_COVERAGE
        and v.coverage + v.agreement >= MIN_EVIDENCE
    )


def verify(
    query: Features, candidate: Features, *, mirrored_query: Features | None = None
) -> Verification | None:
    """Geometric verification; None when the query is not a copy of the candidate."""
    # fewer putative matches than MIN_INLIERS cannot pass: skip RANSAC (most candidates)
    found = [measure(query, candidate, min_matches=MIN_INLIERS)]
    if mirrored_query is not None:
        found.append(measure(mirrored_query, candidate, mirrored=True, min_matches=MIN_INLIERS))
    accepted = [v for v in found if accept(v)]
    return max(accepted, key=lambda v: v.inliers) if accepted else None


def _raw_words(descriptors: np.ndarray) -> np.ndarray:
    """Words of a set of descriptors (repeats included): table number and KEY_BITS-bit
    substring."""
    if not len(descriptors):
        return np.zeros(0, np.uint64)
    nbytes = KEY_BITS // 8
    chunks = descriptors[:, : KEY_TABLES * nbytes].reshape(-1, KEY_TABLES, nbytes)
    keys = np.zeros(chunks.shape[:2], np.uint64)
    for i in range(nbytes):
        keys = (keys << np.uint64(8)) | chunks[:, :, i]
    keys += np.arange(KEY_TABLES, dtype=np.uint64) << np.uint64(KEY_BITS)
    return keys.ravel()


def _words(descriptors: np.ndarray) -> np.ndarray:
    """Distinct words of a set of descriptors: table number and KEY_BITS-bit substring."""
    return np.unique(_raw_words(descriptors)).astype(np.uint32)


def _align(x: int, to: int = 64) -> int:
    return (x + to - 1) // to * to


class FeatureSearcher:
    """Inverted file over descriptor substrings, tf-idf cosine voting (numpy only).

    Memory: one int32 posting per (photo, distinct word), about ``KEY_TABLES * MAX_FEATURES``
    per photo, plus one uint32 word and one uint32 offset per distinct word in the index.
    A query touches only the postings of its own words (about 800 words, two tables).
    """

    def __init__(self, items: Iterable[tuple[int, Features]]) -> None:
        ids: list[int] = []
        keys: list[np.ndarray] = []
        for image_id, features in items:
            # (word, row) in one 64-bit key: one sort orders the postings by word, then
            # by photo, and puts a photo's repeats of a word side by side
            row = np.uint64(len(ids))
            keys.append((_raw_words(features.descriptors).astype(np.uint64) << 32) | row)
            ids.append(int(image_id))
        self._ids = np.array(ids, np.int64)
        n = len(ids)
        flat = np.concatenate(keys) if keys else np.zeros(0, np.uint64)
        del keys
        flat.sort()
        if len(flat):
            flat = flat[np.r_[True, flat[1:] != flat[:-1]]]  # one posting per (word, photo)
        rows = (flat & np.uint64(0xFFFFFFFF)).astype(np.int32)
        flat >>= np.uint64(32)
        words = flat.astype(np.uint32)
        del flat
        # sorted already: each word starts where it differs from the one before
        starts = np.flatnonzero(np.r_[True, words[1:] != words[:-1]]) if len(words) else rows[:0]
        self._words = words[starts]
        df = np.diff(np.r_[starts, len(words)])
        del words
        offset_type = np.uint32 if len(rows) < 1 << 32 else np.uint64
        self._offsets = np.r_[starts, len(rows)].astype(offset_type)
        self._postings = rows
        self._n = n
        idf2 = self._idf(df) ** 2
        norms = np.sqrt(np.bincount(rows, weights=np.repeat(idf2, df), minlength=n))
        self._norms = np.where(norms > 0, norms, 1.0).astype(np.float32)
        self._fence = np.ascontiguousarray(self._words[::FENCE])
        self._fd: int | None = None  # a saved searcher reads its big arrays from here
        self._at: dict[str, int] = {}

    #: Arrays that make up a searcher, in file order, with their on-disk dtypes.
    _ARRAYS = (
        ("_ids", "<i8"),
        ("_words", "<u4"),
        ("_offsets", "<u8"),
        ("_postings", "<i4"),
        ("_norms", "<f4"),
        ("_fence", "<u4"),  # every FENCE-th word: which block of words to read
    )
    _MAGIC = b"REVIMGF2"
    _FILE_HEADER = struct.Struct("<8s48s6Q")  # magic, stamp, length of each array

    def save(self, path: Path, stamp: str) -> None:
        """Write the searcher's arrays to ``path`` atomically, labelled with ``stamp``."""
        from revimg.files import write_sections

        arrays = [np.ascontiguousarray(getattr(self, name), dtype=dt) for name, dt in self._ARRAYS]
        header = self._FILE_HEADER.pack(
            self._MAGIC, stamp.encode("ascii"), *(len(a) for a in arrays)
        )
        sections, at = [], _align(self._FILE_HEADER.size)
        for a in arrays:
            sections.append((at, a.tobytes()))
            at = _align(at + a.nbytes)
        write_sections(path, header, sections, at)

    @classmethod
    def load(cls, path: Path) -> tuple[str, FeatureSearcher] | None:
        """``(stamp, searcher)`` memory-mapped from a file written by :meth:`save`, or None."""
        try:
            size = path.stat().st_size
            with open(path, "rb") as fh:
                magic, raw, *lengths = cls._FILE_HEADER.unpack(fh.read(cls._FILE_HEADER.size))
            stamp = raw.rstrip(b"\0").decode("ascii")
        except (OSError, struct.error, UnicodeDecodeError):
            return None
        if magic != cls._MAGIC:
            return None
        searcher = cls.__new__(cls)
        searcher._at = {}
        at = _align(cls._FILE_HEADER.size)
        for (name, dt), length in zip(cls._ARRAYS, lengths, strict=True):
            nbytes = length * np.dtype(dt).itemsize
            if at + nbytes > size:
                return None
            searcher._at[name] = at
            array = (
                np.asarray(np.memmap(path, dtype=dt, mode="r", offset=at, shape=(length,)))
                if length
                else np.zeros(0, dt)
            )
            setattr(searcher, name, array)
            at = _align(at + nbytes)
        if at != size or len(searcher._offsets) != len(searcher._words) + 1:
            return None
        if len(searcher._norms) != len(searcher._ids):
            return None
        if len(searcher._fence) != -(-len(searcher._words) // FENCE):
            return None
        searcher._n = len(searcher._ids)
        # Lookups read the words, offsets and postings they need with pread: a mapping
        # would map (and count in the check's memory) every page around each one touched.
        # The descriptor keeps this file readable if a rebuild replaces it meanwhile.
        try:
            searcher._fd = os.open(path, os.O_RDONLY)
        except OSError:
            return None
        weakref.finalize(searcher, os.close, searcher._fd)
        searcher._fence = np.array(searcher._fence)  # small: read once
        return stamp, searcher

    def _idf(self, df: np.ndarray) -> np.ndarray:
        return np.log1p(self._n / np.maximum(df, 1).astype(np.float64))

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def postings(self) -> int:
        return len(self._postings)

    def nbytes(self) -> int:
        arrays = (self._ids, self._words, self._offsets, self._postings, self._norms)
        return sum(a.nbytes for a in arrays)

    def _pread(self, name: str, starts: list[int], counts: list[int]) -> np.ndarray:
        """Elements ``[start, start + count)`` of the saved array ``name``, for each pair,
        concatenated: only those bytes are read from the file."""
        dt = np.dtype(dict(self._ARRAYS)[name])
        base = self._at[name]
        parts = []
        for start, count in zip(starts, counts, strict=True):
            want = count * dt.itemsize
            got = os.pread(self._fd, want, base + start * dt.itemsize)  # type: ignore[arg-type]
            if len(got) != want:
                raise ValueError("the features file is shorter than its header says")
            parts.append(got)
        return np.frombuffer(b"".join(parts), dt)

    def _lookup(self, words: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(starts, lengths)`` of the postings of each of these (sorted, distinct) words
        that the index holds. A saved searcher reads one block of FENCE words and their
        offsets per block that may hold a query word, not the whole table."""
        return self._lookup_held(words)[1:]

    def _lookup_held(self, words: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`_lookup`, and first a mask of the ``words`` the index holds (a sharded
        index weighs each held word by its frequency over all shards: revimg.shards)."""
        if self._fd is None:
            pos = np.searchsorted(self._words, words).clip(0, len(self._words) - 1)
            held = self._words[pos] == words
            pos = pos[held]
            starts = self._offsets[pos].astype(np.int64)
            return held, starts, self._offsets[pos + 1].astype(np.int64) - starts
        total = len(self._words)
        block = np.searchsorted(self._fence, words, side="right").astype(np.int64) - 1
        held = np.zeros(len(words), bool)
        inside = np.flatnonzero(block >= 0)
        words, block = words[block >= 0], block[block >= 0]
        blocks = np.unique(block)
        if not len(blocks):
            return held, np.zeros(0, np.int64), np.zeros(0, np.int64)
        firsts = (blocks * FENCE).tolist()
        counts = [min(FENCE, total - f) for f in firsts]
        # every block's words tagged with the block's rank: one sorted array to search
        rank = np.repeat(np.arange(len(blocks), dtype=np.uint64), counts)
        tagged = (rank << np.uint64(32)) | self._pread("_words", firsts, counts).astype(np.uint64)
        mine = np.searchsorted(blocks, block).astype(np.uint64)
        keys = (mine << np.uint64(32)) | words.astype(np.uint64)
        at = np.searchsorted(tagged, keys).clip(0, len(tagged) - 1)
        found = tagged[at] == keys
        at = at[found]
        # offsets of the same blocks (one more each: where the last word's postings end)
        offsets = self._pread("_offsets", firsts, [c + 1 for c in counts]).astype(np.int64)
        sizes = np.asarray(counts, np.int64)
        rank_of = mine[found].astype(np.int64)  # the block rank of each word found
        in_block = at - np.r_[0, np.cumsum(sizes)][:-1][rank_of]
        at_offsets = np.r_[0, np.cumsum(sizes + 1)][:-1][rank_of] + in_block
        starts = offsets[at_offsets]
        held[inside[found]] = True
        return held, starts, offsets[at_offsets + 1] - starts

    def _postings_of(self, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """The postings of each word, concatenated: ranges close together in one read."""
        total = int(lengths.sum())
        shift = np.repeat(starts - np.r_[0, np.cumsum(lengths)[:-1]], lengths)
        if self._fd is None:
            return np.asarray(self._postings[np.arange(total) + shift])
        ends = starts + lengths
        order = np.argsort(starts, kind="stable")
        s, e = starts[order], ends[order]
        # a new read where the gap from everything before is more than 4096 postings
        reach = np.maximum.accumulate(e)
        new = np.r_[True, s[1:] > reach[:-1] + 4096]
        group = np.cumsum(new) - 1
        first = s[new]
        last = np.maximum.reduceat(e, np.flatnonzero(new))
        buffer = self._pread("_postings", first.tolist(), (last - first).tolist())
        buffer_at = np.r_[0, np.cumsum(last - first)][:-1]
        place = np.empty(len(starts), np.int64)  # where each word's range starts in buffer
        place[order] = buffer_at[group] + (s - first[group])
        index = np.repeat(place - np.r_[0, np.cumsum(lengths)[:-1]], lengths)
        return buffer[np.arange(total) + index]

    def _scores(self, query: Features) -> tuple[np.ndarray, np.ndarray]:
        """``(rows, scores)``: the rows that share a word with the query, and their cosine."""
        none = (np.zeros(0, np.int64), np.zeros(0))
        n = self._n
        words = _words(query.descriptors)
        if not len(words) or not n or not len(self._words):
            return none
        starts, lengths = self._lookup(words)
        if len(lengths) and (
            lengths.min() < 0 or starts.min() < 0 or (starts + lengths).max() > len(self._postings)
        ):
            raise ValueError("the features file's offsets are damaged")
        idf2 = self._idf(lengths) ** 2
        # words the index has never seen count in the query's norm with the highest idf
        q_norm = math.sqrt(float(idf2.sum()) + (len(words) - len(starts)) * math.log1p(n) ** 2)
        total = int(lengths.sum())
        if not total:
            return none
        hits = self._postings_of(starts, lengths)
        if hits.min() < 0 or hits.max() >= n:
            raise ValueError("the features file's postings are damaged")
        rows, inverse = np.unique(hits, return_inverse=True)
        sums = np.bincount(inverse, weights=np.repeat(idf2, lengths), minlength=len(rows))
        return rows.astype(np.int64), sums / (self._norms[rows] * q_norm)

    def candidates(
        self, query: Features, top: int = 10, *, mirrored_query: Features | None = None
    ) -> list[tuple[int, float]]:
        """``(image_id, score)`` of the best ``top`` photos (cosine in 0..1), best first.

        Work and memory follow the query's postings, not the number of photos."""
        rows, scores = self._scores(query)
        if mirrored_query is not None:
            more_rows, more = self._scores(mirrored_query)
            rows, at = np.unique(np.r_[rows, more_rows], return_inverse=True)
            best = np.zeros(len(rows))
            np.maximum.at(best, at, np.r_[scores, more])
            scores = best
        keep = scores > 0
        rows, scores = rows[keep], scores[keep]
        if not len(rows):
            return []
        ids = self._ids[rows]
        order = np.lexsort((ids, -scores))[:top]
        return [(int(ids[i]), float(scores[i])) for i in order]


class PrunedSearcher:
    """A saved searcher that may still hold photos removed since it was saved (at most
    ``removed`` of them): it asks for that many more candidates and keeps the live ones."""

    def __init__(
        self,
        base: FeatureSearcher,
        removed: int,
        alive: Callable[[list[int]], set[int]],
    ) -> None:
        self.base = base
        self.removed = removed
        self._alive = alive

    def __len__(self) -> int:
        return len(self.base)

    def candidates(
        self, query: Features, top: int = 10, *, mirrored_query: Features | None = None
    ) -> list[tuple[int, float]]:
        """The best ``top`` photos that are still in the index, best first."""
        found = self.base.candidates(query, top + self.removed, mirrored_query=mirrored_query)
        live = self._alive([image_id for image_id, _ in found]) if found else set()
        return [c for c in found if c[0] in live][:top]


class ExtendedSearcher:
    """A saved searcher and a small one over the photos added since it was saved: a photo
    added to a large index is searchable without building the large one again."""

    def __init__(self, base: FeatureSearcher | PrunedSearcher, extra: FeatureSearcher) -> None:
        self.base = base
        self.extra = extra

    def __len__(self) -> int:
        return len(self.base) + len(self.extra)

    def candidates(
        self, query: Features, top: int = 10, *, mirrored_query: Features | None = None
    ) -> list[tuple[int, float]]:
        """The best ``top`` of each part (scores of the small part are not on the same
        scale as the large one's: neither crowds the other out), best first."""
        found = self.base.candidates(query, top, mirrored_query=mirrored_query)
        found += self.extra.candidates(query, top, mirrored_query=mirrored_query)
        return sorted(found, key=lambda c: (-c[1], c[0]))
