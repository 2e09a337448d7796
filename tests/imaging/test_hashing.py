"""Hashing: pHash equals imagehash's, dihedral variants are right, copies close, others far."""

from __future__ import annotations

import imagehash
import pytest
from PIL import Image, ImageEnhance, ImageOps

from revimg.imaging import hashing
from tests.conftest import SMALL_SET, STOCK


def _rgb(name: str) -> Image.Image:
    return ImageOps.exif_transpose(Image.open(STOCK / name)).convert("RGB")


@pytest.mark.parametrize("name", SMALL_SET)
def test_phash_equals_imagehash(name: str) -> None:
    img = _rgb(name)
    assert hashing.phash(img).hex() == str(imagehash.phash(img))


@pytest.mark.parametrize("k", range(8), ids=hashing.VARIANTS)
def test_dihedral_variants_match_transposed_images(k: int) -> None:
    img = _rgb("kphotoalbum__anne_helene.jpg")
    transpose = hashing.VARIANT_TRANSPOSE[k]
    moved = img if transpose is None else img.transpose(transpose)
    pdq_vars, _ = hashing.pdq_dihedral(img)
    direct_pdq, _ = hashing.pdq(moved)
    assert hashing.hamming(pdq_vars[k].tobytes(), direct_pdq) <= 16
    # and it is far from every other variant, so the variant name means something
    others = [hashing.hamming(pdq_vars[j].tobytes(), direct_pdq) for j in range(8) if j != k]
    assert min(others) > 48


def test_near_copies_close_unrelated_far() -> None:
    img = _rgb("kphotoalbum__jesper.jpg")
    base, quality = hashing.pdq(img)
    assert quality >= 50
    small = img.resize((img.width // 2, img.height // 2), Image.Resampling.BILINEAR)
    brighter = ImageEnhance.Brightness(img).enhance(1.3)
    for copy in (small, brighter):
        assert hashing.hamming(base, hashing.pdq(copy)[0]) <= 24
    for other in ("tuxpaint__mudstone.jpg", "palapeli__citrus-fruits.jpg"):
        assert hashing.hamming(base, hashing.pdq(_rgb(other))[0]) >= 80


def test_hex_round_trip_and_lengths() -> None:
    img = _rgb("tuxpaint__mudstone.jpg")
    h, q = hashing.pdq(img)
    assert len(h) == 32 and 0 <= q <= 100
    assert bytes.fromhex(h.hex()) == h
    assert len(hashing.phash(img)) == 8


def test_hamming_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError):
        hashing.hamming(b"\x00" * 8, b"\x00" * 32)
    assert hashing.hamming(b"\xff\x00", b"\x0f\x00") == 4


def test_flat_image_has_low_quality() -> None:
    flat = Image.new("RGB", (300, 200), (120, 130, 140))
    _, quality = hashing.pdq(flat)
    assert quality < hashing.MIN_QUALITY


def test_centre_square_box() -> None:
    assert hashing.centre_square(100, 100) is None
    box = hashing.centre_square(400, 300)
    assert box is not None
    x0, y0, x1, y1 = box
    assert (y0, y1) == (0.0, 1.0)
    assert abs((x1 - x0) * 400 - 300) < 1e-6 and abs(x0 + x1 - 1) < 1e-9
