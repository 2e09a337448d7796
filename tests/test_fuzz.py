"""Fuzzing: mutated photos through decode-and-hash, mutated banks through the importer.

Bounded and repeatable in CI (``derandomize``: the same cases every run, about 200 per
property); ``REVIMG_FUZZ_EXAMPLES=5000`` runs thousands of fresh ones by hand, as
``benchmarks/reliability.py`` does. A crasher found that way becomes an ``@example`` here
(or a test of its own), so that it stays fixed.

The photo mutations start from small valid files of every format revimg reads and flip
bits, overwrite sizes with extreme values, cut, insert, delete and repeat bytes, mostly in
the headers where the decoders make decisions. The properties: decoding either gives an
upright RGB image that both hashing paths (index and query, with local features and the
metadata reader of ``revimg check``) turn into hashes, or raises ``ImageError`` with one
line naming the file; nothing else escapes, and no case takes long.
"""

from __future__ import annotations

import io
import json
import random
import time
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageOps

from revimg.errors import BankError, ImageError
from revimg.imaging import decoding, hashing
from revimg.imaging.photo import Photo
from revimg.index import bank
from revimg.index.store import open_index
from revimg.matching.checker import hash_for_query
from tests.conftest import DATA, STOCK
from tests.reliability_figures import FUZZ_EXAMPLES, record
from tests.test_hostile_inputs import XMP_ID, exif_orientation, jpeg_segment, png16_rgba

