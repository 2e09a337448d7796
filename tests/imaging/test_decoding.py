"""Decoding: EXIF orientation, deliberate mode conversion, clear errors for bad files."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from revimg.errors import ImageError
from revimg.imaging import decoding, hashing
from tests.conftest import EXIF_STORE, STOCK

PHOTO = STOCK / "kphotoalbum__anne_helene.jpg"


def _jpeg(img: Image.Image, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=92, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_upright(orientation: int) -> None:
    upright = ImageOps.exif_transpose(Image.open(PHOTO)).convert("RGB")
    transpose = EXIF_STORE[orientation]
    stored = upright if transpose is None else upright.transpose(transpose)
    exif = Image.Exif()
    exif[0x0112] = orientation
    decoded = decoding.decode(_jpeg(stored, exif=exif.tobytes()), "x.jpg")
    assert (decoded.width, decoded.height) == upright.size
    want, _ = hashing.pdq(decoding.decode(_jpeg(upright), "u.jpg").image)
    got, _ = hashing.pdq(decoded.image)
    assert hashing.hamming(want, got) <= 12


def test_draft_decode_keeps_full_size_and_enough_pixels() -> None:
    big = Image.open(PHOTO).convert("RGB").resize((3000, 2000))
    decoded = decoding.decode(_jpeg(big), "big.jpg")
    assert (decoded.width, decoded.height) == (3000, 2000)
    assert min(decoded.image.size) >= decoding.WORK_SIZE
    assert decoded.image.size[0] < 3000


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def test_alpha_is_dropped_like_the_reference_tools() -> None:
    rgba = Image.new("RGBA", (64, 64), (255, 0, 0, 0))  # transparent, red underneath
    out = decoding.decode(_png(rgba), "t.png").image
    assert out.mode == "RGB" and out.getpixel((5, 5)) == (255, 0, 0)
    pal = Image.new("P", (32, 32), 1)
    pal.putpalette([0, 0, 0, 10, 20, 30] + [0] * 762)
    pal.info["transparency"] = 1
    assert decoding.decode(_png(pal), "p.png").image.getpixel((0, 0)) == (10, 20, 30)


def test_sixteen_bit_converts_like_pillow() -> None:
    ramp = (np.tile(np.linspace(0, 65535, 256), (64, 1))).astype(np.uint16)
    img = Image.fromarray(ramp)
    assert img.mode.startswith("I;16")
    out = np.asarray(decoding.decode(_png(img), "g16.png").image)
    want = np.asarray(img.convert("RGB"))
    assert out.shape == want.shape and (out == want).all()


def test_cmyk_jpeg_decodes() -> None:
    cmyk = Image.open(PHOTO).convert("CMYK")
    out = decoding.decode(_jpeg(cmyk), "c.jpg").image
    assert out.mode == "RGB"
    want, _ = hashing.pdq(Image.open(PHOTO).convert("RGB"))
    assert hashing.hamming(want, hashing.pdq(out)[0]) <= 16


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"hello, this is text", "not an image"),
        (PHOTO.read_bytes()[:2000], "cannot decode"),
    ],
    ids=["empty", "text", "truncated-jpeg"],
)
def test_bad_bytes_raise_image_error(data: bytes, reason: str) -> None:
    with pytest.raises(ImageError) as info:
        decoding.decode(data, "bad.jpg")
    assert reason in str(info.value)
    assert str(info.value).startswith("bad.jpg: ")
    assert "\n" not in str(info.value)


def test_decompression_bomb_refused() -> None:
    # A PNG header that declares a 30000 x 30000 canvas.
    img = Image.new("1", (30000, 30000))
    data = _png(img)
    assert len(data) < 1_000_000
    with pytest.raises(ImageError, match="too large"):
        decoding.decode(data, "bomb.png")


def test_animated_gif_uses_first_frame() -> None:
    frames = [Image.new("RGB", (64, 64), c) for c in ((255, 0, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    out = decoding.decode(buf.getvalue(), "a.gif").image
    r, g, b = out.getpixel((10, 10))
    assert r > 200 and b < 50


def test_read_bytes_errors(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="no such file"):
        decoding.read_bytes(tmp_path / "missing.jpg")
    with pytest.raises(ImageError, match="directory"):
        decoding.read_bytes(tmp_path)


def test_huge_images_with_alpha_are_reduced_band_by_band(tmp_path: Path) -> None:
    """A huge RGBA or LA image is reduced without a second full-size copy: its peak memory
    is that of the same image without alpha (it was about twice that: 1.5 GB for a
    735 KB PNG of 13,400 x 13,400), and the result is the reduced image without alpha."""
    import subprocess
    import sys

    import numpy as np

    from revimg.imaging import decoding

    rng = np.random.default_rng(3)
    side = 4600  # 21 MP: over MAX_WORK_PIXELS, so the shrinking path is taken
    assert side * side > decoding.MAX_WORK_PIXELS
    small = rng.integers(0, 256, (side // 50, side // 50, 4), dtype=np.uint8)
    rgba = Image.fromarray(small, "RGBA").resize((side, side), Image.Resampling.NEAREST)
    paths = {}
    for mode in ("RGBA", "RGB", "LA", "L"):
        paths[mode] = tmp_path / f"{mode}.png"
        rgba.convert(mode).save(paths[mode], compress_level=1)
    # the high-water mark of this process's own memory (ru_maxrss can be the parent's, which
    # a child keeps across exec)
    probe = (
        "import sys; from pathlib import Path; from revimg.imaging import decoding;"
        "decoding.load(Path(sys.argv[1]));"
        "print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')))"
    )

    def peak_kb(path: Path) -> int:
        done = subprocess.run(  # noqa: S603
            [sys.executable, "-c", probe, str(path)], capture_output=True, text=True, check=True
        )
        return int(done.stdout)

    image_mb = side * side * 4 / 1e6  # Pillow keeps 4 bytes a pixel for RGB, RGBA and LA
    for with_alpha, without in (("RGBA", "RGB"), ("LA", "RGB")):  # the same 4 bytes a pixel
        extra_mb = (peak_kb(paths[with_alpha]) - peak_kb(paths[without])) / 1024
        assert extra_mb < image_mb / 2, (with_alpha, extra_mb, image_mb)
    for with_alpha, without in (("RGBA", "RGB"), ("LA", "L")):
        decoded = decoding.load(paths[with_alpha])[1].image
        expected = decoding.load(paths[without])[1].image
        assert decoded.mode == "RGB" and decoded.size == expected.size
        assert np.array_equal(np.asarray(decoded), np.asarray(expected)), with_alpha
