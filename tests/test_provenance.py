"""Provenance metadata: EXIF, IPTC, XMP and C2PA, read from real blocks in small photos.

The photos in tests/data/provenance/ are made by make_provenance_photos.py there (and
were checked with exiftool); the tests below build a few more variants from its helpers.
"""

from __future__ import annotations

import importlib.util
import io
import json
import struct
import sys
import time
import types
import zlib
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from revimg import provenance
from revimg.errors import ImageError
from revimg.provenance import AgencyHit, Provenance, inspect, stock_agencies_in
from tests.conftest import DATA, STOCK, SUSPECTS

PHOTOS = DATA / "provenance"

_spec = importlib.util.spec_from_file_location("make_photos", PHOTOS / "make_provenance_photos.py")
assert _spec and _spec.loader
make = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make)


def read(name: str, **kwargs: Any) -> Provenance:
    return inspect((PHOTOS / name).read_bytes(), name, **kwargs)


def xmp_jpeg(attrs: str = "", body: str = "") -> bytes:
    """A JPEG whose only metadata is one XMP packet."""
    return make.insert_segments(
        make.jpeg(make.base_image()), make.xmp_app1(make.xmp_packet(body, attrs))
    )


@pytest.fixture
def no_c2pa_library(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``import c2pa`` fail, whatever is installed."""
    monkeypatch.setitem(sys.modules, "c2pa", None)


# ---------------------------------------------------------------------------
# Fields
# ---------------------------------------------------------------------------


def test_stock_photo_fields_from_exif_iptc_and_xmp() -> None:
    p = read("stock-full.jpg")
    assert p.format == "JPEG"
    assert p.blocks == ("xmp", "iptc", "exif")
    assert p.problems == ()
    assert p.camera == "Canon EOS 5D Mark III"
    assert p.software == "Adobe Photoshop Lightroom Classic 12.0 (Windows)"
    assert p.taken == "2019-05-04T12:34:56+01:00"
    assert p.orientation == 1
    assert p.gps_present is True
    assert p.gps is None  # coordinates only when asked for
    assert p.title == "Smiling man in a café"
    assert p.caption == "A man smiles at the camera in a café, Lisbon"
    assert p.credit == "Getty Images"
    assert p.creators == ("Jane Doe", "Wavebreak Media")
    assert p.copyright == "© 2019 Shutterstock, Inc."
    assert p.source == "iStockphoto"
    assert p.usage_terms == "Licensed from Dreamstime; no sensitive use"
    assert p.instructions == "Editorial use only. Alamy Stock Photo ref. ABC123"
    assert p.web_statement == "https://www.gettyimages.co.uk/eula"
    assert p.licensor_urls == ("https://stock.adobe.com/images/123456",)
    assert p.digital_source_type == "digitalCapture"
    assert p.ai_signals == ()
    assert p.c2pa.present is False


def test_gps_coordinates_when_asked() -> None:
    p = read("stock-full.jpg", include_gps=True)
    assert p.gps == pytest.approx((38.71, -9.14))
    assert "GPS location is embedded: 38.71000, -9.14000" in p.findings()
    assert read("stock-full.jpg").findings().count("GPS location is embedded") == 1


def test_iptc_alone_gives_fields_and_date() -> None:
    """Without XMP, IPTC IIM is read on its own (credit, byline, date and time)."""
    iptc = b"".join(
        [
            make.iim(2, 110, "Example Credit"),
            make.iim(2, 80, "Ann Example"),
            make.iim(2, 116, "(c) Ann Example"),
            make.iim(2, 55, "20200102"),
            make.iim(2, 60, "030405-0500"),
        ]
    )
    data = make.insert_segments(make.jpeg(make.base_image()), make.app13(make.irb(0x0404, iptc)))
    p = inspect(data, "iptc.jpg")
    assert (p.credit, p.creators, p.copyright) == (
        "Example Credit",
        ("Ann Example",),
        "(c) Ann Example",
    )
    assert p.taken == "2020-01-02T03:04:05-05:00"
    assert p.blocks == ("iptc",)
    assert p.stock_agencies == () and not p.is_evidence


def test_iptc_without_utf8_marker_falls_back_to_latin() -> None:
    data = make.insert_segments(
        make.jpeg(make.base_image()),
        make.app13(make.irb(0x0404, make.iim(2, 110, "Caf\xe9 Fotos".encode("latin-1")))),
    )
    assert inspect(data, "x.jpg").credit == "Café Fotos"


def test_png_itxt_xmp_and_exif_chunk() -> None:
    p = read("png-itxt-xmp.png")
    assert p.format == "PNG"
    assert p.blocks == ("xmp", "exif")
    assert p.camera == "Google Pixel 8 Pro"
    assert p.creators == ("John Pexelson",)
    assert p.credit == "Kalamy Studio"
    assert p.copyright == "Photo by Anna on Unsplash"
    assert p.digital_source_type == "compositeWithTrainedAlgorithmicMedia"


def test_webp_exif_and_xmp_chunks() -> None:
    p = read("webp-exif-xmp.webp")
    assert p.format == "WEBP"
    assert p.blocks == ("xmp", "exif")
    assert p.camera == "Apple iPhone 12"
    assert p.orientation == 6
    assert p.taken == "2021-07-01T09:15:00"
    assert p.credit == "Pexels"
    assert p.copyright == "Pixabay"
    assert p.web_statement == "https://unsplash.com/license"


def test_tiff_tags_through_pillow() -> None:
    p = read("tiff-tags.tif")
    assert p.format == "TIFF"
    assert p.camera == "NIKON D3"
    assert p.software == "Capture NX 1.3.0 W"
    assert p.credit == "Westend61"  # XMP first, then IPTC
    assert p.creators == ("Ann Example",)
    assert {(h.agency, h.block) for h in p.stock_agencies} == {
        ("Westend61", "xmp"),
        ("Masterfile", "iptc"),
    }


def test_xmp_gps_and_remote_c2pa_reference() -> None:
    data = xmp_jpeg(
        'xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'exif:GPSLatitude="51,30.6N" exif:GPSLongitude="0,7,30W" '
        'dcterms:provenance="https://example.org/manifests/abc.c2pa"'
    )
    p = inspect(data, "x.jpg", include_gps=True)
    assert p.gps_present and p.gps == pytest.approx((51.51, -0.125))
    assert p.c2pa.present is False
    assert p.c2pa.remote_url == "https://example.org/manifests/abc.c2pa"
    assert (
        "C2PA manifest is stored online (not fetched): https://example.org/manifests/abc.c2pa"
        in p.findings()
    )


def test_extended_xmp_is_assembled_from_its_chunks() -> None:
    main = make.xmp_packet("", 'photoshop:Credit="Jane Doe"')
    ext = make.xmp_packet("", 'photoshop:Source="Shutterstock"')
    guid = b"0123456789ABCDEF0123456789ABCDEF"
    header = b"http://ns.adobe.com/xmp/extension/\x00" + guid
    half = len(ext) // 2
    chunks = [
        make.segment(0xE1, header + struct.pack(">II", len(ext), 0) + ext[:half]),
        make.segment(0xE1, header + struct.pack(">II", len(ext), half) + ext[half:]),
    ]
    data = make.insert_segments(make.jpeg(make.base_image()), make.xmp_app1(main), *chunks)
    p = inspect(data, "x.jpg")
    assert (p.credit, p.source) == ("Jane Doe", "Shutterstock")
    assert p.stock_agencies == (AgencyHit("Shutterstock", "source", "Shutterstock", "xmp"),)


def test_imagemagick_raw_profiles_in_png() -> None:
    def raw_profile(kind: str, blob: bytes) -> bytes:
        text = f"\n{kind}\n{len(blob):8d}\n".encode() + blob.hex().encode()
        return make.png_chunk(
            b"zTXt", f"Raw profile type {kind}".encode() + b"\x00\x00" + zlib.compress(text)
        )

    exif = make.exif_block({0x010F: "Canon", 0x0110: "Canon EOS 20D"})
    data = make.png_with(
        make.base_image(),
        raw_profile("iptc", make.irb(0x0404, make.iim(2, 110, "Alamy Stock Photo"))),
        raw_profile("exif", exif),
    )
    p = inspect(data, "x.png")
    assert p.camera == "Canon EOS 20D"
    assert [(h.agency, h.field, h.block) for h in p.stock_agencies] == [("Alamy", "credit", "iptc")]


def test_exif_artist_copyright_and_placeholder_caption() -> None:
    exif = make.exif_block(
        {
            0x013B: "Ann Example",
            0x8298: "Ann Example\x00Shutterstock",
            0x010E: "OLYMPUS DIGITAL CAMERA",
        }
    )
    p = inspect(make.jpeg(make.base_image(), exif), "x.jpg")
    assert p.creators == ("Ann Example",)
    assert p.copyright == "Ann Example / Shutterstock"
    assert p.caption is None  # a camera's default caption says nothing
    assert [(h.agency, h.field, h.block) for h in p.stock_agencies] == [
        ("Shutterstock", "copyright", "exif")
    ]


def test_values_are_cleaned_of_control_characters() -> None:
    data = xmp_jpeg('photoshop:Credit="\x1b[31mRed&#10;Line\x1b[0m"'.replace("\x1b", "&#x1b;"))
    # XML 1.0 cannot carry ESC at all, so use EXIF, which can.
    exif = make.exif_block({0x0131: "Evil\x1b]0;title\x07 Tool\r\nv1"})
    p = inspect(make.jpeg(make.base_image(), exif), "x.jpg")
    assert p.software == "Evil ]0;title Tool v1"
    assert all("\x1b" not in line for line in p.findings())
    assert inspect(data, "x.jpg").problems  # the ESC character reference is not well-formed


def test_long_values_are_cut() -> None:
    p = inspect(xmp_jpeg(f'photoshop:Credit="{"x" * 5000}"'), "x.jpg")
    assert p.credit is not None and len(p.credit) == provenance.MAX_TEXT
    assert any(line.endswith("...") and len(line) < 200 for line in p.findings())


# ---------------------------------------------------------------------------
# Stock agencies
# ---------------------------------------------------------------------------


def test_stock_agencies_named_by_each_field() -> None:
    p = read("stock-full.jpg")
    assert {(h.agency, h.field) for h in p.stock_agencies} == {
        ("Getty Images", "credit"),
        ("Getty Images", "web_statement"),
        ("Wavebreak Media", "byline"),
        ("Shutterstock", "copyright"),
        ("iStock", "source"),
        ("Dreamstime", "usage_terms"),
        ("Adobe Stock", "licensor"),
        ("Alamy", "instructions"),
    }
    credit = next(h for h in p.stock_agencies if h.field == "credit")
    assert credit == AgencyHit("Getty Images", "credit", "Getty Images", "xmp")
    assert p.stock_evidence and p.is_evidence and not p.ai_evidence


def test_stock_findings_read_well() -> None:
    lines = read("stock-full.jpg").findings()
    assert lines[0] == "Credit and web statement say Getty Images: a stock agency"
    assert "Source says iStock: a stock agency" in lines
    assert "Usage terms say Dreamstime: a stock agency" in lines
    assert "Licensor says Adobe Stock: a stock agency" in lines
    assert "Special instructions say Alamy: a stock agency" in lines
    assert "Camera: Canon EOS 5D Mark III" in lines
    assert "Date taken: 2019-05-04 12:34:56+01:00" in lines
    assert "IPTC digital source type: digitalCapture (a camera capture of a real scene)" in lines
    assert read("stock-full.jpg").evidence() == tuple(
        line for line in lines if line.endswith("a stock agency")
    )


def test_webp_agencies_and_blocks() -> None:
    p = read("webp-exif-xmp.webp")
    assert {(h.agency, h.field, h.block) for h in p.stock_agencies} == {
        ("Pexels", "credit", "xmp"),
        ("Pixabay", "copyright", "exif"),
        ("Unsplash", "web_statement", "xmp"),
    }


def test_no_false_positive_inside_names() -> None:
    p = read("png-itxt-xmp.png")
    # "John Pexelson" and "Kalamy Studio" are not Pexels or Alamy; Unsplash in the rights is.
    assert [(h.agency, h.field) for h in p.stock_agencies] == [("Unsplash", "copyright")]
    lines = p.findings()
    assert "Credit: Kalamy Studio" in lines and "Byline: John Pexelson" in lines


@pytest.mark.parametrize(
    ("text", "agency"),
    [
        ("Getty Images", "Getty Images"),
        ("AFP/Getty", "Getty Images"),
        ("https://www.gettyimages.de/eula", "Getty Images"),
        ("iStock by Getty Images", "iStock"),
        ("Getty Images/iStockphoto", "iStock"),
        ("istockphoto.com/photo/123", "iStock"),
        ("SHUTTERSTOCK", "Shutterstock"),
        ("https://www.offset.com/photos/1", "Shutterstock"),
        ("Adobe Stock", "Adobe Stock"),
        ("© stock.adobe.com", "Adobe Stock"),
        ("Alamy Stock Photo", "Alamy"),
        ("© Dreamstime.com", "Dreamstime"),
        ("Depositphotos", "Depositphotos"),
        ("123RF.com", "123RF"),
        ("Photo by Anna on Unsplash", "Unsplash"),
        ("Photo by Anna from Pexels", "Pexels"),
        ("Image by Anna from Pixabay", "Pixabay"),
        ("Stocksy United", "Stocksy"),
        ("EyeEm", "EyeEm"),
        ("Pond5", "Pond5"),
        ("Bigstockphoto", "Bigstock"),
        ("Fotolia", "Fotolia"),
        ("Westend61", "Westend61"),
        ("Masterfile", "Masterfile"),
        ("Corbis", "Corbis"),
        ("age fotostock", "agefotostock"),
        ("Science Photo Library", "Science Photo Library"),
        ("Twenty20", "Twenty20"),
        ("Canva", "Canva"),
        ("Designed by Freepik", "Freepik"),
        ("Envato Elements", "Envato"),
        ("Storyblocks", "Storyblocks"),
        ("Jupiterimages", "Jupiterimages"),
        ("Thinkstock", "Thinkstock"),
        ("Wavebreakmedia Ltd", "Wavebreak Media"),
        ("Photodisc", "Photodisc"),
        ("DigitalVision", "DigitalVision"),
        ("Image Source/Getty Images", "Image Source"),
        ("Cultura RF", "Cultura"),
        ("Cultura/Getty Images", "Cultura"),
        ("Tetra Images", "Tetra Images"),
        ("Blend Images", "Blend Images"),
        ("Hero Images", "Hero Images"),
        ("Monkey Business Images", "Monkey Business Images"),
        ("PeopleImages.com", "PeopleImages"),
        ("Generated Photos", "Generated Photos"),
    ],
)
def test_agency_names(text: str, agency: str) -> None:
    assert agency in stock_agencies_in(text)


@pytest.mark.parametrize(
    "text",
    [
        "Kalamy Studio",
        "John Pexelson",
        "Canvas Prints Ltd",
        "Image source: my own camera",
        "Ministerio de Cultura",
        "The Getty Center",
        "unsplashed",
        "stockphotos.com",
        "Adobe Photoshop",
        "Jane Doe Photography",
        "",
    ],
)
def test_no_agency_in_ordinary_text(text: str) -> None:
    assert stock_agencies_in(text) == ()


# ---------------------------------------------------------------------------
# AI signals
# ---------------------------------------------------------------------------


def test_trained_algorithmic_media_full_uri() -> None:
    p = read("ai-xmp-trained.jpg")
    assert p.digital_source_type == "trainedAlgorithmicMedia"
    assert p.ai_signals == (
        "Marked as AI-generated (IPTC digital source type: trainedAlgorithmicMedia)",
        "XMP creator tool names an AI image generator: Midjourney",
    )
    assert p.ai_evidence and p.is_evidence and not p.stock_evidence
    assert p.findings()[:2] == p.ai_signals
    assert "Software: Midjourney" not in p.findings()  # said once, as an AI signal


def test_composite_with_ai_bare_term() -> None:
    p = read("png-itxt-xmp.png")
    assert p.ai_signals == (
        "Marked as containing AI-generated parts "
        "(IPTC digital source type: compositeWithTrainedAlgorithmicMedia)",
    )


@pytest.mark.parametrize(
    ("term", "signal"),
    [
        ("trainedAlgorithmicMedia", "Marked as AI-generated"),
        ("TRAINEDALGORITHMICMEDIA", "Marked as AI-generated"),
        (
            "http://cv.iptc.org/newscodes/digitalsourcetype/algorithmicMedia",
            "Marked as computer-generated",
        ),
        (
            "https://cv.iptc.org/newscodes/digitalsourcetype/compositeSynthetic/",
            "Marked as a composite",
        ),
        ("digitalCapture", None),
        ("somethingNew", None),
    ],
)
def test_digital_source_types(term: str, signal: str | None) -> None:
    p = inspect(xmp_jpeg(f'Iptc4xmpExt:DigitalSourceType="{term}"'), "x.jpg")
    if signal is None:
        assert p.ai_signals == ()
    else:
        assert len(p.ai_signals) == 1 and p.ai_signals[0].startswith(signal)


@pytest.mark.parametrize(
    ("tool", "generator"),
    [
        ("Midjourney v6", "Midjourney"),
        ("DALL·E 3", "DALL-E"),
        ("DALL-E", "DALL-E"),
        ("Stable Diffusion XL", "Stable Diffusion"),
        ("Adobe Firefly", "Adobe Firefly"),
        ("Google Imagen 3", "Imagen"),
        ("Made with Google AI", "Google AI"),
        ("Bing Image Creator", "Bing Image Creator"),
        ("ChatGPT", "ChatGPT / OpenAI"),
        ("Leonardo.Ai", "Leonardo.Ai"),
        ("NovelAI", "NovelAI"),
        ("ComfyUI", "ComfyUI"),
        ("FLUX.1 [dev]", "FLUX"),
        ("Ideogram", "Ideogram"),
    ],
)
def test_generator_names_in_creator_tool(tool: str, generator: str) -> None:
    p = inspect(xmp_jpeg(f'xmp:CreatorTool="{tool}"'), "x.jpg")
    assert p.ai_signals == (f"XMP creator tool names an AI image generator: {generator}",)


@pytest.mark.parametrize(
    "tool",
    ["Adobe Photoshop 25.0", "GIMP 2.10", "Snapseed", "Imagenomic Portraiture", "Pixelmator Pro"],
)
def test_ordinary_software_is_no_ai_signal(tool: str) -> None:
    assert inspect(xmp_jpeg(f'xmp:CreatorTool="{tool}"'), "x.jpg").ai_signals == ()


def test_ambiguous_generator_words_in_a_credit_are_ignored() -> None:
    """ "Imagen" is Spanish for image, and Firefly a common word: only software counts."""
    p = inspect(xmp_jpeg('photoshop:Credit="Imagen de Firefly Studio"'), "x.jpg")
    assert p.ai_signals == ()
    p = inspect(xmp_jpeg('photoshop:Credit="Made with Google AI"'), "x.jpg")
    assert p.ai_signals == ("Credit names an AI image generator: Google AI",)


def test_exif_software_generator() -> None:
    p = read("webp-exif-xmp.webp")
    assert p.ai_signals == ("EXIF software names an AI image generator: Adobe Firefly",)


def test_stable_diffusion_png_parameters() -> None:
    p = read("sd-parameters.png")
    assert p.blocks == ("png-text",)
    assert p.ai_signals == ("PNG text 'parameters' holds AI image-generator settings",)


def test_stable_diffusion_settings_in_exif_user_comment() -> None:
    comment = b"UNICODE\x00" + "a portrait\nSteps: 20, Sampler: Euler a, CFG scale: 7".encode(
        "utf-16-be"
    )
    exif = make.exif_block({}, {0x9286: comment})
    p = inspect(make.jpeg(make.base_image(), exif), "x.jpg")
    assert p.ai_signals == ("EXIF user comment holds Stable Diffusion generation settings",)


def test_png_text_that_is_not_generator_settings() -> None:
    data = make.png_with(make.base_image(), make.png_chunk(b"tEXt", b"parameters\x00exposure=2"))
    assert inspect(data, "x.png").ai_signals == ()


# ---------------------------------------------------------------------------
# C2PA
# ---------------------------------------------------------------------------


def test_c2pa_presence_without_the_library(no_c2pa_library: None) -> None:
    p = read("c2pa-fake-manifest-store.jpg")
    assert p.c2pa.present is True
    assert p.c2pa.validation == "not validated"
    assert p.blocks == ("c2pa",)
    assert p.findings() == ("C2PA manifest present (not validated: install the c2pa extra)",)
    assert not p.is_evidence


def test_unvalidated_c2pa_ai_claim_is_reported(no_c2pa_library: None) -> None:
    """A real signed manifest says trainedAlgorithmicMedia; without c2pa-python it is unverified."""
    p = read("c2pa-signed-ai.jpg")
    assert p.c2pa == provenance.C2paInfo(present=True, validation="not validated")
    assert p.ai_signals == (
        "Marked as AI-generated (unvalidated C2PA manifest: trainedAlgorithmicMedia)",
    )


def test_c2pa_in_png_and_webp(no_c2pa_library: None) -> None:
    store = make.jumbf_box(b"jumb", make.jumd(b"c2pa", "c2pa"))
    png = make.png_with(make.base_image(), make.png_chunk(b"caBX", store))
    assert inspect(png, "x.png").c2pa.present
    buf = io.BytesIO()
    make.base_image().save(buf, "WEBP", exif=make.exif_block({0x010F: "Canon"}))
    plain = buf.getvalue()
    chunk = b"C2PA" + struct.pack("<I", len(store)) + store + b"\x00" * (len(store) & 1)
    riff = plain[12:] + chunk
    webp = b"RIFF" + struct.pack("<I", 4 + len(riff)) + b"WEBP" + riff
    p = inspect(webp, "x.webp")
    assert p.c2pa.present and p.camera == "Canon"


def test_c2pa_split_over_app11_segments(no_c2pa_library: None) -> None:
    store = make.jumbf_box(
        b"jumb", make.jumd(b"c2pa", "c2pa") + make.jumbf_box(b"jumb", make.jumd(b"c2ma", "x" * 100))
    )
    first, rest = store[:60], store[60:]
    segments = [
        make.segment(0xEB, b"JP" + struct.pack(">HI", 7, 1) + first),
        make.segment(0xEB, b"JP" + struct.pack(">HI", 7, 2) + store[:8] + rest),
    ]
    p = inspect(make.insert_segments(make.jpeg(make.base_image()), *segments), "x.jpg")
    assert p.c2pa.present


def test_jumbf_that_is_not_c2pa(no_c2pa_library: None) -> None:
    other = make.jumbf_box(b"jumb", make.jumd(b"abcd", "something-else"))
    data = make.insert_segments(
        make.jpeg(make.base_image()), make.segment(0xEB, b"JP" + struct.pack(">HI", 1, 1) + other)
    )
    assert inspect(data, "x.jpg").c2pa.present is False


def _fake_c2pa(store: dict[str, Any] | Exception, calls: list[Any]) -> types.ModuleType:
    """A stand-in for c2pa-python's Reader and Context (the API of c2pa-python 0.38)."""
    module = types.ModuleType("c2pa")

    class Context:
        @classmethod
        def from_dict(cls, settings: dict[str, Any]) -> str:
            calls.append(settings)
            return "context"

    class Reader:
        def __init__(self, mime: str, stream: Any, context: Any = None) -> None:
            calls.append((mime, context))
            if isinstance(store, Exception):
                raise store

        def __enter__(self) -> Reader:
            return self

        def __exit__(self, *args: object) -> None:
            pass

        def json(self) -> str:
            return json.dumps(store)

    module.Context = Context  # type: ignore[attr-defined]
    module.Reader = Reader  # type: ignore[attr-defined]
    return module


def test_c2pa_read_through_the_library(monkeypatch: pytest.MonkeyPatch) -> None:
    store = {
        "active_manifest": "urn:a",
        "manifests": {
            "urn:a": {
                "claim_generator_info": [{"name": "ChatGPT", "version": "1.0"}],
                "signature_info": {"issuer": "OpenAI", "common_name": "Truepic Lens CLI"},
                "assertions": [
                    {
                        "label": "c2pa.actions.v2",
                        "data": {
                            "actions": [
                                {
                                    "action": "c2pa.created",
                                    "digitalSourceType": "http://cv.iptc.org/newscodes/"
                                    "digitalsourcetype/trainedAlgorithmicMedia",
                                }
                            ]
                        },
                    }
                ],
            }
        },
        "validation_status": [{"code": "signingCredential.untrusted"}],
        "validation_state": "Valid",
    }
    calls: list[Any] = []
    monkeypatch.setitem(sys.modules, "c2pa", _fake_c2pa(store, calls))
    p = read("c2pa-fake-manifest-store.jpg")
    assert calls == [
        {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}},
        ("image/jpeg", "context"),
    ]
    assert p.c2pa == provenance.C2paInfo(
        present=True,
        generator="ChatGPT 1.0",
        signer="OpenAI",
        validation="valid",
        issues=("signingCredential.untrusted",),
    )
    assert p.ai_signals == (
        "Marked as AI-generated (C2PA manifest: trainedAlgorithmicMedia)",
        "C2PA manifest was made by an AI image generator: ChatGPT / OpenAI",
    )
    assert (
        "C2PA manifest: made with ChatGPT 1.0; signed by OpenAI; "
        "signature valid, but the signer is not on a trust list"
    ) in p.findings()


