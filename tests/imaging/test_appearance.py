"""Appearance check: signatures, their validation, and copies versus second shots."""

from __future__ import annotations

import io
import json
import sys
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageOps

from revimg.imaging import appearance as A
from revimg.imaging import features as F
from revimg.imaging.decoding import decode
from revimg.matching import verify
from tests.conftest import REPO, STOCK

PERSON = "kphotoalbum__bar55.jpg"
SECOND_SHOT = "kphotoalbum__bar55_2.jpg"
#: Eyes (image-left, image-right) of the woman in the two shots, original pixels.
EYES = {PERSON: ((294, 274), (345, 268)), SECOND_SHOT: ((295, 177), (353, 181))}


@cache
def photo(name: str) -> Image.Image:
    return decode((STOCK / name).read_bytes(), name).image


def reencode(img: Image.Image, quality: int = 60) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return decode(buf.getvalue(), "query").image


def measured(query: Image.Image, candidate: Image.Image) -> verify.Verification:
    q, qm = F.extract_with_mirror(query)
    c = F.extract(candidate)
    found = [
        v for v in (verify.measure(q, c), verify.measure(qm, c, mirrored=True)) if v is not None
    ]
    assert found
    return max(found, key=lambda v: v.inliers)


def aligned_face(name: str, side: int = 512, eye_distance: float = 0.28) -> Image.Image:
    """The face cropped so that the eyes land on fixed positions, as face datasets align."""
    src = np.array(EYES[name], np.float32)
    half = eye_distance * side / 2
    dst = np.array([[side / 2 - half, 0.4 * side], [side / 2 + half, 0.4 * side]], np.float32)
    m, _ = cv2.estimateAffinePartial2D(src, dst)
    rgb = np.asarray(photo(name).convert("RGB"))
    return Image.fromarray(
        cv2.warpAffine(rgb, m, (side, side), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    )


def scale_to(query: Image.Image, candidate: Image.Image) -> np.ndarray:
    """Identity-like transform between the working copies of two images of one frame."""
    qw, qh = F.work_size(*query.size)
    cw, ch = F.work_size(*candidate.size)
    return np.array([[cw / qw, 0, 0], [0, ch / qh, 0]])


def test_signature_is_compact_deterministic_and_round_trips() -> None:
    img = photo(PERSON)
    sig = A.signature(img)
    assert sig == A.signature(img.copy()) == A.signature(img.convert("L"))
    assert len(sig) <= 4096
    s = A.from_signature(sig)
    assert (s.width, s.height) == F.work_size(*img.size)
    assert s.signs.shape == (len(s), A.COEFFS) and s.textured.shape == (len(s),)
    square = A.signature(Image.new("RGB", (3000, 3000), (10, 20, 30)))
    assert len(square) <= 4096
    assert not A.from_signature(square).textured.any()  # flat: nothing to compare


def test_malformed_signatures_raise_value_error() -> None:
    sig = A.signature(photo(PERSON))
    bad = [
        b"",
        sig[:5],
        sig[:-1],
        sig + b"\0",
        b"XYZ" + sig[3:],
        sig[:3] + bytes([99]) + sig[4:],  # version
        sig[:4] + (0).to_bytes(2, "little") + sig[6:],  # zero width
        sig[:4] + (5000).to_bytes(2, "little") + sig[6:],  # width beyond the working size
        sig[:8] + bytes([1]) + sig[9:],  # grid that does not fit the size
    ]
    for b in bad:
        with pytest.raises(ValueError):
            A.from_signature(b)
        with pytest.raises(ValueError):
            A.similarity(photo(PERSON), b, np.eye(2, 3))


def test_similarity_checks_its_arguments() -> None:
    img = photo(PERSON)
    sig = A.signature(img)
    with pytest.raises(ValueError):
        A.similarity(img, sig, np.eye(3))
    with pytest.raises(ValueError):  # a signature of a photo of another shape
        A.similarity(img, sig, np.eye(2, 3), (600, 800))
    # degenerate or non-finite transforms compare nothing
    assert A.similarity(img, sig, np.zeros((2, 3))).cells == 0
    assert A.similarity(img, sig, np.full((2, 3), np.nan)).cells == 0
    # a transform that puts the query outside the candidate compares nothing
    assert not A.similarity(img, sig, [[1, 0, 5000], [0, 1, 0]]).conclusive


def test_reencoded_cropped_copy_scores_above_the_threshold() -> None:
    for name in (PERSON, "palapeli__citrus-fruits.jpg", "tuxpaint__lighthouse.jpg"):
        img = photo(name)
        w, h = img.size
        query = reencode(img.crop((w // 10, h // 8, w - w // 6, h)), quality=50)
        v = measured(query, img)
        assert verify.accept(v) and v.transform is not None
        r = A.similarity(query, A.signature(img), v.transform, img.size, mirrored=v.mirrored)
        assert r.agrees, (name, r)
        assert r.score >= A.THRESHOLD + 0.05
        # deterministic
        assert A.similarity(query, A.signature(img), v.transform, img.size) == r


def test_mirrored_avatar_with_overlay_is_still_a_copy() -> None:
    img = photo(PERSON)
    side = min(img.size)
    left = (img.width - side) // 2
    square = img.crop((left, 0, left + side, side)).resize((360, 360))
    mask = Image.new("L", square.size, 0)
    ImageDraw.Draw(mask).ellipse((0, 0, 359, 359), fill=255)
    avatar = Image.new("RGB", square.size, (245, 245, 247))
    avatar.paste(square, (0, 0), mask)
    ImageDraw.Draw(avatar).rectangle((0, 250, 360, 360), fill=(20, 20, 20))  # a caption bar
    query = reencode(ImageOps.mirror(avatar))
    v = measured(query, img)
    assert v.mirrored and v.transform is not None
    r = A.similarity(query, A.signature(img), v.transform, img.size, mirrored=True)
    assert r.agrees, r
    # without the mirror flag, the same transform compares the wrong picture
    assert A.similarity(query, A.signature(img), v.transform, img.size).score < A.THRESHOLD


def test_second_shot_of_the_same_face_scores_below_the_threshold() -> None:
    a, b = aligned_face(PERSON), aligned_face(SECOND_SHOT)
    query = reencode(b, quality=90)
    r = A.similarity(query, A.signature(a), scale_to(query, a), a.size)
    assert r.conclusive and not r.agrees, r
    assert r.score <= A.THRESHOLD - 0.1
    # the whole photos, as if aligned frame to frame, do not agree either
    full = reencode(photo(SECOND_SHOT))
    r = A.similarity(full, A.signature(photo(PERSON)), scale_to(full, photo(PERSON)))
    assert r.conclusive and r.score < A.THRESHOLD - 0.1
    # whereas a re-encoded copy of the same aligned crop does
    same = reencode(a, quality=40)
    assert A.similarity(same, A.signature(a), scale_to(same, a), a.size).agrees


def test_flat_masked_query_is_inconclusive() -> None:
    img = photo(PERSON)
    blank = Image.new("RGB", img.size, (245, 245, 247))
    r = A.similarity(blank, A.signature(img), scale_to(blank, img), img.size)
    assert r.cells == 0 and not r.agrees


def test_benchmark_runs_on_the_examples(tmp_path: Path) -> None:
    sys.path.insert(0, str(REPO / "benchmarks"))
    import appearance_eval

    out = tmp_path / "appearance.json"
    assert (
        appearance_eval.main(
            ["--photos", str(STOCK), "--edits", "jpeg-q30,avatar", "--json", str(out)]
        )
        == 0
    )
    figures = json.loads(out.read_text())
    assert set(figures["true"]) >= {"jpeg-q30", "avatar"}
    assert min(v["min"] for v in figures["true"].values()) >= A.THRESHOLD
    assert max(v["max"] for v in figures["negatives"].values()) < A.THRESHOLD
