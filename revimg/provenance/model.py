"""The results of :func:`revimg.provenance.inspect` and the findings text people read.

:class:`Provenance` holds everything a photo's metadata says about where it came from,
:class:`AgencyHit` one stock agency named by one field, and :class:`C2paInfo` the C2PA
content credentials. All three are frozen dataclasses with a ``to_dict()`` for JSON, and
``Provenance.findings()`` words them as short plain-English lines. This module is what
``import revimg.provenance`` loads; the readers that fill it are imported on first use.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from revimg.provenance.text import short


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
                lines.append(f"{label}: {short(value)}")
        if self.digital_source_type and not self.ai_signals:
            from revimg.provenance.sourcetypes import meaning

            known = meaning(self.digital_source_type)
            detail = f" ({known})" if known else ""
            lines.append(f"IPTC digital source type: {self.digital_source_type}{detail}")
        if self.camera:
            lines.append(f"Camera: {short(self.camera)}")
        if self.taken:
            lines.append(f"Date taken: {self.taken.replace('T', ' ')}")
        if self.software:
            from revimg.provenance.agencies import generator

            if not generator(self.software, strict=False):
                lines.append(f"Software: {short(self.software)}")
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
                    parts.append(f"made with {short(c2pa.generator)}")
                if c2pa.signer:
                    parts.append(f"signed by {short(c2pa.signer)}")
                parts.append(_VALIDATION_TEXT.get(c2pa.validation or "", str(c2pa.validation)))
                yield "C2PA manifest: " + "; ".join(parts)
        if c2pa.remote_url:
            yield f"C2PA manifest is stored online (not fetched): {short(c2pa.remote_url)}"


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