def test_c2pa_library_failure_is_a_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(
        sys.modules, "c2pa", _fake_c2pa(RuntimeError("claim superbox not found"), [])
    )
    p = read("c2pa-fake-manifest-store.jpg")
    assert p.c2pa.present and p.c2pa.validation == "unreadable"
    assert "C2PA manifest could not be read: claim superbox not found" in p.problems


def test_c2pa_library_not_asked_without_a_manifest(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    monkeypatch.setitem(sys.modules, "c2pa", _fake_c2pa({}, calls))
    read("stock-full.jpg")
    assert calls == []


def test_c2pa_with_the_real_library() -> None:
    pytest.importorskip("c2pa")
    p = read("c2pa-signed-ai.jpg")
    assert p.c2pa.generator == "revimg test generator 1.0"
    assert p.c2pa.signer == "revimg test"
    assert p.c2pa.validation == "valid"  # the test certificate is on no trust list
    assert "signingCredential.untrusted" in p.c2pa.issues
    assert p.ai_signals == ("Marked as AI-generated (C2PA manifest: trainedAlgorithmicMedia)",)
    tampered = bytearray((PHOTOS / "c2pa-signed-ai.jpg").read_bytes())
    tampered[-20] ^= 0x55
    assert inspect(bytes(tampered), "x.jpg").c2pa.validation == "invalid"


# ---------------------------------------------------------------------------
# Safe XML
# ---------------------------------------------------------------------------


def test_billion_laughs_is_refused_not_expanded() -> None:
    start = time.perf_counter()
    p = read("xmp-billion-laughs.jpg")
    assert time.perf_counter() - start < 1.0
    assert p.credit is None
    assert len(p.problems) == 1
    assert p.problems[0].startswith("XMP block refused: it declares a DOCTYPE or entities")
    assert p.findings() == p.problems


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE x [<!ENTITY ext SYSTEM "file:///etc/passwd">]>',
        '<!DOCTYPE x [<!ENTITY % p SYSTEM "http://example.org/evil.dtd"> %p;]>',
        '<!DOCTYPE x SYSTEM "http://example.org/evil.dtd">',
        "<!DOCTYPE x>",
    ],
)
def test_any_doctype_is_refused(doctype: str) -> None:
    packet = (
        f'<?xml version="1.0"?>{doctype}<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/">'
        '<rdf:Description rdf:about="" photoshop:Credit="Getty Images"/></rdf:RDF></x:xmpmeta>'
    ).encode()
    data = make.insert_segments(make.jpeg(make.base_image()), make.xmp_app1(packet))
    p = inspect(data, "x.jpg")
    assert p.credit is None and p.stock_agencies == ()
    assert p.problems[0].startswith("XMP block refused")


