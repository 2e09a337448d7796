"""Open an image safely and turn it into upright 8-bit RGB pixels.

Decoding is the slow part of hashing, so JPEGs are decoded at a reduced scale
(Pillow's DCT-scaled ``draft`` mode) that still leaves at least ``WORK_SIZE``
pixels on each side: perceptual hashes only look at coarse structure.
"""

from __future__ import annotations

import io
import logging
import math
import os
import stat
import struct
import warnings
import zlib
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
#: Decoded images above this many pixels are box-reduced before anything else: hashes only
#: see coarse structure, and full-size work on a 170-megapixel canvas (a 20 KB PNG can
#: declare one) took 5 GB and 40 s. JPEGs are already reduced while decoding (``draft``).
MAX_WORK_PIXELS = 4096 * 4096

#: Extensions that the folder walker treats as images.
IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"}
)
_OPTIONAL_EXTENSIONS = {".heic": ".heif", ".heif": ".heif", ".avif": ".avif"}
#: Extensions a folder walk picks up: readable ones, and those that need a plugin, so that a
#: HEIC photo without the plugin is reported (and counted) instead of silently left out.
KNOWN_EXTENSIONS = IMAGE_EXTENSIONS | frozenset(_OPTIONAL_EXTENSIONS)
#: ISO-BMFF brands (bytes 8-12 of the file) of images that need an optional plugin.
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})

Image.MAX_IMAGE_PIXELS = MAX_PIXELS
ImageFile.LOAD_TRUNCATED_IMAGES = False


def _silence_libtiff() -> None:
    """Stop libtiff from printing its errors on stderr ("ZIPDecode: Decoding error ...").

    Pillow raises them as exceptions anyway; printed as well, they would put a second line
    next to revimg's one-line error for a damaged TIFF. Best effort: the libtiff that
    Pillow loaded is found in this process's memory map (Linux) or beside Pillow.
    """
    import ctypes

    try:
        from PIL import _imaging  # noqa: F401 - loads libtiff

        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            paths = {line.split()[-1] for line in maps if "libtiff" in line.split("/")[-1]}
    except (OSError, ImportError):
        import PIL

        here = Path(PIL.__file__).parent
        paths = {
            str(p)
            for p in (*here.parent.glob("pillow.libs/libtiff*"), *here.glob(".dylibs/libtiff*"))
        }
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
            for setter in (lib.TIFFSetErrorHandler, lib.TIFFSetWarningHandler):
                setter.argtypes = [ctypes.c_void_p]
                setter.restype = ctypes.c_void_p
                setter(None)
        except (OSError, AttributeError):
            continue


_silence_libtiff()
# Pillow logs some refusals at ERROR level ("More samples per pixel than can be decoded");
# with no logging set up, Python would print them on stderr next to revimg's own line.
logging.getLogger("PIL").addHandler(logging.NullHandler())


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
    """Read a whole image file, refusing directories, devices and oversized files.

    A named pipe is read without waiting for a writer (an abandoned one reads as empty),
    and no read goes past ``MAX_FILE_BYTES``: a link to ``/dev/zero`` or a file that grows
    while it is read cannot take unbounded time or memory.
    """
    label = name or str(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise ImageError(label, "no such file") from None
    except PermissionError:
        raise ImageError(label, "permission denied") from None
    except IsADirectoryError:
        raise ImageError(label, "is a directory, not an image") from None
    except OSError as exc:
        raise ImageError(label, f"cannot read file ({exc.strerror or exc})") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise ImageError(label, "is a directory, not an image")
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISFIFO(st.st_mode)):
            raise ImageError(label, "is a device or socket, not an image file")
        if st.st_size > MAX_FILE_BYTES:
            raise ImageError(
                label, f"file is too large ({st.st_size} bytes, limit {MAX_FILE_BYTES})"
            )
        if stat.S_ISFIFO(st.st_mode):
            os.set_blocking(fd, True)  # a writer is there: wait for its data
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise ImageError(label, f"file is too large (over {MAX_FILE_BYTES} bytes)")
        return data
    except ImageError:
        raise
    except OSError as exc:
        raise ImageError(label, f"cannot read file ({exc.strerror or exc})") from None
    finally:
        os.close(fd)


class Decoded(NamedTuple):
    """An upright RGB image plus the full-resolution size of the upright photo."""

    image: Image.Image
    width: int
    height: int


#: What Pillow's decoders raise on malformed data (libavif's errors come as RuntimeError).
_DECODER_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    TypeError,
    IndexError,
    KeyError,
    RuntimeError,
    ArithmeticError,
    struct.error,
    zlib.error,
)


