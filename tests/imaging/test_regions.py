"""Photos found inside screenshots: region proposals, round avatars, query boxes, hints."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont, ImageOps

from revimg.imaging import regions
from revimg.imaging.photo import Photo
from revimg.index.store import open_index
from revimg.matching.checker import check_source
from revimg.report.data import result_dict
from revimg.report.words import hints
from tests.conftest import STOCK, SUSPECTS

PHONE = (1080, 2340)


def _photo(name: str = "kphotoalbum__jesper.jpg") -> Image.Image:
    with Image.open(STOCK / name) as im:
        return ImageOps.exif_transpose(im).convert("RGB")


def _text(
    draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, size: int, fill: object
) -> None:
    draw.text(xy, text, fill=fill, font=ImageFont.load_default(size=size))


def chat(photo: Image.Image, *, dark: bool = False) -> tuple[Image.Image, tuple[int, ...]]:
    """A messenger chat with the photo in a rounded bubble and a time stamp on it."""
    bg, bubble, ink = (
        ((18, 18, 22), (44, 44, 52), (235, 235, 235))
        if dark
        else (
            (236, 229, 221),
            (255, 255, 255),
            (20, 20, 20),
        )
    )
    im = Image.new("RGB", PHONE, bg)
    d = ImageDraw.Draw(im)
    d.rectangle((0, 0, PHONE[0], 200), fill=(7, 94, 84))
    _text(d, (150, 80), "Alex", 50, (255, 255, 255))
    for y in (300, 450):
        d.rounded_rectangle((40, y, 800, y + 120), 30, fill=bubble)
        _text(d, (70, y + 35), "Hey, how are you today?", 40, ink)
    w = round(PHONE[0] * 0.65)
    p = photo.resize((w, round(photo.height * w / photo.width)), Image.Resampling.LANCZOS)
    mask = Image.new("L", p.size, 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, p.width, p.height), 30, fill=255)
    x, y = PHONE[0] - w - 40, 650
    im.paste(p, (x, y), mask)
    d.rounded_rectangle(
        (x + w - 150, y + p.height - 70, x + w - 20, y + p.height - 20), 20, fill=(40, 40, 40)
    )
    _text(d, (x + w - 130, y + p.height - 65), "21:47", 34, (255, 255, 255))
    d.rounded_rectangle((40, y + p.height + 50, 900, y + p.height + 170), 30, fill=bubble)
    _text(d, (70, y + p.height + 85), "Nice photo! Where was that?", 40, ink)
    return im, (x, y, x + w, y + p.height)


def profile(photo: Image.Image, side: int, top: int = 300) -> tuple[Image.Image, tuple[int, ...]]:
    """A profile page showing the photo's centre square as a round avatar."""
    im = Image.new("RGB", PHONE, (255, 255, 255))
    d = ImageDraw.Draw(im)
    s = min(photo.size)
    left, upper = (photo.width - s) // 2, (photo.height - s) // 2
    square = photo.crop((left, upper, left + s, upper + s)).resize(
        (side, side), Image.Resampling.LANCZOS
    )
    mask = Image.new("L", (side, side), 0)
    ImageDraw.Draw(mask).ellipse((0, 0, side, side), fill=255)
    x = (PHONE[0] - side) // 2
    im.paste(square, (x, top), mask)
    for i in range(10):
        _text(
            d,
            (60, top + side + 60 + i * 70),
            "Lorem ipsum dolor sit amet, consectetur",
            44,
            (30, 30, 30),
        )
    return im, (x, top, x + side, top + side)


def _png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


def _fractions(box: tuple[int, ...], size: tuple[int, int]) -> tuple[float, ...]:
    return (box[0] / size[0], box[1] / size[1], box[2] / size[0], box[3] / size[1])


@pytest.mark.parametrize("dark", [False, True])
def test_the_photo_in_a_chat_is_proposed_as_a_framed_region(dark: bool) -> None:
    shot, box = chat(_photo(), dark=dark)
    found = regions.analyse(shot)
    assert found.screenshot_like
    framed = [r for r in found.regions if r.kind == "framed"]
    assert framed and _iou(framed[0].box, _fractions(box, PHONE)) >= 0.8


@pytest.mark.parametrize("side", [440, 180])
def test_a_round_avatar_is_proposed_as_an_avatar(side: int) -> None:
    shot, box = profile(_photo(), side)
    found = regions.analyse(shot)
    avatars = [r for r in found.regions if r.kind == "avatar"]
    assert len(avatars) == 1 and _iou(avatars[0].box, _fractions(box, PHONE)) >= 0.7
    assert all(r.kind != "framed" for r in found.regions)  # lines of text are not photos


