"""Open an image safely and turn it into upright 8-bit RGB pixels.

Decoding is the slow part of hashing, so JPEGs are decoded at a reduced scale
(Pillow's DCT-scaled ``draft`` mode) that still leaves at least ``WORK_SIZE``
pixels on each side: perceptual hashes only look at coarse structure.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from revimg.errors import ImageError

#: Smallest side, in pixels, that the draft decode may go down to.
WORK_SIZE = 512
#: Declared canvases above this many pixels are refused (decompression bombs).
MAX_PIXELS = 180_000_000
#: Files above this size are refused before decoding.
MAX_FILE_BYTES = 256 * 1024 * 1024

#: Extensions that the folder walker treats as images.
IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"}
)
_OPTIONAL_EXTENSIONS = {".heic": ".heif", ".heif": ".heif", ".avif": ".avif"}

Image.MAX_IMAGE_PIXELS = MAX_PIXELS
ImageFile.LOAD_TRUNCATED_IMAGES = False


def _register_optional_plugins() -> set[str]:
    """Register HEIC/AVIF openers when their Pillow plugins are installed."""
    found: set[str] = set()
    try:
        import pillow_heif  # type: ignore[import-not-found]

        pillow_heif.register_heif_opener()
        found.update({".heic", ".heif"})
        if hasattr(pillow_heif, "register_avif_opener"):
            pillow_heif.register_avif_opener()
            found.add(".avif")
    except Exception:  # noqa: BLE001 - an optional plugin that fails to load is simply absent
        pass
    try:
        import pillow_avif  # type: ignore[import-not-found]  # noqa: F401

        found.add(".avif")
    except Exception:  # noqa: BLE001
        pass
    if ".avif" in Image.registered_extensions():
        found.add(".avif")
    return found


_PLUGIN_EXTENSIONS: set[str] | None = None


def image_extensions() -> frozenset[str]:
    """Extensions that can be decoded here (optional plugins included when present)."""
    global _PLUGIN_EXTENSIONS
    if _PLUGIN_EXTENSIONS is None:
        _PLUGIN_EXTENSIONS = _register_optional_plugins()
    return IMAGE_EXTENSIONS | _PLUGIN_EXTENSIONS


def read_bytes(path: Path, name: str | None = None) -> bytes:
    """Read a whole image file, refusing directories and oversized files."""
    label = name or str(path)
    try:
        if path.is_dir():
            raise ImageError(label, "is a directory, not an image")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ImageError(label, f"file is too large ({size} bytes, limit {MAX_FILE_BYTES})")
        return path.read_bytes()
    except ImageError:
        raise
    except FileNotFoundError:
        raise ImageError(label, "no such file") from None
    except PermissionError:
        raise ImageError(label, "permission denied") from None
    except OSError as exc:
        raise ImageError(label, f"cannot read file ({exc.strerror or exc})") from None


class Decoded(NamedTuple):
    """An upright RGB image plus the full-resolution size of the upright photo."""

    image: Image.Image
    width: int
    height: int


def decode(data: bytes, name: str) -> Decoded:
    """Decode image bytes into an upright RGB image (first frame of animations).

    JPEGs come back downscaled by the draft decode; ``width``/``height`` give the
    photo's real upright size.

    Raises:
        ImageError: empty, truncated, unsupported, oversized or otherwise unreadable data.
    """
    if not data:
        raise ImageError(name, "file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            width, height = img.size
            if width <= 0 or height <= 0:
                raise ImageError(name, "image has no pixels")
            if width * height > MAX_PIXELS:
                raise ImageError(
                    name, f"image is too large ({width}x{height} pixels, limit {MAX_PIXELS})"
                )
            if img.format == "JPEG":
                img.draft("RGB", (WORK_SIZE, WORK_SIZE))
            img.load()
            upright = _upright(img)
            if upright.size != img.size:  # rotated by 90 degrees: swap the full-size sides
                width, height = height, width
            return Decoded(to_rgb(upright), width, height)
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(name, "not an image, or a format that cannot be read") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(
            name, f"image is too large (decompression bomb, limit {MAX_PIXELS} pixels)"
        ) from None
    except MemoryError:
        raise ImageError(name, "image is too large to decode in memory") from None
    except (OSError, SyntaxError, ValueError, EOFError, TypeError, IndexError, KeyError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "truncated" in reason.lower():
            reason = "image file is truncated"
        raise ImageError(name, f"cannot decode image ({reason})") from None


def _upright(img: Image.Image) -> Image.Image:
    """Apply the EXIF orientation tag; a corrupt EXIF block leaves the image as stored."""
    try:
        return ImageOps.exif_transpose(img)
    except Exception:  # noqa: BLE001 - broken EXIF must not make a photo unreadable
        return img


def to_rgb(img: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB the way the PDQ reference tools do.

    Hash banks are made by other tools (Meta's python-threatexchange hashes
    ``Image.convert("RGB")``), so revimg converts exactly as they do, to produce the same
    hashes: alpha is dropped (the colour under transparent pixels is kept), palette
    images take their palette colours, CMYK (and YCCK JPEGs, which Pillow reads as CMYK)
    go through Pillow's conversion, and 16-bit greyscale clips at 255 as Pillow does.
    ``tests/test_pdq_conformance.py`` holds revimg to the reference hashes on such images.
    """
    if img.mode == "RGB":
        return img
    if img.mode in ("I", "F") and img.getextrema() is not None:
        # 32-bit images have no agreed 8-bit form; clip like the 16-bit case.
        arr = np.clip(np.asarray(img, dtype=np.float64), 0, 255).astype(np.uint8)
        return Image.fromarray(arr).convert("RGB")
    return img.convert("RGB")


def load(path: Path, name: str | None = None) -> tuple[bytes, Decoded]:
    """Read and decode a file; returns the raw bytes and the upright RGB image."""
    label = name or str(path)
    data = read_bytes(path, label)
    return data, decode(data, label)
