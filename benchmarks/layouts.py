"""Screenshots made from one photo: what a scam victim holds, rather than the photo file.

Each layout draws the photo into a phone screenshot (1080 x 2340) or a desktop web page
(1920 x 1080) with Pillow only, deterministically for a given ``random.Random``, and
returns the screenshot and the box (left, top, right, bottom as fractions of the
screenshot's width and height) where the photo, or the part of it that shows, was drawn.

    from layouts import LAYOUTS
    shot, box = LAYOUTS["chat-bubble"](photo, random.Random(7))
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

PHONE = (1080, 2340)
DESKTOP = (1920, 1080)
RGB = tuple[int, int, int]
Box = tuple[float, float, float, float]
Layout = Callable[[Image.Image, random.Random], tuple[Image.Image, Box]]

WHITE: RGB = (255, 255, 255)
BLACK: RGB = (0, 0, 0)

WORDS = (
    "the of and to in is you that it he was for on are as with his they at be this have "
    "from or one had by word but not what all were we when your can said there use an each "
    "which she do how their if will up other about out many then them these so some her "
    "would make like him into time has look two more write go see number no way could "
    "people my than first water been call who oil its now find long down day did get come "
    "made may part tonight weekend coffee really love miss honey sweet dinner soon work "
    "travel beach photo happy tomorrow morning call later sure thanks great haha okay nice"
).split()
NAMES = (
    "Anna Mark Sofia James Elena David Maria Lucas Olivia Daniel Chloe Ryan Emma Victor "
    "Grace Adam Julia Nathan Laura Kevin Sarah Leo Nina Paul Rosa Tom Ivy Omar Mia Jack"
).split()
AVATAR_COLOURS: list[RGB] = [
    (239, 83, 80),
    (236, 64, 122),
    (171, 71, 188),
    (92, 107, 192),
    (41, 182, 246),
    (38, 166, 154),
    (102, 187, 106),
    (255, 167, 38),
    (141, 110, 99),
    (120, 144, 156),
]


# --- shared helpers ------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's scalable default font at ``size`` pixels."""
    return ImageFont.load_default(size=size)


def text(
    draw: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    s: str,
    size: int,
    fill: RGB,
    *,
    bold: bool = False,
    anchor: str = "la",
) -> float:
    """Draw ``s``; bold-ish is a thin stroke in the same colour. Returns the text's width."""
    stroke = max(1, size // 28) if bold else 0
    draw.text(
        xy, s, fill=fill, font=font(size), anchor=anchor, stroke_width=stroke, stroke_fill=fill
    )
    return draw.textlength(s, font=font(size))


def words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def clock(rng: random.Random) -> str:
    return f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}"


def wrap(draw: ImageDraw.ImageDraw, s: str, width: float, size: int) -> list[str]:
    """Split ``s`` into lines no wider than ``width`` pixels."""
    lines: list[str] = []
    line = ""
    for word in s.split():
        trial = f"{line} {word}".strip()
        if line and draw.textlength(trial, font=font(size)) > width:
            lines.append(line)
            line = word
        else:
            line = trial
    return [*lines, line] if line else lines


def line_of_words(draw: ImageDraw.ImageDraw, rng: random.Random, width: float, size: int) -> str:
    """Random words filling about ``width`` pixels."""
    line = rng.choice(WORDS)
    while True:
        trial = f"{line} {rng.choice(WORDS)}"
        if draw.textlength(trial, font=font(size)) > width:
            return line
        line = trial


def text_lines(
    draw: ImageDraw.ImageDraw,
    rng: random.Random,
    x: float,
    y: float,
    width: float,
    n: int,
    size: int,
    fill: RGB,
    spacing: float = 1.5,
) -> float:
    """A paragraph of ``n`` lines of random words, the last one shorter; returns its bottom."""
    for i in range(n):
        last = i == n - 1
        line = line_of_words(
            draw, rng, width * rng.uniform(*((0.3, 0.8) if last else (0.9, 1))), size
        )
        text(
            draw,
            (x, y),
            (line.capitalize() if i == 0 else line) + ("." if last else ""),
            size,
            fill,
        )
        y += size * spacing
    return y


def rounded_mask(size: tuple[int, int], radius: float, scale: int = 3) -> Image.Image:
    """An anti-aliased rounded-rectangle mask ("L"); a circle when radius is half the side."""
    w, h = size
    big = Image.new("L", (w * scale, h * scale), 0)
    ImageDraw.Draw(big).rounded_rectangle(
        (0, 0, w * scale - 1, h * scale - 1), radius=radius * scale, fill=255
    )
    return big.resize(size, Image.Resampling.BOX)


def circle_mask(d: int) -> Image.Image:
    return rounded_mask((d, d), d / 2)


def fit(photo: Image.Image, w: int, h: int) -> Image.Image:
    """The whole photo scaled to fit inside w x h."""
    s = min(w / photo.width, h / photo.height)
    size = (max(1, round(photo.width * s)), max(1, round(photo.height * s)))
    return photo.resize(size, Image.Resampling.LANCZOS)


def cover(photo: Image.Image, w: int, h: int, dx: float = 0.0, dy: float = 0.0) -> Image.Image:
    """The photo scaled to fill w x h, cropping the excess; dx, dy in [-1, 1] shift the crop."""
    if photo.width * h > photo.height * w:  # wider than the frame: crop the sides
        cw, ch = photo.height * w / h, float(photo.height)
    else:
        cw, ch = float(photo.width), photo.width * h / w
    left = (photo.width - cw) / 2 * (1 + dx)
    top = (photo.height - ch) / 2 * (1 + dy)
    return photo.resize((w, h), Image.Resampling.LANCZOS, box=(left, top, left + cw, top + ch))


def paste_rounded(canvas: Image.Image, im: Image.Image, xy: tuple[int, int], radius: float) -> None:
    canvas.paste(im, xy, rounded_mask(im.size, radius))


