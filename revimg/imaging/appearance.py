"""Appearance check: do the regions that the local features matched agree as pictures?

Keypoint geometry (:mod:`revimg.imaging.features`) cannot tell a copy from a second photo of the
same face in the same pose: tight face crops aligned the same way (eyes and mouth at the
same place) share corners. This module adds a second check after the geometric one:

1. :func:`signature` - at index time, the indexed photo's grey working copy (the features'
   working size, :func:`.features.work_size`, long side 512) is cut into cells of about
   CELL (32) px; each cell is averaged down to BLOCKS x BLOCKS (8 x 8) block means and only
   the signs of COEFFS (32) of their DCT coefficients are kept (zig-zag order from the 3rd
   AC coefficient: no brightness, no colour, no magnitudes, not the cell's overall shading),
   plus one bit per cell telling whether it is flat. About 1 KB per photo (at most
   10 + 32 + 256 * 4 bytes), deterministic, stored in the local index beside the ORB
   features and never exported. It is not a picture: a sign-only reconstruction shows at
   most faint edge hints.
2. :func:`similarity` - at query time, the query's grey working copy (mirrored when the
   transform was fitted to the mirrored query) is warped into the candidate's working frame
   with the fitted 2 x 3 similarity (:attr:`revimg.matching.verify.Verification.transform`), and
   the same signs are computed for the cells the query covers whole. Cells that are flat in
   the query or in the candidate (a circular mask, the page around a rounded card, sky) are
   not compared. Each compared cell scores the share of its signs that agree, weighted by
   the magnitude of the query's coefficients (0.5 for unrelated pictures, 1.0 for a copy);
   the score is the median over cells, so text, a dark caption gradient or a time-stamp pill
   over up to half of the cells does not sink a true copy. About 0.8 ms per call for a 512 px
   query (1.6 ms including the resize of an 800 px one).

The rule (measured by ``benchmarks/appearance_eval.py`` on the 60 development photos and 32
face crops): a copy when the score is at least THRESHOLD (0.78) over at least MIN_CELLS (6)
compared cells (:attr:`Appearance.agrees`).

- true copies (1216: each photo and 16 face crops under JPEG q30, WebP, resize to 320 px,
  blur r2, greyscale, brightness +30 %, contrast -30 %, 5 degree rotation, centre and corner
  crops to 60 %, mirror, a dating-app card with text over a dark gradient on the bottom
  third, a time-stamp pill, rounded corners on a page, a round avatar of 200-480 px, a
  photo at 60 % in a chat bubble), scored with the transform ``verify.measure`` fits:
  min 0.888 (JPEG q30 of a low-detail photo), 5th percentile >= 0.980 for every edit,
  at least 46 cells compared; margin +0.108;
- hard negatives (396 conclusive comparisons): two shots of one scene (X / X_2, the three
  grand_canyon shots) whole and cropped, <= 0.605; the same person in two shots, face
  crops aligned by the eyes at four framings (and with random shifts of up to 4 % and
  scales of 0.92-1.08), scored with the known alignment <= 0.565 and with the transform
  verify.measure fits (4-19 inliers) <= 0.663; other people aligned the same way
  <= 0.643; unrelated photos <= 0.521; margin +0.117.

Limits: the score compares pictures at 4 px blocks of the 512 px working copy, so a copy
blurred or shrunk far beyond the edits above, or a photo with too few textured cells
(fewer than MIN_CELLS: :attr:`Appearance.conclusive` is false), gets no verdict here and is
left to the other evidence. Burst shots taken from a tripod agree wherever the scene did not
move, and may pass.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from revimg.imaging import features

#: Version of the signature layout (and of the descriptor settings).
FORMAT_VERSION = 1
_MAGIC = b"RVA"
_HEADER = struct.Struct("<3sBHHBB")  # magic, version, working width, height, cells x, y

#: Side of a cell, in working pixels (long side features.WORK_SIDE).
CELL = 32
#: Blocks per cell side: a cell is averaged down to BLOCKS x BLOCKS block means.
BLOCKS = 8
#: DCT coefficients of a cell's block means whose signs are kept: COEFFS of them, in zig-zag
#: order from the SKIP-th. The DC (brightness) and the two first AC coefficients (the
#: cell's overall shading direction, which draws the coarse layout) are left out.
SKIP = 3
COEFFS = 32
#: Cells whose block means vary less than this (standard deviation, grey levels) are flat.
FLAT_RMS = 2.0

#: The rule (see the module docstring): a copy when the score reaches THRESHOLD over at
#: least MIN_CELLS compared cells.
THRESHOLD = 0.78
MIN_CELLS = 6


def _zigzag(n: int) -> np.ndarray:
    order = sorted(
        ((i, j) for i in range(n) for j in range(n)),
        key=lambda p: (p[0] + p[1], p[0] if (p[0] + p[1]) % 2 else p[1]),
    )
    return np.array([i * n + j for i, j in order], np.int64)


def _dct_matrix(n: int) -> np.ndarray:
    k = np.arange(n)[:, None]
    x = np.arange(n)[None, :]
    d = np.cos(np.pi * (2 * x + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    d[0] /= np.sqrt(2.0)
    return d.astype(np.float32)


_DCT = _dct_matrix(BLOCKS)
_KEEP = _zigzag(BLOCKS)[SKIP : SKIP + COEFFS]
_BYTES_PER_CELL = COEFFS // 8
_DCT2 = np.ascontiguousarray(np.kron(_DCT, _DCT)[_KEEP].T)  # (BLOCKS**2, COEFFS)


def _grid(width: int, height: int) -> tuple[int, int]:
    return max(1, round(width / CELL)), max(1, round(height / CELL))


def _working(img: Image.Image) -> np.ndarray:
    """Grey working copy, the size of features' (its pixel grid, so a fitted transform applies)."""
    grey = np.asarray(img.convert("L"))
    size = features.work_size(img.width, img.height)
    if size != img.size:
        # linear is 5x faster than area averaging and, down to half size, loses nothing
        # that the 4 x 4 px block means keep
        small = max(img.width, img.height) <= 2 * features.WORK_SIDE
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_LINEAR if small else cv2.INTER_AREA)
    return grey