def test_utf16_xmp_with_doctype_is_refused() -> None:
    packet = (
        '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY a "aaaa">]>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"/>'
    ).encode("utf-16")
    data = make.insert_segments(make.jpeg(make.base_image()), make.xmp_app1(packet))
    assert inspect(data, "x.jpg").problems[0].startswith("XMP block refused")


def test_deeply_nested_xmp_is_harmless() -> None:
    body = "<dc:x>" * 50_000 + "Shutterstock" + "</dc:x>" * 50_000
    packet = make.xmp_packet(body)
    data = make.png_with(
        make.base_image(),
        make.png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + packet),
    )
    p = inspect(data, "x.png")
    assert p.problems == ()


# ---------------------------------------------------------------------------
# Broken and oversized blocks never raise
# ---------------------------------------------------------------------------


def test_truncated_exif() -> None:
    p = read("exif-truncated.jpg")
    assert p.camera is None
    assert p.problems == ("EXIF block is damaged: Truncated File Read",)


def test_exif_that_is_not_tiff() -> None:
    data = make.insert_segments(
        make.jpeg(make.base_image()), make.segment(0xE1, b"Exif\x00\x00garbage!")
    )
    p = inspect(data, "x.jpg")
    assert len(p.problems) == 1
    assert p.problems[0].startswith("EXIF block could not be parsed: not a TIFF file")


