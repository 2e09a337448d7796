"""IPTC IIM: the credit, byline and copyright datasets, and the Photoshop blocks around them.

In JPEG (APP13) and TIFF (tag 34377), IPTC IIM sits inside a Photoshop image resource
block (resource 0x0404); TIFF tag 33723 and ImageMagick's PNG profiles hold it bare.
Datasets are ``0x1C, record, dataset, length, data``; only record 2 (application) is read.
Truncated and garbled blocks keep what could be read and add a problem.
"""

from __future__ import annotations

import re
import struct
from typing import Any

from revimg.provenance.fields import Fields

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


def add_irb(fields: Fields, irb: bytes) -> None:
    """Photoshop image resource blocks: only 0x0404 (IPTC IIM) is used."""
    fields.found_block("iptc")
    pos = 0
    while pos < len(irb):
        if irb[pos : pos + 4] not in _IRB_SIGNATURES:
            if irb[pos:].strip(b"\x00"):
                fields.problems.append(
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
            fields.problems.append(
                f"IPTC block is truncated: it declares {size} bytes but only {len(body)} are there"
            )
            add_iim(fields, body, report_truncation=False)
            return
        if resource == 0x0404:
            add_iim(fields, body)
        elif len(body) < size:
            break
    else:
        return
    fields.problems.append("Photoshop (IPTC) block is truncated")


def add_iim(
    fields: Fields, iim: bytes | dict[tuple[int, int], Any], report_truncation: bool = True
) -> None:
    """IPTC IIM datasets: 0x1C, record, dataset, length, data."""
    fields.found_block("iptc")
    if isinstance(iim, dict):  # already split by Pillow (TIFF)
        items: list[tuple[int, int, bytes]] = []
        for (record, number), value in iim.items():
            for one in value if isinstance(value, list) else [value]:
                items.append((record, number, bytes(one)))
    else:
        items = _split_iim(fields, iim, report_truncation)
    utf8 = any(r == 1 and n == 90 and v.startswith(b"\x1b%G") for r, n, v in items)
    date = time = None
    for record, number, value in items:
        name = _IIM_FIELDS.get(number) if record == 2 else None
        if name is None:
            continue
        text = _decode(value, utf8)
        if name == "date_created":
            date = text
        elif name == "time_created":
            time = text
        else:
            fields.add(name, text, "iptc")
    if date:
        fields.add("taken", _datetime(date, time), "iptc")


def _split_iim(fields: Fields, iim: bytes, report_truncation: bool) -> list[tuple[int, int, bytes]]:
    items = []
    pos = 0
    while pos < len(iim):
        if iim[pos] != 0x1C:
            if iim[pos:].strip(b"\x00"):
                fields.problems.append(
                    f"IPTC block has unexpected data at byte {pos}: rest skipped"
                )
            break
        if pos + 5 > len(iim):
            if report_truncation:
                fields.problems.append("IPTC block is truncated: a dataset header is cut off")
            break
        record, number = iim[pos + 1], iim[pos + 2]
        size = struct.unpack(">H", iim[pos + 3 : pos + 5])[0]
        pos += 5
        if size & 0x8000:  # extended dataset: the low bits give the length of the length
            count = size & 0x7FFF
            if count > 4 or pos + count > len(iim):
                fields.problems.append(f"IPTC dataset {record}:{number} has a bad length")
                break
            size = int.from_bytes(iim[pos : pos + count], "big")
            pos += count
        if pos + size > len(iim):
            if report_truncation:
                fields.problems.append(
                    f"IPTC block is truncated: dataset {record}:{number} declares {size} "
                    f"bytes but only {len(iim) - pos} are left"
                )
            items.append((record, number, iim[pos:]))
            break
        items.append((record, number, iim[pos : pos + size]))
        pos += size
    return items


def _decode(value: bytes, utf8: bool) -> str:
    if utf8:
        return value.decode("utf-8", "replace")
    try:
        return value.decode("utf-8")  # most writers use UTF-8 even without saying so
    except UnicodeDecodeError:
        return value.decode("cp1252", "replace")


def _datetime(date: str, time: str | None) -> str:
    """IPTC "20190504" and "123456+0200" as ISO 8601."""
    if not re.fullmatch(r"\d{8}", date):
        return date
    out = f"{date[:4]}-{date[4:6]}-{date[6:]}"
    match = re.fullmatch(r"(\d{2})(\d{2})(\d{2})(?:([+-])(\d{2})(\d{2}))?", (time or "").strip())
    if match:
        h, m, s, sign, zh, zm = match.groups()
        out += f"T{h}:{m}:{s}" + (f"{sign}{zh}:{zm}" if sign else "")
    return out
