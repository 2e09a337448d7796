"""Matching through the library: edited copies are found with the right variant; others are not."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageOps

from revimg.errors import UsageError
from revimg.imaging.photo import Photo
from revimg.index.store import open_index
from revimg.matching.checker import check_paths, check_sources
from revimg.matching.find import max_distance_for, score_of
from revimg.report.data import result_dict
from tests.conftest import STOCK

SOURCE = "kphotoalbum__anne_helene.jpg"


def _source_img() -> Image.Image:
    return ImageOps.exif_transpose(Image.open(STOCK / SOURCE)).convert("RGB")


def _centre_square(img: Image.Image) -> Image.Image:
    side = min(img.size)
    left, top = (img.width - side) // 2, (img.height - side) // 2
    return img.crop((left, top, left + side, top + side)).resize((400, 400))


EDITS: dict[str, tuple[Callable[[Image.Image], Image.Image], str]] = {
    "resized": (lambda im: im.resize((im.width // 2, im.height // 2)), "original"),
    "mirrored": (ImageOps.mirror, "mirrored"),
    "rotated-180": (lambda im: im.rotate(180), "rotated-180"),
    "rotated-90-cw": (lambda im: im.transpose(Image.Transpose.ROTATE_270), "rotated-90-cw"),
    "rotated-90-ccw": (lambda im: im.transpose(Image.Transpose.ROTATE_90), "rotated-90-ccw"),
    "profile-square": (_centre_square, "cropped"),
    "mirrored-square": (lambda im: ImageOps.mirror(_centre_square(im)), "mirrored+cropped"),
}


def _as_jpeg(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=75)
    return buf.getvalue()


@pytest.mark.parametrize("edit", EDITS)
def test_edited_copy_found_with_variant(built_index: Path, edit: str) -> None:
    transform, variant = EDITS[edit]
    query = Photo(f"{edit}.jpg", data=_as_jpeg(transform(_source_img())))
    with open_index(built_index) as index:
        (result,) = check_sources(index, [query])
    assert result.verdict == "match", result_dict(result)
    best = result.matches[0]
    assert best.entry.name == SOURCE
    assert best.variant == variant
    assert 0.75 <= best.score <= 1.0
    if variant.endswith("cropped"):
        # anne_helene is a portrait: its centre square spans y 1/6 to 5/6
        assert best.box is not None and best.view in ("centre-square", "features")
        assert all(abs(a - b) < 0.03 for a, b in zip(best.box, (0, 1 / 6, 1, 5 / 6), strict=True))


def test_exact_file_is_exact(built_index: Path, photo_dir: Path) -> None:
    with open_index(built_index) as index:
        (result,) = check_paths(index, [photo_dir / SOURCE])
    assert result.matches[0].exact and result.matches[0].distance == 0
    assert result.matches[0].score == 1.0


def test_other_shot_of_same_scene_is_not_a_copy(built_index: Path) -> None:
    # bar55 is indexed; bar55_2 too. A different photo of another scene must match nothing,
    # and querying with bar55 must rank bar55 itself first, not its sibling.
    with open_index(built_index) as index:
        (result,) = check_paths(index, [STOCK / "kphotoalbum__bar55.jpg"])
    assert [m.entry.name for m in result.matches] == ["kphotoalbum__bar55.jpg"]


@pytest.mark.parametrize(
    "name", ["kphotoalbum__donna.jpg", "tuxpaint__burnt_bark.jpg", "tuxpaint__ocean_waves.jpg"]
)
def test_unrelated_photos_do_not_match(built_index: Path, name: str) -> None:
    with open_index(built_index) as index:
        (result,) = check_paths(index, [STOCK / name if (STOCK / name).exists() else name])
    if result.error is None:
        assert result.verdict == "no_match", result_dict(result)


def test_flat_query_warns_and_matches_nothing(built_index: Path) -> None:
    flat = Image.new("RGB", (400, 300), (200, 200, 200))
    with open_index(built_index) as index:
        (result,) = check_sources(index, [Photo("flat.png", data=_as_jpeg(flat))])
    assert result.verdict == "no_match"
    assert result.warnings and "little detail" in result.warnings[0]


def test_unreadable_query_is_an_error_result(built_index: Path) -> None:
    with open_index(built_index) as index:
        results = list(check_sources(index, [Photo("x.jpg", data=b"nope"), Photo("y", data=b"")]))
    assert [r.verdict for r in results] == [None, None]
    assert result_dict(results[0]) == {"query": "x.jpg", "error": results[0].error}


def test_threshold_bounds_and_scores() -> None:
    assert score_of(0) == 1.0 and score_of(128) == 0.0 and score_of(300) == 0.0
    assert max_distance_for(0.75) == 32
    assert max_distance_for(1.0) == 0
    with pytest.raises(UsageError):
        max_distance_for(1.5)


def test_threshold_above_a_score_drops_that_match(built_index: Path) -> None:
    img = _source_img().rotate(3, expand=False).resize((300, 400))
    query = Photo("tilted.jpg", data=_as_jpeg(img))
    with open_index(built_index) as index:
        (loose,) = check_sources(index, [query], threshold=0.5)
        assert loose.matches and loose.matches[0].entry.name == SOURCE
        assert loose.matches[0].score < 1.0
        above = loose.matches[0].score + 1 / 256
        (strict,) = check_sources(index, [query], threshold=min(above, 1.0))
    assert not [m for m in strict.matches if m.entry.id == loose.matches[0].entry.id]


def test_parallel_batch_gives_the_same_results_in_order(built_index: Path) -> None:
    from tests.conftest import SUSPECTS

    paths = sorted(SUSPECTS.glob("*.*"))  # includes README.md: an error result in its place
    sources = [Photo(str(p), path=p) for p in paths]
    with open_index(built_index) as index:
        serial = [result_dict(r) for r in check_sources(index, sources)]
        parallel = [result_dict(r) for r in check_sources(index, sources, jobs=2)]
    assert parallel == serial
    assert [r["query"] for r in parallel] == [str(p) for p in paths]
    assert any("error" in r for r in parallel) and any(r.get("matches") for r in parallel)


@pytest.mark.parametrize("shared", [True, False], ids=["workers-search", "parent-searches"])
def test_batch_workers_search_when_they_can_map_the_index(
    built_index: Path, shared: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Worker processes search the index themselves when its search files are current on
    disk; otherwise they only hash and the parent searches. The same results either way."""
    from revimg.matching import checker
    from tests.conftest import SUSPECTS

    sources = [Photo(str(p), path=p) for p in sorted(SUSPECTS.glob("*.jpg"))]
    in_parent: list[str] = []
    real = checker.result_of

    def counted(index: Any, label: str, *rest: Any) -> Any:
        in_parent.append(label)  # only calls made in this process are recorded here
        return real(index, label, *rest)

    with open_index(built_index) as index:
        serial = [result_dict(r) for r in check_sources(index, sources)]
        if not shared:
            monkeypatch.setattr(type(index), "shared_search_files", lambda self: False)
        monkeypatch.setattr(checker, "result_of", counted)
        parallel = [result_dict(r) for r in check_sources(index, sources, jobs=2)]
    assert parallel == serial
    assert in_parent == ([] if shared else [s.label for s in sources])