def test_truncated_iptc_keeps_what_came_before() -> None:
    p = read("iptc-truncated.jpg")
    assert p.credit == "Getty Images"
    assert p.problems == (
        "IPTC block is truncated: dataset 2:116 declares 200 bytes but only 9 are left",
    )
    assert p.stock_evidence


def test_truncated_photoshop_resource() -> None:
    iptc = make.iim(2, 110, "Alamy")
    data = make.insert_segments(
        make.jpeg(make.base_image()), make.app13(make.irb(0x0404, iptc, declared=500))
    )
    p = inspect(data, "x.jpg")
    assert p.credit == "Alamy"
    assert p.problems == (
        f"IPTC block is truncated: it declares 500 bytes but only {len(iptc)} are there",
    )


def test_iptc_with_garbage() -> None:
    data = make.insert_segments(
        make.jpeg(make.base_image()),
        make.app13(make.irb(0x0404, make.iim(2, 110, "Credit A") + b"junk")),
    )
    p = inspect(data, "x.jpg")
    assert p.credit == "Credit A"
    assert p.problems == ("IPTC block has unexpected data at byte 13: rest skipped",)


def test_malformed_xmp() -> None:
    p = read("xmp-malformed.jpg")
    assert p.credit is None
    assert p.problems == ("XMP block could not be parsed: mismatched tag: line 7, column 3",)
    assert p.findings() == p.problems