EXAMPLES = FUZZ_EXAMPLES or 200
#: No single case may take longer than this (they take milliseconds).
CASE_S = 20.0
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not FUZZ_EXAMPLES,  # CI: the same cases each run; by hand: new ones
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@cache
def seeds() -> tuple[tuple[str, bytes], ...]:
    """Small valid files of every kind revimg reads (name, bytes)."""
    with Image.open(STOCK / "kphotoalbum__jesper.jpg") as img:
        photo = ImageOps.exif_transpose(img).convert("RGB").resize((48, 32))

    def enc(img: Image.Image, fmt: str, **kw: object) -> bytes:
        buf = io.BytesIO()
        img.save(buf, fmt, **kw)
        return buf.getvalue()

    frames = [photo, photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    rgba = np.dstack([np.asarray(photo, np.uint16) * 257, np.full((32, 48), 30000, np.uint16)])
    xmp = XMP_ID + b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
    jpeg = enc(photo, "JPEG", quality=90)
    out = [
        ("baseline.jpg", jpeg),
        ("progressive.jpg", enc(photo, "JPEG", quality=80, progressive=True)),
        ("exif6.jpg", enc(photo, "JPEG", exif=exif_orientation(6))),
        ("xmp.jpg", jpeg[:2] + jpeg_segment(0xE1, xmp) + jpeg[2:]),
        ("cmyk.jpg", enc(photo.convert("CMYK"), "JPEG")),
        ("rgb.png", enc(photo, "PNG")),
        ("palette.png", enc(photo.quantize(16), "PNG", transparency=0)),
        ("rgba16.png", png16_rgba(rgba)),
        ("grey16.png", enc(Image.fromarray(np.asarray(photo.convert("L"), np.uint16)), "PNG")),
        ("anim.gif", enc(frames[0], "GIF", save_all=True, append_images=frames[1:])),
        ("lossy.webp", enc(photo, "WEBP", quality=70)),
        ("lossless.webp", enc(photo, "WEBP", lossless=True)),
        ("anim.webp", enc(frames[0], "WEBP", save_all=True, append_images=frames[1:])),
        ("photo.bmp", enc(photo, "BMP")),
        ("deflate.tif", enc(photo, "TIFF", compression="tiff_adobe_deflate")),
        ("cmyk.tif", enc(photo.convert("CMYK"), "TIFF")),
    ]
    if ".avif" in decoding.image_extensions():
        out.append(("photo.avif", enc(photo, "AVIF", quality=60)))
    return tuple(out)


#: Values that break size and offset arithmetic when written over a header field.
EXTREMES = (0, 1, 2, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)


def mutate(data: bytes, rng: random.Random, header: int = 96) -> bytes:
    """One to three random edits; a third of them in the first ``header`` bytes."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        if not out:
            break
        size = len(out)
        pos = rng.randrange(min(size, header)) if rng.random() < 1 / 3 else rng.randrange(size)
        op = rng.choice(("flip", "byte", "int", "cut", "insert", "delete", "repeat"))
        if op == "flip":
            out[pos] ^= 1 << rng.randrange(8)
        elif op == "byte":
            out[pos] = rng.randrange(256)
        elif op == "int":
            width = rng.choice((2, 4))
            value = rng.choice(EXTREMES) & ((1 << (8 * width)) - 1)
            out[pos : pos + width] = value.to_bytes(width, rng.choice(("big", "little")))
        elif op == "cut":
            del out[pos:]
        elif op == "insert":
            out[pos:pos] = rng.randbytes(rng.randint(1, 64))
        elif op == "delete":
            del out[pos : pos + rng.randint(1, 64)]
        else:
            out[pos:pos] = out[pos : pos + rng.randint(1, 512)]
    return bytes(out)


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, bytes]:
    # Edits come from a Random that Hypothesis controls (repeatable, and reported with a
    # failing case), so that they spread over the file as a plain mutation fuzzer's do;
    # Hypothesis's own integers would favour the smallest positions.
    name, seed = draw(st.sampled_from(seeds()))
    return name, mutate(seed, draw(st.randoms(use_true_random=False)))


_PHOTO_CASES = [0, 0]  # tried, decoded


@FUZZ
@given(case=mutated())
@example(case=("empty.jpg", b""))
@example(case=("tiny.png", b"\x89PNG\r\n\x1a\n"))
def test_decode_and_hash_raise_nothing_but_image_error(case: tuple[str, bytes]) -> None:
    name, data = case
    started = time.perf_counter()
    _PHOTO_CASES[0] += 1
    try:
        decoded = decoding.decode(data, name)
    except ImageError as exc:
        assert str(exc).startswith(f"{name}: ") and exc.reason and "\n" not in str(exc)
        return
    finally:
        assert time.perf_counter() - started < CASE_S
    _PHOTO_CASES[1] += 1
    assert decoded.image.mode == "RGB" and decoded.width > 0 and decoded.height > 0
    indexed = hashing.hash_image(decoded, data)
    assert len(indexed.pdq) == 32 and 0 <= indexed.pdq_quality <= 100
    label, query, error, _ = hash_for_query(Photo(name, data=data))
    assert label == name and error is None and query is not None
    assert time.perf_counter() - started < CASE_S


@FUZZ
@given(data=st.binary(max_size=2048))
@example(data=b"\xff\xd8\xff")
@example(data=b"GIF89a\xff\xff\xff\xff")
def test_random_bytes_are_refused_in_one_line(data: bytes) -> None:
    label, query, error, _ = hash_for_query(Photo("-", data=data))
    if query is None:
        assert error and "\n" not in error


#: Crashers found by fuzzing, kept (see tests/data/hostile/README.md).
CRASHERS = sorted(p for p in (DATA / "hostile").iterdir() if p.suffix != ".md")


@pytest.mark.parametrize(
    "path",
    [pytest.param(p, id=p.name) for p in CRASHERS],
)
def test_kept_crasher(path: Path) -> None:
    data = path.read_bytes()
    try:
        decoded = decoding.decode(data, path.name)
    except ImageError as exc:
        assert "\n" not in str(exc)
        return
    hashing.hash_image(decoded, data)
    label, query, error, _ = hash_for_query(Photo(path.name, data=data))
    assert query is not None and error is None


# -- hash banks: bytes in, as `revimg index import` reads them ------------------------------------

HEX = "0123456789abcdef" * 4


@cache
def bank_seeds() -> tuple[bytes, ...]:
    header = json.dumps({"format": bank.FORMAT_NAME, "version": bank.FORMAT_VERSION})
    record = {
        "name": "photo",
        "sha256": "ab" * 32,
        "width": 640,
        "height": 480,
        "pdq": HEX,
        "pdq_quality": 90,
        "phash": "0f" * 8,
        "views": [
            {"name": "centre-square", "box": [0.125, 0, 0.875, 1], "pdq": HEX, "quality": 80}
        ],
        "meta": {"title": "T", "tags": ["a", "b"]},
    }
    jsonl = "\n".join(
        [header, json.dumps(record), json.dumps({**record, "name": "other", "sha256": None})]
    )
    csv = f'name,pdq,pdq_quality,meta,views\nphoto,{HEX},90,"{{""t"": 1}}",[]\nx,{HEX[::-1]},,,\n'
    plain = f"# list\n{HEX} label one\n{HEX[::-1]},label two\n\n{'ff' * 32}\n"
    return tuple(s.encode() for s in (jsonl + "\n", csv, plain))


@st.composite
def mutated_bank(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(bank_seeds())))
    for _ in range(draw(st.integers(0, 4))):
        if not data:
            break
        pos = draw(st.integers(0, len(data) - 1))
        op = draw(st.sampled_from(("flip", "byte", "cut", "insert", "delete", "repeat")))
        if op == "flip":
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "byte":
            data[pos] = draw(st.sampled_from(b'\x00\r\n\t ,"{}[]:#\\\xff\xc3\xe2'))
        elif op == "cut":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = draw(
                st.binary(max_size=16) | st.sampled_from([b"\xef\xbb\xbf", b"\r\n"])
            )
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 16))]
        else:
            data[pos:pos] = data[pos : pos + draw(st.integers(1, 200))]
    return bytes(data)


def _stream(data: bytes) -> io.TextIOWrapper:
    """The bank as ``revimg index import`` opens a file: UTF-8 (BOM allowed), newline="\\n"."""
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="\n")


def _state(index: object) -> tuple[object, ...]:
    return (
        index.generation(),
        index.count(),
        [  # type: ignore[attr-defined]
            (e.name, e.pdq, e.sha256, e.meta, e.views)
            for e in index.entries()  # type: ignore[attr-defined]
        ],
    )


_BANK_CASES = [0, 0]  # tried, imported


@FUZZ
@given(data=mutated_bank() | st.binary(max_size=512), skip_bad=st.booleans())
@example(data=b"\xff\xfe" + HEX.encode(), skip_bad=False)
@example(data=f"{HEX}\r\n{HEX} x\r\n".encode(), skip_bad=False)
def test_bank_import_is_all_or_nothing_and_idempotent(data: bytes, skip_bad: bool) -> None:
    _BANK_CASES[0] += 1
    with open_index(":memory:") as index:
        bank.import_lines(index, f"{'cd' * 32} already here\n", "seed", "seed.txt")
        before = _state(index)
        try:
            with _stream(data) as stream:
                stats = bank.import_lines(index, stream, "fuzz", "fuzz.txt", skip_bad=skip_bad)
        except BankError as exc:
            assert str(exc).startswith("fuzz.txt") and "\n" not in str(exc)
            assert _state(index) == before  # a refused bank changes nothing
            return
        _BANK_CASES[1] += 1
        after = _state(index)
        assert stats.added <= index.count() - before[1] + stats.added
        for _, _, sha, _, views in after[2]:
            assert sha is None or len(sha) == 64
            assert all(len(v.pdq) == 32 for v in views)
        with _stream(data) as stream:
            again = bank.import_lines(index, stream, "fuzz", "fuzz.txt", skip_bad=skip_bad)
        assert again.added == 0 and again.merged == 0
        assert _state(index) == after  # importing the same bank twice changes nothing


@pytest.fixture(scope="module", autouse=True)
def _figures() -> object:
    yield
    record(
        "fuzz",
        examples_per_property=EXAMPLES,
        photo_cases=_PHOTO_CASES[0],
        photo_cases_decoded=_PHOTO_CASES[1],
        bank_cases=_BANK_CASES[0],
        bank_cases_imported=_BANK_CASES[1],
    )