def shade(
    canvas: Image.Image,
    box: tuple[int, int, int, int],
    colour: RGB,
    alpha: float,
    radius: float = 0,
) -> None:
    """Blend a (rounded) rectangle of ``colour`` over the canvas: translucent pills and bars."""
    box = (max(0, box[0]), max(0, box[1]), min(canvas.width, box[2]), min(canvas.height, box[3]))
    region = canvas.crop(box)
    blended = Image.blend(region, Image.new("RGB", region.size, colour), alpha)
    mask = rounded_mask(region.size, radius) if radius else None
    canvas.paste(blended, box[:2], mask)


def fraction(box: tuple[float, float, float, float], size: tuple[int, int]) -> Box:
    """Pixel box -> fractions of the screenshot, clipped to [0, 1]."""
    w, h = size
    left, top, right, bottom = box
    return (
        max(0.0, left / w),
        max(0.0, top / h),
        min(1.0, right / w),
        min(1.0, bottom / h),
    )


def status_bar(
    draw: ImageDraw.ImageDraw, rng: random.Random, width: int, height: int, fg: RGB
) -> None:
    """Clock on the left; signal, wi-fi and battery on the right (background drawn by caller)."""
    cy = height * 0.55
    text(draw, (54, cy), clock(rng), 38, fg, bold=True, anchor="lm")
    if rng.random() < 0.5:  # a notification icon or two
        for i in range(rng.randint(1, 2)):
            x = 190 + i * 46
            draw.rounded_rectangle((x, cy - 14, x + 28, cy + 14), 6, outline=fg, width=3)
    x = width - 54
    draw.rounded_rectangle((x - 56, cy - 15, x - 6, cy + 15), 6, outline=fg, width=3)
    level = rng.uniform(0.15, 1.0)
    draw.rectangle((x - 51, cy - 10, x - 51 + round(40 * level), cy + 10), fill=fg)
    draw.rectangle((x - 5, cy - 6, x, cy + 6), fill=fg)
    x -= 90
    for i in range(4):  # signal bars
        draw.rectangle((x + i * 10, cy + 12 - 7 * (i + 1), x + i * 10 + 6, cy + 14), fill=fg)
    x -= 52
    draw.pieslice((x - 22, cy - 16, x + 22, cy + 28), 225, 315, fill=fg)  # wi-fi


def nav_bar(draw: ImageDraw.ImageDraw, size: tuple[int, int], fg: RGB, buttons: bool) -> None:
    """Android's gesture pill, or its three buttons on a bar 120 px high."""
    w, h = size
    if not buttons:
        draw.rounded_rectangle((w / 2 - 140, h - 44, w / 2 + 140, h - 32), 6, fill=fg)
        return
    cy = h - 60
    light = sum(fg) > 384  # the buttons sit on a bar of the opposite shade
    draw.rectangle((0, h - 120, w, h), fill=(0, 0, 0) if light else (248, 248, 248))
    draw.polygon([(w * 0.25 + 18, cy - 20), (w * 0.25 + 18, cy + 20), (w * 0.25 - 16, cy)], fg)
    draw.ellipse((w / 2 - 20, cy - 20, w / 2 + 20, cy + 20), outline=fg, width=4)
    draw.rounded_rectangle((w * 0.75 - 18, cy - 18, w * 0.75 + 18, cy + 18), 4, outline=fg, width=4)


def back_arrow(draw: ImageDraw.ImageDraw, x: float, cy: float, fg: RGB, s: float = 26) -> None:
    draw.line((x, cy, x + 2 * s, cy), fill=fg, width=6)
    draw.line((x + 2, cy, x + s, cy - s), fill=fg, width=6)
    draw.line((x + 2, cy, x + s, cy + s), fill=fg, width=6)


def dots_menu(draw: ImageDraw.ImageDraw, x: float, cy: float, fg: RGB) -> None:
    for dy in (-18, 0, 18):
        draw.ellipse((x - 6, cy + dy - 6, x + 6, cy + dy + 6), fill=fg)


def search_icon(draw: ImageDraw.ImageDraw, x: float, cy: float, fg: RGB) -> None:
    draw.ellipse((x - 22, cy - 24, x + 14, cy + 12), outline=fg, width=5)
    draw.line((x + 10, cy + 8, x + 26, cy + 24), fill=fg, width=6)


def letter_avatar(
    canvas: Image.Image, rng: random.Random, xy: tuple[int, int], d: int, name: str = ""
) -> None:
    """A flat coloured circle with an initial, as apps show for contacts without a photo."""
    disc = Image.new("RGB", (d, d), rng.choice(AVATAR_COLOURS))
    letter = (name or rng.choice(NAMES))[0]
    text(ImageDraw.Draw(disc), (d / 2, d / 2), letter, round(d * 0.45), WHITE, anchor="mm")
    canvas.paste(disc, xy, circle_mask(d))


def photo_avatar(canvas: Image.Image, photo: Image.Image, xy: tuple[int, int], d: int) -> Box:
    """The photo's centre square in a circle of diameter ``d``; returns its box in pixels."""
    canvas.paste(cover(photo, d, d), xy, circle_mask(d))
    return (xy[0], xy[1], xy[0] + d, xy[1] + d)


def heart(draw: ImageDraw.ImageDraw, cx: float, cy: float, s: float, fill: RGB) -> None:
    r = s * 0.3
    draw.ellipse((cx - 2 * r, cy - r * 1.6, cx, cy + r * 0.4), fill=fill)
    draw.ellipse((cx, cy - r * 1.6, cx + 2 * r, cy + r * 0.4), fill=fill)
    draw.polygon(
        [(cx - 1.93 * r, cy - 0.3 * r), (cx + 1.93 * r, cy - 0.3 * r), (cx, cy + 2 * r)], fill
    )


def star(draw: ImageDraw.ImageDraw, cx: float, cy: float, s: float, fill: RGB) -> None:
    pts = []
    for i in range(10):
        r = s * (0.5 if i % 2 == 0 else 0.2)
        a = np.pi / 2 + i * np.pi / 5
        pts.append((cx + r * np.cos(a), cy - r * np.sin(a)))
    draw.polygon(pts, fill)


