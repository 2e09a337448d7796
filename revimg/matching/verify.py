"""Geometric verification of a local-feature candidate: is the query a copy of (part of) it?

Hamming matching of ORB descriptors with Lowe's ratio test, a RANSAC similarity transform
(rotation, uniform scale, translation) with a tight 3 px threshold at the working size, then
the strict acceptance rule :func:`accept`. The rule and the figures it was measured with
(``benchmarks/features_eval.py``) are in :mod:`revimg.imaging.features`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from revimg.imaging.features import GRID, ORB_SCALE, Features, work_size

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
        ) * math.log(ORB_SCALE) + math.log(max(scale, 1e-9))
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