@pytest.mark.parametrize(
    ("encoding", "reason"),
    [
        ("foo", "unknown encoding: foo"),
        ("utf-32", "multi-byte encodings are not supported"),
        ("cp037", "unknown encoding: line 1, column 30"),
    ],
)
def test_xmp_in_an_unusable_encoding(encoding: str, reason: str) -> None:
    packet = f'<?xml version="1.0" encoding="{encoding}"?><x:xmpmeta xmlns:x="adobe:ns:meta/"/>'
    data = make.insert_segments(make.jpeg(make.base_image()), make.xmp_app1(packet.encode()))
    assert inspect(data, "x.jpg").problems == (f"XMP block could not be parsed: {reason}",)


def test_truncated_jpeg_segment() -> None:
    data = make.jpeg(make.base_image())
    broken = data[:2] + b"\xff\xe1\x10\x00Exif\x00\x00" + data[2:40]
    with pytest.raises(ImageError):
        inspect(broken, "x.jpg")  # Pillow cannot open it either: unreadable


def test_oversized_xmp_is_skipped() -> None:
    packet = make.xmp_packet("<!-- " + "x" * (provenance.MAX_BLOCK_BYTES + 10) + " -->")
    itxt = b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + packet
    data = make.png_with(make.base_image(), make.png_chunk(b"iTXt", itxt))
    p = inspect(data, "x.png")
    limit = provenance.MAX_BLOCK_BYTES
    assert p.problems == (f"XMP block is too large ({len(packet)} bytes, limit {limit}): skipped",)


