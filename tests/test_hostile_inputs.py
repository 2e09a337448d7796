"""Hostile and broken photos: each gives a correct result or one clear line, never a crash.

Photos come from strangers. Every input below is generated here (nothing is committed) and
goes through the library (``decoding.load`` and both hashing paths) and through the real
command line in a child process: ``revimg hash`` once per file under a wall-clock bound
with its peak memory measured, ``revimg check`` over all of them at once against an index
that holds the upright photo, and ``revimg index build`` over the folder that holds them.

The contract: a readable input gives the right result (an EXIF-rotated photo matches its
upright copy); an unreadable one gives exit code 2 and exactly one stderr line
``Error: <file>: <reason>``; never a traceback, a hang or unbounded memory; a build goes
on and counts the failure.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import stat
import struct
import sys
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from revimg.errors import ImageError
from revimg.imaging import decoding, hashing
from revimg.index import builder
from revimg.index.store import open_index
from tests.conftest import DATA, EXIF_STORE, STOCK
from tests.reliability_figures import (
    HOSTILE_ALL,
    Ran,
    cli_env,
    drop_file_mode_override,
    file_modes_apply,
    record,
    run_cli,
)

PHOTO = STOCK / "kphotoalbum__jesper.jpg"
#: Other photos in the index used by the check test (the upright photo is the one to find).
OTHERS = ("tuxpaint__mudstone.jpg", "kphotoalbum__bar55.jpg", "palapeli__citrus-fruits.jpg")
#: Wall-clock bound for one file through the whole CLI, process start included (the worst
#: input measured here takes about 4 s; the rest is margin for a loaded CI machine).
PER_FILE_S = 30.0
#: Peak memory bound for one file through the CLI (the worst measured is about 0.4 GB).
MAX_RSS_MB = 1500.0
#: PDQ bits within which a re-encoded or re-oriented copy counts as the same photo.
SAME_BITS = 16

needs_posix_fs = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file system objects")


# -- building the inputs -------------------------------------------------------------------------


@cache
def upright() -> Image.Image:
    """The reference photo, upright, 8-bit RGB."""
    with Image.open(PHOTO) as img:
        return ImageOps.exif_transpose(img).convert("RGB")


@cache
def small() -> Image.Image:
    return upright().resize((200, 133))


def encode(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


@cache
def jpeg() -> bytes:
    return encode(upright(), "JPEG", quality=92)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(
    width: int, height: int, depth: int, colour: int, idat: bytes | None, *extra: bytes
) -> bytes:
    """A PNG from its parts: IHDR, extra chunks, one IDAT (unless None), IEND."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    body = png_chunk(b"IHDR", ihdr) + b"".join(extra)
    if idat is not None:
        body += png_chunk(b"IDAT", idat)
    return b"\x89PNG\r\n\x1a\n" + body + png_chunk(b"IEND", b"")


def zero_rows(width: int, height: int, bits_per_pixel: int) -> bytes:
    """Compressed PNG image data of an all-zero image (filter byte 0 per row)."""
    row = b"\0" * (1 + (width * bits_per_pixel + 7) // 8)
    packer = zlib.compressobj(9)
    return b"".join(packer.compress(row) for _ in range(height)) + packer.flush()


def png16_rgba(rgba: np.ndarray) -> bytes:
    """A 16-bit RGBA PNG (Pillow cannot write one)."""
    h, w, _ = rgba.shape
    rows = rgba.astype(">u2").reshape(h, w * 4).view(np.uint8).reshape(h, w * 8)
    raw = np.concatenate([np.zeros((h, 1), np.uint8), rows], axis=1).tobytes()
    return png(w, h, 16, 6, zlib.compress(raw, 6))


def jpeg_segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def jpeg_with(*segments: bytes) -> bytes:
    """The reference JPEG with extra segments right after its start marker."""
    data = jpeg()
    return data[:2] + b"".join(segments) + data[2:]


def exif_orientation(value: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = value
    return exif.tobytes()


def stored(orientation: int) -> Image.Image:
    transpose = EXIF_STORE[orientation]
    return upright() if transpose is None else upright().transpose(transpose)


def ycck_jpeg() -> bytes:
    """A real YCCK JPEG (Adobe transform 2), which Pillow cannot write directly.

    libjpeg turns YCCK into CMYK as ``C = 255 - R`` with ``R, G, B`` from ``Y, Cb, Cr``
    and K as stored, and Pillow inverts Adobe CMYK on both save and load: so the YCC
    planes are the YCbCr transform of Pillow's C, M, Y taken as R, G, B, stored inverted.
    """
    c, m, y, k = upright().convert("CMYK").split()
    ycc = Image.merge("RGB", (c, m, y)).convert("YCbCr")
    planes = [Image.fromarray(255 - np.asarray(p)) for p in ycc.split()] + [k]
    data = bytearray(encode(Image.merge("CMYK", planes), "JPEG", quality=95))
    at = data.find(b"Adobe")
    assert at > 0 and data[at + 11] == 0, "expected Pillow to write an Adobe CMYK marker"
    data[at + 11] = 2  # APP14: "Adobe", version, flags0, flags1, transform
    return bytes(data)


def tiff_header(width: int, height: int) -> bytes:
    """A little-endian TIFF whose only IFD declares a size and no image data."""
    entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (262, 3, 1, 1)]
    entries += [(273, 4, 1, 200), (278, 4, 1, height), (279, 4, 1, 1000)]  # one strip, absent
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        ifd += struct.pack("<HHII", tag, kind, count, value)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0)


def exif_ifd_loop() -> bytes:
    """EXIF whose first IFD says orientation 1 and names itself as the next IFD."""
    ifd = struct.pack("<H", 1) + struct.pack("<HHII", 0x0112, 3, 1, 1) + struct.pack("<I", 8)
    return b"Exif\x00\x00II*\x00" + struct.pack("<I", 8) + ifd


def exif_bad_offsets() -> bytes:
    """EXIF with 500 entries declared and values pointing far past its end."""
    ifd = struct.pack(">H", 500) + struct.pack(">HHII", 0x010F, 2, 10**6, 0x7FFFFFF0) * 3
    return b"Exif\x00\x00MM\x00*" + struct.pack(">I", 8) + ifd