@dataclass(frozen=True)
class Theme:
    """Colours of one app in light or dark mode."""

    bg: RGB
    fg: RGB
    muted: RGB
    bar: RGB
    bar_fg: RGB
    accent: RGB
    out: RGB = WHITE  # sent bubble
    out_fg: RGB = BLACK
    inn: RGB = WHITE  # received bubble
    in_fg: RGB = BLACK
    dark: bool = False


# fmt: off
CHAT_THEMES: dict[str, tuple[Theme, Theme]] = {  # (light, dark)
    "whatsapp": (
        Theme((236, 229, 221), (17, 27, 33), (102, 119, 129), (0, 128, 105), WHITE, (0, 168, 132),
              (220, 248, 198), (17, 27, 33), WHITE, (17, 27, 33)),
        Theme((11, 20, 26), (233, 237, 239), (134, 150, 160), (31, 44, 52), (233, 237, 239),
              (0, 168, 132), (0, 92, 75), (233, 237, 239), (32, 44, 51), (233, 237, 239), True),
    ),
    "telegram": (
        Theme((196, 214, 176), BLACK, (120, 130, 140), (81, 125, 162), WHITE, (82, 136, 193),
              (239, 253, 222), BLACK, WHITE, BLACK),
        Theme((14, 22, 33), WHITE, (112, 128, 144), (23, 33, 43), WHITE, (100, 160, 220),
              (43, 82, 120), WHITE, (24, 37, 51), WHITE, True),
    ),
    "imessage": (
        Theme(WHITE, BLACK, (142, 142, 147), (246, 246, 248), BLACK, (0, 122, 255),
              (0, 122, 255), WHITE, (233, 233, 235), BLACK),
        Theme(BLACK, WHITE, (142, 142, 147), (22, 22, 24), WHITE, (10, 132, 255),
              (10, 132, 255), WHITE, (38, 38, 40), WHITE, True),
    ),
    "messenger": (
        Theme(WHITE, (5, 5, 5), (101, 103, 107), WHITE, (5, 5, 5), (160, 51, 255),
              (160, 51, 255), WHITE, (240, 240, 240), (5, 5, 5)),
        Theme(BLACK, (228, 230, 235), (176, 179, 184), BLACK, (228, 230, 235), (160, 51, 255),
              (120, 60, 230), WHITE, (48, 48, 48), (228, 230, 235), True),
    ),
}
# fmt: on


def chat_theme(rng: random.Random) -> Theme:
    light, dark = CHAT_THEMES[rng.choice(sorted(CHAT_THEMES))]
    return dark if rng.random() < 0.5 else light


def page_theme(rng: random.Random) -> Theme:
    """A plain app page: light or dark with some accent colour."""
    accent = rng.choice(
        [(0, 149, 246), (29, 155, 240), (24, 119, 242), (225, 48, 108), (0, 168, 132)]
    )
    if rng.random() < 0.5:
        return Theme(WHITE, (20, 20, 20), (110, 110, 115), WHITE, (20, 20, 20), accent)
    bg = rng.choice([BLACK, (18, 18, 18), (21, 32, 43)])
    return Theme(bg, (240, 240, 240), (140, 145, 150), bg, (240, 240, 240), accent, dark=True)


def phone_chrome(canvas: Image.Image, rng: random.Random, theme: Theme, status_h: int) -> None:
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((0, 0, canvas.width, status_h), fill=theme.bar)
    status_bar(draw, rng, canvas.width, status_h, theme.bar_fg)


# --- layouts ---------------------------------------------------------------------------


def messenger_fullscreen(photo: Image.Image, rng: random.Random) -> tuple[Image.Image, Box]:
    """The photo opened full screen in a messenger: black around it, bars over the top."""
    w, h = PHONE
    canvas = Image.new("RGB", PHONE, BLACK)
    status_h, top_h = rng.randint(90, 120), rng.randint(140, 180)
    bottom_h = rng.choice([0, 0, 160, 190])
    between = rng.random() < 0.35  # some viewers fit the photo between the bars
    area = (0, status_h + top_h, w, h - bottom_h - 90) if between else (0, 0, w, h)
    im = fit(photo, area[2] - area[0], area[3] - area[1])
    x = area[0] + (area[2] - area[0] - im.width) // 2
    y = area[1] + (area[3] - area[1] - im.height) // 2
    canvas.paste(im, (x, y))
    alpha = rng.uniform(0.35, 0.65)
    shade(canvas, (0, 0, w, status_h + top_h), BLACK, alpha)
    draw = ImageDraw.Draw(canvas)
    status_bar(draw, rng, w, status_h, WHITE)
    cy = status_h + top_h / 2
    back_arrow(draw, 44, cy, WHITE)
    name = rng.choice(NAMES) + (f" {rng.choice(NAMES)[0]}." if rng.random() < 0.5 else "")
    if rng.random() < 0.6:
        text(draw, (150, cy - 24), name, 46, WHITE, bold=True, anchor="lm")
        when = rng.choice(["Today", "Yesterday", f"{rng.randint(1, 28)} March"])
        text(draw, (150, cy + 28), f"{when}, {clock(rng)}", 34, (200, 200, 200), anchor="lm")
    else:
        text(draw, (150, cy), name, 50, WHITE, bold=True, anchor="lm")
    for i in range(rng.randint(1, 3)):  # share / star / menu icons
        ix = w - 60 - i * 110
        if i == 0:
            dots_menu(draw, ix, cy, WHITE)
        else:
            draw.ellipse((ix - 24, cy - 24, ix + 24, cy + 24), outline=WHITE, width=5)
    if bottom_h:
        top = h - bottom_h - 90
        shade(canvas, (0, top, w, h), BLACK, alpha)
        draw = ImageDraw.Draw(canvas)
        by = top + bottom_h / 2
        for i in range(4):
            bx = w * (i + 0.5) / 4
            if i == 1:
                star(draw, bx, by, 64, WHITE)
            elif i == 2:
                draw.polygon(
                    [
                        (bx - 28, by + 26),
                        (bx - 28, by - 4),
                        (bx + 6, by - 4),
                        (bx + 6, by - 22),
                        (bx + 32, by + 4),
                        (bx + 6, by + 28),
                    ],
                    WHITE,
                )
            else:
                draw.rounded_rectangle(
                    (bx - 26, by - 26, bx + 26, by + 26), 8, outline=WHITE, width=5
                )
    nav_bar(ImageDraw.Draw(canvas), PHONE, WHITE, rng.random() < 0.3)
    return canvas, fraction((x, y, x + im.width, y + im.height), PHONE)