def test_compressed_text_bomb_after_the_image_data() -> None:
    """A zTXt that inflates past the cap (Pillow never reads chunks after IDAT; we do)."""
    bomb = zlib.compress(b"\x00" * (8 * provenance.MAX_BLOCK_BYTES), 9)
    buf = io.BytesIO()
    make.base_image().save(buf, "PNG")
    png = buf.getvalue()
    data = png[:-12] + make.png_chunk(b"zTXt", b"Raw profile type xmp\x00\x00" + bomb) + png[-12:]
    p = inspect(data, "x.png")
    assert p.problems == (
        f"PNG text chunk is too large (over {provenance.MAX_BLOCK_BYTES} bytes): skipped",
    )


def test_compressed_xmp_bomb_before_the_image_data_is_unreadable() -> None:
    """Pillow itself refuses such a PNG, as revimg's decoder would: an ImageError."""
    bomb = zlib.compress(b" " * (2 * provenance.MAX_BLOCK_BYTES), 9)
    itxt = b"XML:com.adobe.xmp\x00\x01\x00\x00\x00" + bomb
    data = make.png_with(make.base_image(), make.png_chunk(b"iTXt", itxt))
    with pytest.raises(ImageError, match="too large"):
        inspect(data, "x.png")


# ---------------------------------------------------------------------------
# Plain photos, unreadable files, serialisation
# ---------------------------------------------------------------------------