def _cells(grey: np.ndarray, nx: int, ny: int) -> tuple[np.ndarray, np.ndarray]:
    """Kept DCT coefficients (ny*nx, COEFFS) and AC RMS (ny*nx,) of each cell."""
    blocks = cv2.resize(
        grey.astype(np.float32), (nx * BLOCKS, ny * BLOCKS), interpolation=cv2.INTER_AREA
    )
    c = blocks.reshape(ny, BLOCKS, nx, BLOCKS).transpose(0, 2, 1, 3).reshape(-1, BLOCKS * BLOCKS)
    # orthonormal DCT: AC energy = block variance
    rms = c.std(axis=1)
    return c @ _DCT2, rms


@dataclass(frozen=True, eq=False)
class Signature:
    """A parsed signature (:func:`from_signature`)."""

    width: int  # working size of the indexed photo (features.work_size)
    height: int
    nx: int  # cells across and down
    ny: int
    signs: np.ndarray  # (ny * nx, COEFFS) bool: the coefficient is positive
    textured: np.ndarray  # (ny * nx,) bool: the cell is not flat (FLAT_RMS)

    def __len__(self) -> int:
        return self.nx * self.ny


def signature(img: Image.Image) -> bytes:
    """Appearance signature of an indexed photo (any mode and size); deterministic.

    Layout: a 10-byte header (magic, version, working width and height, cells across and
    down), one bit per cell (textured), then COEFFS sign bits per cell. At most
    10 + 32 + 256 * 4 bytes (about 1 KB) for a 512 x 512 working size.
    """
    grey = _working(img)
    h, w = grey.shape
    nx, ny = _grid(w, h)
    coef, rms = _cells(grey, nx, ny)
    bits = np.packbits(coef > 0, axis=1)
    textured = np.packbits(rms >= FLAT_RMS)
    header = _HEADER.pack(_MAGIC, FORMAT_VERSION, w, h, nx, ny)
    return header + textured.tobytes() + bits.tobytes()


def from_signature(b: bytes | bytearray | memoryview) -> Signature:
    """Parse bytes written by :func:`signature`; ``ValueError`` for anything else."""
    b = bytes(b)
    if len(b) < _HEADER.size:
        raise ValueError("appearance signature is too short")
    magic, version, w, h, nx, ny = _HEADER.unpack_from(b)
    if magic != _MAGIC:
        raise ValueError("not an appearance signature")
    if version != FORMAT_VERSION:
        raise ValueError(f"appearance signature version {version}, expected {FORMAT_VERSION}")
    if not (1 <= w <= features.WORK_SIDE and 1 <= h <= features.WORK_SIDE):
        raise ValueError(f"appearance signature has working size {w} x {h}")
    if max(w, h) != features.WORK_SIDE:
        raise ValueError(f"appearance signature has working size {w} x {h}")
    if (nx, ny) != _grid(w, h):
        raise ValueError(f"appearance signature has a {nx} x {ny} grid for {w} x {h}")
    n = nx * ny
    t_bytes = (n + 7) // 8
    expected = _HEADER.size + t_bytes + n * _BYTES_PER_CELL
    if len(b) != expected:
        raise ValueError(f"appearance signature has {len(b)} bytes, expected {expected}")
    off = _HEADER.size
    textured = np.unpackbits(np.frombuffer(b, np.uint8, t_bytes, off))[:n].astype(bool)
    raw = np.frombuffer(b, np.uint8, n * _BYTES_PER_CELL, off + t_bytes)
    signs = np.unpackbits(raw.reshape(n, _BYTES_PER_CELL), axis=1).astype(bool)
    return Signature(w, h, nx, ny, signs, textured)