def _chat_bubble_text(
    canvas: Image.Image, rng: random.Random, theme: Theme, y: float, up: bool
) -> float:
    """One text bubble, its bottom at ``y`` (up) or its top at ``y``; returns its other edge."""
    draw = ImageDraw.Draw(canvas)
    w = canvas.width
    size = 42
    lines = wrap(draw, words(rng, rng.randint(1, 22)), w * 0.62, size)
    width = max(draw.textlength(line, font=font(size)) for line in lines)
    width = max(width + 150, 260)  # room for the time stamp
    height = len(lines) * size * 1.3 + 70
    sent = rng.random() < 0.5
    x0 = w - 36 - width if sent else 36
    y0 = y - height if up else y
    draw.rounded_rectangle(
        (x0, y0, x0 + width, y0 + height), 30, fill=theme.out if sent else theme.inn
    )
    fg = theme.out_fg if sent else theme.in_fg
    for i, line in enumerate(lines):
        text(draw, (x0 + 32, y0 + 26 + i * size * 1.3), line, size, fg)
    text(draw, (x0 + width - 24, y0 + height - 16), clock(rng), 28, fg, anchor="rb")
    gap = rng.choice([12, 16, 40])
    return y0 - gap if up else y0 + height + gap


def chat_bubble(photo: Image.Image, rng: random.Random) -> tuple[Image.Image, Box]:
    """A chat where the photo was sent: a rounded bubble with a time stamp on the photo."""
    w, h = PHONE
    theme = chat_theme(rng)
    canvas = Image.new("RGB", PHONE, theme.bg)
    status_h, bar_h, input_h = rng.randint(90, 120), rng.randint(150, 180), rng.randint(140, 170)
    buttons = rng.random() < 0.3
    nav_h = 120 if buttons else rng.choice([50, 70])
    chat_top, chat_bottom = status_h + bar_h, h - input_h - nav_h

    bubble_w = round(w * rng.uniform(0.55, 0.75))
    pad = rng.choice([0, 6, 8])
    pw = bubble_w - 2 * pad
    ratio = min(max(photo.height / photo.width, 0.5), rng.uniform(1.2, 1.4))  # apps crop tall ones
    ph = round(pw * ratio)
    im = cover(photo, pw, ph)
    radius = bubble_w * rng.uniform(0.03, 0.05)
    sent = rng.random() < 0.5
    bx = w - 36 - bubble_w if sent else 36
    by = round(chat_top + 40 + rng.uniform(0.1, 0.9) * (chat_bottom - chat_top - 80 - ph - 2 * pad))
    draw = ImageDraw.Draw(canvas)
    if pad:
        draw.rounded_rectangle(
            (bx, by, bx + bubble_w, by + ph + 2 * pad),
            radius + pad,
            fill=theme.out if sent else theme.inn,
        )
    px, py = bx + pad, by + pad
    paste_rounded(canvas, im, (px, py), radius)
    stamp = clock(rng)
    pill_w = 150 if sent else 112  # sent photos carry read ticks after the time
    pill = (px + pw - pill_w - 18, py + ph - 62, px + pw - 18, py + ph - 18)
    shade(canvas, pill, BLACK, rng.uniform(0.35, 0.55), radius=22)
    draw = ImageDraw.Draw(canvas)
    text(draw, (pill[0] + 16, (pill[1] + pill[3]) / 2), stamp, 28, WHITE, anchor="lm")
    if sent:
        tick = (83, 189, 235) if rng.random() < 0.6 else WHITE
        for dx in (0, 12):
            tx, ty = pill[2] - 44 + dx, (pill[1] + pill[3]) / 2
            draw.line((tx, ty, tx + 8, ty + 8, tx + 22, ty - 10), fill=tick, width=3)

    y = by - 24.0
    while y > chat_top - 200:  # earlier messages, the top one cut by the app bar
        y = _chat_bubble_text(canvas, rng, theme, y, up=True)
    y = by + ph + 2 * pad + 24.0
    while y < chat_bottom + 50:
        y = _chat_bubble_text(canvas, rng, theme, y, up=False)

    draw = ImageDraw.Draw(canvas)  # the bars go over whatever was scrolled under them
    draw.rectangle((0, 0, w, chat_top), fill=theme.bar)
    status_bar(draw, rng, w, status_h, theme.bar_fg)
    cy = status_h + bar_h / 2
    back_arrow(draw, 36, cy, theme.bar_fg, 22)
    name = rng.choice(NAMES)
    letter_avatar(canvas, rng, (120, round(cy - 50)), 100, name)
    draw = ImageDraw.Draw(canvas)
    text(draw, (246, cy - 22), name, 44, theme.bar_fg, bold=True, anchor="lm")
    seen = rng.choice(["online", f"last seen today at {clock(rng)}", "typing..."])
    text(draw, (246, cy + 28), seen, 30, theme.bar_fg, anchor="lm")
    dots_menu(draw, w - 50, cy, theme.bar_fg)
    draw.rounded_rectangle((w - 250, cy - 22, w - 190, cy + 22), 8, outline=theme.bar_fg, width=4)
    draw.ellipse((w - 150, cy - 24, w - 102, cy + 24), outline=theme.bar_fg, width=4)

    input_bg = theme.bar if theme.dark else theme.bg
    draw.rectangle((0, chat_bottom, w, h), fill=input_bg)
    field = (24, chat_bottom + 22, w - 170, chat_bottom + input_h - 22)
    draw.rounded_rectangle(
        field, (field[3] - field[1]) / 2, fill=theme.inn if not theme.dark else (42, 57, 66)
    )
    fy = (field[1] + field[3]) / 2
    draw.ellipse((field[0] + 30, fy - 24, field[0] + 78, fy + 24), outline=theme.muted, width=4)
    text(draw, (field[0] + 110, fy), "Message", 40, theme.muted, anchor="lm")
    cx, cyi = w - 90, (field[1] + field[3]) / 2
    draw.ellipse((cx - 60, cyi - 60, cx + 60, cyi + 60), fill=theme.accent)
    draw.rounded_rectangle((cx - 12, cyi - 30, cx + 12, cyi + 10), 12, fill=WHITE)
    nav_bar(draw, PHONE, theme.muted, buttons)
    return canvas, fraction((px, py, px + pw, py + ph), PHONE)