def test_photo_without_metadata_has_no_findings() -> None:
    p = read("no-metadata.jpg")
    assert p.findings() == ()
    assert p.blocks == () and p.problems == ()
    assert not p.is_evidence
    png = io.BytesIO()
    make.base_image().save(png, "PNG")
    assert inspect(png.getvalue(), "x.png").findings() == ()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "file is empty"),
        (b"hello, this is not a photo", "not an image, or a format that cannot be read"),
    ],
)
def test_unreadable_files_raise_image_error(data: bytes, reason: str) -> None:
    with pytest.raises(ImageError) as info:
        inspect(data, "odd.bin")
    assert (info.value.source, info.value.reason) == ("odd.bin", reason)


def test_other_formats_through_pillow() -> None:
    buf = io.BytesIO()
    make.base_image().save(buf, "GIF")
    assert inspect(buf.getvalue(), "x.gif").findings() == ()


def test_to_dict_has_stable_keys_and_is_json() -> None:
    d = read("stock-full.jpg", include_gps=True).to_dict()
    assert list(d) == [
        "file",
        "format",
        "camera",
        "software",
        "taken",
        "orientation",
        "gps_present",
        "gps",
        "title",
        "caption",
        "credit",
        "creators",
        "copyright",
        "source",
        "usage_terms",
        "instructions",
        "web_statement",
        "licensor_urls",
        "digital_source_type",
        "stock_agencies",
        "ai_signals",
        "c2pa",
        "blocks",
        "problems",
        "is_evidence",
    ]
    assert d["gps"] == pytest.approx({"latitude": 38.71, "longitude": -9.14})
    assert d["stock_agencies"][0] == {
        "agency": "Getty Images",
        "field": "credit",
        "value": "Getty Images",
        "block": "xmp",
    }
    assert list(d["c2pa"]) == [
        "present",
        "generator",
        "signer",
        "validation",
        "issues",
        "remote_url",
    ]
    assert json.loads(json.dumps(d)) == d


