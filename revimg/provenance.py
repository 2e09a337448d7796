"""What a photo says about itself: EXIF, IPTC, XMP and C2PA provenance.

A stolen stock photo often still carries its agency's credit line, and a generated face
may carry an "AI-generated" label or a C2PA manifest. :func:`inspect` reads these blocks
from JPEG, PNG, WebP and TIFF files (EXIF and XMP from other formats Pillow opens), flags
stock agencies and AI signals, and reports broken blocks as problems instead of raising.

Where the blocks live:

- JPEG: APP1 ``Exif``, APP1 XMP (plus extended XMP), APP13 Photoshop IRB with the IPTC
  IIM resource 0x0404, APP11 JUMBF (C2PA).
- PNG: ``eXIf``, iTXt ``XML:com.adobe.xmp``, ImageMagick's ``Raw profile type ...`` text,
  ``caBX`` (C2PA), and text chunks (``Software``, ``Author``, generator settings).
- WebP: the RIFF chunks ``EXIF``, ``XMP `` and ``C2PA``.
- TIFF: IFD0 (EXIF), tag 700 (XMP), 33723 (IPTC) and 34377 (Photoshop IRB), via Pillow.

XMP is parsed with expat and refused outright when it declares a DOCTYPE or an entity,
so entity-expansion ("billion laughs") and external-entity packets are reported, never
expanded or fetched. C2PA manifests are detected without any library; when the optional
``c2pa-python`` package is installed, it reads the claim generator and checks the
signature, offline (remote manifests and OCSP are not fetched).
"""

from __future__ import annotations

import functools
import io
import json
import math
import re
import struct
import warnings
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NoReturn
from xml.parsers import expat

from PIL import Image, IptcImagePlugin, UnidentifiedImageError

from revimg.errors import ImageError

#: Largest EXIF, IPTC or XMP block that is parsed; larger ones are reported and skipped.
MAX_BLOCK_BYTES = 1024 * 1024
#: Largest amount of C2PA (JUMBF) data that is collected for the presence check.
MAX_JUMBF_BYTES = 16 * 1024 * 1024
#: Longest text value kept from any field (longer values are cut).
MAX_TEXT = 2000
#: Most property values taken from one XMP packet.
MAX_XMP_VALUES = 5000

_SHORT = 120  # longest value quoted in a finding


# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AgencyHit:
    """A stock agency named by one metadata field."""

    agency: str  # canonical name, e.g. "Getty Images"
    field: str  # credit, byline, copyright, source, usage_terms, web_statement, ...
    value: str  # the text that named it
    block: str  # exif, iptc, xmp or png-text

    def to_dict(self) -> dict[str, str]:
        """A JSON-ready dict."""
        return {
            "agency": self.agency,
            "field": self.field,
            "value": self.value,
            "block": self.block,
        }


@dataclass(frozen=True)
class C2paInfo:
    """C2PA content credentials: whether a manifest is embedded and what it says."""

    present: bool = False
    #: The app or service that made the manifest (needs c2pa-python).
    generator: str | None = None
    #: Who signed it (certificate issuer organisation; needs c2pa-python).
    signer: str | None = None
    #: "not validated", "trusted", "valid" (signature fine, signer not on a trust list),
    #: "invalid" or "unreadable"; None when no manifest is present.
    validation: str | None = None
    #: Validation failure codes, e.g. "signingCredential.untrusted".
    issues: tuple[str, ...] = ()
    #: A manifest stored online (XMP dcterms:provenance); it is never fetched.
    remote_url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "present": self.present,
            "generator": self.generator,
            "signer": self.signer,
            "validation": self.validation,
            "issues": list(self.issues),
            "remote_url": self.remote_url,
        }