def iptc_irb(resource_len: int, body: bytes) -> bytes:
    return b"Photoshop 3.0\x00" + b"8BIM\x04\x04\x00\x00" + struct.pack(">I", resource_len) + body


XMP_ID = b"http://ns.adobe.com/xap/1.0/\x00"
BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
    + b"".join(
        b'<!ENTITY %s "%s">' % (bytes([98 + i]), (b"&%s;" % bytes([97 + i])) * 10) for i in range(8)
    )
    + b']><x:xmpmeta xmlns:x="adobe:ns:meta/"><r>&i;</r></x:xmpmeta>'
)
EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><r>&e;</r></x:xmpmeta>'
)


def deep_xmp(depth: int) -> bytes:
    return (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/">' + b"<a>" * depth + b"</a>" * depth + b"</x:xmpmeta>"
    )


def webp_vp8x(width: int, height: int) -> bytes:
    body = b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00"
    body += (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def gif_header(width: int, height: int) -> bytes:
    screen = struct.pack("<HH", width, height) + b"\x00\x00\x00"
    image = b"," + struct.pack("<HHHH", 0, 0, width, height) + b"\x00"
    return b"GIF89a" + screen + image + b"\x02\x02D\x01\x00;"


def bmp_header(width: int, height: int) -> bytes:
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 0, 0, 0, 0)
    return b"BM" + struct.pack("<IHHI", 54 + 16, 0, 0, 54) + info + b"\x00" * 16


def random_bytes(n: int, seed: int) -> bytes:
    return np.random.default_rng(seed).bytes(n)


def animated(fmt: str) -> bytes:
    frames = [upright(), upright().transpose(Image.Transpose.FLIP_TOP_BOTTOM)]
    return encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100)


def many_frames_gif() -> bytes:
    frames = [Image.new("L", (32, 32), i % 256) for i in range(1000)]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=10)


def palette_alpha_png() -> bytes:
    pal = upright().quantize(64)
    alphas = bytes(range(0, 256, 4))  # 64 entries, from transparent to opaque
    return encode(pal, "PNG", transparency=alphas)


def palette_trns_too_long() -> bytes:
    pal = small().quantize(16)
    raw = encode(pal, "PNG")
    at = raw.index(b"IDAT") - 4
    return raw[:at] + png_chunk(b"tRNS", b"\x80" * 300) + raw[at:]


def ztxt_bomb() -> bytes:
    """A PNG with a compressed text chunk that inflates to 50 MB."""
    packer = zlib.compressobj(9)
    block = b"\0" * 1_000_000
    bomb = b"".join(packer.compress(block) for _ in range(50)) + packer.flush()
    raw = encode(small(), "PNG")
    at = raw.index(b"IDAT") - 4
    return raw[:at] + png_chunk(b"zTXt", b"Comment\x00\x00" + bomb) + raw[at:]


def heic_without_data() -> bytes:
    """The start of a HEIC file: its ftyp box, then junk."""
    return struct.pack(">I", 24) + b"ftypheic" + b"\x00\x00\x00\x00mif1heic" + b"\x00" * 200


HEIF_PLUGIN = ".heic" in decoding.image_extensions()
AVIF_SUPPORTED = ".avif" in decoding.image_extensions()


@dataclass(frozen=True)
class Case:
    """One hostile input and what revimg must make of it."""

    file: str  # its file name (in the hostile folder)
    what: str  # what it is
    make: Callable[[Path], None]  # writes it at the given path
    reason: str | None = None  # None: a correct result; else a piece of the one-line error
    same: bool = False  # the correct result is the upright photo's (PDQ within SAME_BITS)
    walked: bool = True  # a folder build picks it up (a file with an image extension)
    build_reason: str | None = None  # the build's reason, when it differs from ``reason``


def data(fn: Callable[[], bytes]) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(fn())


def fifo(path: Path) -> None:
    os.mkfifo(path)


def symlink_to(target: str) -> Callable[[Path], None]:
    return lambda path: path.symlink_to(target)


def directory(path: Path) -> None:
    path.mkdir()
    (path / "inside.txt").write_text("a folder named like a photo")


TRUNCATED = "truncated"
NOT_IMAGE = "not an image"
TOO_LARGE = "too large"

