"""Finding the raw metadata blocks in JPEG, PNG, WebP and TIFF files.

The walkers read the container structure from the bytes themselves (Pillow only supplies
the TIFF tags and the blocks of other formats), so no pixel is ever decoded:

- JPEG: APP1 ``Exif``, APP1 XMP (plus extended XMP), APP13 Photoshop IRB with the IPTC
  IIM resource 0x0404, APP11 JUMBF (C2PA).
- PNG: ``eXIf``, iTXt ``XML:com.adobe.xmp``, ImageMagick's ``Raw profile type ...`` text,
  ``caBX`` (C2PA), and text chunks (``Software``, ``Author``, generator settings).
- WebP: the RIFF chunks ``EXIF``, ``XMP `` and ``C2PA``.
- TIFF: IFD0 (EXIF), tag 700 (XMP), 33723 (IPTC) and 34377 (Photoshop IRB), via Pillow.

Blocks over the size limits and damaged structure are recorded in ``Raw.problems``.
"""

from __future__ import annotations

import struct
import zlib
from typing import TYPE_CHECKING, Any

from revimg.provenance.limits import MAX_BLOCK_BYTES, MAX_JUMBF_BYTES
from revimg.provenance.text import ascii_tag, reason

if TYPE_CHECKING:
    from PIL import Image

_XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
_XMP_EXT_HEADER = b"http://ns.adobe.com/xmp/extension/\x00"
_PS_HEADER = b"Photoshop 3.0\x00"


class Raw:
    """Metadata blocks as found in the file, not yet parsed."""

    def __init__(self) -> None:
        # A plain class: a dataclass would add a millisecond to the first inspect().
        self.exif: list[bytes | Image.Image] = []  # a TIFF image is its own EXIF
        self.xmp: list[bytes] = []
        self.irb: list[bytes] = []  # Photoshop image resource blocks
        self.iim: list[bytes | dict[tuple[int, int], Any]] = []
        self.jumbf: list[bytes] = []
        self.png_text: dict[str, str] = {}
        self.problems: list[str] = []

    def add_capped(self, kind: str, target: list[Any], block: Any, size: int) -> None:
        """Keep a block unless it is over the size limit (then report it)."""
        if size > MAX_BLOCK_BYTES:
            self.problems.append(
                f"{kind} block is too large ({size} bytes, limit {MAX_BLOCK_BYTES}): skipped"
            )
        else:
            target.append(block)


def collect(data: bytes, img: Image.Image) -> Raw:
    """The metadata blocks of one file (``img`` is the same file, opened by Pillow)."""
    raw = Raw()
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


# -- JPEG --------------------------------------------------------------------


def _walk_jpeg(data: bytes, raw: Raw) -> None:
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


# -- PNG ---------------------------------------------------------------------


def _walk_png(data: bytes, raw: Raw) -> None:
    """Collect eXIf, XMP (iTXt), ImageMagick raw profiles, caBX and text chunks."""
    pos = 8
    while pos + 8 <= len(data):
        length = struct.unpack(">I", data[pos : pos + 4])[0]
        ctype = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if len(body) < length:
            raw.problems.append(
                f"PNG chunk {ascii_tag(ctype)} is truncated: metadata after it skipped"
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
                raw.problems.append(f"PNG text chunk could not be read: {reason(exc)}")
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


def _add_png_text(keyword: str, text: bytes, raw: Raw) -> None:
    if keyword == "XML:com.adobe.xmp":
        raw.add_capped("XMP", raw.xmp, text, len(text))
        return
    if keyword.startswith("Raw profile type "):
        _add_raw_profile(keyword[len("Raw profile type ") :].lower(), text, raw)
        return
    if keyword.lower() in _PNG_TEXT_KEYS and len(text) <= MAX_BLOCK_BYTES:
        raw.png_text.setdefault(keyword.lower(), text.decode("utf-8", "replace"))


def _add_raw_profile(kind: str, text: bytes, raw: Raw) -> None:
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


# -- WebP, TIFF and the rest -------------------------------------------------


def _walk_webp(data: bytes, raw: Raw) -> None:
    """Collect the EXIF, XMP and C2PA chunks of a RIFF WebP file."""
    pos = 12
    while pos + 8 <= len(data):
        ctype = data[pos : pos + 4]
        length = struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        body = data[pos + 8 : pos + 8 + length]
        if len(body) < length:
            raw.problems.append(
                f"WebP chunk {ascii_tag(ctype)} is truncated: metadata after it skipped"
            )
            break
        pos += 8 + length + (length & 1)
        if ctype == b"EXIF":
            raw.add_capped("EXIF", raw.exif, body, length)
        elif ctype == b"XMP ":
            raw.add_capped("XMP", raw.xmp, body, length)
        elif ctype == b"C2PA":
            raw.jumbf.append(body[:MAX_JUMBF_BYTES])


def _from_tiff(img: Image.Image, raw: Raw) -> None:
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
        from PIL import IptcImagePlugin  # only TIFFs with an IPTC tag need it

        try:
            # Pillow knows how IPTC data was typed (often as 32-bit integers).
            iptc = IptcImagePlugin.getiptcinfo(img)  # type: ignore[arg-type]
        except Exception as exc:  # noqa: BLE001 - a damaged tag is a finding, not a crash
            raw.problems.append(f"IPTC block could not be parsed: {reason(exc)}")
        else:
            if iptc:
                raw.iim.append(iptc)


def _from_pillow(img: Image.Image, raw: Raw) -> None:
    """Other formats (GIF, BMP, AVIF, HEIC, ...): whatever Pillow exposes."""
    exif = img.info.get("exif")
    if isinstance(exif, bytes) and exif:
        raw.add_capped("EXIF", raw.exif, exif, len(exif))
    xmp = img.info.get("xmp")
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8")
    if isinstance(xmp, bytes) and xmp:
        raw.add_capped("XMP", raw.xmp, xmp, len(xmp))
