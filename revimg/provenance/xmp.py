"""XMP: safe parsing of the packet, and the properties revimg reads from it.

The packet is parsed with expat and refused outright when it declares a DOCTYPE or an
entity, so entity-expansion ("billion laughs") and external-entity packets are reported,
never expanded or fetched. Values are collected while parsing (no tree, no recursion), so
deep nesting is harmless, and at most ``MAX_XMP_VALUES`` values are kept per packet.
"""

from __future__ import annotations

import functools
import re
from typing import NoReturn
from xml.parsers import expat

from revimg.provenance.fields import Fields
from revimg.provenance.limits import MAX_TEXT, MAX_XMP_VALUES
from revimg.provenance.text import reason

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


def add_xmp(fields: Fields, packet: bytes) -> None:
    """Parse one XMP packet into ``fields``; a refused or broken packet is a problem."""
    fields.found_block("xmp")
    try:
        props = parse(packet)
    except Refused as exc:
        fields.problems.append(f"XMP block refused: {exc}")
        return
    except (expat.ExpatError, ValueError, LookupError) as exc:
        # ValueError and LookupError: an encoding expat or Python cannot use.
        fields.problems.append(f"XMP block could not be parsed: {reason(exc)}")
        return
    for prop, values in props.items():
        name = _XMP_FIELDS.get(prop)
        if name is None:
            continue
        for value in values:
            fields.add(name, value, "xmp")
    lat, lon = fields.first("gps_latitude"), fields.first("gps_longitude")
    if lat and lon:
        fields.gps_present = True
        fields.gps = fields.gps or _gps(lat, lon)


class Refused(Exception):
    """An XMP packet that declares a DOCTYPE or entities."""


def parse(packet: bytes) -> dict[str, list[str]]:
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
        raise Refused(
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


@functools.cache
def _gps_pattern() -> re.Pattern[str]:
    return re.compile(r"^(\d{1,3}),(\d{1,2}(?:\.\d+)?)(?:,(\d{1,2}(?:\.\d+)?))?([NSEW])$", re.I)


def _gps(lat: str, lon: str) -> tuple[float, float] | None:
    """XMP "51,30.5N" / "0,7,30W" coordinates as signed degrees."""
    out = []
    for text in (lat, lon):
        match = _gps_pattern().match(text.strip())
        if not match:
            return None
        deg, minutes, seconds, ref = match.groups()
        value = float(deg) + float(minutes) / 60 + float(seconds or 0) / 3600
        out.append(-value if ref.upper() in "SW" else value)
    return (round(out[0], 6), round(out[1], 6))
