"""EXIF: camera, software, dates, orientation, GPS and the text fields of IFD0.

The block is parsed by Pillow (``Image.Exif``); a TIFF file is its own EXIF, read from
the open image. Pillow's warnings about damaged entries become one problem line, and any
exception it raises on a broken block becomes a problem too, never a crash. Its regular
expressions are compiled on first use.
"""

from __future__ import annotations

import functools
import math
import re
import warnings
from typing import Any

from PIL import Image

from revimg.provenance.fields import Fields
from revimg.provenance.text import clean, reason


@functools.cache
def _placeholder_caption() -> re.Pattern[str]:
    """Camera firmware's placeholder captions, which say nothing about the photo."""
    return re.compile(
        r"^(?:[\w .,\-]*digital camera|sony dsc|dcim|default|image|picture|untitled)?$", re.I
    )


@functools.cache
def _date() -> re.Pattern[str]:
    return re.compile(r"^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})")


def add_exif(fields: Fields, exif: bytes | Image.Image) -> None:
    """Parse one EXIF block (or a TIFF image's tags) into ``fields``."""
    fields.found_block("exif")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            _read(fields, exif)
        except Exception as exc:  # noqa: BLE001 - Pillow raises many types on bad EXIF
            fields.problems.append(f"EXIF block could not be parsed: {reason(exc)}")
            return
    notes = sorted({reason(w.message) for w in caught})
    if notes:
        fields.problems.append("EXIF block is damaged: " + "; ".join(notes))


def _read(fields: Fields, source: bytes | Image.Image) -> None:
    if isinstance(source, Image.Image):
        exif = source.getexif()
    else:
        exif = Image.Exif()
        exif.load(source)
    base = dict(exif)
    fields.add("make", base.get(0x010F), "exif")
    fields.add("model", base.get(0x0110), "exif")
    fields.add("exif_software", base.get(0x0131), "exif")
    fields.add("byline", base.get(0x013B), "exif")
    fields.add("copyright", _copyright(base.get(0x8298)), "exif")
    description = clean(base.get(0x010E))
    if description and not _placeholder_caption().match(description):
        fields.add("caption", description, "exif")
    orientation = base.get(0x0112)
    if isinstance(orientation, int) and 1 <= orientation <= 8:
        fields.orientation = fields.orientation or orientation
    if 0x8769 in base:
        sub = exif.get_ifd(0x8769)
        taken = _datetime(sub.get(0x9003), sub.get(0x9011))
        fields.add("exif_taken", taken, "exif")
        fields.add("digitized", _datetime(sub.get(0x9004), sub.get(0x9012)), "exif")
        comment = _user_comment(sub.get(0x9286))
        if comment:
            fields.user_comment = fields.user_comment or comment
    if 0x8825 in base:
        gps = exif.get_ifd(0x8825)
        if gps.get(2) and gps.get(4):
            fields.gps_present = True
            fields.gps = _gps(gps) or fields.gps


def _copyright(value: object) -> str | None:
    """EXIF Copyright may hold "photographer\\0editor"."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    return " / ".join(part.strip() for part in value.split("\x00") if part.strip()) or None


def _datetime(value: object, offset: object = None) -> str | None:
    """ "2019:05:04 12:34:56" (+ "+02:00") as ISO 8601; zero or blank dates are dropped."""
    text = clean(value)
    if not text or text.startswith("0000"):
        return None
    match = _date().match(text)
    if not match:
        return text
    y, mo, d, h, mi, s = match.groups()
    zone = clean(offset) or ""
    zone = zone if re.fullmatch(r"[+-]\d{2}:\d{2}|Z", zone) else ""
    return f"{y}-{mo}-{d}T{h}:{mi}:{s}{zone}"


def _user_comment(value: object) -> str | None:
    """EXIF UserComment: an 8-byte character code, then the text."""
    if not isinstance(value, bytes) or len(value) < 8:
        return clean(value)
    code, body = value[:8], value[8:]
    if code.startswith(b"UNICODE"):
        encoding = "utf-16-le" if body[1:2] == b"\x00" else "utf-16-be"
        return body.decode(encoding, "replace").strip("\x00 ") or None
    return body.decode("utf-8", "replace").strip("\x00 ") or None


def _gps(gps: dict[int, Any]) -> tuple[float, float] | None:
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
