"""What a photo says about itself: EXIF, IPTC, XMP and C2PA provenance.

A stolen stock photo often still carries its agency's credit line, and a generated face
may carry an "AI-generated" label or a C2PA manifest. :func:`inspect` reads these blocks
from JPEG, PNG, WebP and TIFF files (EXIF and XMP from other formats Pillow opens), flags
stock agencies and AI signals, and reports broken blocks as problems instead of raising.
Importing this package loads only the result types; the readers load on first use.

Modules: ``model`` (the results and their findings text), ``containers`` (finding blocks
in JPEG/PNG/WebP/TIFF), ``xmp``, ``iptc`` and ``exif`` (parsing them), ``c2pa`` (content
credentials), ``agencies`` (stock agency and AI generator names), ``sourcetypes`` (IPTC
digital source types), ``fields`` (merging values into a result), ``reader`` (one file,
start to end), ``text`` (safe one-line text) and ``limits`` (size caps).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from revimg.provenance.limits import MAX_BLOCK_BYTES, MAX_JUMBF_BYTES, MAX_TEXT, MAX_XMP_VALUES
from revimg.provenance.model import AgencyHit, C2paInfo, Provenance

if TYPE_CHECKING:
    from revimg.provenance.agencies import stock_agencies_in
    from revimg.provenance.reader import inspect

__all__ = [
    "MAX_BLOCK_BYTES",
    "MAX_JUMBF_BYTES",
    "MAX_TEXT",
    "MAX_XMP_VALUES",
    "AgencyHit",
    "C2paInfo",
    "Provenance",
    "inspect",
    "stock_agencies_in",
]


def __getattr__(name: str) -> object:
    """Load inspect() and stock_agencies_in() on first use (PEP 562).

    They bring Pillow, the block parsers and the name patterns, which the result types
    do not need. Once loaded, each is kept as a module global and found without this hook.
    """
    if name == "inspect":
        from revimg.provenance import reader

        value: object = reader.inspect
    elif name == "stock_agencies_in":
        from revimg.provenance import agencies

        value = agencies.stock_agencies_in
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value
