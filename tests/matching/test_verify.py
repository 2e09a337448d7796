"""Geometric verification of local-feature candidates (revimg.matching.verify)."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw, ImageOps

from revimg.imaging import features as F
from revimg.matching import verify
from tests.imaging.test_features import (
    PERSON,
    PHOTO,
    assert_box,
    crop,
    feats,
    photo,
    roundtrip_jpeg,
)


def test_centre_crop_verifies_with_centre_box() -> None:
    box = (0.15, 0.15, 0.85, 0.85)  # about half the area
    q = F.extract(roundtrip_jpeg(crop(photo(PHOTO), box)))
    v = verify.verify(q, feats(PHOTO))
    assert v is not None and not v.mirrored
    assert v.inliers >= 3 * verify.MIN_INLIERS
    assert_box(v.box, box)
    assert abs(v.rotation_deg) < 1
    assert v.scale == pytest.approx(0.7, abs=0.03)


def test_corner_crop_of_a_person_verifies_with_corner_box() -> None:
    box = (0.0, 0.0, 0.7, 0.7)
    q = F.extract(roundtrip_jpeg(crop(photo(PERSON), box)))
    v = verify.verify(q, feats(PERSON))
    assert v is not None
    assert_box(v.box, box)


def test_small_rotation_verifies() -> None:
    rotated = photo(PHOTO).rotate(5, resample=Image.Resampling.BICUBIC)
    v = verify.verify(F.extract(roundtrip_jpeg(rotated)), feats(PHOTO))
    assert v is not None
    assert abs(v.rotation_deg) == pytest.approx(5, abs=1)
    assert v.scale == pytest.approx(1, abs=0.03)


def test_mirrored_copy_needs_the_mirrored_query() -> None:
    q, qm = F.extract_with_mirror(
        roundtrip_jpeg(ImageOps.mirror(crop(photo(PERSON), (0.1, 0, 1, 1))))
    )
    assert verify.verify(q, feats(PERSON)) is None
    v = verify.verify(q, feats(PERSON), mirrored_query=qm)
    assert v is not None and v.mirrored
    assert_box(v.box, (0.1, 0.0, 1.0, 1.0))


def test_photo_in_a_screenshot_verifies() -> None:
    shot = photo(PERSON).resize((360, 270))
    canvas = Image.new("RGB", (400, 700), (250, 250, 250))
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((0, 0, 400, 60), fill=(59, 89, 152))
    draw.text((20, 20), "Profile", fill=(255, 255, 255), font_size=24)
    canvas.paste(shot, (20, 120))
    v = verify.verify(F.extract(roundtrip_jpeg(canvas)), feats(PERSON))
    assert v is not None
    assert_box(v.box, (0, 0, 1, 1))


def test_unrelated_photos_and_low_detail_images_do_not_verify() -> None:
    q, qm = F.extract_with_mirror(photo("tuxpaint__lighthouse.jpg"))
    for name in (PHOTO, PERSON, "tuxpaint__ocean_waves.jpg"):
        assert verify.verify(q, feats(name), mirrored_query=qm) is None
    flat = F.extract(Image.new("RGB", (800, 600), (200, 30, 30)))
    gradient = F.extract(Image.linear_gradient("L").resize((800, 600)).convert("RGB"))
    assert len(flat) == 0 and len(gradient) == 0
    assert verify.verify(flat, feats(PHOTO)) is None
    text = Image.new("RGB", (800, 600), (255, 255, 255))
    ImageDraw.Draw(text).text((60, 260), "Call me on WhatsApp", fill=(0, 0, 0), font_size=48)
    tq, tqm = F.extract_with_mirror(text)
    for name in (PHOTO, PERSON):
        assert verify.verify(tq, feats(name), mirrored_query=tqm) is None


def test_second_shot_of_the_same_scene_does_not_verify() -> None:
    other = photo("kphotoalbum__bar55_2.jpg")
    q, qm = F.extract_with_mirror(roundtrip_jpeg(other))
    assert verify.verify(q, feats(PERSON), mirrored_query=qm) is None
    v = verify.measure(q, feats(PERSON))
    assert v is None or v.inliers < verify.MIN_INLIERS


def test_verification_is_deterministic_and_works_both_ways() -> None:
    q = F.extract(roundtrip_jpeg(crop(photo(PERSON), (0.2, 0.1, 0.9, 0.8))))
    a, b = verify.verify(q, feats(PERSON)), verify.verify(q, feats(PERSON))
    assert a is not None and a == b
    # the other way round (the indexed photo as query) the box is the crop's own frame
    back = verify.verify(feats(PERSON), q)
    assert back is not None
    assert_box(back.box, (0, 0, 1, 1))