def dating_card(photo: Image.Image, rng: random.Random) -> tuple[Image.Image, Box]:
    """A dating-app card: the photo filling a tall rounded card, name and age over a gradient."""
    w, h = PHONE
    dark = rng.random() < 0.5
    bg = rng.choice([(17, 17, 17), BLACK]) if dark else rng.choice([WHITE, (245, 245, 247)])
    fg = (235, 235, 235) if dark else (40, 40, 40)
    app, accent = rng.choice(
        [
            ("flame", (253, 41, 123)),
            ("amora", (255, 90, 95)),
            ("buzz", (250, 190, 30)),
            ("spark", (120, 80, 240)),
        ]
    )
    canvas = Image.new("RGB", PHONE, bg)
    draw = ImageDraw.Draw(canvas)
    status_h, bar_h = rng.randint(90, 120), rng.randint(120, 150)
    status_bar(draw, rng, w, status_h, fg)
    cy = status_h + bar_h / 2
    text(draw, (60, cy), app, 64, accent, bold=True, anchor="lm")
    draw.ellipse((w - 200, cy - 26, w - 148, cy + 26), outline=fg, width=5)
    for i in range(3):  # filter sliders
        draw.line((w - 104, cy - 18 + 18 * i, w - 52, cy - 18 + 18 * i), fill=fg, width=5)

    cw = round(w * rng.uniform(0.91, 0.93))
    ch = round(h * rng.uniform(0.60, 0.70))
    cx, cy0 = (w - cw) // 2, status_h + bar_h + rng.randint(0, 20)
    card = cover(photo, cw, ch, rng.uniform(-0.2, 0.2), rng.uniform(-0.2, 0.2))
    arr = np.asarray(card).astype(np.float32)
    start = round(ch * 2 / 3)  # dark gradient over the bottom third
    ramp = np.linspace(0, rng.uniform(0.7, 0.85), ch - start, dtype=np.float32) ** 1.3
    arr[start:] *= (1 - ramp)[:, None, None]
    card = Image.fromarray(arr.round().astype(np.uint8))
    cd = ImageDraw.Draw(card)
    n_photos = rng.randint(1, 6)
    if n_photos > 1:  # which-photo indicator along the top
        seg = (cw - 40 - 8 * (n_photos - 1)) / n_photos
        for i in range(n_photos):
            x0 = 20 + i * (seg + 8)
            cd.rounded_rectangle(
                (x0, 16, x0 + seg, 24), 4, fill=WHITE if i == 0 else (150, 150, 150)
            )
    name, age = rng.choice(NAMES), rng.randint(21, 45)
    size = rng.randint(84, 100)
    nx, ny = 48, ch - rng.randint(200, 240)
    nw = text(cd, (nx, ny), name, size, WHITE, bold=True, anchor="ls")
    text(cd, (nx + nw + 24, ny), str(age), round(size * 0.8), WHITE, anchor="ls")
    line = rng.choice(
        [
            f"{rng.randint(1, 40)} km away",
            f"Lives in {rng.choice(['Leeds', 'Porto', 'Austin', 'Lyon'])}",
            f"{rng.choice(['Nurse', 'Engineer', 'Designer', 'Pilot'])} · {rng.randint(2, 30)} km",
        ]
    )
    text(cd, (nx, ny + 70), line, 42, (230, 230, 230), anchor="ls")
    if rng.random() < 0.5:
        text(cd, (nx, ny + 130), words(rng, rng.randint(3, 6)), 38, (210, 210, 210), anchor="ls")
    radius = cw * rng.uniform(0.03, 0.045)
    if not dark:  # a faint shadow under the card on light themes
        shade(canvas, (cx + 4, cy0 + 10, cx + cw + 4, cy0 + ch + 14), BLACK, 0.12, radius)
    paste_rounded(canvas, card, (cx, cy0), radius)

    draw = ImageDraw.Draw(canvas)
    buttons = rng.random() < 0.3
    nav_h = 240 if buttons else 200
    by = (cy0 + ch + h - nav_h) / 2
    button_bg = (35, 35, 35) if dark else WHITE
    specs = [
        ("rewind", 62, (250, 180, 40)),
        ("nope", 90, (255, 68, 88)),
        ("star", 62, (30, 160, 255)),
        ("like", 90, (30, 220, 140)),
        ("boost", 62, (180, 80, 250)),
    ]
    if rng.random() < 0.5:
        specs = [s for s in specs if s[0] in ("nope", "star", "like")]
    step = w / (len(specs) + 1)
    for i, (kind, r, colour) in enumerate(specs):
        bx = step * (i + 1)
        r = min(r, (h - nav_h - cy0 - ch) / 2 - 8)
        draw.ellipse(
            (bx - r, by - r, bx + r, by + r),
            fill=button_bg,
            outline=(60, 60, 60) if dark else (225, 225, 225),
            width=3,
        )
        s = r * 0.42
        if kind == "nope":
            draw.line((bx - s, by - s, bx + s, by + s), fill=colour, width=round(r / 7))
            draw.line((bx - s, by + s, bx + s, by - s), fill=colour, width=round(r / 7))
        elif kind == "like":
            heart(draw, bx, by - s * 0.2, 2 * s, colour)
        elif kind == "star":
            star(draw, bx, by, 2.4 * s, colour)
        elif kind == "rewind":
            draw.arc((bx - s, by - s, bx + s, by + s), 40, 320, fill=colour, width=round(r / 7))
        else:
            draw.polygon(
                [
                    (bx + s * 0.2, by - s * 1.2),
                    (bx - s * 0.7, by + s * 0.2),
                    (bx, by + s * 0.2),
                    (bx - s * 0.2, by + s * 1.2),
                    (bx + s * 0.7, by - s * 0.2),
                    (bx, by - s * 0.2),
                ],
                colour,
            )
    ny0 = h - nav_h
    draw.line((0, ny0, w, ny0), fill=(50, 50, 50) if dark else (230, 230, 230), width=2)
    for i in range(5):  # bottom tabs
        tx, ty = w * (i + 0.5) / 5, ny0 + 70
        colour = accent if i == 0 else (140, 140, 140)
        draw.rounded_rectangle((tx - 26, ty - 26, tx + 26, ty + 26), 10 + 6 * (i % 2), fill=colour)
    nav_bar(draw, PHONE, fg, buttons)
    return canvas, fraction((cx, cy0, cx + cw, cy0 + ch), PHONE)


