"""Local features (ORB): blobs, determinism, geometric verification and candidate retrieval."""

from __future__ import annotations

import dataclasses
import io
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageOps

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


def test_centre_crop_verifies_with_centre_box() -> None:
    box = (0.15, 0.15, 0.85, 0.85)  # about half the area
    q = F.extract(roundtrip_jpeg(crop(photo(PHOTO), box)))
    v = F.verify(q, feats(PHOTO))
    assert v is not None and not v.mirrored
    assert v.inliers >= 3 * F.MIN_INLIERS
    assert_box(v.box, box)
    assert abs(v.rotation_deg) < 1
    assert v.scale == pytest.approx(0.7, abs=0.03)


def test_corner_crop_of_a_person_verifies_with_corner_box() -> None:
    box = (0.0, 0.0, 0.7, 0.7)
    q = F.extract(roundtrip_jpeg(crop(photo(PERSON), box)))
    v = F.verify(q, feats(PERSON))
    assert v is not None
    assert_box(v.box, box)


def test_small_rotation_verifies() -> None:
    rotated = photo(PHOTO).rotate(5, resample=Image.Resampling.BICUBIC)
    v = F.verify(F.extract(roundtrip_jpeg(rotated)), feats(PHOTO))
    assert v is not None
    assert abs(v.rotation_deg) == pytest.approx(5, abs=1)
    assert v.scale == pytest.approx(1, abs=0.03)


def test_mirrored_copy_needs_the_mirrored_query() -> None:
    q, qm = F.extract_with_mirror(
        roundtrip_jpeg(ImageOps.mirror(crop(photo(PERSON), (0.1, 0, 1, 1))))
    )
    assert F.verify(q, feats(PERSON)) is None
    v = F.verify(q, feats(PERSON), mirrored_query=qm)
    assert v is not None and v.mirrored
    assert_box(v.box, (0.1, 0.0, 1.0, 1.0))


def test_photo_in_a_screenshot_verifies() -> None:
    shot = photo(PERSON).resize((360, 270))
    canvas = Image.new("RGB", (400, 700), (250, 250, 250))
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((0, 0, 400, 60), fill=(59, 89, 152))
    draw.text((20, 20), "Profile", fill=(255, 255, 255), font_size=24)
    canvas.paste(shot, (20, 120))
    v = F.verify(F.extract(roundtrip_jpeg(canvas)), feats(PERSON))
    assert v is not None
    assert_box(v.box, (0, 0, 1, 1))


def test_unrelated_photos_and_low_detail_images_do_not_verify() -> None:
    q, qm = F.extract_with_mirror(photo("tuxpaint__lighthouse.jpg"))
    for name in (PHOTO, PERSON, "tuxpaint__ocean_waves.jpg"):
        assert F.verify(q, feats(name), mirrored_query=qm) is None
    flat = F.extract(Image.new("RGB", (800, 600), (200, 30, 30)))
    gradient = F.extract(Image.linear_gradient("L").resize((800, 600)).convert("RGB"))
    assert len(flat) == 0 and len(gradient) == 0
    assert F.verify(flat, feats(PHOTO)) is None
    text = Image.new("RGB", (800, 600), (255, 255, 255))
    ImageDraw.Draw(text).text((60, 260), "Call me on WhatsApp", fill=(0, 0, 0), font_size=48)
    tq, tqm = F.extract_with_mirror(text)
    for name in (PHOTO, PERSON):
        assert F.verify(tq, feats(name), mirrored_query=tqm) is None


def test_second_shot_of_the_same_scene_does_not_verify() -> None:
    other = photo("kphotoalbum__bar55_2.jpg")
    q, qm = F.extract_with_mirror(roundtrip_jpeg(other))
    assert F.verify(q, feats(PERSON), mirrored_query=qm) is None
    v = F.measure(q, feats(PERSON))
    assert v is None or v.inliers < F.MIN_INLIERS


def test_searcher_ranks_the_source_first() -> None:
    names = sorted(p.name for p in STOCK.glob("*.jpg"))
    searcher = F.FeatureSearcher((100 + i, feats(n)) for i, n in enumerate(names))
    assert len(searcher) == len(names)
    for name, box in ((PHOTO, (0.2, 0.2, 0.8, 0.8)), (PERSON, (0.3, 0.0, 1.0, 0.8))):
        q, qm = F.extract_with_mirror(roundtrip_jpeg(ImageOps.mirror(crop(photo(name), box))))
        found = searcher.candidates(q, 5, mirrored_query=qm)
        assert found[0][0] == 100 + names.index(name)
        assert all(a[1] >= b[1] for a, b in zip(found, found[1:], strict=False))
        assert 0 < found[0][1] <= 1
    flat = F.extract(Image.new("RGB", (640, 480), (0, 0, 0)))
    assert searcher.candidates(flat) == []
    assert F.FeatureSearcher([]).candidates(feats(PHOTO)) == []


def test_verification_is_deterministic_and_works_both_ways() -> None:
    q = F.extract(roundtrip_jpeg(crop(photo(PERSON), (0.2, 0.1, 0.9, 0.8))))
    a, b = F.verify(q, feats(PERSON)), F.verify(q, feats(PERSON))
    assert a is not None and a == b
    # the other way round (the indexed photo as query) the box is the crop's own frame
    back = F.verify(feats(PERSON), q)
    assert back is not None
    assert_box(back.box, (0, 0, 1, 1))


def test_searcher_saves_and_maps_back(tmp_path: Path) -> None:
    names = [PHOTO, PERSON, "kphotoalbum__jesper.jpg", "tuxpaint__mudstone.jpg"]
    items = [(i, feats(n)) for i, n in enumerate(names, 1)]
    searcher = F.FeatureSearcher(items)
    path = tmp_path / "features.bin"
    searcher.save(path, "idx:3")
    loaded = F.FeatureSearcher.load(path)
    assert loaded is not None and loaded[0] == "idx:3"
    query = feats(PERSON)
    assert loaded[1].candidates(query, top=3) == searcher.candidates(query, top=3)
    assert loaded[1].candidates(query, top=1)[0][0] == 2
    path.write_bytes(path.read_bytes()[:-8])
    assert F.FeatureSearcher.load(path) is None
    assert F.FeatureSearcher.load(tmp_path / "missing.bin") is None


class _Untouchable:
    """An array stand-in that knows its length and fails when its elements are read."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, item: object) -> None:
        raise AssertionError("a whole-table array was read")


def test_a_saved_searcher_reads_only_the_words_it_needs(tmp_path: Path) -> None:
    """A check maps none of the big arrays: it reads the blocks of words, the offsets
    and the postings of its own words (a mapped table put every page it touched, and
    those around it, into the check's memory: 110 MB more at 1e4 photos)."""
    names = sorted(p.name for p in STOCK.glob("*.jpg"))
    searcher = F.FeatureSearcher((i, feats(n)) for i, n in enumerate(names))
    assert len(searcher._words) > 4 * F.FENCE  # several blocks of words
    path = tmp_path / "features.bin"
    searcher.save(path, "idx:1")
    loaded = F.FeatureSearcher.load(path)
    assert loaded is not None
    found = loaded[1]
    for name in ("_words", "_offsets", "_postings"):
        setattr(found, name, _Untouchable(len(getattr(found, name))))
    for name in (PHOTO, PERSON):
        q, qm = F.extract_with_mirror(roundtrip_jpeg(crop(photo(name), (0.2, 0.2, 0.8, 0.8))))
        expected = searcher.candidates(q, 5, mirrored_query=qm)
        assert found.candidates(q, 5, mirrored_query=qm) == expected
        assert expected[0][0] == names.index(name)