@pytest.mark.parametrize("name", sorted(p.name for p in STOCK.glob("*.jpg")))
def test_plain_photos_get_no_regions(name: str) -> None:
    found = regions.analyse(_photo(name))
    assert found.regions == () and not found.screenshot_like


def test_fill_outside_disc_keeps_the_disc_and_fills_the_corners() -> None:
    import numpy as np

    lum = np.zeros((40, 40), np.float32)
    lum[:, 20:] = 200.0
    out = regions.fill_outside_disc(lum)
    inside = regions.disc_mask(40, 40)
    assert (out[inside] == lum[inside]).all()
    assert np.allclose(out[~inside], out[0, 0]) and 0 < out[0, 0] < 200


@pytest.mark.parametrize(
    ("make", "variant"),
    [
        (lambda p: chat(p), "framed"),
        (lambda p: chat(p, dark=True), "framed"),
        (lambda p: profile(p, 440), "avatar"),
        (lambda p: profile(p, 200, top=900), "avatar"),
    ],
)
def test_screenshots_of_an_indexed_photo_match_and_say_where(
    built_index: Path, make: object, variant: str
) -> None:
    shot, box = make(_photo())  # type: ignore[operator]
    with open_index(built_index) as index:
        result = check_source(index, Photo("shot.png", data=_png(shot)))
    assert result.verdict == "match"
    best = result.matches[0]
    assert best.entry.name == "kphotoalbum__jesper.jpg"
    assert variant in best.variant.split("+")
    assert best.query_box is not None and _iou(best.query_box, _fractions(box, PHONE)) >= 0.7
    out = result_dict(result)
    assert out["matches"][0]["query_box"] == [round(b, 4) for b in best.query_box]
    assert out["hints"] == []


def test_a_screenshot_with_no_known_photo_gets_a_hint_and_a_plain_photo_does_not(
    built_index: Path,
) -> None:
    with Image.open(SUSPECTS / "unrelated.jpg") as im:
        unrelated = im.convert("RGB")
    shot, _ = chat(unrelated)
    with open_index(built_index) as index:
        in_shot = check_source(index, Photo("shot.png", data=_png(shot)))
        plain = check_source(index, Photo("plain.jpg", path=SUSPECTS / "unrelated.jpg"))
    assert in_shot.verdict == "no_match" and in_shot.matches == []
    assert in_shot.next_steps == ["screenshot"] and plain.next_steps == []
    assert len(hints(in_shot)) == 1 and "crop" in hints(in_shot)[0]
    assert result_dict(in_shot)["hints"] == hints(in_shot)
    assert plain.verdict == "no_match" and hints(plain) == []


def test_cli_says_where_in_the_screenshot_in_every_format(
    built_index: Path, tmp_path: Path
) -> None:
    import csv
    import json

    from typer.testing import CliRunner

    from revimg.cli import app

    shot, box = chat(_photo())
    path = tmp_path / "shot.png"
    shot.save(path)
    with Image.open(SUSPECTS / "unrelated.jpg") as im:
        other, _ = chat(im.convert("RGB"))
    other_path = tmp_path / "other.png"
    other.save(other_path)
    runner = CliRunner()
    args = ["check", str(path), str(other_path), "--index", str(built_index)]
    table = runner.invoke(app, [*args, "--format", "table"])
    assert table.exit_code == 1
    assert "found in: x 3" in table.output and "of the image you checked" in table.output
    assert "tip: this looks like a screenshot" in table.output
    quiet = runner.invoke(app, [*args, "--format", "table", "--quiet"])
    assert "tip: this looks like a screenshot" in quiet.output
    assert "found in:" not in quiet.output
    rows = list(csv.DictReader(io.StringIO(runner.invoke(app, [*args, "--format", "csv"]).stdout)))
    assert rows[0]["variant"].endswith("framed") and len(rows[0]["query_box"].split()) == 4
    assert rows[-1]["verdict"] == "no_match" and "crop it to the photo" in rows[-1]["hints"]
    lines = runner.invoke(app, [*args, "--format", "jsonl"]).stdout.splitlines()
    first, second = (json.loads(line) for line in lines)
    assert _iou(first["matches"][0]["query_box"], _fractions(box, PHONE)) >= 0.7
    assert second["hints"] and second["matches"] == []