def web_page(photo: Image.Image, rng: random.Random) -> tuple[Image.Image, Box]:
    """A desktop web page in a browser: header, sidebar, paragraphs, the photo among the text."""
    w, h = DESKTOP
    dark = rng.random() < 0.3
    bg = (30, 31, 34) if dark else rng.choice([WHITE, (250, 250, 248)])
    fg = (220, 220, 220) if dark else (40, 40, 40)
    muted = (150, 150, 150) if dark else (110, 110, 110)
    site = rng.choice([(24, 119, 242), (200, 40, 40), (30, 30, 30), (0, 120, 90), (90, 60, 160)])
    canvas = Image.new("RGB", DESKTOP, bg)
    draw = ImageDraw.Draw(canvas)
    # browser chrome: tabs, address bar
    chrome = (53, 54, 58) if dark else (222, 225, 230)
    draw.rectangle((0, 0, w, 96), fill=chrome)
    draw.rounded_rectangle((12, 8, 300, 60), 10, fill=(40, 41, 45) if dark else WHITE)
    text(draw, (56, 34), words(rng, 3).title(), 22, fg, anchor="lm")
    draw.ellipse((24, 24, 44, 44), fill=site)
    text(draw, (330, 34), words(rng, 2).title(), 22, muted, anchor="lm")
    draw.rectangle((0, 52, w, 96), fill=(40, 41, 45) if dark else WHITE)
    for i in range(3):
        draw.ellipse((20 + 40 * i, 62, 44 + 40 * i, 86), outline=muted, width=3)
    draw.rounded_rectangle((160, 58, w - 200, 90), 16, fill=chrome)
    site_name = f"{rng.choice(WORDS)}{rng.choice(WORDS)}"
    domain = f"www.{site_name}.com/{rng.choice(WORDS)}/{rng.randint(100, 9999)}"
    text(draw, (190, 74), domain, 22, fg, anchor="lm")
    # site header
    top = 96
    header_h = rng.randint(64, 90)
    draw.rectangle((0, top, w, top + header_h), fill=site)
    text(
        draw,
        (40, top + header_h / 2),
        rng.choice(WORDS).title() + rng.choice(WORDS),
        38,
        WHITE,
        bold=True,
        anchor="lm",
    )
    x = 420
    for _ in range(rng.randint(3, 6)):
        x += (
            text(draw, (x, top + header_h / 2), rng.choice(WORDS).title(), 24, WHITE, anchor="lm")
            + 48
        )
    # sidebar
    y0 = top + header_h
    side_w = rng.randint(280, 380)
    left_side = rng.random() < 0.6
    sx = 0 if left_side else w - side_w - 16
    draw.rectangle((sx, y0, sx + side_w, h), fill=(38, 39, 43) if dark else (243, 244, 246))
    sy = y0 + 40
    while sy < h - 40:
        if rng.random() < 0.2:
            text(draw, (sx + 30, sy), rng.choice(WORDS).upper(), 22, muted, bold=True)
        else:
            text(draw, (sx + 30, sy), words(rng, rng.randint(1, 3)).title(), 24, fg)
        sy += 52
    draw.rectangle((w - 16, y0, w, h), fill=(45, 45, 48) if dark else (240, 240, 240))  # scrollbar
    draw.rounded_rectangle((w - 13, y0 + 60, w - 3, y0 + 260), 5, fill=(120, 120, 120))
    # article: title, then lines of text flowing around the photo
    ax0 = (side_w + 70) if left_side else 70
    ax1 = (w - 16 - 70) if left_side else (sx - 70)
    ay = y0 + 40
    text(draw, (ax0, ay), words(rng, rng.randint(4, 8)).capitalize(), 44, fg, bold=True)
    ay += 70
    text(
        draw,
        (ax0, ay),
        f"{rng.choice(NAMES)} {rng.choice(NAMES)} · {rng.randint(2, 59)} min ago",
        22,
        muted,
    )
    ay += 56
    longer = rng.randint(420, 640)
    s = longer / max(photo.size)
    im = photo.resize((round(photo.width * s), round(photo.height * s)), Image.Resampling.LANCZOS)
    im = fit(im, ax1 - ax0, h - ay - 60) if im.height > h - ay - 60 else im
    mode = rng.choice(["left", "right", "centre"])
    px = {"left": ax0, "right": ax1 - im.width, "centre": (ax0 + ax1 - im.width) // 2}[mode]
    py = round(ay + rng.uniform(0, 1) * max(0, h - ay - im.height - 60))
    canvas.paste(im, (px, py))
    cap_y = py + im.height + 10
    text(draw, (px, cap_y), words(rng, rng.randint(3, 7)).capitalize(), 20, muted)
    size = rng.choice([22, 24, 26])
    line_h = round(size * 1.6)
    while ay < h - size:
        n = rng.randint(2, 6)
        for i in range(n):
            if ay + line_h > py - 12 and ay < cap_y + 40:  # beside the photo
                if mode == "centre":
                    ay = cap_y + 50
                    continue
                lx0, lx1 = (px + im.width + 36, ax1) if mode == "left" else (ax0, px - 36)
            else:
                lx0, lx1 = ax0, ax1
            span = (lx1 - lx0) * (rng.uniform(0.3, 0.8) if i == n - 1 else rng.uniform(0.92, 1))
            line = line_of_words(draw, rng, span, size)
            text(draw, (lx0, ay), line.capitalize() if i == 0 else line, size, fg)
            ay += line_h
        ay += line_h // 2
    return canvas, fraction((px, py, px + im.width, py + im.height), DESKTOP)


def profile_avatar(photo: Image.Image, rng: random.Random) -> tuple[Image.Image, Box]:
    """A profile page with the photo's centre square as a round avatar."""
    w, h = PHONE
    t = page_theme(rng)
    canvas = Image.new("RGB", PHONE, t.bg)
    draw = ImageDraw.Draw(canvas)
    status_h, bar_h = rng.randint(90, 120), 140
    status_bar(draw, rng, w, status_h, t.fg)
    d = rng.randint(360, 480)
    name = f"{rng.choice(NAMES)} {rng.choice(NAMES)}son"
    handle = f"@{name.split()[0].lower()}_{rng.randint(1, 999)}"
    cy = status_h + bar_h / 2
    back_arrow(draw, 40, cy, t.fg, 22)
    dots_menu(draw, w - 50, cy, t.fg)
    counts = [
        (f"{rng.randint(3, 900)}", "posts"),
        (f"{rng.randint(1, 99)}.{rng.randint(0, 9)}K", "followers"),
        (f"{rng.randint(10, 2000)}", "following"),
    ]
    if rng.random() < 0.5:  # avatar on the left, counts beside it
        text(draw, (130, cy), handle[1:], 46, t.fg, bold=True, anchor="lm")
        ax, ay = 40, status_h + bar_h + 20
        box = photo_avatar(canvas, photo, (ax, ay), d)
        draw = ImageDraw.Draw(canvas)
        col_w = (w - ax - d - 40) / 3
        for i, (num, label) in enumerate(counts):
            tx = ax + d + 20 + col_w * (i + 0.5)
            text(draw, (tx, ay + d / 2 - 10), num, 48, t.fg, bold=True, anchor="ms")
            text(draw, (tx, ay + d / 2 + 40), label, 32, t.fg, anchor="ms")
        y = ay + d + 40
        text(draw, (40, y), name, 42, t.fg, bold=True)
        y = text_lines(draw, rng, 40, y + 60, w - 80, rng.randint(2, 4), 38, t.fg, 1.35)
    else:  # a cover banner with the avatar overlapping its bottom edge, in a ring
        banner_h = rng.randint(380, 520)
        top = status_h + bar_h
        c1, c2 = rng.sample(AVATAR_COLOURS, 2)
        grad = np.linspace(0, 1, w, dtype=np.float32)[None, :, None]
        band = np.array(c1, np.float32) * (1 - grad) + np.array(c2, np.float32) * grad
        canvas.paste(Image.fromarray(np.repeat(band, banner_h, 0).astype(np.uint8)), (0, top))
        draw = ImageDraw.Draw(canvas)
        text(draw, (130, cy), name, 46, t.fg, bold=True, anchor="lm")
        centred = rng.random() < 0.5
        ax = (w - d) // 2 if centred else 50
        ay = top + banner_h - d // 2
        ring = rng.randint(8, 14)
        draw.ellipse((ax - ring, ay - ring, ax + d + ring, ay + d + ring), fill=t.bg)
        box = photo_avatar(canvas, photo, (ax, ay), d)
        draw = ImageDraw.Draw(canvas)
        y = ay + d + 40
        if centred:
            text(draw, (w / 2, y), name, 56, t.fg, bold=True, anchor="ma")
            text(draw, (w / 2, y + 76), handle, 36, t.muted, anchor="ma")
        else:
            text(draw, (50, y), name, 56, t.fg, bold=True)
            text(draw, (50, y + 76), handle, 36, t.muted)
            draw.rounded_rectangle(
                (w - 330, ay + d / 2 + 30, w - 50, ay + d / 2 + 120), 45, outline=t.fg, width=3
            )
            text(draw, (w - 190, ay + d / 2 + 75), "Edit profile", 34, t.fg, bold=True, anchor="mm")
        y = text_lines(draw, rng, 50, y + 150, w - 100, rng.randint(1, 3), 38, t.fg, 1.35)
        x = 50
        for num, label in counts[1:]:
            x += text(draw, (x, y + 20), num, 36, t.fg, bold=True) + 12
            x += text(draw, (x, y + 20), label, 36, t.muted) + 48
        y += 60
    # buttons
    y += 30
    bw = (w - 80 - 20) / 2
    for i, (label, filled) in enumerate([("Follow", True), ("Message", False)]):
        x0 = 40 + i * (bw + 20)
        fill = t.accent if filled else ((38, 38, 38) if t.dark else (239, 239, 239))
        draw.rounded_rectangle((x0, y, x0 + bw, y + 90), 18, fill=fill)
        text(
            draw,
            (x0 + bw / 2, y + 45),
            label,
            36,
            WHITE if filled else t.fg,
            bold=True,
            anchor="mm",
        )
    y += 130
    if rng.random() < 0.6:  # a grid of posts
        draw.line((0, y, w, y), fill=t.muted, width=1)
        y += 4
        tile = (w - 8) / 3
        while y < h:
            for c in range(3):  # muted two-colour gradients, a little like photos
                a, b = (tuple(rng.randint(40, 210) for _ in range(3)) for _ in range(2))
                grad = ImageOps.colorize(Image.linear_gradient("L"), a, b)  # type: ignore[arg-type]
                grad = grad.rotate(rng.choice([0, 90, 180, 270])).resize((round(tile),) * 2)
                canvas.paste(grad, (round(c * (tile + 4)), round(y)))
            y += tile + 4
    else:  # posts as text
        while y < h:
            draw.line((0, y, w, y), fill=t.muted, width=1)
            nw = text(draw, (40, y + 40), name, 34, t.fg, bold=True)
            text(draw, (40 + nw + 16, y + 40), f"{handle} · {rng.randint(1, 23)}h", 34, t.muted)
            y = text_lines(draw, rng, 40, y + 95, w - 80, rng.randint(2, 5), 36, t.fg, 1.35) + 30
    nav_bar(ImageDraw.Draw(canvas), PHONE, t.fg, rng.random() < 0.3)
    return canvas, fraction(box, PHONE)


def chat_list_avatar(photo: Image.Image, rng: random.Random) -> tuple[Image.Image, Box]:
    """A chat list: rows of small round avatars; one of them is the photo."""
    w, h = PHONE
    app = rng.choice(["whatsapp", "telegram", "messenger"])
    light, dark = CHAT_THEMES[app]
    t = dark if rng.random() < 0.5 else light
    canvas = Image.new("RGB", PHONE, t.bg if t.dark else WHITE)
    page_bg = t.bg if t.dark else WHITE
    draw = ImageDraw.Draw(canvas)
    status_h = rng.randint(90, 120)
    coloured_bar = not t.dark and t.bar != WHITE and rng.random() < 0.7
    bar = t.bar if coloured_bar else page_bg
    bar_fg = t.bar_fg if coloured_bar else t.fg
    top = status_h + 150
    draw.rectangle((0, 0, w, top), fill=bar)
    status_bar(draw, rng, w, status_h, bar_fg)
    title = rng.choice(
        ["Chats", {"whatsapp": "WhatsApp", "telegram": "Telegram"}.get(app, "Chats")]
    )
    text(draw, (48, status_h + 75), title, 62, bar_fg, bold=True, anchor="lm")
    search_icon(draw, w - 180, status_h + 75, bar_fg)
    dots_menu(draw, w - 60, status_h + 75, bar_fg)
    if rng.random() < 0.5:  # a search field under the title
        draw.rectangle((0, top, w, top + 130), fill=bar)
        draw.rounded_rectangle(
            (36, top + 15, w - 36, top + 105), 45, fill=(35, 45, 52) if t.dark else (240, 242, 245)
        )
        text(draw, (110, top + 60), "Search", 38, t.muted, anchor="lm")
        top += 130
    d = rng.randint(160, 220)
    pad = rng.randint(26, 40)
    row_h = d + 2 * pad
    buttons = rng.random() < 0.3
    bottom = h - (280 if buttons else rng.choice([220, 240]))  # bottom tabs
    n_rows = (bottom - top) // row_h
    mine = rng.randrange(n_rows)
    box: tuple[float, float, float, float] = (0, 0, 1, 1)
    for i in range(n_rows + 1):  # the last row is cut by the bottom tabs
        y = top + i * row_h
        name = rng.choice(NAMES) + (f" {rng.choice(NAMES)}" if rng.random() < 0.5 else "")
        if i == mine:
            box = photo_avatar(canvas, photo, (40, y + pad), d)
        else:
            letter_avatar(canvas, rng, (40, y + pad), d, name)
        draw = ImageDraw.Draw(canvas)
        tx = 40 + d + 36
        text(draw, (tx, y + pad + d * 0.32), name, 46, t.fg, bold=True, anchor="lm")
        unread = rng.random() < 0.3
        text(
            draw,
            (w - 40, y + pad + d * 0.32),
            clock(rng),
            32,
            t.accent if unread else t.muted,
            anchor="rm",
        )
        preview = words(rng, rng.randint(3, 12))
        while draw.textlength(preview, font=font(40)) > w - tx - 150:
            preview = preview[:-4].rstrip() + "…"
        text(draw, (tx, y + pad + d * 0.7), preview, 40, t.muted, anchor="lm")
        if unread:
            cx, cy = w - 70, y + pad + d * 0.7
            draw.ellipse((cx - 28, cy - 28, cx + 28, cy + 28), fill=t.accent)
            text(draw, (cx, cy), str(rng.randint(1, 9)), 32, WHITE, bold=True, anchor="mm")
    draw.ellipse((w - 210, bottom - 190, w - 50, bottom - 30), fill=t.accent)  # new-chat button
    draw.rounded_rectangle((w - 160, bottom - 135, w - 100, bottom - 85), 10, fill=WHITE)
    draw.rectangle((0, bottom, w, h), fill=(31, 44, 52) if t.dark else (248, 248, 248))
    for i in range(4):
        tx, ty = w * (i + 0.5) / 4, bottom + 56
        colour = t.accent if i == 0 else t.muted
        draw.rounded_rectangle((tx - 24, ty - 24, tx + 24, ty + 24), 8 + 4 * (i % 2), fill=colour)
        label = ["Chats", "Updates", "Groups", "Calls"][i]
        text(draw, (tx, ty + 62), label, 28, colour, anchor="mm")
    nav_bar(draw, PHONE, t.fg, buttons)
    return canvas, fraction(box, PHONE)


LAYOUTS: dict[str, Layout] = {
    "messenger-fullscreen": messenger_fullscreen,
    "chat-bubble": chat_bubble,
    "dating-card": dating_card,
    "web-page": web_page,
    "profile-avatar": profile_avatar,
    "chat-list-avatar": chat_list_avatar,
}