CASES: tuple[Case, ...] = (
    # truncated files
    Case("truncated-start.jpg", "JPEG cut after 300 bytes", data(lambda: jpeg()[:300]), TRUNCATED),
    Case(
        "truncated-half.jpg",
        "JPEG cut in half",
        data(lambda: jpeg()[: len(jpeg()) // 2]),
        TRUNCATED,
    ),
    Case(
        "truncated-end.jpg",
        "JPEG missing its last 1000 bytes",
        data(lambda: jpeg()[:-1000]),
        TRUNCATED,
    ),
    Case(
        "truncated-header.png",
        "PNG cut inside its header",
        data(lambda: encode(small(), "PNG")[:30]),
        TRUNCATED,
    ),
    Case(
        "truncated-half.png",
        "PNG cut in half",
        data(lambda: (b := encode(small(), "PNG"))[: len(b) // 2]),
        TRUNCATED,
    ),
    Case(
        "truncated-half.webp",
        "WebP cut in half",
        data(lambda: (b := encode(upright(), "WEBP"))[: len(b) // 2]),
        "corrupt or truncated",
    ),
    Case(
        "truncated-header.webp",
        "WebP cut inside its header",
        data(lambda: encode(upright(), "WEBP")[:24]),
        "cannot decode",
    ),
    Case(
        "truncated-half.gif",
        "GIF cut in half",
        data(lambda: (b := encode(small(), "GIF"))[: len(b) // 2]),
        TRUNCATED,
    ),
    Case(
        "truncated-half.tif",
        "TIFF cut in half",
        data(lambda: (b := encode(small(), "TIFF"))[: len(b) // 2]),
        TRUNCATED,
    ),
    Case(
        "truncated-half.bmp",
        "BMP cut in half",
        data(lambda: (b := encode(small(), "BMP"))[: len(b) // 2]),
        TRUNCATED,
    ),
    # empty, random and wrong files
    Case("empty.jpg", "zero-byte .jpg", data(lambda: b""), "file is empty"),
    Case("empty.png", "zero-byte .png", data(lambda: b""), "file is empty"),
    Case("empty.webp", "zero-byte .webp", data(lambda: b""), "file is empty"),
    Case(
        "random.jpg",
        "64 KB of random bytes named .jpg",
        data(lambda: random_bytes(65536, 1)),
        NOT_IMAGE,
    ),
    Case("random.png", "random bytes named .png", data(lambda: random_bytes(5000, 2)), NOT_IMAGE),
    Case("random.webp", "random bytes named .webp", data(lambda: random_bytes(5000, 3)), NOT_IMAGE),
    Case("random.gif", "random bytes named .gif", data(lambda: random_bytes(5000, 4)), NOT_IMAGE),
    Case(
        "jpeg-magic-then-random.jpg",
        "JPEG start marker, then random bytes",
        data(lambda: b"\xff\xd8\xff\xe0" + random_bytes(20000, 5)),
        "cannot decode",
    ),
    Case(
        "png-magic-then-random.png",
        "PNG signature, then random bytes",
        data(lambda: b"\x89PNG\r\n\x1a\n" + random_bytes(20000, 6)),
        "corrupt or truncated PNG",
    ),
    Case(
        "text.jpg",
        "a text file named .jpg",
        data(lambda: b"Hello, this is not a photo.\n"),
        NOT_IMAGE,
    ),
    Case(
        "page.png",
        "an HTML page named .png",
        data(lambda: b"<!doctype html><html><body><img src=x onerror=alert(1)></body></html>"),
        NOT_IMAGE,
    ),
    Case(
        "billion-laughs.svg.jpg",
        "an SVG with an entity bomb, named .jpg",
        data(lambda: BILLION_LAUGHS.replace(b"x:xmpmeta", b"svg")),
        NOT_IMAGE,
    ),
    # decompression bombs, pixel limits, huge headers without data
    Case(
        "bomb-declared.png",
        "PNG declaring 100000 x 100000 pixels, 100-byte body",
        data(lambda: png(100_000, 100_000, 8, 2, zlib.compress(b"\0" * 1000))),
        TOO_LARGE,
    ),
    Case(
        "bomb-under-limit.png",
        "10 KB PNG that inflates to 9000 x 9000 pixels (under the limit)",
        data(lambda: png(9_000, 9_000, 1, 0, zero_rows(9_000, 9_000, 1))),
    ),
    Case(
        "over-pixel-limit.png",
        "complete PNG of 15000 x 12500 pixels (over the 180 MP limit)",
        data(lambda: png(15_000, 12_500, 1, 0, zero_rows(15_000, 12_500, 1))),
        TOO_LARGE,
    ),
    Case(
        "huge-header.jpg",
        "JPEG frame header of 65500 x 65500, no scan data",
        data(
            lambda: (
                b"\xff\xd8"
                + jpeg_segment(
                    0xC0,
                    struct.pack(">BHHB", 8, 65500, 65500, 3)
                    + b"\x01\x11\x00\x02\x11\x00\x03\x11\x00",
                )
                + b"\xff\xd9"
            )
        ),
        TOO_LARGE,
    ),
    Case(
        "huge-header.png",
        "PNG header of 2^31-1 x 2^31-1, no data",
        data(lambda: png(2**31 - 1, 2**31 - 1, 8, 2, None)),
        TOO_LARGE,
    ),
    Case(
        "huge-header-under-limit.png",
        "PNG header of 13000 x 13000 RGB, no data",
        data(lambda: png(13_000, 13_000, 8, 2, None)),
        "cannot decode",
    ),
    Case(
        "huge-header.gif",
        "GIF screen of 65535 x 65535",
        data(lambda: gif_header(65535, 65535)),
        TOO_LARGE,
    ),
    Case(
        "huge-header.bmp",
        "BMP header of 60000 x 60000",
        data(lambda: bmp_header(60000, 60000)),
        TOO_LARGE,
    ),
    Case(
        "huge-header.tif",
        "TIFF IFD of 100000 x 100000",
        data(lambda: tiff_header(100_000, 100_000)),
        TOO_LARGE,
    ),
    Case(
        "huge-header.webp",
        "WebP VP8X canvas of 16384 x 16384",
        data(lambda: webp_vp8x(16384, 16384)),
        "cannot decode",
    ),
    # animations
    Case(
        "animated.gif",
        "animated GIF: the photo, then it upside down",
        data(lambda: animated("GIF")),
        same=True,
    ),
    Case(
        "animated.webp",
        "animated WebP: the photo, then it upside down",
        data(lambda: animated("WEBP")),
        same=True,
    ),
    Case("animated-1000-frames.gif", "GIF with 1000 frames", data(many_frames_gif)),
    # colour modes
    Case(
        "cmyk.jpg",
        "CMYK JPEG",
        data(lambda: encode(upright().convert("CMYK"), "JPEG", quality=92)),
        same=True,
    ),
    Case("ycck.jpg", "YCCK JPEG (Adobe transform 2)", data(ycck_jpeg), same=True),
    Case(
        "cmyk.tif", "CMYK TIFF", data(lambda: encode(upright().convert("CMYK"), "TIFF")), same=True
    ),
    Case(
        "rgba-16bit.png",
        "16-bit RGBA PNG, half transparent",
        data(
            lambda: png16_rgba(
                np.dstack(
                    [
                        np.asarray(upright(), np.uint16) * 257,
                        np.tile(np.linspace(0, 65535, upright().width), (upright().height, 1)),
                    ]
                )
            )
        ),
        same=True,
    ),
    Case(
        "grey-16bit.png",
        "16-bit greyscale PNG",
        data(lambda: encode(Image.fromarray(np.asarray(upright().convert("L"), np.uint16)), "PNG")),
        same=True,
    ),
    Case(
        "palette-alpha.png", "palette PNG with 64 alpha levels", data(palette_alpha_png), same=True
    ),
    Case(
        "palette-trns-too-long.png",
        "palette PNG whose tRNS outgrows its palette",
        data(palette_trns_too_long),
    ),
    Case(
        "grey-alpha.png",
        "grey + alpha PNG",
        data(lambda: encode(upright().convert("LA"), "PNG")),
        same=True,
    ),
    Case("bilevel.png", "1-bit PNG", data(lambda: encode(small().convert("1"), "PNG"))),
    # EXIF orientation: every one must give the upright photo
    *(
        Case(
            f"orientation-{o}.jpg",
            f"JPEG stored with EXIF orientation {o}",
            data(lambda o=o: encode(stored(o), "JPEG", quality=92, exif=exif_orientation(o))),
            same=True,
        )
        for o in range(1, 9)
    ),
    Case(
        "orientation-6.png",
        "PNG with eXIf orientation 6",
        data(lambda: encode(stored(6), "PNG", exif=exif_orientation(6))),
        same=True,
    ),
    Case(
        "orientation-8.webp",
        "WebP with EXIF orientation 8",
        data(lambda: encode(stored(8), "WEBP", quality=90, exif=exif_orientation(8))),
        same=True,
    ),
    Case(
        "orientation-3.tif",
        "TIFF with orientation 3",
        data(lambda: encode(stored(3), "TIFF", exif=exif_orientation(3))),
        same=True,
    ),
    *(
        Case(
            f"orientation-invalid-{o}.jpg",
            f"JPEG with invalid EXIF orientation {o}",
            data(lambda o=o: encode(upright(), "JPEG", quality=92, exif=exif_orientation(o))),
            same=True,
        )
        for o in (0, 9, 65535)
    ),
    # broken metadata blocks
    Case(
        "exif-random.jpg",
        "EXIF block of random bytes",
        data(lambda: jpeg_with(jpeg_segment(0xE1, b"Exif\x00\x00" + random_bytes(400, 7)))),
        same=True,
    ),
    Case(
        "exif-bad-offsets.jpg",
        "EXIF with 500 entries pointing past its end",
        data(lambda: jpeg_with(jpeg_segment(0xE1, exif_bad_offsets()))),
        same=True,
    ),
    Case(
        "exif-ifd-loop.jpg",
        "EXIF whose IFD chain loops",
        data(lambda: jpeg_with(jpeg_segment(0xE1, exif_ifd_loop()))),
        same=True,
    ),
    Case(
        "exif-truncated.jpg",
        "EXIF block cut after its header",
        data(lambda: jpeg_with(jpeg_segment(0xE1, b"Exif\x00\x00II*\x00"))),
        same=True,
    ),
    Case(
        "iptc-random.jpg",
        "Photoshop/IPTC block of random bytes",
        data(lambda: jpeg_with(jpeg_segment(0xED, iptc_irb(300, random_bytes(300, 8))))),
        same=True,
    ),
    Case(
        "iptc-bad-length.jpg",
        "IPTC resource claiming 4 GB",
        data(
            lambda: jpeg_with(
                jpeg_segment(0xED, iptc_irb(0xFFFFFFFF, b"\x1c\x02\x78\xff\xff" + b"x" * 40))
            )
        ),
        same=True,
    ),
    Case(
        "xmp-billion-laughs.jpg",
        "XMP with an entity-expansion bomb",
        data(lambda: jpeg_with(jpeg_segment(0xE1, XMP_ID + BILLION_LAUGHS))),
        same=True,
    ),
    Case(
        "xmp-external-entity.jpg",
        "XMP with an external entity (/etc/passwd)",
        data(lambda: jpeg_with(jpeg_segment(0xE1, XMP_ID + EXTERNAL_ENTITY))),
        same=True,
    ),
    Case(
        "xmp-broken.jpg",
        "XMP that is not well-formed",
        data(lambda: jpeg_with(jpeg_segment(0xE1, XMP_ID + b"<x:xmpmeta><unclosed attr='"))),
        same=True,
    ),
    Case(
        "xmp-deep.jpg",
        "XMP nested 8000 elements deep",
        data(lambda: jpeg_with(jpeg_segment(0xE1, XMP_ID + deep_xmp(8000)))),
        same=True,
    ),
    Case(
        "icc-random.jpg",
        "ICC profile of random bytes",
        data(
            lambda: jpeg_with(jpeg_segment(0xE2, b"ICC_PROFILE\x00\x01\x01" + random_bytes(500, 9)))
        ),
        same=True,
    ),
    Case(
        "ztxt-bomb.png",
        "PNG text chunk that inflates to 50 MB",
        data(ztxt_bomb),
        "decompression bomb",
    ),
    Case(
        "exif-random.png",
        "PNG eXIf chunk of random bytes",
        data(lambda: encode(upright(), "PNG", exif=b"Exif\x00\x00" + random_bytes(300, 10))),
        same=True,
    ),
    Case(
        "exif-random.webp",
        "WebP EXIF chunk of random bytes",
        data(lambda: encode(upright(), "WEBP", quality=90, exif=random_bytes(300, 11))),
        same=True,
    ),
    # HEIC and AVIF
    Case(
        "photo.avif",
        "AVIF photo" + ("" if AVIF_SUPPORTED else " (no AVIF support here)"),
        data(lambda: encode(upright(), "AVIF", quality=80))
        if AVIF_SUPPORTED
        else data(lambda: b"\0\0\0\x1cftypavif" + b"\0" * 64),
        None if AVIF_SUPPORTED else "AVIF",
        same=AVIF_SUPPORTED,
    ),
    Case(
        "not-really.heic",
        "HEIC header with no image"
        + (" (heif plugin installed)" if HEIF_PLUGIN else " (no heif plugin)"),
        data(heic_without_data),
        "" if HEIF_PLUGIN else "heif extra",
    ),
    # file system objects and names
    Case("a-folder.jpg", "a directory named .jpg", directory, "is a directory", walked=False),
    Case(
        "symlink-loop.jpg", "a symlink to itself", symlink_to("symlink-loop.jpg"), "symbolic links"
    ),
    Case(
        "dangling.jpg",
        "a symlink to nothing",
        symlink_to("gone/nowhere.jpg"),
        "no such file",
        build_reason="No such file",
    ),
    Case("abandoned-fifo.jpg", "a named pipe nobody writes to", fifo, "file is empty"),
    Case(
        "loop-to-here",
        "a symlink to the folder it is in",
        symlink_to("."),
        "is a directory",
        walked=False,
    ),
    Case("dev-zero.jpg", "a symlink to /dev/zero", symlink_to("/dev/zero"), "is a device"),
    Case(
        "caf\udce9.jpg",
        "photo whose name is Latin-1, not UTF-8",
        data(jpeg),
        same=True,
        build_reason="not valid UTF-8",
    ),
    Case(
        "long-" + "é" * 120 + "-name.jpg",
        "photo with a 255-byte UTF-8 name",
        data(jpeg),
        same=True,
    ),
)
#: The inputs CI also runs one per process (each of them costs a process start, about half a
#: second): one of each kind of failure, and every input that could hang or eat memory.
#: All of them run this way with REVIMG_HOSTILE_ALL=1 (benchmarks/reliability.py sets it).
ALONE = frozenset(
    {
        "truncated-half.jpg",
        "empty.jpg",
        "random.jpg",
        "bomb-declared.png",
        "bomb-under-limit.png",
        "over-pixel-limit.png",
        "huge-header.jpg",
        "animated-1000-frames.gif",
        "orientation-6.jpg",
        "xmp-billion-laughs.jpg",
        "ztxt-bomb.png",
        "not-really.heic",
        "symlink-loop.jpg",
        "abandoned-fifo.jpg",
        "dev-zero.jpg",
        "caf\udce9.jpg",
    }
)
CASE_IDS = [
    c.file.encode("utf-8", "surrogateescape").decode("ascii", "backslashreplace")[:40]
    for c in CASES
]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding every hostile input (module-scoped: they take a few seconds)."""
    folder = tmp_path_factory.mktemp("hostile")
    for case in CASES:
        case.make(folder / case.file)
    assert len({c.file for c in CASES}) == len(CASES)
    crashers = [p for p in (DATA / "hostile").iterdir() if p.suffix != ".md"]
    record(
        "hostile_inputs",
        generated=len(CASES),
        refused=sum(c.reason is not None for c in CASES),
        read=sum(c.reason is None for c in CASES),
        kept_crashers=len(crashers),
    )
    return folder


@pytest.fixture(scope="module")
def reference_pdq() -> bytes:
    data_ = jpeg()
    return hashing.pdq(decoding.decode(data_, "upright.jpg").image)[0]


@pytest.fixture(scope="module")
def upright_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of the upright photo (as upright.jpg) and a few unrelated ones."""
    folder = tmp_path_factory.mktemp("known")
    (folder / "upright.jpg").write_bytes(jpeg())
    for name in OTHERS:
        shutil.copy2(STOCK / name, folder / name)
    location = tmp_path_factory.mktemp("known-index") / "index"
    with open_index(location, create=True) as index:
        stats = builder.run(index, builder.folder_files([folder]), jobs=1)
        assert stats.added == 1 + len(OTHERS) and not stats.failed
        index.refresh()
    return location


def shown(text: str) -> str:
    """``text`` as revimg's stderr shows it (undecodable bytes of a file name escaped)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def error_line(ran: Ran, label: str) -> str:
    """The one stderr line of a failed run, checked: ``Error: <label>: <reason>``."""
    assert "Traceback" not in ran.err and "Traceback" not in ran.out, ran.err
    lines = ran.err_lines()
    assert len(lines) == 1, f"expected one stderr line, got {lines!r}"
    (line,) = lines
    prefix = shown(f"Error: {label}: ")
    assert line.startswith(prefix), (line, prefix)
    return line[len(prefix) :]


# -- the library ---------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_library_reads_or_refuses_each_input(
    hostile: Path, reference_pdq: bytes, case: Case
) -> None:
    path = hostile / case.file
    if case.reason is not None:
        with pytest.raises(ImageError) as info:
            decoding.load(path, case.file)
        message = str(info.value)
        assert message.startswith(f"{case.file}: ") and "\n" not in message
        assert case.reason.lower() in info.value.reason.lower(), message
        return
    data_, decoded = decoding.load(path, case.file)
    assert decoded.image.mode == "RGB" and decoded.width > 0 and decoded.height > 0
    indexed = hashing.hash_image(decoded, data_)
    query = hashing.hash_query(decoded, data_)
    assert len(indexed.pdq) == 32 and len(query.hashes.pdq) == 32
    if case.same:
        assert (decoded.width, decoded.height) == upright().size
        distance = hashing.hamming(reference_pdq, indexed.pdq)
        assert distance <= SAME_BITS, f"{case.file}: {distance} bits from the upright photo"


@pytest.mark.parametrize("orientation", [1, 6, 8])
def test_huge_canvas_is_reduced_and_keeps_its_true_size(
    monkeypatch: pytest.MonkeyPatch, orientation: int
) -> None:
    # A photo on a canvas above MAX_WORK_PIXELS is box-reduced before hashing (the limit is
    # lowered here to keep the test quick): same hash, within a few bits, as the photo
    # itself, upright, and the full size is still reported.
    monkeypatch.setattr(decoding, "MAX_WORK_PIXELS", 300 * 200)
    data_ = encode(stored(orientation), "PNG", exif=exif_orientation(orientation))
    decoded = decoding.decode(data_, "big.png")
    assert (decoded.width, decoded.height) == upright().size
    assert decoded.image.width * decoded.image.height <= decoding.MAX_WORK_PIXELS
    assert decoded.image.width > decoded.image.height  # upright: landscape
    want = hashing.pdq(upright())[0]
    assert hashing.hamming(want, hashing.pdq(decoded.image)[0]) <= SAME_BITS


@pytest.mark.parametrize("mode", ["P", "PA", "I;16", "I", "F", "RGBA", "LA", "1", "CMYK"])
def test_huge_canvas_reduction_keeps_each_mode_right(
    monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    # the reduced image has the colours of the direct conversion, in every mode
    monkeypatch.setattr(decoding, "MAX_WORK_PIXELS", 100 * 100)
    base = small().resize((400, 400), Image.Resampling.NEAREST)
    grey = np.asarray(base.convert("L"))
    img = {
        "P": lambda: base.quantize(32),
        "PA": lambda: base.quantize(32).convert("PA"),
        "I;16": lambda: Image.fromarray(grey.astype(np.uint16)),
        "I": lambda: Image.fromarray(grey.astype(np.int32)),
        "F": lambda: Image.fromarray(grey.astype(np.float32)),
        "RGBA": lambda: base.convert("RGBA"),
        "LA": lambda: base.convert("LA"),
        "1": lambda: base.convert("1"),
        "CMYK": lambda: base.convert("CMYK"),
    }[mode]()
    assert img.mode == mode
    decoded = decoding.decode(encode(img, "TIFF"), f"big-{mode}.tif")
    assert decoded.image.size == (100, 100)
    direct = decoding.to_rgb(img).resize(decoded.image.size, Image.Resampling.BOX)
    diff = np.abs(np.asarray(decoded.image, np.int16) - np.asarray(direct, np.int16))
    assert decoded.image.mode == "RGB" and diff.mean() < 4, diff.mean()


def test_corrupt_exif_prints_no_warning(hostile: Path, recwarn: pytest.WarningsRecorder) -> None:
    # Pillow warns ("Corrupt EXIF data") on some of these; a stranger's file must not put
    # a warning on stderr (and under -W error it must not make the photo unreadable).
    for name in ("exif-bad-offsets.jpg", "exif-random.png", "exif-truncated.jpg"):
        decoding.load(hostile / name)
    assert not recwarn.list


def test_avif_without_its_plugin_names_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    if not AVIF_SUPPORTED:
        data_ = b"\0\0\0\x1cftypavif" + b"\0" * 64
    else:
        data_ = encode(small(), "AVIF")
        monkeypatch.setattr(Image, "ID", [i for i in Image.ID if i != "AVIF"])
        monkeypatch.setattr(
            Image, "EXTENSION", {k: v for k, v in Image.EXTENSION.items() if v != "AVIF"}
        )
    with pytest.raises(ImageError) as info:
        decoding.decode(data_, "photo.avif")
    assert str(info.value).startswith("photo.avif: AVIF image") and "Pillow" in str(info.value)


@pytest.mark.skipif(
    not HEIF_PLUGIN, reason="the optional heif extra (pillow-heif) is not installed"
)
def test_heic_with_its_plugin_is_read(tmp_path: Path, reference_pdq: bytes) -> None:
    path = tmp_path / "photo.heic"
    upright().save(path, "HEIF", quality=90)
    data_, decoded = decoding.load(path)
    assert hashing.hamming(reference_pdq, hashing.pdq(decoded.image)[0]) <= SAME_BITS


def test_heic_files_are_walked_even_without_their_plugin(hostile: Path) -> None:
    names = {path.name for path, _ in builder.folder_files([hostile])}
    assert "not-really.heic" in names and "photo.avif" in names
    assert "a-folder.jpg" not in names


def _pipe_path(payload: bytes) -> tuple[Path, int]:
    """A pipe already holding ``payload`` (writer closed), as ``/dev/fd/N``: what
    ``revimg check <(curl ...)`` hands over."""
    read_end, write_end = os.pipe()
    os.write(write_end, payload)
    os.close(write_end)
    return Path(f"/dev/fd/{read_end}"), read_end


@pytest.mark.skipif(not Path("/dev/fd").is_dir(), reason="needs /dev/fd")
def test_pipe_with_a_writer_is_read() -> None:
    path, fd = _pipe_path(encode(small(), "JPEG"))  # fits in a pipe's buffer
    try:
        data_, decoded = decoding.load(path)
    finally:
        os.close(fd)
    assert decoded.width == small().width and len(data_) > 1000


@pytest.mark.skipif(not Path("/dev/fd").is_dir(), reason="needs /dev/fd")
def test_no_read_goes_past_the_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    # a pipe has no size to check first: reading it stops at the limit all the same
    monkeypatch.setattr(decoding, "MAX_FILE_BYTES", 1000)
    path, fd = _pipe_path(b"x" * 50_000)
    try:
        with pytest.raises(ImageError, match="too large"):
            decoding.read_bytes(path)
    finally:
        os.close(fd)


_ORIGINAL_HASH_TASK = builder.hash_task


def _hash_task_that_kills_its_worker(task: builder.Task) -> object:
    """Stands in for ``builder.hash_task`` (module level: workers unpickle it by name)."""
    if task.path.endswith("p05.jpg"):
        os.kill(os.getpid(), 9)
    return _ORIGINAL_HASH_TASK(task)


def test_worker_crash_is_counted_and_the_build_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A decoder that kills its worker process (a segfault, the OOM killer) fails that photo
    # only: the build names it and carries on with the rest.
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(12):
        (folder / f"p{i:02d}.jpg").write_bytes(encode(small().rotate(i * 7), "JPEG"))
    monkeypatch.setattr(builder, "hash_task", _hash_task_that_kills_its_worker)
    with open_index(tmp_path / "ix", create=True) as index:
        stats = builder.run(index, builder.folder_files([folder]), jobs=2)
        assert (stats.added, stats.failed) == (11, 1)
        ((path, reason),) = stats.failures
        assert path.endswith("p05.jpg") and "crashed" in reason
        assert index.count() == 11


# -- the command line, one file per process ------------------------------------------------------


def _hash_one(folder: Path, case: Case) -> tuple[Case, Ran]:
    arg = case.file
    return case, run_cli(["hash", arg, "--format", "jsonl"], timeout=PER_FILE_S, cwd=folder)


def test_cli_hash_each_input_alone(hostile: Path, reference_pdq: bytes) -> None:
    """``revimg hash FILE``, each input in its own process, with a time and memory bound."""
    cases = CASES if HOSTILE_ALL else [c for c in CASES if c.file in ALONE]
    assert HOSTILE_ALL or len(cases) == len(ALONE)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        runs = list(pool.map(lambda c: _hash_one(hostile, c), cases))
    problems = []
    for case, ran in runs:
        try:
            assert not ran.timed_out, f"no result within {PER_FILE_S} s"
            assert ran.max_rss_mb < MAX_RSS_MB, f"{ran.max_rss_mb:.0f} MB"
            assert "Traceback" not in ran.err and "Traceback" not in ran.out
            (row,) = [json.loads(line) for line in ran.out.splitlines() if line.strip()]
            if case.reason is not None:
                assert ran.code == 2, ran.code
                reason = error_line(ran, case.file)
                assert case.reason.lower() in reason.lower(), reason
                assert row["error"] == reason
            else:
                assert ran.code == 0 and not ran.err_lines(), ran.err
                assert re.fullmatch("[0-9a-f]{64}", row["pdq"]), row
                if case.same:
                    distance = hashing.hamming(reference_pdq, bytes.fromhex(row["pdq"]))
                    assert distance <= SAME_BITS, f"{distance} bits from the upright photo"
        except AssertionError as exc:
            problems.append(f"{case.file!r}: {exc}")
    slowest = max(runs, key=lambda r: r[1].seconds)
    biggest = max(runs, key=lambda r: r[1].max_rss_mb)
    record(
        "hostile_cli_hash",
        inputs=len(runs),
        errors=sum(c.reason is not None for c, _ in runs),
        correct=sum(c.reason is None for c, _ in runs),
        slowest_s=round(slowest[1].seconds, 2),
        slowest_input=slowest[0].file,
        peak_rss_mb=round(biggest[1].max_rss_mb),
        peak_rss_input=biggest[0].file,
        problems=len(problems),
    )
    assert not problems, "\n".join(problems)


def test_cli_hash_a_file_that_is_not_there_or_has_a_name_too_long(tmp_path: Path) -> None:
    missing, too_long = str(tmp_path / "missing.jpg"), "n" * 300 + ".jpg"
    ran = run_cli(["hash", missing, too_long], timeout=PER_FILE_S, cwd=tmp_path)
    assert ran.code == 2 and "Traceback" not in ran.err
    assert ran.err_lines() == [
        f"Error: {missing}: no such file",
        f"Error: {too_long}: cannot read file (File name too long)",
    ]


# -- the command line, everything at once ---------------------------------------------------------


def test_cli_check_all_inputs_at_once(hostile: Path, upright_index: Path) -> None:
    """One ``revimg check`` over every input: each readable one matches, each bad one errs."""
    args = [c.file for c in CASES]
    ran = run_cli(
        ["check", *args, "--index", str(upright_index), "--format", "jsonl"],
        timeout=PER_FILE_S * 4,
        cwd=hostile,
    )
    assert not ran.timed_out and ran.code == 2, (ran.code, ran.err[-2000:])
    assert "Traceback" not in ran.err and "Traceback" not in ran.out
    # XML is parsed safely: no entity of the hostile XMP packets was expanded or fetched
    assert "root:x:0:0" not in ran.out and "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" not in ran.out
    rows = [json.loads(line) for line in ran.out.splitlines() if line.strip()]
    assert len(rows) == len(CASES)
    *errors, summary = ran.err_lines()
    expected_errors = [c for c in CASES if c.reason is not None]
    assert len(errors) == len(expected_errors), "\n".join(errors)
    read = len(CASES) - len(expected_errors)
    matched = sum(row.get("verdict") == "match" for row in rows)
    plain = f", {read - matched} no match" if read > matched else ""
    assert summary == (
        f"{len(CASES)} photos: {matched} likely matches{plain}, {len(expected_errors)} could "
        f"not be read; fully checked: {read} of {len(CASES)}"
    )
    for case, row in zip(CASES, rows, strict=True):
        assert row["query"] == case.file
        if case.reason is not None:
            assert case.reason.lower() in row["error"].lower(), (case.file, row["error"])
            assert shown(f"Error: {case.file}: {row['error']}") in errors
        else:
            assert not row.get("error"), (case.file, row)
            if case.same:
                assert row["verdict"] == "match", (case.file, row)
                top = row["matches"][0]
                assert top["name"] == "upright.jpg" and top["variant"] == "original", (
                    case.file,
                    top,
                )
    record(
        "hostile_cli_check",
        inputs=len(CASES),
        seconds=round(ran.seconds, 1),
        peak_rss_mb=round(ran.max_rss_mb),
    )


def test_cli_build_over_a_hostile_folder_goes_on_and_counts(hostile: Path, tmp_path: Path) -> None:
    walked = [c for c in CASES if c.walked]
    bad = [c for c in walked if (c.build_reason or c.reason) is not None]
    good = len(walked) - len(bad)
    ix = str(tmp_path / "ix")
    ran = run_cli(["index", "build", str(hostile), "--index", ix], timeout=PER_FILE_S * 4)
    assert not ran.timed_out and ran.code == 2, ran.err[-3000:]
    assert "Traceback" not in ran.err
    *failures, summary = ran.err_lines()
    assert re.fullmatch(
        rf"added {good}, updated 0, skipped 0, failed {len(bad)} in [0-9.]+ s", summary
    ), summary
    assert len(failures) == len(bad), "\n".join(failures)
    for case in bad:
        want = (case.build_reason or case.reason or "").lower()
        found = [f for f in failures if f.startswith(shown(f"Error: {hostile / case.file}: "))]
        assert len(found) == 1 and want in found[0].lower(), (case.file, found)
    again = run_cli(
        ["index", "build", str(hostile), "--index", ix, "--skip-bad"], timeout=PER_FILE_S * 4
    )
    assert again.code == 0 and again.err_lines()[-1].startswith(
        f"added 0, updated 0, skipped {good}, failed {len(bad)} in"
    ), again.err
    record(
        "hostile_cli_build",
        walked=len(walked),
        added=good,
        failed=len(bad),
        seconds=round(ran.seconds, 1),
    )


# -- stdin ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stdin", "reason"),
    [
        (b"", "no image data on standard input"),
        (b"\x89PNG\r\n\x1a\n, then text", "corrupt or truncated PNG"),
        (b"just some text\n", NOT_IMAGE),
    ],
    ids=["empty", "png-magic-text", "text"],
)
def test_cli_stdin_that_is_empty_or_not_an_image(
    upright_index: Path, stdin: bytes, reason: str
) -> None:
    ran = run_cli(["check", "-", "--index", str(upright_index)], timeout=PER_FILE_S, stdin=stdin)
    assert ran.code == 2 and reason in error_line(ran, "-")


def test_cli_stdin_photo_is_checked(upright_index: Path) -> None:
    ran = run_cli(
        ["check", "-", "--index", str(upright_index)],
        timeout=PER_FILE_S,
        stdin=encode(stored(6), "JPEG", quality=90, exif=exif_orientation(6)),
    )
    assert ran.code == 1, ran.err
    assert json.loads(ran.out)["matches"][0]["name"] == "upright.jpg"


def test_cli_endless_stdin_is_cut_off(upright_index: Path, tmp_path: Path) -> None:
    # A stream of zeros (up to 300 MB) on stdin: revimg must stop reading once past the
    # file limit (256 MB) and refuse it, instead of reading on as long as data comes.
    import subprocess

    written = tmp_path / "written"
    feeder = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-c",
            "import sys\nb = bytes(1 << 20)\nn = 0\ntry:\n"
            "    for _ in range(300):\n        sys.stdout.buffer.write(b)\n        n += len(b)\n"
            f"finally:\n    open({str(written)!r}, 'w').write(str(n))\n",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        ran = run_cli(
            ["check", "-", "--index", str(upright_index)], timeout=120, stdin=feeder.stdout
        )
    finally:
        assert feeder.stdout is not None
        feeder.stdout.close()
        feeder.wait(30)
    assert ran.code == 2 and "Traceback" not in ran.err
    consumed = int(written.read_text() or 0)
    assert consumed < 300 << 20, f"read all {consumed >> 20} MB offered"
    assert "too large" in error_line(ran, "-")


# -- permissions ---------------------------------------------------------------------------------


@pytest.fixture
def locked_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder with a readable photo, an unreadable photo and an unreadable subfolder."""
    reason = file_modes_apply()
    if reason is not None:
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("locked")
    (folder / "fine.jpg").write_bytes(jpeg())
    (folder / "unreadable.jpg").write_bytes(jpeg())
    (folder / "closed").mkdir()
    (folder / "closed" / "hidden.jpg").write_bytes(jpeg())
    os.chmod(folder / "unreadable.jpg", 0)
    os.chmod(folder / "closed", 0)
    yield folder
    os.chmod(folder / "closed", stat.S_IRWXU)
    os.chmod(folder / "unreadable.jpg", stat.S_IRUSR | stat.S_IWUSR)


def test_cli_unreadable_file_and_folder(locked_folder: Path, tmp_path: Path) -> None:
    ran = run_cli(
        ["hash", "unreadable.jpg"],
        timeout=PER_FILE_S,
        cwd=locked_folder,
        preexec_fn=drop_file_mode_override,
    )
    assert ran.code == 2 and error_line(ran, "unreadable.jpg") == "permission denied"
    build = run_cli(
        ["index", "build", str(locked_folder), "--index", str(tmp_path / "ix")],
        timeout=PER_FILE_S * 2,
        preexec_fn=drop_file_mode_override,
    )
    assert build.code == 2 and "Traceback" not in build.err
    *failures, summary = build.err_lines()
    assert summary.startswith("added 1, updated 0, skipped 0, failed 2 in"), build.err
    assert sorted(failures) == sorted(
        [
            f"Error: {locked_folder / 'closed'}: Permission denied",
            f"Error: {locked_folder / 'unreadable.jpg'}: permission denied",
        ]
    )


# -- odd shapes ----------------------------------------------------------------------------------


def test_cli_thin_images_give_results(tmp_path: Path, upright_index: Path) -> None:
    rng = np.random.default_rng(3)
    for w, h in ((10, 5000), (1, 100)):
        pixels = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(tmp_path / f"thin-{w}x{h}.png")
    for name in ("thin-10x5000.png", "thin-1x100.png"):
        for args in (["hash", name], ["check", name, "--index", str(upright_index)]):
            ran = run_cli(args, timeout=PER_FILE_S, cwd=tmp_path)
            assert ran.code in (0, 1) and "Traceback" not in ran.err, (args, ran.err[-300:])
    built = run_cli(["index", "build", str(tmp_path), "--index", str(tmp_path / "ix")], timeout=60)
    assert built.code == 0 and built.err_lines()[-1].startswith("added 2,"), built.err


# -- names the terminal would misread ------------------------------------------------------------


@needs_posix_fs
def test_cli_error_for_a_name_with_control_characters_is_one_line(tmp_path: Path) -> None:
    for name in ("two\nlines.jpg", "esc\x1b]0;owned\x07.jpg"):
        (tmp_path / name).write_bytes(b"not a photo")
        ran = run_cli(["hash", name], timeout=PER_FILE_S, cwd=tmp_path)
        assert ran.code == 2
        lines = ran.err_lines()
        assert len(lines) == 1 and "\x1b" not in lines[0], lines


@needs_posix_fs
def test_cli_non_utf8_name_with_a_strict_utf8_terminal(hostile: Path, upright_index: Path) -> None:
    name = "caf\udce9.jpg"
    for args in (["hash", name], ["check", name, "--index", str(upright_index)]):
        ran = run_cli(args, timeout=PER_FILE_S, cwd=hostile, env=cli_env(PYTHONIOENCODING="utf-8"))
        assert "Traceback" not in ran.err, ran.err[-500:]
        assert ran.code in (0, 1), ran.err[-500:]


def test_no_shell_commands_in_the_core() -> None:
    # No shell command is ever built from input: revimg starts no process except its own
    # workers (multiprocessing). A call that could run a command fails this test; if one is
    # ever needed, it must take an argument list, never shell=True, and be listed here.
    import ast

    allowed: set[str] = set()
    package = Path(decoding.__file__).parent
    found = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            where = f"{path.relative_to(package)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                if any(n.split(".")[0] in ("subprocess", "pty", "commands") for n in names):
                    found.append(f"{where} imports {names}")
            elif isinstance(node, ast.Call):
                func = ast.unparse(node.func)
                if func in ("os.system", "os.popen", "os.execv", "os.execvp", "os.spawnv"):
                    found.append(f"{where} calls {func}")
                if any(k.arg == "shell" for k in node.keywords):
                    found.append(f"{where} passes shell=")
    assert [f for f in found if f not in allowed] == []