@dataclass(frozen=True)
class Provenance:
    """Everything a photo's own metadata says about where it came from."""

    file: str
    format: str | None = None
    camera: str | None = None
    software: str | None = None
    taken: str | None = None  # ISO 8601 as written, e.g. "2019-05-04T12:34:56+02:00"
    orientation: int | None = None  # EXIF orientation 1..8
    gps_present: bool = False
    gps: tuple[float, float] | None = None  # (latitude, longitude), only when asked for
    title: str | None = None
    caption: str | None = None
    credit: str | None = None
    creators: tuple[str, ...] = ()
    copyright: str | None = None
    source: str | None = None
    usage_terms: str | None = None
    instructions: str | None = None
    web_statement: str | None = None
    licensor_urls: tuple[str, ...] = ()
    digital_source_type: str | None = None  # the IPTC term, e.g. "trainedAlgorithmicMedia"
    stock_agencies: tuple[AgencyHit, ...] = ()
    ai_signals: tuple[str, ...] = ()
    c2pa: C2paInfo = field(default_factory=C2paInfo)
    blocks: tuple[str, ...] = ()  # metadata blocks found: exif, iptc, xmp, c2pa, png-text
    problems: tuple[str, ...] = ()  # broken or refused blocks

    @property
    def stock_evidence(self) -> bool:
        """A stock agency is named: the photo is very likely not the sender's own."""
        return bool(self.stock_agencies)

    @property
    def ai_evidence(self) -> bool:
        """Something in the metadata says the photo was made or edited by AI."""
        return bool(self.ai_signals)

    @property
    def is_evidence(self) -> bool:
        """The metadata alone is evidence against the photo, even with no index match."""
        return self.stock_evidence or self.ai_evidence

    def evidence(self) -> tuple[str, ...]:
        """The findings that count as evidence (stock agencies and AI signals)."""
        return tuple(self._stock_lines()) + self.ai_signals

    def findings(self) -> tuple[str, ...]:
        """Short plain-English lines for people, the strongest first; empty without metadata."""
        lines = list(self.evidence())
        lines.extend(self._c2pa_lines())
        if self.gps_present:
            where = f": {self.gps[0]:.5f}, {self.gps[1]:.5f}" if self.gps else ""
            lines.append(f"GPS location is embedded{where}")
        flagged = {hit.field for hit in self.stock_agencies}
        for name, label in _TEXT_FINDINGS:
            value = getattr(self, name)
            if isinstance(value, tuple):
                value = ", ".join(value)
            if value and _FIELD_OF.get(name, name) not in flagged:
                lines.append(f"{label}: {_short(value)}")
        if self.digital_source_type and not self.ai_signals:
            meaning = _DIGITAL_SOURCE_TYPES.get(self.digital_source_type.lower())
            detail = f" ({meaning[1]})" if meaning else ""
            lines.append(f"IPTC digital source type: {self.digital_source_type}{detail}")
        if self.camera:
            lines.append(f"Camera: {_short(self.camera)}")
        if self.taken:
            lines.append(f"Date taken: {self.taken.replace('T', ' ')}")
        if self.software and not _generator(self.software, strict=False):
            lines.append(f"Software: {_short(self.software)}")
        lines.extend(self.problems)
        return tuple(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with stable snake_case keys."""
        return {
            "file": self.file,
            "format": self.format,
            "camera": self.camera,
            "software": self.software,
            "taken": self.taken,
            "orientation": self.orientation,
            "gps_present": self.gps_present,
            "gps": ({"latitude": self.gps[0], "longitude": self.gps[1]} if self.gps else None),
            "title": self.title,
            "caption": self.caption,
            "credit": self.credit,
            "creators": list(self.creators),
            "copyright": self.copyright,
            "source": self.source,
            "usage_terms": self.usage_terms,
            "instructions": self.instructions,
            "web_statement": self.web_statement,
            "licensor_urls": list(self.licensor_urls),
            "digital_source_type": self.digital_source_type,
            "stock_agencies": [hit.to_dict() for hit in self.stock_agencies],
            "ai_signals": list(self.ai_signals),
            "c2pa": self.c2pa.to_dict(),
            "blocks": list(self.blocks),
            "problems": list(self.problems),
            "is_evidence": self.is_evidence,
        }

    def _stock_lines(self) -> Iterator[str]:
        fields_by_agency: dict[str, list[str]] = {}
        for hit in self.stock_agencies:
            labels = fields_by_agency.setdefault(hit.agency, [])
            label = _FIELD_LABELS.get(hit.field, hit.field)
            if label not in labels:
                labels.append(label)
        for agency, labels in fields_by_agency.items():
            named = labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
            verb = "says" if len(labels) == 1 and not named.endswith("s") else "say"
            yield f"{named[0].upper()}{named[1:]} {verb} {agency}: a stock agency"

    def _c2pa_lines(self) -> Iterator[str]:
        c2pa = self.c2pa
        if c2pa.present:
            if c2pa.validation == "not validated":
                yield "C2PA manifest present (not validated: install the c2pa extra)"
            elif c2pa.validation == "unreadable":
                yield "C2PA manifest present but could not be read"
            else:
                parts = []
                if c2pa.generator:
                    parts.append(f"made with {_short(c2pa.generator)}")
                if c2pa.signer:
                    parts.append(f"signed by {_short(c2pa.signer)}")
                parts.append(_VALIDATION_TEXT.get(c2pa.validation or "", str(c2pa.validation)))
                yield "C2PA manifest: " + "; ".join(parts)
        if c2pa.remote_url:
            yield f"C2PA manifest is stored online (not fetched): {_short(c2pa.remote_url)}"


_VALIDATION_TEXT = {
    "trusted": "signature valid, signer on the C2PA trust list",
    "valid": "signature valid, but the signer is not on a trust list",
    "invalid": "signature INVALID: the manifest is damaged or the photo changed after signing",
}

#: (attribute, label) of the text fields listed by findings(), in order.
_TEXT_FINDINGS = (
    ("credit", "Credit"),
    ("creators", "Byline"),
    ("copyright", "Copyright"),
    ("source", "Source"),
    ("usage_terms", "Usage terms"),
    ("web_statement", "Web statement"),
    ("licensor_urls", "Licensor"),
)
_FIELD_OF = {"creators": "byline", "licensor_urls": "licensor"}
_FIELD_LABELS = {
    "credit": "credit",
    "byline": "byline",
    "copyright": "copyright",
    "source": "source",
    "usage_terms": "usage terms",
    "web_statement": "web statement",
    "licensor": "licensor",
    "supplier": "image supplier",
    "instructions": "special instructions",
}


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------


def inspect(data: bytes, source: str, *, include_gps: bool = False) -> Provenance:
    """Read the provenance metadata of one image file's bytes.

    Args:
        data: the whole file.
        source: the name to report (a path, or "-" for stdin).
        include_gps: also return the GPS coordinates (by default only whether they exist).

    Raises:
        ImageError: the data is empty or not an image Pillow can open. Broken metadata
            blocks never raise: they are listed in ``Provenance.problems``.
    """
    if not data:
        raise ImageError(source, "file is empty")
    with _open(data, source) as img:
        fmt = img.format
        raw = _collect(data, img)
        fields = _Fields(raw.problems)
        # Priority when blocks disagree: XMP, then IPTC, then EXIF, then PNG text.
        for packet in raw.xmp:
            fields.add_xmp(packet)
        for irb in raw.irb:
            fields.add_irb(irb)
        for iim in raw.iim:
            fields.add_iim(iim)
        for exif in raw.exif:
            fields.add_exif(exif)
        fields.add_png_text(raw.png_text)
    c2pa = _c2pa(data, fmt, raw, fields)
    return fields.build(source, fmt, c2pa, include_gps=include_gps)


def _open(data: bytes, source: str) -> Image.Image:
    """Open the image lazily (header only); an unreadable file raises ImageError."""
    try:
        with warnings.catch_warnings():
            # Pillow warns about odd metadata and huge canvases while reading headers;
            # pixels are never decoded here, and metadata problems come from our parsing.
            warnings.simplefilter("ignore")
            return Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise ImageError(source, "not an image, or a format that cannot be read") from None
    except Image.DecompressionBombError:
        raise ImageError(source, "image is too large (decompression bomb)") from None
    except (OSError, SyntaxError, ValueError, EOFError, TypeError, IndexError, KeyError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ImageError(source, f"cannot read image ({reason})") from None


# ---------------------------------------------------------------------------
# Finding the raw blocks in each container
# ---------------------------------------------------------------------------


@dataclass
class _Raw:
    """Metadata blocks as found in the file, not yet parsed."""

    exif: list[bytes | Image.Image] = field(default_factory=list)  # a TIFF image is its EXIF
    xmp: list[bytes] = field(default_factory=list)
    irb: list[bytes] = field(default_factory=list)  # Photoshop image resource blocks
    iim: list[bytes | dict[tuple[int, int], Any]] = field(default_factory=list)
    jumbf: list[bytes] = field(default_factory=list)
    png_text: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def add_capped(self, kind: str, target: list[Any], block: Any, size: int) -> None:
        """Keep a block unless it is over the size limit (then report it)."""
        if size > MAX_BLOCK_BYTES:
            self.problems.append(
                f"{kind} block is too large ({size} bytes, limit {MAX_BLOCK_BYTES}): skipped"
            )
        else:
            target.append(block)


def _collect(data: bytes, img: Image.Image) -> _Raw:
    raw = _Raw()
    if data[:3] == b"\xff\xd8\xff":
        _walk_jpeg(data, raw)
    elif data[:8] == b"\x89PNG\r\n\x1a\n":
        _walk_png(data, raw)
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        _walk_webp(data, raw)
    elif data[:4] in (b"II*\x00", b"MM\x00*"):
        _from_tiff(img, raw)
    else:
        _from_pillow(img, raw)
    return raw


_XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
_XMP_EXT_HEADER = b"http://ns.adobe.com/xmp/extension/\x00"
_PS_HEADER = b"Photoshop 3.0\x00"


def _walk_jpeg(data: bytes, raw: _Raw) -> None:
    """Collect APP1 (EXIF, XMP), APP13 (Photoshop/IPTC) and APP11 (JUMBF) segments."""
    pos = 2
    photoshop = bytearray()
    extended: dict[bytes, tuple[int, dict[int, bytes]]] = {}
    jumbf: dict[bytes, bytearray] = {}
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raw.problems.append(
                f"JPEG structure is damaged at byte {pos}: metadata after it skipped"
            )
            break
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD9, 0xDA):  # end of image, start of scan: no metadata after this
            break
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        end = pos + 2 + length
        if length < 2 or end > len(data):
            raw.problems.append(
                f"JPEG segment at byte {pos} is truncated: metadata after it skipped"
            )
            break
        payload = data[pos + 4 : end]
        if marker == 0xE1 and payload.startswith(b"Exif\x00"):
            raw.exif.append(payload)
        elif marker == 0xE1 and payload.startswith(_XMP_HEADER):
            raw.xmp.append(payload[len(_XMP_HEADER) :])
        elif marker == 0xE1 and payload.startswith(_XMP_EXT_HEADER):
            _add_extended_xmp(payload[len(_XMP_EXT_HEADER) :], extended)
        elif marker == 0xED and payload.startswith(_PS_HEADER):
            photoshop += payload[len(_PS_HEADER) :]
        elif marker == 0xEB and payload[:2] == b"JP" and len(payload) >= 16:
            _add_jumbf_segment(payload, jumbf)
        pos = end
    if photoshop:
        raw.add_capped("Photoshop (IPTC)", raw.irb, bytes(photoshop), len(photoshop))
    for total, parts in extended.values():
        if total > MAX_BLOCK_BYTES:
            raw.problems.append(
                f"Extended XMP block is too large ({total} bytes, limit {MAX_BLOCK_BYTES}): skipped"
            )
            continue
        packet = b"".join(parts[offset] for offset in sorted(parts))
        if len(packet) != total:
            raw.problems.append("Extended XMP block is incomplete: skipped")
            continue
        raw.xmp.append(packet)
    raw.jumbf.extend(bytes(box) for box in jumbf.values())


def _add_extended_xmp(payload: bytes, extended: dict[bytes, tuple[int, dict[int, bytes]]]) -> None:
    """One chunk of extended XMP: GUID (32), full length (4), offset (4), data."""
    if len(payload) < 40:
        return
    guid = payload[:32]
    total, offset = struct.unpack(">II", payload[32:40])
    _, parts = extended.setdefault(guid, (total, {}))
    if total <= MAX_BLOCK_BYTES:
        parts[offset] = payload[40:]


def _add_jumbf_segment(payload: bytes, jumbf: dict[bytes, bytearray]) -> None:
    """One APP11 segment: "JP", box instance (2), sequence number (4), JUMBF box data.

    Every segment repeats the superbox header (LBox, TBox and XLBox when LBox is 1):
    the first segment keeps it, the later ones continue the box content (ISO 19566-5).
    """
    instance, sequence = payload[2:4], struct.unpack(">I", payload[4:8])[0]
    box = payload[8:]
    header = 16 if box[:4] == b"\x00\x00\x00\x01" else 8
    buffer = jumbf.get(instance)
    if buffer is None or sequence <= 1:
        jumbf[instance] = bytearray(box)
    elif len(buffer) + len(box) - header <= MAX_JUMBF_BYTES:
        buffer += box[header:]


def _walk_png(data: bytes, raw: _Raw) -> None:
    """Collect eXIf, XMP (iTXt), ImageMagick raw profiles, caBX and text chunks."""
    pos = 8
    while pos + 8 <= len(data):
        length = struct.unpack(">I", data[pos : pos + 4])[0]
        ctype = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if len(body) < length:
            raw.problems.append(
                f"PNG chunk {_ascii(ctype)} is truncated: metadata after it skipped"
            )
            break
        pos += 12 + length
        if ctype == b"IEND":
            break
        if ctype == b"eXIf":
            raw.add_capped("EXIF", raw.exif, body, length)
        elif ctype == b"caBX":
            raw.jumbf.append(body[:MAX_JUMBF_BYTES])
        elif ctype in (b"tEXt", b"zTXt", b"iTXt"):
            try:
                keyword, text = _png_text(ctype, body)
            except _TooLarge:
                raw.problems.append(
                    f"PNG text chunk is too large (over {MAX_BLOCK_BYTES} bytes): skipped"
                )
                continue
            except (ValueError, zlib.error) as exc:
                raw.problems.append(f"PNG text chunk could not be read: {_reason(exc)}")
                continue
            _add_png_text(keyword, text, raw)


class _TooLarge(ValueError):
    """A block is over MAX_BLOCK_BYTES."""


def _png_text(ctype: bytes, body: bytes) -> tuple[str, bytes]:
    """Keyword and raw text (UTF-8 for iTXt, Latin-1 otherwise) of a PNG text chunk."""
    keyword, sep, rest = body.partition(b"\x00")
    if not sep:
        raise ValueError("no keyword separator")
    name = keyword.decode("latin-1")
    if ctype == b"tEXt":
        return name, rest
    if ctype == b"zTXt":
        return name, _inflate(rest[1:])
    # iTXt: compression flag, method, language tag, translated keyword, text
    if len(rest) < 2:
        raise ValueError("iTXt chunk is too short")
    compressed = rest[0] == 1
    parts = rest[2:].split(b"\x00", 2)
    if len(parts) < 3:
        raise ValueError("iTXt chunk is missing its language or translated keyword")
    text = parts[2]
    return name, _inflate(text) if compressed else text


def _inflate(compressed: bytes) -> bytes:
    """zlib-decompress at most MAX_BLOCK_BYTES (a bigger result is a bomb or too large)."""
    inflater = zlib.decompressobj()
    out = inflater.decompress(compressed, MAX_BLOCK_BYTES + 1)
    if len(out) > MAX_BLOCK_BYTES:
        raise _TooLarge("decompressed text is too large")
    return out


_PNG_TEXT_KEYS = {
    "software",
    "author",
    "copyright",
    "description",
    "title",
    "parameters",
    "prompt",
    "workflow",
    "invokeai_metadata",
    "sd-metadata",
    "dream",
    "comment",
}


def _add_png_text(keyword: str, text: bytes, raw: _Raw) -> None:
    if keyword == "XML:com.adobe.xmp":
        raw.add_capped("XMP", raw.xmp, text, len(text))
        return
    if keyword.startswith("Raw profile type "):
        _add_raw_profile(keyword[len("Raw profile type ") :].lower(), text, raw)
        return
    if keyword.lower() in _PNG_TEXT_KEYS and len(text) <= MAX_BLOCK_BYTES:
        raw.png_text.setdefault(keyword.lower(), text.decode("utf-8", "replace"))


def _add_raw_profile(kind: str, text: bytes, raw: _Raw) -> None:
    """ImageMagick's hex-encoded profile: a blank line, the type, the length, hex lines."""
    lines = text.decode("latin-1").split("\n")
    try:
        size = int(lines[2].strip())
        blob = bytes.fromhex("".join(lines[3:]))[:size]
    except (IndexError, ValueError):
        raw.problems.append(f"PNG raw {kind} profile could not be decoded")
        return
    if kind in ("exif", "app1") and blob.startswith(_XMP_HEADER):
        raw.add_capped("XMP", raw.xmp, blob[len(_XMP_HEADER) :], len(blob))
    elif kind in ("exif", "app1"):
        raw.add_capped("EXIF", raw.exif, blob, len(blob))
    elif kind == "xmp":
        raw.add_capped("XMP", raw.xmp, blob, len(blob))
    elif kind in ("iptc", "8bim"):
        target = raw.iim if blob[:1] == b"\x1c" else raw.irb
        raw.add_capped("IPTC", target, blob, len(blob))


def _walk_webp(data: bytes, raw: _Raw) -> None:
    """Collect the EXIF, XMP and C2PA chunks of a RIFF WebP file."""
    pos = 12
    while pos + 8 <= len(data):
        ctype = data[pos : pos + 4]
        length = struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        body = data[pos + 8 : pos + 8 + length]
        if len(body) < length:
            raw.problems.append(
                f"WebP chunk {_ascii(ctype)} is truncated: metadata after it skipped"
            )
            break
        pos += 8 + length + (length & 1)
        if ctype == b"EXIF":
            raw.add_capped("EXIF", raw.exif, body, length)
        elif ctype == b"XMP ":
            raw.add_capped("XMP", raw.xmp, body, length)
        elif ctype == b"C2PA":
            raw.jumbf.append(body[:MAX_JUMBF_BYTES])


def _from_tiff(img: Image.Image, raw: _Raw) -> None:
    """TIFF keeps its metadata in IFD0 tags, which Pillow reads."""
    tags = getattr(img, "tag_v2", {})
    raw.exif.append(img)
    xmp = img.info.get("xmp")
    if isinstance(xmp, bytes):
        raw.add_capped("XMP", raw.xmp, xmp, len(xmp))
    photoshop = tags.get(34377)
    if isinstance(photoshop, bytes):
        raw.add_capped("Photoshop (IPTC)", raw.irb, photoshop, len(photoshop))
    elif 33723 in tags:
        try:
            # Pillow knows how IPTC data was typed (often as 32-bit integers).
            iptc = IptcImagePlugin.getiptcinfo(img)  # type: ignore[arg-type]
        except Exception as exc:  # noqa: BLE001 - a damaged tag is a finding, not a crash
            raw.problems.append(f"IPTC block could not be parsed: {_reason(exc)}")
        else:
            if iptc:
                raw.iim.append(iptc)


def _from_pillow(img: Image.Image, raw: _Raw) -> None:
    """Other formats (GIF, BMP, AVIF, HEIC, ...): whatever Pillow exposes."""
    exif = img.info.get("exif")
    if isinstance(exif, bytes) and exif:
        raw.add_capped("EXIF", raw.exif, exif, len(exif))
    xmp = img.info.get("xmp")
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8")
    if isinstance(xmp, bytes) and xmp:
        raw.add_capped("XMP", raw.xmp, xmp, len(xmp))


# ---------------------------------------------------------------------------
# Parsed values, field by field
# ---------------------------------------------------------------------------

_NS_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_NS_XML = "http://www.w3.org/XML/1998/namespace"
_NS_META = "adobe:ns:meta/"
_NS_DC = "http://purl.org/dc/elements/1.1/"
_NS_DCTERMS = "http://purl.org/dc/terms/"
_NS_PHOTOSHOP = "http://ns.adobe.com/photoshop/1.0/"
_NS_XMP = "http://ns.adobe.com/xap/1.0/"
_NS_XMPRIGHTS = "http://ns.adobe.com/xap/1.0/rights/"
_NS_STEVT = "http://ns.adobe.com/xap/1.0/sType/ResourceEvent#"
_NS_IPTCEXT = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
_NS_PLUS = "http://ns.useplus.org/ldf/xmp/1.0/"
_NS_EXIF = "http://ns.adobe.com/exif/1.0/"
_NS_TIFF = "http://ns.adobe.com/tiff/1.0/"

#: XMP property ("namespace-URI local-name") -> the field it feeds.
_XMP_FIELDS: dict[str, str] = {
    f"{_NS_DC} title": "title",
    f"{_NS_DC} description": "caption",
    f"{_NS_DC} creator": "byline",
    f"{_NS_DC} rights": "copyright",
    f"{_NS_PHOTOSHOP} Credit": "credit",
    f"{_NS_PHOTOSHOP} Source": "source",
    f"{_NS_PHOTOSHOP} Instructions": "instructions",
    f"{_NS_XMPRIGHTS} UsageTerms": "usage_terms",
    f"{_NS_XMPRIGHTS} WebStatement": "web_statement",
    f"{_NS_PLUS} LicensorURL": "licensor",
    f"{_NS_PLUS} LicensorName": "licensor",
    f"{_NS_PLUS} ImageSupplierName": "supplier",
    f"{_NS_PLUS} CopyrightOwnerName": "copyright",
    f"{_NS_IPTCEXT} DigitalSourceType": "digital_source_type",
    f"{_NS_XMP} CreatorTool": "software",
    f"{_NS_STEVT} softwareAgent": "history_software",
    f"{_NS_TIFF} Make": "make",
    f"{_NS_TIFF} Model": "model",
    f"{_NS_EXIF} DateTimeOriginal": "taken",
    f"{_NS_PHOTOSHOP} DateCreated": "taken",
    f"{_NS_XMP} CreateDate": "created",
    f"{_NS_EXIF} GPSLatitude": "gps_latitude",
    f"{_NS_EXIF} GPSLongitude": "gps_longitude",
    f"{_NS_DCTERMS} provenance": "c2pa_remote",
}

#: Signatures of Photoshop image resource blocks (8BIM, and rarer ones).
_IRB_SIGNATURES = (b"8BIM", b"PHUT", b"DCSR", b"AgHg", b"MeSa")

#: IPTC IIM datasets (record 2) -> the field they feed.
_IIM_FIELDS = {
    5: "title",  # object name
    40: "instructions",  # special instructions
    55: "date_created",
    60: "time_created",
    80: "byline",
    110: "credit",
    115: "source",
    116: "copyright",
    120: "caption",
}

#: Camera firmware's placeholder captions, which say nothing about the photo.
_PLACEHOLDER_CAPTION = re.compile(
    r"^(?:[\w .,\-]*digital camera|sony dsc|dcim|default|image|picture|untitled)?$", re.I
)


class _Fields:
    """Values found so far, each with the block it came from, in priority order."""

    def __init__(self, problems: list[str]) -> None:
        self.values: dict[str, list[tuple[str, str]]] = {}
        self.problems = problems
        self.blocks: list[str] = []
        self.orientation: int | None = None
        self.gps: tuple[float, float] | None = None
        self.gps_present = False
        self.user_comment: str | None = None
        self.png_text: dict[str, str] = {}
        self.c2pa_signals: tuple[str, ...] = ()

    def add(self, name: str, value: object, block: str) -> None:
        text = _clean(value)
        if not text:
            return
        entries = self.values.setdefault(name, [])
        if (text, block) not in entries:
            entries.append((text, block))

    def first(self, name: str) -> str | None:
        entries = self.values.get(name)
        return entries[0][0] if entries else None

    def all(self, *names: str) -> list[tuple[str, str, str]]:
        """(field, value, block) of every value of these fields."""
        return [(n, v, b) for n in names for v, b in self.values.get(n, [])]

    def _block(self, name: str) -> None:
        if name not in self.blocks:
            self.blocks.append(name)

    # -- XMP ---------------------------------------------------------------

    def add_xmp(self, packet: bytes) -> None:
        self._block("xmp")
        try:
            props = _parse_xmp(packet)
        except _Refused as exc:
            self.problems.append(f"XMP block refused: {exc}")
            return
        except (expat.ExpatError, ValueError, LookupError) as exc:
            # ValueError and LookupError: an encoding expat or Python cannot use.
            self.problems.append(f"XMP block could not be parsed: {_reason(exc)}")
            return
        for prop, values in props.items():
            name = _XMP_FIELDS.get(prop)
            if name is None:
                continue
            for value in values:
                self.add(name, value, "xmp")
        lat, lon = self.first("gps_latitude"), self.first("gps_longitude")
        if lat and lon:
            self.gps_present = True
            self.gps = self.gps or _xmp_gps(lat, lon)

    # -- IPTC ----------------------------------------------------------------

    def add_irb(self, irb: bytes) -> None:
        """Photoshop image resource blocks: only 0x0404 (IPTC IIM) is used."""
        self._block("iptc")
        pos = 0
        while pos < len(irb):
            if irb[pos : pos + 4] not in _IRB_SIGNATURES:
                if irb[pos:].strip(b"\x00"):
                    self.problems.append(
                        f"Photoshop (IPTC) block has unexpected data at byte {pos}: rest skipped"
                    )
                return
            if pos + 7 > len(irb):
                break
            resource = struct.unpack(">H", irb[pos + 4 : pos + 6])[0]
            name_length = 1 + irb[pos + 6]  # Pascal string, padded to an even length
            pos += 6 + name_length + (name_length & 1)
            if pos + 4 > len(irb):
                break
            size = struct.unpack(">I", irb[pos : pos + 4])[0]
            body = irb[pos + 4 : pos + 4 + size]
            pos += 4 + size + (size & 1)
            if resource == 0x0404 and len(body) < size:
                self.problems.append(
                    f"IPTC block is truncated: it declares {size} bytes but only "
                    f"{len(body)} are there"
                )
                self.add_iim(body, report_truncation=False)
                return
            if resource == 0x0404:
                self.add_iim(body)
            elif len(body) < size:
                break
        else:
            return
        self.problems.append("Photoshop (IPTC) block is truncated")

    def add_iim(
        self, iim: bytes | dict[tuple[int, int], Any], report_truncation: bool = True
    ) -> None:
        """IPTC IIM datasets: 0x1C, record, dataset, length, data."""
        self._block("iptc")
        if isinstance(iim, dict):  # already split by Pillow (TIFF)
            items: list[tuple[int, int, bytes]] = []
            for (record, number), value in iim.items():
                for one in value if isinstance(value, list) else [value]:
                    items.append((record, number, bytes(one)))
        else:
            items = self._split_iim(iim, report_truncation)
        utf8 = any(r == 1 and n == 90 and v.startswith(b"\x1b%G") for r, n, v in items)
        date = time = None
        for record, number, value in items:
            name = _IIM_FIELDS.get(number) if record == 2 else None
            if name is None:
                continue
            text = _decode_iim(value, utf8)
            if name == "date_created":
                date = text
            elif name == "time_created":
                time = text
            else:
                self.add(name, text, "iptc")
        if date:
            self.add("taken", _iim_datetime(date, time), "iptc")

    def _split_iim(self, iim: bytes, report_truncation: bool) -> list[tuple[int, int, bytes]]:
        items = []
        pos = 0
        while pos < len(iim):
            if iim[pos] != 0x1C:
                if iim[pos:].strip(b"\x00"):
                    self.problems.append(
                        f"IPTC block has unexpected data at byte {pos}: rest skipped"
                    )
                break
            if pos + 5 > len(iim):
                if report_truncation:
                    self.problems.append("IPTC block is truncated: a dataset header is cut off")
                break
            record, number = iim[pos + 1], iim[pos + 2]
            size = struct.unpack(">H", iim[pos + 3 : pos + 5])[0]
            pos += 5
            if size & 0x8000:  # extended dataset: the low bits give the length of the length
                count = size & 0x7FFF
                if count > 4 or pos + count > len(iim):
                    self.problems.append(f"IPTC dataset {record}:{number} has a bad length")
                    break
                size = int.from_bytes(iim[pos : pos + count], "big")
                pos += count
            if pos + size > len(iim):
                if report_truncation:
                    self.problems.append(
                        f"IPTC block is truncated: dataset {record}:{number} declares {size} "
                        f"bytes but only {len(iim) - pos} are left"
                    )
                items.append((record, number, iim[pos:]))
                break
            items.append((record, number, iim[pos : pos + size]))
            pos += size
        return items

    # -- EXIF ----------------------------------------------------------------

    def add_exif(self, exif: bytes | Image.Image) -> None:
        self._block("exif")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                self._read_exif(exif)
            except Exception as exc:  # noqa: BLE001 - Pillow raises many types on bad EXIF
                self.problems.append(f"EXIF block could not be parsed: {_reason(exc)}")
                return
        notes = sorted({_reason(w.message) for w in caught})
        if notes:
            self.problems.append("EXIF block is damaged: " + "; ".join(notes))

    def _read_exif(self, source: bytes | Image.Image) -> None:
        if isinstance(source, Image.Image):
            exif = source.getexif()
        else:
            exif = Image.Exif()
            exif.load(source)
        base = dict(exif)
        self.add("make", base.get(0x010F), "exif")
        self.add("model", base.get(0x0110), "exif")
        self.add("exif_software", base.get(0x0131), "exif")
        self.add("byline", base.get(0x013B), "exif")
        self.add("copyright", _exif_copyright(base.get(0x8298)), "exif")
        description = _clean(base.get(0x010E))
        if description and not _PLACEHOLDER_CAPTION.match(description):
            self.add("caption", description, "exif")
        orientation = base.get(0x0112)
        if isinstance(orientation, int) and 1 <= orientation <= 8:
            self.orientation = self.orientation or orientation
        if 0x8769 in base:
            sub = exif.get_ifd(0x8769)
            taken = _exif_datetime(sub.get(0x9003), sub.get(0x9011))
            self.add("exif_taken", taken, "exif")
            self.add("digitized", _exif_datetime(sub.get(0x9004), sub.get(0x9012)), "exif")
            comment = _user_comment(sub.get(0x9286))
            if comment:
                self.user_comment = self.user_comment or comment
        if 0x8825 in base:
            gps = exif.get_ifd(0x8825)
            if gps.get(2) and gps.get(4):
                self.gps_present = True
                self.gps = _exif_gps(gps) or self.gps

    # -- PNG text ------------------------------------------------------------

    def add_png_text(self, text: dict[str, str]) -> None:
        if not text:
            return
        self._block("png-text")
        self.add("png_software", text.get("software"), "png-text")
        self.add("byline", text.get("author"), "png-text")
        self.add("copyright", text.get("copyright"), "png-text")
        self.add("title", text.get("title"), "png-text")
        self.add("caption", text.get("description"), "png-text")
        self.png_text = text

    # -- result --------------------------------------------------------------

    def build(
        self, source: str, fmt: str | None, c2pa: C2paInfo, *, include_gps: bool
    ) -> Provenance:
        make, model = self.first("make"), self.first("model")
        software = (
            self.first("exif_software") or self.first("software") or self.first("png_software")
        )
        taken = (
            self.first("exif_taken")
            or self.first("taken")
            or self.first("digitized")
            or self.first("created")
        )
        dst_raw = self.first("digital_source_type")
        dst = _dst_term(dst_raw) if dst_raw else None
        creators = _unique(v for v, _ in self.values.get("byline", []))
        licensors = _unique(v for v, _ in self.values.get("licensor", []) if _looks_like_url(v))
        if c2pa.present:
            self._block("c2pa")
        return Provenance(
            file=source,
            format=fmt,
            camera=_camera(make, model),
            software=software,
            taken=taken,
            orientation=self.orientation,
            gps_present=self.gps_present,
            gps=self.gps if include_gps else None,
            title=self.first("title"),
            caption=self.first("caption"),
            credit=self.first("credit"),
            creators=creators,
            copyright=self.first("copyright"),
            source=self.first("source"),
            usage_terms=self.first("usage_terms"),
            instructions=self.first("instructions"),
            web_statement=self.first("web_statement"),
            licensor_urls=licensors,
            digital_source_type=dst,
            stock_agencies=tuple(_agency_hits(self.all(*_STOCK_FIELDS))),
            ai_signals=tuple(_unique(self._ai_signals(dst, c2pa))),
            c2pa=c2pa,
            blocks=tuple(self.blocks),
            problems=tuple(_unique(self.problems)),
        )

    def _ai_signals(self, dst: str | None, c2pa: C2paInfo) -> Iterator[str]:
        if dst:
            line = _dst_signal(dst, "IPTC digital source type")
            if line:
                yield line
        yield from self.c2pa_signals
        for name, value, _block in self.all(*_GENERATOR_FIELDS):
            generator = _generator(value, strict=name in ("credit", "byline"))
            if generator:
                label = _GENERATOR_LABELS.get(name, name)
                yield f"{label} names an AI image generator: {generator}"
        if c2pa.generator:
            generator = _generator(c2pa.generator, strict=False)
            if generator:
                yield f"C2PA manifest was made by an AI image generator: {generator}"
        text = self.png_text
        for key in (
            "parameters",
            "prompt",
            "workflow",
            "invokeai_metadata",
            "sd-metadata",
            "dream",
        ):
            setting = text.get(key)
            if setting and _looks_like_generator_settings(key, setting):
                yield f"PNG text '{key}' holds AI image-generator settings"
        if self.user_comment and _A1111.search(self.user_comment):
            yield "EXIF user comment holds Stable Diffusion generation settings"


_STOCK_FIELDS = (
    "credit",
    "byline",
    "copyright",
    "source",
    "usage_terms",
    "web_statement",
    "licensor",
    "supplier",
    "instructions",
)
_GENERATOR_FIELDS = (
    "exif_software",
    "software",
    "png_software",
    "history_software",
    "make",
    "model",
    "credit",
    "byline",
)
_GENERATOR_LABELS = {
    "exif_software": "EXIF software",
    "software": "XMP creator tool",
    "png_software": "PNG software",
    "history_software": "XMP edit history",
    "make": "Camera make",
    "model": "Camera model",
    "credit": "Credit",
    "byline": "Byline",
}


# ---------------------------------------------------------------------------
# XMP: safe parsing
# ---------------------------------------------------------------------------


class _Refused(Exception):
    """An XMP packet that declares a DOCTYPE or entities."""


def _parse_xmp(packet: bytes) -> dict[str, list[str]]:
    """Property values of an XMP packet, keyed "namespace-URI local-name".

    Expat reports a DOCTYPE before it reads any entity declaration, and the handlers
    below refuse it there: no entity is ever declared, expanded or fetched. Values are
    collected while parsing (no tree, no recursion), so deep nesting is harmless.
    """
    packet = packet.rstrip(b"\x00 \t\r\n")
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.buffer_text = True

    def refuse(*_args: object) -> NoReturn:
        raise _Refused(
            "it declares a DOCTYPE or entities, which can expand without limit "
            "(an entity-expansion attack) or read other files"
        )

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse

    values: dict[str, list[str]] = {}
    count = 0
    # Each open element: (the property its text belongs to, its text so far).
    stack: list[tuple[str | None, list[str]]] = []

    def keep(prop: str, value: str) -> None:
        nonlocal count
        if count < MAX_XMP_VALUES:
            values.setdefault(prop, []).append(value[:MAX_TEXT])
            count += 1

    def start(name: str, attrs: dict[str, str]) -> None:
        ns, _, local = name.rpartition(" ")
        parent = stack[-1][0] if stack else None
        if ns == _NS_RDF or ns == _NS_META:
            prop = parent  # containers (Description, Seq, Alt, li) belong to their property
        else:
            prop = name
        for attr, value in attrs.items():
            ans, _, alocal = attr.rpartition(" ")
            if ans == _NS_RDF and alocal == "resource" and prop:
                keep(prop, value)
            elif ans and ans not in (_NS_RDF, _NS_XML, _NS_META):
                keep(attr, value)
        stack.append((prop, []))

    def end(_name: str) -> None:
        prop, text = stack.pop()
        value = "".join(text).strip()
        if prop and value:
            keep(prop, value)

    def chars(data: str) -> None:
        if stack:
            stack[-1][1].append(data)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.Parse(packet, True)
    return values


# ---------------------------------------------------------------------------
# C2PA
# ---------------------------------------------------------------------------

#: JUMBF description-box UUID of a C2PA manifest store ("c2pa" + the ISO suffix).
_C2PA_STORE_UUID = b"c2pa" + bytes.fromhex("00110010800000aa00389b71")
_DST_IN_BYTES = re.compile(rb"cv\.iptc\.org/newscodes/digitalsourcetype/([A-Za-z]{3,64})")
_MIME = {"JPEG": "image/jpeg", "MPO": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


def _is_c2pa_store(box: bytes) -> bool:
    """A JUMBF superbox whose description says "C2PA manifest store"."""
    if box[4:8] != b"jumb":
        return False
    desc = 16 if box[:4] == b"\x00\x00\x00\x01" else 8
    if box[desc + 4 : desc + 8] != b"jumd":
        return False
    uuid = box[desc + 8 : desc + 24]
    toggles = box[desc + 24 : desc + 25]
    label = b""
    if toggles and toggles[0] & 0x02:
        label = box[desc + 25 :].split(b"\x00", 1)[0]
    return uuid == _C2PA_STORE_UUID or label == b"c2pa"


def _c2pa(data: bytes, fmt: str | None, raw: _Raw, fields: _Fields) -> C2paInfo:
    remote = fields.first("c2pa_remote")
    remote = remote if remote and _looks_like_url(remote) else None
    stores = [box for box in raw.jumbf if _is_c2pa_store(box)]
    if not stores:
        return C2paInfo(remote_url=remote)
    # The manifest's own words, unverified: used when c2pa-python cannot say more.
    terms = sorted({m.decode("ascii") for box in stores for m in _DST_IN_BYTES.findall(box)})
    unverified = _dst_signals(terms, "unvalidated C2PA manifest")
    info = _read_c2pa(data, _MIME.get(fmt or "", ""))
    if info is None:
        fields.c2pa_signals = unverified
        return C2paInfo(present=True, validation="not validated", remote_url=remote)
    store, problem = info
    if store is None:
        fields.problems.append(f"C2PA manifest could not be read: {problem}")
        fields.c2pa_signals = unverified
        return C2paInfo(present=True, validation="unreadable", remote_url=remote)
    summary = _c2pa_summary(store)
    fields.c2pa_signals = _dst_signals(summary.pop("terms"), "C2PA manifest")
    return C2paInfo(present=True, remote_url=remote, **summary)


def _dst_signals(terms: Iterable[str], where: str) -> tuple[str, ...]:
    return tuple(line for term in terms if (line := _dst_signal(term, where)))


def _read_c2pa(data: bytes, mime: str) -> tuple[dict[str, Any] | None, str] | None:
    """The manifest store as c2pa-python reports it; None when c2pa-python is missing."""
    try:
        import c2pa  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except ImportError:
        return None
    try:
        # Offline: revimg never fetches remote manifests or certificate status.
        settings = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}
        context = c2pa.Context.from_dict(settings)
        with c2pa.Reader(mime or None, io.BytesIO(data), context=context) as reader:
            store = json.loads(reader.json())
    except Exception as exc:  # noqa: BLE001 - any library failure is a finding
        return None, _reason(exc)
    if not isinstance(store, dict):
        return None, "unexpected answer from c2pa-python"
    return store, ""


def _c2pa_summary(store: dict[str, Any]) -> dict[str, Any]:
    """Generator, signer, validation and digital source types of the active manifest."""
    manifests = store.get("manifests") or {}
    active = manifests.get(store.get("active_manifest") or "") or {}
    generator = None
    infos = active.get("claim_generator_info")
    if isinstance(infos, list) and infos and isinstance(infos[0], dict) and infos[0].get("name"):
        generator = " ".join(str(infos[0][k]) for k in ("name", "version") if infos[0].get(k))
    elif active.get("claim_generator"):
        generator = str(active["claim_generator"])
    signature = active.get("signature_info") or {}
    signer = signature.get("issuer") or signature.get("common_name")
    state = str(store.get("validation_state") or "").lower()
    statuses = store.get("validation_status") or []
    issues = tuple(str(s.get("code")) for s in statuses if isinstance(s, dict) and s.get("code"))
    if state not in ("trusted", "valid", "invalid"):
        state = "invalid" if issues and any("untrusted" not in i for i in issues) else "valid"
    terms: list[str] = []
    for assertion in active.get("assertions") or []:
        if not isinstance(assertion, dict) or not str(assertion.get("label", "")).startswith(
            "c2pa.actions"
        ):
            continue
        for action in (assertion.get("data") or {}).get("actions") or []:
            if isinstance(action, dict) and action.get("digitalSourceType"):
                terms.append(_dst_term(str(action["digitalSourceType"])))
    return {
        "generator": _clean(generator),
        "signer": _clean(signer),
        "validation": state,
        "issues": issues,
        "terms": _unique(terms),
    }


# ---------------------------------------------------------------------------
# Stock agencies and AI generators
# ---------------------------------------------------------------------------


def _words(*names: str) -> str:
    """Alternatives matched as whole words (not inside another word)."""
    return r"(?<![a-z0-9])(?:" + "|".join(names) + r")(?![a-z0-9])"


def _alone(*names: str) -> str:
    """Ambiguous names: only a whole field, or one part of a "A/B" or "A, B" credit line."""
    return r"(?:^|[/|;,(]\s*)(?:" + "|".join(names) + r")\s*(?=$|[/|;,)])"


#: Stock agencies and big stock producers: canonical name -> pattern (case-insensitive).
_AGENCIES: dict[str, str] = {
    "Getty Images": _words(r"getty[\s\-]*images") + "|" + _alone("getty"),
    "iStock": _words(r"istock(?:photo)?(?:\.com)?"),
    "Shutterstock": _words("shutterstock") + "|" + _words(r"offset\.com"),
    "Adobe Stock": _words(r"adobe[\s\-]*stock", r"stock\.adobe\.com"),
    "Alamy": _words("alamy"),
    "Dreamstime": _words("dreamstime"),
    "Depositphotos": _words(r"deposit[\s\-]*photos"),
    "123RF": _words("123rf"),
    "Unsplash": _words("unsplash"),
    "Pexels": _words("pexels"),
    "Pixabay": _words("pixabay"),
    "Stocksy": _words("stocksy"),
    "EyeEm": _words("eyeem"),
    "Pond5": _words("pond5"),
    "Bigstock": _words(r"bigstock(?:photo)?"),
    "Fotolia": _words("fotolia"),
    "Westend61": _words("westend61"),
    "Masterfile": _words("masterfile"),
    "Corbis": _words(r"corbis(?:images)?"),
    "agefotostock": _words(r"age[\s\-]*foto[\s\-]*stock"),
    "Science Photo Library": _words(r"science\s+photo\s+library", r"sciencephoto\.com"),
    "Twenty20": _words("twenty20"),
    "Canva": _words("canva"),
    "Freepik": _words("freepik"),
    "Envato": _words("envato"),
    "Storyblocks": _words("storyblocks"),
    "Jupiterimages": _words(r"jupiter\s*images"),
    "Thinkstock": _words(r"thinkstock(?:photos)?"),
    "Wavebreak Media": _words(r"wavebreak(?:\s*media)?(?:\s*micro)?"),
    "Photodisc": _words("photodisc"),
    "DigitalVision": _words("digitalvision") + "|" + _alone(r"digital\s+vision"),
    "Image Source": _words("imagesource") + "|" + _alone(r"image\s+source"),
    "Cultura": _words(r"cultura\s+(?:rf|creative|exclusive)") + "|" + _alone("cultura"),
    "Tetra Images": _words(r"tetra\s*images"),
    "Blend Images": _words(r"blend\s*images"),
    "Hero Images": _words(r"hero\s*images"),
    "Stockbyte": _words("stockbyte"),
    "Comstock": _words(r"comstock\s+images") + "|" + _alone("comstock"),
    "Brand X Pictures": _words(r"brand\s*x\s*pictures"),
    "Caiaimage": _words("caiaimage"),
    "Maskot": _alone("maskot"),
    "Monkey Business Images": _words(r"monkey\s*business\s*images")
    + "|"
    + _alone(r"monkey\s*business"),
    "PeopleImages": _words(r"people\s*images(?:\.com)?"),
    "Rawpixel": _words("rawpixel"),
    "SuperStock": _words("superstock"),
    "Design Pics": _words(r"design\s*pics"),
    "Panther Media": _words(r"panther\s*media"),
    "Colourbox": _words("colourbox"),
    "Zoonar": _words("zoonar"),
    "imageBROKER": _words("imagebroker"),
    "Vecteezy": _words("vecteezy"),
    "StockSnap": _words("stocksnap"),
    "Can Stock Photo": _words(r"can\s*stock\s*photo"),
    "Fotosearch": _words("fotosearch"),
    "Photos.com": _words(r"photos\.com"),
    "Crestock": _words("crestock"),
    "Mostphotos": _words("mostphotos"),
    "Picfair": _words("picfair"),
    "Kaboompics": _words("kaboompics"),
    "Burst (Shopify)": _words(r"burst\.shopify\.com", r"shopify\s+burst"),
    "Generated Photos": _words(r"generated\s*\.?\s*photos"),
}


@functools.cache
def _agency_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    # Compiled on first use: compiling them all costs about 0.1 s, too much at start-up.
    return tuple((name, re.compile(p, re.I)) for name, p in _AGENCIES.items())


def stock_agencies_in(text: str) -> tuple[str, ...]:
    """Stock agencies named in a piece of text (whole-word, case-insensitive)."""
    return tuple(name for name, pattern in _agency_patterns() if pattern.search(text))


def _agency_hits(entries: Iterable[tuple[str, str, str]]) -> Iterator[AgencyHit]:
    seen: set[tuple[str, str]] = set()
    for name, value, block in entries:
        for agency in stock_agencies_in(value):
            if (agency, name) not in seen:
                seen.add((agency, name))
                yield AgencyHit(agency, name, value, block)


#: AI image generators, as they appear in software, creator tool or credit fields.
_GENERATORS: dict[str, str] = {
    "Midjourney": r"mid[\s\-]?journey",
    "DALL-E": r"dall[\s\-·.]e(?:[\s\-]?[0-9])?|dalle[\s\-]?[0-9]",
    "Stable Diffusion": r"stable[\s\-_]?diffusion|sdxl|automatic1111|stable-diffusion-webui",
    "Adobe Firefly": r"(?:adobe\s+)?firefly",
    "Imagen": r"(?:google\s+)?imagen(?:\s*[0-9])?",
    "Google AI": r"made\s+with\s+google\s+ai|google\s+gemini|gemini\s+image",
    "Bing Image Creator": r"bing\s+image\s+creator",
    "Microsoft Designer": r"microsoft\s+designer",
    "ChatGPT / OpenAI": r"chatgpt|openai(?:[\s\-]api)?|gpt-?4o",
    "Leonardo.Ai": r"leonardo\.?\s?ai",
    "NovelAI": r"novel\s?ai",
    "ComfyUI": r"comfyui",
    "InvokeAI": r"invoke\s?ai",
    "Fooocus": r"fooocus",
    "DreamStudio": r"dreamstudio",
    "Ideogram": r"ideogram",
    "Craiyon": r"craiyon",
    "NightCafe": r"nightcafe",
    "Playground AI": r"playground\s*(?:ai|v[0-9])",
    "Runway": r"runway\s*(?:ml|gen-?[0-9])",
    "FLUX": r"flux\.1|flux\s+(?:pro|dev|schnell)",
    "Artbreeder": r"artbreeder",
    "StyleGAN": r"stylegan[0-9]?",
    "This Person Does Not Exist": r"this\s*person\s*does\s*not\s*exist",
    "Generated Photos": r"generated\s*\.?\s*photos",
    "Kandinsky": r"kandinsky\s*[0-9]",
    "Meta AI": r"meta\s+ai|imagine\s+with\s+meta",
}


@functools.cache
def _generator_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((name, re.compile(_words(p), re.I)) for name, p in _GENERATORS.items())


#: In credit and byline fields, words that are also names or common words need context.
_AMBIGUOUS_GENERATORS = {"Adobe Firefly", "Imagen", "Runway", "Kandinsky"}
_A1111 = re.compile(r"Steps:\s*\d+.*Sampler:", re.S)


def _generator(text: str, *, strict: bool) -> str | None:
    """The AI image generator named in a software-like field, if any."""
    for name, pattern in _generator_patterns():
        if strict and name in _AMBIGUOUS_GENERATORS:
            continue
        if pattern.search(text):
            return name
    return None


def _looks_like_generator_settings(key: str, value: str) -> bool:
    if key == "parameters":
        return bool(_A1111.search(value))
    if key in ("prompt", "workflow"):
        return value.lstrip().startswith("{") and ("class_type" in value or '"nodes"' in value)
    return True  # invokeai_metadata, sd-metadata, dream are only written by generators


#: IPTC digital source types (http://cv.iptc.org/newscodes/digitalsourcetype/):
#: lower-case term -> (AI signal or None, meaning).
_DIGITAL_SOURCE_TYPES: dict[str, tuple[str | None, str]] = {
    "trainedalgorithmicmedia": ("Marked as AI-generated", "made by generative AI"),
    "compositewithtrainedalgorithmicmedia": (
        "Marked as containing AI-generated parts",
        "a composite with generative-AI elements",
    ),
    "algorithmicmedia": ("Marked as computer-generated", "made by an algorithm"),
    "compositesynthetic": (
        "Marked as a composite with synthetic elements",
        "a composite with synthetic elements",
    ),
    "digitalcapture": (None, "a camera capture of a real scene"),
    "computationalcapture": (None, "a camera capture with computational processing"),
    "negativefilm": (None, "scanned from a film negative"),
    "positivefilm": (None, "scanned from a film positive"),
    "print": (None, "scanned from a print"),
    "minorhumanedits": (None, "a capture with minor human edits"),
    "humanedits": (None, "a capture edited by a person"),
    "compositecapture": (None, "a composite of captures"),
    "algorithmicallyenhanced": (None, "a capture enhanced by an algorithm"),
    "digitalart": (None, "digital art made by a person"),
    "datadrivenmedia": (None, "made from data"),
    "virtualrecording": (None, "a recording of a virtual scene"),
    "screencapture": (None, "a screenshot"),
    "softwareimage": (None, "made with software"),
    "digitalcreation": (None, "a digital creation"),
}


def _dst_term(value: str) -> str:
    """The bare IPTC term of a digital source type URI (or of a bare term)."""
    return value.strip().rstrip("/").rsplit("/", 1)[-1]


def _dst_signal(term: str, where: str) -> str | None:
    meaning = _DIGITAL_SOURCE_TYPES.get(term.lower())
    if meaning is None or meaning[0] is None:
        return None
    return f"{meaning[0]} ({where}: {term})"


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_SPACES = re.compile(r"\s+")


def _clean(value: object) -> str | None:
    """Text fit to show: control characters (terminal escapes too) removed, one line."""
    if value is None:
        return None
    if isinstance(value, bytes):
        raw = value
        try:
            value = raw.decode("utf-8")
        except UnicodeDecodeError:
            value = raw.decode("cp1252", "replace")
    elif isinstance(value, (tuple, list)):
        value = " ".join(str(v) for v in value)
    text = _SPACES.sub(" ", _CONTROL.sub(" ", str(value))).strip()
    return text[:MAX_TEXT] or None


def _short(text: str) -> str:
    return text if len(text) <= _SHORT else text[: _SHORT - 3] + "..."


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for value in values:
        seen.setdefault(value.casefold(), value)
    return tuple(seen.values())


def _reason(exc: object) -> str:
    text = str(exc).strip()
    first = text.splitlines()[0].strip() if text else type(exc).__name__
    return _short(_SPACES.sub(" ", first))


def _ascii(tag: bytes) -> str:
    return tag.decode("ascii", "replace").strip()


def _looks_like_url(text: str) -> bool:
    return bool(re.match(r"^(?:https?://|www\.)\S+$", text.strip(), re.I))


def _camera(make: str | None, model: str | None) -> str | None:
    """ "Canon" + "Canon EOS 5D" reads as "Canon EOS 5D"; NIKON CORPORATION + NIKON D3 too."""
    if not model:
        return make
    if not make or model.lower().startswith(make.split()[0].lower()):
        return model
    return f"{make} {model}"


def _decode_iim(value: bytes, utf8: bool) -> str:
    if utf8:
        return value.decode("utf-8", "replace")
    try:
        return value.decode("utf-8")  # most writers use UTF-8 even without saying so
    except UnicodeDecodeError:
        return value.decode("cp1252", "replace")


def _exif_copyright(value: object) -> str | None:
    """EXIF Copyright may hold "photographer\\0editor"."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    return " / ".join(part.strip() for part in value.split("\x00") if part.strip()) or None


_EXIF_DATE = re.compile(r"^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})")


def _exif_datetime(value: object, offset: object = None) -> str | None:
    """ "2019:05:04 12:34:56" (+ "+02:00") as ISO 8601; zero or blank dates are dropped."""
    text = _clean(value)
    if not text or text.startswith("0000"):
        return None
    match = _EXIF_DATE.match(text)
    if not match:
        return text
    y, mo, d, h, mi, s = match.groups()
    zone = _clean(offset) or ""
    zone = zone if re.fullmatch(r"[+-]\d{2}:\d{2}|Z", zone) else ""
    return f"{y}-{mo}-{d}T{h}:{mi}:{s}{zone}"


def _iim_datetime(date: str, time: str | None) -> str:
    """IPTC "20190504" and "123456+0200" as ISO 8601."""
    if not re.fullmatch(r"\d{8}", date):
        return date
    out = f"{date[:4]}-{date[4:6]}-{date[6:]}"
    match = re.fullmatch(r"(\d{2})(\d{2})(\d{2})(?:([+-])(\d{2})(\d{2}))?", (time or "").strip())
    if match:
        h, m, s, sign, zh, zm = match.groups()
        out += f"T{h}:{m}:{s}" + (f"{sign}{zh}:{zm}" if sign else "")
    return out


def _user_comment(value: object) -> str | None:
    """EXIF UserComment: an 8-byte character code, then the text."""
    if not isinstance(value, bytes) or len(value) < 8:
        return _clean(value)
    code, body = value[:8], value[8:]
    if code.startswith(b"UNICODE"):
        encoding = "utf-16-le" if body[1:2] == b"\x00" else "utf-16-be"
        return body.decode(encoding, "replace").strip("\x00 ") or None
    return body.decode("utf-8", "replace").strip("\x00 ") or None


def _exif_gps(gps: dict[int, Any]) -> tuple[float, float] | None:
    try:
        lat = _dms(gps[2]) * (-1 if str(gps.get(1, "N")).upper().startswith("S") else 1)
        lon = _dms(gps[4]) * (-1 if str(gps.get(3, "E")).upper().startswith("W") else 1)
    except (TypeError, ValueError, ZeroDivisionError, IndexError, KeyError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lon) and abs(lat) <= 90 and abs(lon) <= 180):
        return None
    return (round(lat, 6), round(lon, 6))


def _dms(value: Any) -> float:
    parts = [float(v) for v in value]
    return (
        parts[0]
        + (parts[1] / 60 if len(parts) > 1 else 0)
        + (parts[2] / 3600 if len(parts) > 2 else 0)
    )


_XMP_GPS = re.compile(r"^(\d{1,3}),(\d{1,2}(?:\.\d+)?)(?:,(\d{1,2}(?:\.\d+)?))?([NSEW])$", re.I)


def _xmp_gps(lat: str, lon: str) -> tuple[float, float] | None:
    """XMP "51,30.5N" / "0,7,30W" coordinates as signed degrees."""
    out = []
    for text in (lat, lon):
        match = _XMP_GPS.match(text.strip())
        if not match:
            return None
        deg, minutes, seconds, ref = match.groups()
        value = float(deg) + float(minutes) / 60 + float(seconds or 0) / 3600
        out.append(-value if ref.upper() in "SW" else value)
    return (round(out[0], 6), round(out[1], 6))