def test_provenance_is_frozen() -> None:
    p = read("no-metadata.jpg")
    with pytest.raises(AttributeError):
        p.credit = "x"  # type: ignore[misc]


def test_every_committed_photo_is_small() -> None:
    for path in PHOTOS.iterdir():
        if path.suffix != ".py":
            assert path.stat().st_size < 20_000, path.name


@pytest.mark.parametrize(
    "path",
    sorted(STOCK.glob("*.jpg")) + sorted(p for p in SUSPECTS.iterdir() if p.suffix != ".md"),
    ids=lambda p: p.name,
)
def test_real_photos_never_raise(path: Path) -> None:
    p = inspect(path.read_bytes(), str(path))
    assert p.problems == ()
    assert not p.is_evidence
    json.dumps(p.to_dict())


def test_real_photo_exif() -> None:
    p = inspect((STOCK / "kphotoalbum__anne_helene.jpg").read_bytes(), "anne.jpg")
    assert p.camera == "Canon EOS 20D"
    assert p.software == "Bibble 4.4b"
    assert p.taken == "2005-07-28T05:18:48"
    assert p.orientation == 1
    assert p.gps_present is False
    assert p.findings() == (
        "Camera: Canon EOS 20D",
        "Date taken: 2005-07-28 05:18:48",
        "Software: Bibble 4.4b",
    )
    nikon = inspect((STOCK / "palapeli__castle-maintenon.jpg").read_bytes(), "castle.jpg")
    assert nikon.camera == "NIKON D3"


def test_pillow_images_still_open_afterwards() -> None:
    """inspect() reads the same bytes that decoding uses; nothing is consumed or altered."""
    data = (PHOTOS / "stock-full.jpg").read_bytes()
    inspect(data, "x.jpg")
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        assert img.size == (48, 40)


# -- guard for the keyword pre-filter in revimg.provenance.agencies -------------------------


def _keyword_check(agencies: Any, name: str, keywords: tuple[str, ...], pattern: str) -> Any:
    import re as re_mod

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    @settings(
        max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
    )
    @given(st.from_regex(re_mod.compile(pattern, re_mod.IGNORECASE)))
    def holds_keyword(text: str) -> None:
        folded = agencies._fold(text).lower()
        assert any(k in folded for k in keywords), (name, text)

    return holds_keyword


@pytest.mark.parametrize("table", ["_AGENCIES", "_GENERATORS"])
def test_every_name_pattern_only_matches_text_holding_one_of_its_keywords(table: str) -> None:
    """A pattern is compiled only when a text holds one of its keywords: a keyword missing
    from the table would make its name silently unmatched. Sample each pattern's matches
    and check that every one holds a keyword.
    """
    from revimg.provenance import agencies

    for name, (keywords, pattern) in getattr(agencies, table).items():
        _keyword_check(agencies, name, keywords, pattern)()
