"""Reading one file: open it with Pillow, collect its blocks, parse them, build the result.

:func:`inspect` is re-exported by ``revimg.provenance``, which imports this module on first
use. The XMP, IPTC and C2PA parsers are imported only when a file has such a block, so a
photo without them never loads them (or expat); EXIF, which most photos have, always is.
Pillow opens the file lazily: only the header is read, and no pixel is decoded.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, UnidentifiedImageError

from revimg.errors import ImageError
from revimg.provenance import containers
from revimg.provenance.exif import add_exif  # most photos have EXIF: no lazy import
from revimg.provenance.fields import Fields
from revimg.provenance.model import C2paInfo, Provenance


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
        raw = containers.collect(data, img)
        fields = Fields(raw.problems)
        _parse(raw, fields)  # inside the with: a TIFF's EXIF is read from the open image
    if raw.jumbf or fields.first("c2pa_remote"):
        from revimg.provenance import c2pa

        c2pa_info = c2pa.read(data, fmt, raw.jumbf, fields)
    else:
        c2pa_info = C2paInfo()  # no embedded manifest and no link to one
    return fields.build(source, fmt, c2pa_info, include_gps=include_gps)


def _parse(raw: containers.Raw, fields: Fields) -> None:
    """Parse the blocks in priority order: XMP, then IPTC, then EXIF, then PNG text."""
    if raw.xmp:
        from revimg.provenance.xmp import add_xmp

        for packet in raw.xmp:
            add_xmp(fields, packet)
    if raw.irb or raw.iim:
        from revimg.provenance.iptc import add_iim, add_irb

        for irb in raw.irb:
            add_irb(fields, irb)
        for iim in raw.iim:
            add_iim(fields, iim)
    for exif in raw.exif:
        add_exif(fields, exif)
    fields.add_png_text(raw.png_text)


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