def test_appearance_gate_rejects_a_second_shot_whose_details_line_up() -> None:
    """The check after the geometric one: the same alignment that passes a copy fails a
    second photo of the same face (tight, eye-aligned crops, as face datasets make them)."""
    import dataclasses

    from revimg.imaging import appearance, features
    from revimg.matching import verify
    from revimg.matching.find import _looks_the_same
    from tests.imaging.test_appearance import PERSON, SECOND_SHOT, aligned_face, reencode, scale_to

    known = aligned_face(PERSON)
    stored = dataclasses.replace(features.extract(known), appearance=appearance.signature(known))
    for query, same in ((reencode(known, quality=50), True), (aligned_face(SECOND_SHOT), False)):
        v = verify.Verification(
            inliers=30,
            matches=60,
            inlier_ratio=0.5,
            box=(0.0, 0.0, 1.0, 1.0),
            rotation_deg=0.0,
            scale=1.0,
            mirrored=False,
            transform=tuple(map(tuple, scale_to(query, known))),  # type: ignore[arg-type]
        )
        grey = features.working_grey(query)
        assert _looks_the_same(grey, v, stored) is same
        # an index made before signatures were stored keeps the geometric verdict
        unsigned = dataclasses.replace(stored, appearance=None)
        assert _looks_the_same(grey, v, unsigned)
        # and a damaged signature is no second opinion either
        assert _looks_the_same(grey, v, dataclasses.replace(stored, appearance=b"RVA\x01junk"))
