"""revimg.imaging.pdq against the C++ reference (through the ``pdqhash`` bindings) and a plain loop.

``tests/imaging/test_pdq_conformance.py`` checks the published reference hashes; these tests check
the numpy formulation step by step: the folded filter matrices against the reference's box
filter written as a loop, and whole hashes bit for bit against ``pdqhash`` on photos of
many shapes (a dev dependency kept for this comparison).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pdqhash
import pytest
from PIL import Image

from revimg.imaging import pdq
from revimg.imaging.hashing import VARIANT_TRANSPOSE

DATA = Path(__file__).resolve().parents[1] / "data" / "pdq" / "images"


def box_loop(x: np.ndarray, window: int) -> np.ndarray:
    """The reference's 1-D box filter as a plain loop (windows cut at both ends)."""
    half = (window + 2) // 2
    left, right = window - half, half - 1
    n = len(x)
    out = np.empty(n)
    for k in range(n):
        lo, hi = max(0, k - left), min(n - 1, k + right)
        out[k] = x[lo : hi + 1].mean()
    return out


@pytest.mark.parametrize("side", [5, 17, 64, 100, 128, 129, 255, 256, 333, 750, 1000, 1023])
def test_sampling_matrix_is_two_box_passes_then_64_samples(side: int) -> None:
    rng = np.random.default_rng(side)
    x = rng.uniform(0, 255, side)
    window = (side + 127) // 128
    blurred = box_loop(box_loop(x, window), window)
    picks = [int(((i + 0.5) * side) / 64) for i in range(64)]
    expected = blurred[picks]
    got = pdq.sampling_matrix(side).astype(np.float64) @ x
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-3)


def reference(img: Image.Image) -> tuple[bytes, int]:
    vector, quality = pdqhash.compute(np.ascontiguousarray(np.asarray(img, dtype=np.uint8)))
    return np.packbits(np.asarray(vector, dtype=np.uint8)).tobytes(), int(quality)


def reference_dihedral(img: Image.Image) -> tuple[np.ndarray, int]:
    arr = np.ascontiguousarray(np.asarray(img, dtype=np.uint8))
    vectors, quality = pdqhash.compute_dihedral(arr)
    return np.stack([np.packbits(np.asarray(v, dtype=np.uint8)) for v in vectors]), int(quality)


def distance(a: bytes, b: bytes) -> int:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_count()


def photos() -> list[Image.Image]:
    """Real photos of the conformance subset, resized to many shapes, plus noise."""
    out = []
    rng = np.random.default_rng(3)
    for path in sorted(DATA.rglob("*.jpg"))[:12]:
        with Image.open(path) as im:
            im.draft("RGB", (512, 512))
            rgb = im.convert("RGB")
        out.append(rgb)
        for _ in range(3):
            size = (int(rng.integers(40, 900)), int(rng.integers(40, 900)))
            out.append(rgb.resize(size))
    for shape in [(5, 5), (64, 64), (127, 300), (480, 640)]:
        out.append(Image.fromarray(rng.integers(0, 256, (*shape, 3), dtype=np.uint8)))
    return out


def test_hashes_and_qualities_match_the_reference() -> None:
    images = photos()
    exact = 0
    for img in images:
        ours, quality = pdq.hash_luma(pdq.luma(img))
        ref, ref_quality = reference(img)
        assert quality == ref_quality, img.size
        # Float rounding may flip a coefficient that sits on the median: a bit or two.
        assert distance(ours, ref) <= 2, img.size
        exact += ours == ref
    assert exact >= len(images) - 2, f"only {exact} of {len(images)} bit-exact"


def test_dihedral_hashes_match_the_reference() -> None:
    for img in photos()[::3]:
        ours, quality = pdq.dihedral_luma(pdq.luma(img))
        ref, ref_quality = reference_dihedral(img)
        assert quality == ref_quality
        for k in range(8):
            assert distance(ours[k].tobytes(), ref[k].tobytes()) <= 2, (img.size, k)


def test_dihedral_variants_relate_to_transposed_photos_as_the_reference_does() -> None:
    """A variant is not exactly the hash of the transposed photo (the even box windows and
    the sample points are not symmetric, noise shows it most), but the gap is the
    reference's own."""
    rng = np.random.default_rng(9)
    noise = Image.fromarray(rng.integers(0, 256, (256, 256, 3), dtype=np.uint8))
    with Image.open(DATA / "pdqhash-python" / "image1.jpg") as im:
        photo = im.convert("RGB")
    for img in (noise.resize((640, 480)), photo):
        ours, _ = pdq.dihedral_luma(pdq.luma(img))
        ref, _ = reference_dihedral(img)
        for k, op in enumerate(VARIANT_TRANSPOSE):
            moved = img if op is None else img.transpose(op)
            gap = distance(ours[k].tobytes(), pdq.hash_luma(pdq.luma(moved))[0])
            ref_gap = distance(ref[k].tobytes(), reference(moved)[0])
            assert abs(gap - ref_gap) <= 2, (img.size, k, gap, ref_gap)


def test_too_small_to_hash_is_zero_with_quality_zero() -> None:
    img = Image.new("RGB", (4, 100), "white")
    assert pdq.hash_luma(pdq.luma(img)) == (bytes(32), 0)
    variants, quality = pdq.dihedral_luma(pdq.luma(img))
    assert quality == 0 and not variants.any() and variants.shape == (8, 32)


def test_flat_image_has_quality_zero() -> None:
    h, quality = pdq.hash_luma(pdq.luma(Image.new("RGB", (300, 200), (120, 40, 200))))
    assert quality == 0 and len(h) == 32


def test_luma_is_the_reference_weighting() -> None:
    img = Image.fromarray(np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]]], dtype=np.uint8))
    np.testing.assert_allclose(pdq.luma(img)[0], [0.299 * 255, 0.587 * 255, 0.114 * 255], 1e-5)
