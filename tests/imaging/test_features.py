"""Local features (ORB): extraction, determinism and the blob format."""

from __future__ import annotations

import dataclasses
import io
from functools import cache

import numpy as np
import pytest
from PIL import Image

from revimg.imaging import features as F
from revimg.imaging.decoding import decode
from tests.conftest import STOCK

PHOTO = "palapeli__citrus-fruits.jpg"
PERSON = "kphotoalbum__bar55.jpg"


@cache
def photo(name: str) -> Image.Image:
    path = STOCK / name
    return decode(path.read_bytes(), name).image


@cache
def feats(name: str) -> F.Features:
    return F.extract(photo(name))


def roundtrip_jpeg(img: Image.Image) -> Image.Image:
    """Save as JPEG and decode as revimg decodes queries."""
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return decode(buf.getvalue(), "query").image


def crop(img: Image.Image, box: tuple[float, float, float, float]) -> Image.Image:
    w, h = img.size
    return img.crop((round(box[0] * w), round(box[1] * h), round(box[2] * w), round(box[3] * h)))


def assert_box(got: tuple[float, ...], want: tuple[float, ...], tol: float = 0.03) -> None:
    assert np.allclose(got, want, atol=tol), (got, want)


def test_extract_is_bounded_spread_and_deterministic() -> None:
    img = photo(PHOTO)
    a, b = F.extract(img), F.extract(img.copy())
    assert 100 < len(a) <= F.MAX_FEATURES
    assert a.points.dtype == np.float32 and a.points.shape == (len(a), 2)
    assert a.descriptors.dtype == np.uint8 and a.descriptors.shape == (len(a), 32)
    assert (a.width, a.height) == img.size
    assert ((a.points >= 0) & (a.points <= 1)).all()
    assert np.array_equal(a.points, b.points) and np.array_equal(a.descriptors, b.descriptors)
    # spread out: every quarter of the photo keeps some keypoints
    quarter = (a.points[:, 0] >= 0.5).astype(int) + 2 * (a.points[:, 1] >= 0.5)
    assert np.bincount(quarter, minlength=4).min() >= 20
    plain, _ = F.extract_with_mirror(img)
    assert np.array_equal(plain.descriptors, a.descriptors)


def test_blob_round_trip_and_rejects_garbage() -> None:
    f = feats(PHOTO)
    blob = F.to_blob(f)
    assert len(blob) == 16 + 37 * len(f)
    g = F.from_blob(blob)
    assert g.appearance is None
    signed = F.from_blob(F.to_blob(dataclasses.replace(f, appearance=b"sig")))
    assert signed.appearance == b"sig" and np.array_equal(signed.descriptors, f.descriptors)
    # a version-1 blob (before appearance signatures) is still read
    v1 = blob[:3] + bytes([1]) + blob[4:-2]
    old = F.from_blob(v1)
    assert old.appearance is None and np.array_equal(old.descriptors, f.descriptors)
    assert (g.width, g.height) == (f.width, f.height)
    assert np.array_equal(g.points, f.points)
    assert np.array_equal(g.descriptors, f.descriptors)
    assert np.array_equal(g.octaves, f.octaves)
    empty = F.from_blob(F.to_blob(F.extract(Image.new("RGB", (300, 200), (90, 90, 90)))))
    assert len(empty) == 0 and empty.descriptors.shape == (0, 32)
    for bad in (
        b"",
        blob[:-1],
        blob + b"x",
        b"XYZ" + blob[3:],
        blob[:3] + bytes([99]) + blob[4:],
        blob[:-2] + b"\x05\x00abc",  # a signature shorter than its length says
    ):
        with pytest.raises(ValueError):
            F.from_blob(bad)