@dataclass(frozen=True)
class Appearance:
    """How well the query, aligned onto the candidate, agrees with it as a picture."""

    score: float  # median over compared cells of the cell's agreement (0.5: unrelated)
    cells: int  # cells compared: inside the query, textured in both images
    #: cells of the candidate's grid that the aligned query covers whole (flat or not)
    covered: int = 0

    @property
    def conclusive(self) -> bool:
        """Enough cells were compared for the score to mean something."""
        return self.cells >= MIN_CELLS

    @property
    def agrees(self) -> bool:
        """The rule: a copy when conclusive and the score reaches THRESHOLD."""
        return self.conclusive and self.score >= THRESHOLD


Transform = Sequence[Sequence[float]] | np.ndarray


def similarity(
    query: Image.Image,
    signature: bytes | Signature,
    transform: Transform,
    candidate_size: tuple[int, int] | None = None,
    *,
    mirrored: bool = False,
) -> Appearance:
    """Compare the query, warped onto the candidate by ``transform``, with its signature.

    ``transform`` is 2 x 3, query working pixels -> candidate working pixels
    (:attr:`revimg.matching.verify.Verification.transform`); with ``mirrored`` it maps the
    left-right mirrored query, as ``verify.measure(..., mirrored=True)`` fits it.
    ``candidate_size`` (the indexed photo's size), when given, is checked against the
    signature. Only cells that the query covers whole, and that are textured in the
    signature and in the warped query, are compared; each scores the share of its sign bits
    that agree, weighted by the magnitude of the query's coefficients, and the median over
    cells is the score, so overlays, masks and text over up to half the cells leave it alone.
    """
    s = signature if isinstance(signature, Signature) else from_signature(signature)
    if candidate_size is not None and features.work_size(*candidate_size) != (s.width, s.height):
        raise ValueError(
            f"signature of a {s.width} x {s.height} working copy, not of a "
            f"{candidate_size[0]} x {candidate_size[1]} photo"
        )
    m = np.asarray(transform, np.float64)
    if m.shape != (2, 3):
        raise ValueError(f"transform has shape {m.shape}, expected (2, 3)")
    det = m[0, 0] * m[1, 1] - m[0, 1] * m[1, 0]
    if not np.all(np.isfinite(m)) or abs(det) < 1e-6:
        return Appearance(0.0, 0)
    grey = _working(query)
    if mirrored:
        grey = np.ascontiguousarray(grey[:, ::-1])
    qh, qw = grey.shape
    # cells whose four corners fall inside the query (the query's outline is convex)
    inv = cv2.invertAffineTransform(m)
    # (cell corners are on pixel edges; transforms work on pixel centres)
    gx, gy = np.meshgrid(
        np.linspace(0, s.width, s.nx + 1) - 0.5, np.linspace(0, s.height, s.ny + 1) - 0.5
    )
    qx = inv[0, 0] * gx + inv[0, 1] * gy + inv[0, 2]
    qy = inv[1, 0] * gx + inv[1, 1] * gy + inv[1, 2]
    inside = (qx >= -0.5) & (qx <= qw - 0.5) & (qy >= -0.5) & (qy <= qh - 0.5)
    covered = (inside[:-1, :-1] & inside[1:, :-1] & inside[:-1, 1:] & inside[1:, 1:]).ravel()
    if not covered.any():
        return Appearance(0.0, 0)
    warped = cv2.warpAffine(
        grey, m, (s.width, s.height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    coef, rms = _cells(warped, s.nx, s.ny)
    # flat cells (a mask, the page around a round avatar, sky) say nothing either way
    use = covered & (rms >= FLAT_RMS) & s.textured
    n_covered = int(covered.sum())
    if not use.any():
        return Appearance(0.0, 0, n_covered)
    q = coef[use]
    weight = np.abs(q)
    agree = ((q > 0) == s.signs[use]) * weight
    per_cell = agree.sum(axis=1) / np.maximum(weight.sum(axis=1), 1e-6)
    return Appearance(float(np.median(per_cell)), int(use.sum()), n_covered)
