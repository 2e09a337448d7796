"""Collecting field values from all blocks, then building the :class:`Provenance`.

The block parsers (:mod:`.xmp`, :mod:`.iptc`, :mod:`.exif`) add each value with the block
it came from; :class:`Fields` keeps them in the order added, which is the priority order
when blocks disagree (XMP, then IPTC, then EXIF, then PNG text). :meth:`Fields.build`
picks the first value of each field, names the stock agencies and gathers the AI signals.
"""

from __future__ import annotations

from collections.abc import Iterator

from revimg.provenance import sourcetypes
from revimg.provenance.agencies import (
    agency_hits,
    generator,
    has_a1111_settings,
    looks_like_generator_settings,
)
from revimg.provenance.model import C2paInfo, Provenance
from revimg.provenance.text import clean, looks_like_url, unique

#: Fields whose values are searched for stock agency names.
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
#: Fields whose values are searched for AI generator names, and how findings call them.
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
#: PNG text chunks that generators fill with their settings.
_SETTINGS_KEYS = ("parameters", "prompt", "workflow", "invokeai_metadata", "sd-metadata", "dream")


class Fields:
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
        """Keep a value (cleaned; empty values and repeats are dropped)."""
        text = clean(value)
        if not text:
            return
        entries = self.values.setdefault(name, [])
        if (text, block) not in entries:
            entries.append((text, block))

    def first(self, name: str) -> str | None:
        """The highest-priority value of a field."""
        entries = self.values.get(name)
        return entries[0][0] if entries else None

    def all(self, *names: str) -> list[tuple[str, str, str]]:
        """(field, value, block) of every value of these fields."""
        return [(n, v, b) for n in names for v, b in self.values.get(n, [])]

    def found_block(self, name: str) -> None:
        """Note that a metadata block (exif, iptc, xmp, c2pa, png-text) is present."""
        if name not in self.blocks:
            self.blocks.append(name)

    def add_png_text(self, text: dict[str, str]) -> None:
        """The PNG text chunks kept by the container walker."""
        if not text:
            return
        self.found_block("png-text")
        self.add("png_software", text.get("software"), "png-text")
        self.add("byline", text.get("author"), "png-text")
        self.add("copyright", text.get("copyright"), "png-text")
        self.add("title", text.get("title"), "png-text")
        self.add("caption", text.get("description"), "png-text")
        self.png_text = text

    def build(
        self, source: str, fmt: str | None, c2pa: C2paInfo, *, include_gps: bool
    ) -> Provenance:
        """The result: first value of each field, stock agencies and AI signals."""
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
        dst = sourcetypes.bare_term(dst_raw) if dst_raw else None
        creators = unique(v for v, _ in self.values.get("byline", []))
        licensors = unique(v for v, _ in self.values.get("licensor", []) if looks_like_url(v))
        if c2pa.present:
            self.found_block("c2pa")
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
            stock_agencies=tuple(agency_hits(self.all(*_STOCK_FIELDS))),
            ai_signals=tuple(unique(self._ai_signals(dst, c2pa))),
            c2pa=c2pa,
            blocks=tuple(self.blocks),
            problems=tuple(unique(self.problems)),
        )

    def _ai_signals(self, dst: str | None, c2pa: C2paInfo) -> Iterator[str]:
        if dst:
            line = sourcetypes.signal(dst, "IPTC digital source type")
            if line:
                yield line
        yield from self.c2pa_signals
        for name, value, _block in self.all(*_GENERATOR_LABELS):
            found = generator(value, strict=name in ("credit", "byline"))
            if found:
                yield f"{_GENERATOR_LABELS[name]} names an AI image generator: {found}"
        if c2pa.generator:
            found = generator(c2pa.generator, strict=False)
            if found:
                yield f"C2PA manifest was made by an AI image generator: {found}"
        for key in _SETTINGS_KEYS:
            setting = self.png_text.get(key)
            if setting and looks_like_generator_settings(key, setting):
                yield f"PNG text '{key}' holds AI image-generator settings"
        if self.user_comment and has_a1111_settings(self.user_comment):
            yield "EXIF user comment holds Stable Diffusion generation settings"


def _camera(make: str | None, model: str | None) -> str | None:
    """ "Canon" + "Canon EOS 5D" reads as "Canon EOS 5D"; NIKON CORPORATION + NIKON D3 too."""
    if not model:
        return make
    if not make or model.lower().startswith(make.split()[0].lower()):
        return model
    return f"{make} {model}"
