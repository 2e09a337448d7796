"""Prepare a photo for upload: upright JPEG, no metadata, within a provider's size limit.

Every upload is re-encoded, so EXIF (camera, GPS position, dates) and other metadata never
leave the machine, and big photos are downscaled (SerpApi's Image API takes at most
500 KB; Vision's JSON body at most 10 MB, base64 included).
"""

from __future__ import annotations

import io

from revimg.errors import ProviderError

#: Longest side of an uploaded photo: plenty for web-scale matching (Vision: 640x480 is enough).
MAX_SIDE = 1600
_QUALITIES = (90, 82, 74, 66)
_MIN_SIDE = 160


def prepare_upload(
    data: bytes, *, provider: str, max_bytes: int, max_side: int = MAX_SIDE
) -> bytes:
    """JPEG bytes of the upright photo, without metadata, at most ``max_bytes`` long.

    Raises:
        ProviderError: the photo cannot be decoded, or cannot be made small enough.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    from revimg.imaging.decoding import MAX_PIXELS, to_rgb

    try:
        img: Image.Image = Image.open(io.BytesIO(data))
        if img.width * img.height > MAX_PIXELS:
            raise ValueError("image is too large")
        if img.format == "JPEG":
            img.draft("RGB", (max_side, max_side))
        img.load()
        try:
            img = ImageOps.exif_transpose(img)
        except Exception:  # noqa: BLE001 - broken EXIF: send the photo as stored
            pass
        if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
            rgba = img.convert("RGBA")
            canvas = Image.new("RGB", rgba.size, "white")
            canvas.paste(rgba, mask=rgba.getchannel("A"))
            img = canvas
        else:
            img = to_rgb(img)
        img.info = {}  # Pillow would copy a JPEG comment from here into the upload
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        OSError,
        ValueError,
        SyntaxError,
        EOFError,
    ) as exc:
        raise ProviderError(
            provider, f"could not prepare the photo for upload ({exc})", kind="prepare"
        ) from None

    img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    while True:
        for quality in _QUALITIES:
            out = io.BytesIO()
            # No exif=, icc_profile=, xmp= or comment=: nothing of the source's metadata.
            img.save(out, "JPEG", quality=quality, optimize=True)
            if out.tell() <= max_bytes:
                return out.getvalue()
        if min(img.size) * 3 // 4 < _MIN_SIDE:
            raise ProviderError(
                provider,
                f"could not make the photo small enough to upload (limit {max_bytes // 1024} KB)",
                kind="prepare",
            )
        img = img.resize((img.width * 3 // 4, img.height * 3 // 4), Image.Resampling.LANCZOS)