def decode(data: bytes, name: str) -> Decoded:
    """Decode image bytes into an upright RGB image (first frame of animations).

    JPEGs come back downscaled by the draft decode, and other images above
    ``MAX_WORK_PIXELS`` box-reduced; ``width``/``height`` give the photo's real upright size.

    Raises:
        ImageError: empty, truncated, unsupported, oversized or otherwise unreadable data.
    """
    if not data:
        raise ImageError(name, "file is empty")
    try:
        with warnings.catch_warnings():
            # Pillow warns about corrupt EXIF and odd palettes on stderr; the photo is still
            # read, so a stranger's file must not print a warning. Bombs stay errors.
            warnings.simplefilter("ignore")
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
            if img.width * img.height > MAX_WORK_PIXELS:
                upright, swapped = _shrink_upright(img)
            else:
                upright = _upright(img)
                swapped = upright.size != img.size
            if swapped:  # rotated by 90 degrees: swap the full-size sides
                width, height = height, width
            return Decoded(to_rgb(upright), width, height)
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(name, _unidentified_reason(data)) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(
            name, f"image is too large (decompression bomb, limit {MAX_PIXELS} pixels)"
        ) from None
    except MemoryError:
        raise ImageError(name, "image is too large to decode in memory") from None
    except _DECODER_ERRORS as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "truncated" in reason.lower():
            reason = "image file is truncated"
        elif reason == "could not create decoder object":  # libwebp's word for bad data
            reason = "corrupt or truncated image data"
        elif reason.startswith("decoder error"):  # Pillow's code for broken data
            reason = f"corrupt image data, {reason}"
        elif "decompressed data too large" in reason.lower():  # a zTXt/iCCP bomb in a PNG
            reason = "a metadata chunk inflates past the safety limit (decompression bomb)"
        raise ImageError(name, f"cannot decode image ({reason})") from None


#: File signatures of formats Pillow reads: a file that starts like one but is not
#: recognised is damaged, not of an unknown kind.
_SIGNATURES = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)


def _unidentified_reason(data: bytes) -> str:
    """Why Pillow recognised no format: a damaged known format, or one needing a plugin."""
    for signature, kind in _SIGNATURES:
        if data.startswith(signature):
            return f"corrupt or truncated {kind} file"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "corrupt or truncated WebP file"
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in _HEIF_BRANDS:
            return (
                "HEIC/HEIF image: reading it needs the heif extra (pip install 'revimg-cli[heif]')"
            )
        if brand in _AVIF_BRANDS and ".avif" not in Image.registered_extensions():
            return "AVIF image: reading it needs a Pillow with AVIF support (11.3 or newer)"
    return "not an image, or a format that cannot be read"


_ORIENTATION_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


#: Modes whose huge images are reduced band by band: the colour bands kept.
_COLOUR_BANDS = {
    "RGBA": ("R", "G", "B"),
    "RGBX": ("R", "G", "B"),
    "RGBa": ("R", "G", "B"),
    "LA": ("L",),
    "La": ("L",),
}


def _shrink_upright(img: Image.Image) -> tuple[Image.Image, bool]:
    """Box-reduce a huge image to about ``MAX_WORK_PIXELS``, then apply its EXIF orientation.

    Reducing first keeps the work (and memory) bounded: the orientation is read from the
    stored image, whose metadata the reduced copy does not carry. Returns the image and
    whether its sides were swapped (a quarter turn).
    """
    try:
        orientation = img.getexif().get(0x0112)
    except Exception:  # noqa: BLE001 - broken EXIF: keep the image as stored
        orientation = None
    factor = math.ceil(math.sqrt(img.width * img.height / MAX_WORK_PIXELS))
    if img.mode == "1":
        small = img.convert("L").reduce(factor)
    elif img.mode in _COLOUR_BANDS:
        # band by band, alpha dropped as to_rgb drops it: reducing the whole image made a
        # second full-size copy first (1.5 GB for a 735 KB PNG of 13,400 x 13,400 RGBA)
        bands = [img.getchannel(band).reduce(factor) for band in _COLOUR_BANDS[img.mode]]
        small = bands[0] if len(bands) == 1 else Image.merge("RGB", bands)
    elif img.mode in ("P", "PA"):
        small = to_rgb(img).reduce(factor)  # palette indices cannot be averaged
    else:
        try:
            small = img.reduce(factor)
        except ValueError:  # a mode Pillow cannot reduce (16-bit and rarer ones)
            small = to_rgb(img).reduce(factor)
    transpose = _ORIENTATION_TRANSPOSE.get(orientation) if isinstance(orientation, int) else None
    if transpose is None:
        return small, False
    return small.transpose(transpose), orientation in (5, 6, 7, 8)


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
    ``tests/imaging/test_pdq_conformance.py`` holds revimg to the reference hashes on such images.
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
