"""Make the example "suspect" images in examples/suspects/ from examples/stock/.

Each suspect is an altered copy of one stock photo, the kind of copy a
reverse image search should trace back to its source:

- resized.jpg: scaled to 50 % and saved at JPEG quality 70;
- recompressed.webp: re-encoded as WebP at quality 60;
- mirrored.jpg: flipped left-right;
- profile-square.jpg: centre square crop scaled to 400x400 (a profile picture).

suspects/unrelated.jpg (a photo that is not in stock/) is committed as a plain
copy and is not touched here. Outputs carry no EXIF. The script uses only
Pillow and the standard library, is deterministic and can be run from
anywhere, e.g. ``python examples/make_suspects.py`` from the repository root.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageOps

EXAMPLES = Path(__file__).resolve().parent
STOCK = EXAMPLES / "stock"
SUSPECTS = EXAMPLES / "suspects"

PROFILE_SIDE = 400


def load(name: str) -> Image.Image:
    """Open a stock photo, upright (EXIF orientation applied) and in RGB."""
    with Image.open(STOCK / name) as im:
        upright = ImageOps.exif_transpose(im)
        return upright.convert("RGB")


def half_size(im: Image.Image) -> Image.Image:
    """Scale an image to 50 % in both directions."""
    size = (max(1, im.width // 2), max(1, im.height // 2))
    return im.resize(size, Image.Resampling.LANCZOS)


def unchanged(im: Image.Image) -> Image.Image:
    """Return the image as it is (only its encoding changes)."""
    return im


def profile_square(im: Image.Image) -> Image.Image:
    """Crop the centre square (side = shorter edge) and scale it to 400x400."""
    side = min(im.width, im.height)
    left = (im.width - side) // 2
    top = (im.height - side) // 2
    square = im.crop((left, top, left + side, top + side))
    return square.resize((PROFILE_SIDE, PROFILE_SIDE), Image.Resampling.LANCZOS)


# output name -> (stock photo, transform, Pillow save options)
Recipe = tuple[str, Callable[[Image.Image], Image.Image], dict[str, object]]

RECIPES: dict[str, Recipe] = {
    "resized.jpg": (
        "kphotoalbum__bar55.jpg",
        half_size,
        {"format": "JPEG", "quality": 70},
    ),
    "recompressed.webp": (
        "tuxpaint__mudstone.jpg",
        unchanged,
        {"format": "WEBP", "quality": 60, "method": 4},
    ),
    "mirrored.jpg": (
        "kphotoalbum__cold_water.jpg",
        ImageOps.mirror,
        {"format": "JPEG", "quality": 85},
    ),
    "profile-square.jpg": (
        "kphotoalbum__jesper.jpg",
        profile_square,
        {"format": "JPEG", "quality": 85},
    ),
}


def main() -> None:
    """Write every suspect listed in RECIPES into examples/suspects/."""
    SUSPECTS.mkdir(exist_ok=True)
    for out_name, (source, transform, options) in RECIPES.items():
        out = transform(load(source))
        out.save(SUSPECTS / out_name, **options)
        print(f"{out_name:<20} <- {source}")


if __name__ == "__main__":
    main()
