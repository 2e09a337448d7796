"""Appearance check benchmark: true copies versus different shots of the same face or scene.

The local-feature stage (``revimg/imaging/features.py``) matches keypoint geometry; two different
photos of the same face, cropped and aligned the way face datasets align them, can pass it.
``revimg/imaging/appearance.py`` then compares the matched regions as pictures. This benchmark
measures its score on

- TRUE copies: every photo under the edits of the appearance brief (re-encodes, resizes,
  blur, greyscale, brightness and contrast, a 5 degree rotation, crops, a mirror image,
  and overlays: a dating-app card with text over a dark gradient on the bottom third, a
  time-stamp pill, rounded corners on a page, a round avatar, a photo at 60 % scale in a
  chat bubble), also applied to tight face crops; the transform is the one
  ``verify.measure`` fits (query and mirrored query, the one with more inliers), scored
  when it has at least 8 inliers;
- HARD NEGATIVES: (a) each pair of shots of one scene (``X`` / ``X_2``, the three
  ``grand_canyon`` shots), both ways, whole and cropped; (b) same-person face-aligned
  pairs: each photo of a person pair cropped around the face with the same relative framing
  (by the eyes, through a similarity transform), at 256 and 512 px, so that the faces line
  up; (c) the same with small random shifts and scales; (d) unrelated photos. Each is scored
  with the transform ``verify.measure`` fits (when it has >= 4 inliers) and with the
  alignment transform that is known (identity-like for aligned crops), and the geometric
  verdict (``verify.accept``) is reported beside it.

Faces: OpenCV's Haar cascade when this OpenCV has one (``cv2.CascadeClassifier``); OpenCV 5
dropped it from the main package, and then the eye positions annotated by hand below are
used (they are the more precise alignment anyway).

    python benchmarks/appearance_eval.py [--photos DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from revimg.imaging import appearance as A  # noqa: E402
from revimg.imaging import features as F  # noqa: E402
from revimg.imaging.decoding import decode  # noqa: E402
from revimg.matching import verify  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy import encode  # noqa: E402

DEFAULT_PHOTOS = REPO.parent / "shared" / "corpus" / "photos"
PAGE = (245, 245, 247)  # page colour of the app screenshots
MIN_INLIERS_TRUE = 8  # true copies are scored when the fitted transform has this many
MIN_INLIERS_NEG = 4

#: Shots of one scene (the first of each group is the "X" photo).
GROUPS = [
    ("jesper", "jesper_2"),
    ("donna", "donna_2"),
    ("spiff", "spiff_2"),
    ("bar55", "bar55_2"),
    ("pool", "pool_2"),
    ("skagen", "skagen_2"),
    ("new_wave_1", "new_wave_2"),
    ("grand_canyon_1", "grand_canyon_2", "grand_canyon_3"),
]

#: Eyes (image-left eye, image-right eye of the upright face; original pixels) of the
#: people in the person pairs, annotated by hand.
EYES: dict[str, list[tuple[tuple[float, float], tuple[float, float]]]] = {
    "jesper": [((358, 85), (590, 175))],
    "jesper_2": [((327, 205), (441, 210))],
    "bar55": [((383, 212), (439, 208)), ((294, 274), (345, 268))],  # man, woman
    "bar55_2": [((407, 159), (462, 151)), ((295, 177), (353, 181))],  # man, woman
    "new_wave_1": [((231, 176), (235, 132))],  # the photo is turned 90 degrees
    "new_wave_2": [((347, 255), (456, 256))],
}
#: (photo a, face index, photo b, face index): the same person in two shots.
SAME_PERSON = [
    ("jesper", 0, "jesper_2", 0),
    ("bar55", 0, "bar55_2", 0),
    ("bar55", 1, "bar55_2", 1),
    ("new_wave_1", 0, "new_wave_2", 0),
]
#: Different people in different photos, aligned the same way (two faces of one photo
#: would share pixels when the framing is loose: that is a copy, not a negative).
OTHER_PERSON = [
    ("bar55", 0, "bar55_2", 1),
    ("bar55", 1, "bar55_2", 0),
    ("jesper", 0, "new_wave_2", 0),
    ("jesper_2", 0, "new_wave_2", 0),
]
#: Framings of the face crops: (inter-eye distance / side, eye height / side, side px).
#: 0.2-0.28 is a face box (about 2.2 eye distances wide) expanded 1.6-2.2 times.
FRAMINGS = [(0.20, 0.40, 512), (0.28, 0.40, 256), (0.28, 0.42, 512), (0.36, 0.40, 512)]


# ---------------------------------------------------------------- edits of true copies


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=max(8, size))


def _resize_to_width(im: Image.Image, width: int) -> Image.Image:
    return im.resize((width, max(1, round(im.height * width / im.width))), Image.Resampling.LANCZOS)


def _crop(im: Image.Image, area: float, corner: int | None) -> Image.Image:
    f = area**0.5
    w, h = round(im.width * f), round(im.height * f)
    if corner is None:
        left, top = (im.width - w) // 2, (im.height - h) // 2
    else:
        left = 0 if corner in (0, 2) else im.width - w
        top = 0 if corner in (0, 1) else im.height - h
    return im.crop((left, top, left + w, top + h))


def _dating_card(im: Image.Image, seed: int) -> Image.Image:
    """Text over a dark gradient on the bottom third, as dating apps show a profile."""
    out = im.convert("RGBA")
    h3 = im.height // 3
    alpha = (np.linspace(0, 210, h3)[:, None] * np.ones((1, im.width))).astype(np.uint8)
    shade = Image.new("RGBA", (im.width, h3), (0, 0, 0, 255))
    shade.putalpha(Image.fromarray(alpha))
    layer = Image.new("RGBA", im.size, (0, 0, 0, 0))
    layer.paste(shade, (0, im.height - h3))
    out = Image.alpha_composite(out, layer)
    draw = ImageDraw.Draw(out)
    fs = max(10, im.height // 14)
    x = round(im.width * 0.06)
    draw.text((x, im.height - 2.6 * fs), f"Alex, {24 + seed % 9}", fill="white", font=_font(fs))
    draw.text(
        (x, im.height - 1.4 * fs),
        "5 km away - loves hiking",
        fill=(230, 230, 230),
        font=_font(fs * 2 // 3),
    )
    return out.convert("RGB")


def _pill(im: Image.Image, seed: int) -> Image.Image:
    """A small time-stamp pill in the bottom-right corner."""
    out = im.copy()
    draw = ImageDraw.Draw(out)
    fs = max(9, im.height // 22)
    w, h = 4 * fs, round(1.6 * fs)
    x0, y0 = im.width - w - fs // 2, im.height - h - fs // 2
    draw.rounded_rectangle((x0, y0, x0 + w, y0 + h), radius=h // 2, fill=(0, 0, 0))
    draw.text(
        (x0 + fs // 2, y0 + fs // 4),
        f"{9 + seed % 12}:{seed % 60:02d}",
        fill="white",
        font=_font(fs),
    )
    return out


def _rounded(im: Image.Image) -> Image.Image:
    """Rounded corners on a page (a card in a feed)."""
    r = min(im.size) // 12
    mask = Image.new("L", im.size, 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, im.width - 1, im.height - 1), r, fill=255)
    m = min(im.size) // 20
    page = Image.new("RGB", (im.width + 2 * m, im.height + 2 * m), PAGE)
    page.paste(im, (m, m), mask)
    return page


def _avatar(im: Image.Image, seed: int) -> Image.Image:
    """Centre square in a circle (round avatar), 200-480 px, page colour outside."""
    side = min(im.size)
    left, top = (im.width - side) // 2, (im.height - side) // 2
    size = 200 + (seed * 37) % 281
    sq = im.crop((left, top, left + side, top + side)).resize(
        (size, size), Image.Resampling.LANCZOS
    )
    mask = Image.new("L", (size * 4, size * 4), 0)
    ImageDraw.Draw(mask).ellipse((0, 0, size * 4 - 1, size * 4 - 1), fill=255)
    mask = mask.resize((size, size), Image.Resampling.LANCZOS)
    out = Image.new("RGB", (size, size), PAGE)
    out.paste(sq, (0, 0), mask)
    return out


def _chat_bubble(im: Image.Image, seed: int) -> Image.Image:
    """The photo at 60 % scale in a chat bubble, cropped out of a chat screenshot."""
    shot = im.resize((round(im.width * 0.6), round(im.height * 0.6)), Image.Resampling.LANCZOS)
    pad = 12
    canvas = Image.new("RGB", (shot.width + 120, shot.height + 140), (236, 229, 221))
    draw = ImageDraw.Draw(canvas)
    bx, by = 60, 40
    draw.rounded_rectangle(
        (bx - pad, by - pad, bx + shot.width + pad, by + shot.height + 3 * pad),
        radius=16,
        fill=(220, 248, 198),
    )
    canvas.paste(shot, (bx, by))
    draw.text(
        (bx + shot.width - 50, by + shot.height + 4),
        "12:4" + str(seed % 10),
        fill=(90, 90, 90),
        font=_font(14),
    )
    return canvas.crop(
        (bx - pad - 20, by - pad - 20, bx + shot.width + pad + 20, by + shot.height + 3 * pad + 20)
    )


Edit = Callable[[Image.Image, int], Image.Image]
#: name -> (edit, save format)
EDITS: dict[str, tuple[Edit, str]] = {
    "jpeg-q30": (lambda im, s: im, "JPEG30"),
    "webp": (lambda im, s: im, "WEBP"),
    "resize-320w": (lambda im, s: _resize_to_width(im, 320), "JPEG"),
    "blur-r2": (lambda im, s: im.filter(ImageFilter.GaussianBlur(2)), "JPEG"),
    "grayscale": (lambda im, s: ImageOps.grayscale(im).convert("RGB"), "JPEG"),
    "brightness+30": (lambda im, s: ImageEnhance.Brightness(im).enhance(1.3), "JPEG"),
    "contrast-30": (lambda im, s: ImageEnhance.Contrast(im).enhance(0.7), "JPEG"),
    "rotate-5": (lambda im, s: im.rotate(5, resample=Image.Resampling.BICUBIC), "JPEG"),
    "crop-60": (lambda im, s: _crop(im, 0.6, None), "JPEG"),
    "corner-60": (lambda im, s: _crop(im, 0.6, s % 4), "JPEG"),
    "mirror": (lambda im, s: ImageOps.mirror(im), "JPEG"),
    "dating-card": (_dating_card, "JPEG"),
    "time-pill": (_pill, "JPEG"),
    "rounded": (lambda im, s: _rounded(im), "PNG"),
    "avatar": (_avatar, "JPEG"),
    "chat-bubble": (_chat_bubble, "PNG"),
}


def as_query(im: Image.Image, fmt: str) -> Image.Image:
    """Encode and decode again as revimg decodes a query."""
    return decode(encode(im, fmt), "query").image


# ---------------------------------------------------------------- faces


def _haar_faces(im: Image.Image) -> list[tuple[tuple[float, float], tuple[float, float]]] | None:
    """Eyes estimated from OpenCV's Haar face boxes (largest first); None without Haar."""
    if not hasattr(cv2, "CascadeClassifier"):
        return None
    path = Path(getattr(getattr(cv2, "data", None), "haarcascades", "")) / (
        "haarcascade_frontalface_default.xml"
    )
    cascade = cv2.CascadeClassifier(str(path)) if path.is_file() else None
    if cascade is None or cascade.empty():
        return None
    grey = np.asarray(im.convert("L"))
    boxes = cascade.detectMultiScale(grey, 1.1, 5, minSize=(40, 40))
    boxes = sorted((tuple(map(int, b)) for b in boxes), key=lambda b: -b[2] * b[3])[:2]
    # in a Haar box the eyes sit at about 30 % and 70 % across, 38 % down
    return [((x + 0.3 * w, y + 0.38 * h), (x + 0.7 * w, y + 0.38 * h)) for x, y, w, h in boxes]


def face_eyes(name: str, im: Image.Image) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    found = _haar_faces(im)
    return found if found else EYES.get(name, [])


def align_face(
    im: Image.Image,
    eyes: tuple[tuple[float, float], tuple[float, float]],
    framing: tuple[float, float, int],
    jitter: tuple[float, float, float] = (0.0, 0.0, 1.0),
) -> Image.Image:
    """The face cropped and turned so that the eyes land at the framing's positions."""
    d, ey, side = framing
    dx, dy, s = jitter
    src = np.array(eyes, np.float64)
    half = d * side * s / 2
    cx, cy = side / 2 + dx * side, ey * side + dy * side
    dst = np.array([[cx - half, cy], [cx + half, cy]], np.float64)
    m, _ = cv2.estimateAffinePartial2D(src.astype(np.float32), dst.astype(np.float32))
    # two points determine a similarity exactly; estimateAffinePartial2D needs no RANSAC here
    rgb = np.asarray(im.convert("RGB"))
    out = cv2.warpAffine(
        rgb,
        m,
        (side, side),
        flags=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC,
        borderMode=cv2.BORDER_REFLECT101,
    )
    return Image.fromarray(out)


# ---------------------------------------------------------------- measuring


def _pct(xs: list[float], q: float) -> float:
    return float(np.percentile(xs, q)) if xs else float("nan")


def _best(q: F.Features, qm: F.Features | None, c: F.Features) -> verify.Verification | None:
    found = [verify.measure(q, c)]
    if qm is not None:
        found.append(verify.measure(qm, c, mirrored=True))
    got = [v for v in found if v is not None]
    return max(got, key=lambda v: v.inliers) if got else None


def _identity_like(q_size: tuple[int, int], c_size: tuple[int, int]) -> np.ndarray:
    """Query working pixels -> candidate working pixels when both show the same frame."""
    qw, qh = F.work_size(*q_size)
    cw, ch = F.work_size(*c_size)
    return np.array([[cw / qw, 0, 0], [0, ch / qh, 0]], np.float64)


class Scorer:
    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0

    def __call__(
        self, query: Image.Image, sig: bytes, m, size: tuple[int, int], mirrored: bool = False
    ) -> A.Appearance:
        t0 = time.perf_counter()
        r = A.similarity(query, sig, m, size, mirrored=mirrored)
        self.seconds += time.perf_counter() - t0
        self.calls += 1
        return r


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS)
    parser.add_argument("--edits", default="", help="comma-separated subset of edits")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if not args.photos.is_dir():
        print(f"no photo folder at {args.photos}: pass --photos DIR", file=sys.stderr)
        return 2
    paths = sorted(p for p in args.photos.glob("*.jpg") if p.is_file())
    photos = {
        re.sub(r"^kphotoalbum__", "", p.stem): decode(p.read_bytes(), p.name).image for p in paths
    }
    edits = {k: v for k, v in EDITS.items() if not args.edits or k in args.edits.split(",")}
    score = Scorer()
    sig_seconds, n_sig = 0.0, 0

    def index(im: Image.Image) -> tuple[F.Features, bytes]:
        nonlocal sig_seconds, n_sig
        t0 = time.perf_counter()
        sig = A.signature(im)
        sig_seconds += time.perf_counter() - t0
        n_sig += 1
        return F.from_blob(F.to_blob(F.extract(im))), sig

    # ---- face crops (indexed as photos of their own)
    faces: dict[tuple[str, int, int], Image.Image] = {}
    for name in sorted({n for g in SAME_PERSON + OTHER_PERSON for n in (g[0], g[2])}):
        if name not in photos:
            continue
        for k, eyes in enumerate(face_eyes(name, photos[name])):
            for j, framing in enumerate(FRAMINGS):
                faces[name, k, j] = align_face(photos[name], eyes, framing)

    # ---- true copies
    true_scores: dict[str, list[float]] = defaultdict(list)
    true_lowest: dict[str, tuple[float, str]] = {}
    true_cells: dict[str, list[int]] = defaultdict(list)
    unscored: dict[str, int] = defaultdict(int)
    originals = [(n, im) for n, im in photos.items()] + [
        (f"face:{n}#{k}/{j}", im) for (n, k, j), im in faces.items() if j in (0, 3)
    ]
    for seed, (name, im) in enumerate(originals):
        feats, sig = index(im)
        for edit, (fn, fmt) in edits.items():
            q_img = as_query(fn(im, seed), fmt)
            q, qm = F.extract_with_mirror(q_img)
            v = _best(q, qm, feats)
            group = "faces: " + edit if name.startswith("face:") else edit
            if v is None or v.inliers < MIN_INLIERS_TRUE or v.transform is None:
                unscored[group] += 1
                continue
            r = score(q_img, sig, v.transform, im.size, v.mirrored)
            true_scores[group].append(r.score)
            true_cells[group].append(r.cells)
            if r.score < true_lowest.get(group, (2.0, ""))[0]:
                true_lowest[group] = (r.score, name)

    # ---- hard negatives
    neg: dict[str, list[float]] = defaultdict(list)  # kind -> scores
    neg_top: dict[str, tuple[float, str]] = {}
    neg_geo: dict[str, list[tuple[int, bool]]] = defaultdict(list)
    inconclusive: dict[str, int] = defaultdict(int)

    def negative(
        kind: str, label: str, q_img: Image.Image, c_img: Image.Image, known: np.ndarray | None
    ) -> None:
        feats, sig = index(c_img)
        q, qm = F.extract_with_mirror(q_img)
        v = _best(q, qm, feats)
        neg_geo[kind].append((0 if v is None else v.inliers, verify.accept(v)))
        found = []
        if v is not None and v.inliers >= MIN_INLIERS_NEG and v.transform is not None:
            found.append(("measured", score(q_img, sig, v.transform, c_img.size, v.mirrored)))
            if verify.accept(v):
                found.append(("accepted", found[-1][1]))
        if known is not None:
            found.append(("aligned", score(q_img, sig, known, c_img.size)))
        for how, r in found:
            key = f"{kind} [{how}]"
            if not r.conclusive:  # too few cells compared: the rule does not call it a copy
                inconclusive[key] += 1
                continue
            neg[key].append(r.score)
            if r.score > neg_top.get(key, (-1.0, ""))[0]:
                neg_top[key] = (r.score, label)

    rng = np.random.default_rng(0)
    for full_group in GROUPS:
        group = [n for n in full_group if n in photos]
        for a in group:
            for b in group:
                if a == b:
                    continue
                ia, ib = as_query(photos[a], "JPEG"), photos[b]
                same = _identity_like(ia.size, ib.size)
                negative("scene pair", f"{a} vs {b}", ia, ib, same)
                for corner in (None, 0, 3):
                    qa = as_query(_crop(photos[a], 0.6, corner), "JPEG")
                    negative("scene pair, crop-60", f"{a} crop vs {b}", qa, ib, None)

    def face_pairs(pairs, kind: str) -> None:
        for a, ka, b, kb in pairs:
            for j, framing in enumerate(FRAMINGS):
                for x, kx, y, ky in ((a, ka, b, kb), (b, kb, a, ka)):
                    if (x, kx, j) not in faces or (y, ky, j) not in faces:
                        continue
                    q_img = as_query(faces[x, kx, j], "JPEG")
                    c_img = faces[y, ky, j]
                    label = f"{x}#{kx} vs {y}#{ky} framing {j}"
                    same = _identity_like(q_img.size, c_img.size)
                    negative(kind, label, q_img, c_img, same)
                    # (c) small random shifts and scales of the query's framing
                    for _ in range(3):
                        dx, dy = rng.uniform(-0.04, 0.04, 2)
                        s = float(rng.uniform(0.92, 1.08))
                        eyes = face_eyes(x, photos[x])[kx]
                        jit = as_query(align_face(photos[x], eyes, framing, (dx, dy, s)), "JPEG")
                        # the known alignment: query frame -> candidate frame
                        d, ey, side = framing
                        k = 1 / s
                        cx, cy = side / 2 + dx * side, ey * side + dy * side
                        m = np.array([[k, 0, side / 2 - k * cx], [0, k, ey * side - k * cy]])
                        wq, _ = F.work_size(side, side)
                        m[:, 2] *= wq / side
                        negative(kind + ", jittered", label + " jittered", jit, c_img, m)

    face_pairs(SAME_PERSON, "same person, face-aligned")
    face_pairs(OTHER_PERSON, "other person, face-aligned")

    names = sorted(photos)
    for i in range(0, len(names), 3):
        a, b = names[i], names[(i + 7) % len(names)]
        ia, ib = as_query(photos[a], "JPEG"), photos[b]
        negative("unrelated", f"{a} vs {b}", ia, ib, _identity_like(ia.size, ib.size))

    # ---- report
    t = A.THRESHOLD
    all_true = [x for xs in true_scores.values() for x in xs]
    hard = [x for k, xs in neg.items() if "[accepted]" not in k for x in xs]
    print(f"photos: {len(photos)}; face crops: {len(faces)}; edits: {len(edits)}")
    print(f"\nTRUE copies (score with the fitted transform, >= {MIN_INLIERS_TRUE} inliers)")
    print(
        f"{'edit':<30}{'n':>5}{'min':>8}{'p5':>8}{'median':>8}{'cells':>7}  {'lowest':<34}unscored"
    )
    for k, xs in true_scores.items():
        print(
            f"{k:<30}{len(xs):>5}{min(xs):>8.3f}{_pct(xs, 5):>8.3f}{_pct(xs, 50):>8.3f}"
            f"{min(true_cells[k]):>7}  {true_lowest[k][1]:<34}{unscored.get(k, 0):>3}"
        )
    print(
        "\nHARD NEGATIVES (conclusive comparisons; [measured]: transform fitted by "
        "verify.measure, >= 4 inliers; [accepted]: of those, passed verify.accept; "
        "[aligned]: the known alignment)"
    )
    print(f"{'kind [transform]':<50}{'n':>5}{'max':>8}{'p95':>8}{'median':>8}{'few':>5}  highest")
    for k in sorted(set(neg) | set(inconclusive)):
        xs = neg.get(k, [])
        top = neg_top.get(k, (float("nan"), "-"))[1]
        print(
            f"{k:<50}{len(xs):>5}{max(xs, default=float('nan')):>8.3f}{_pct(xs, 95):>8.3f}"
            f"{_pct(xs, 50):>8.3f}{inconclusive.get(k, 0):>5}  {top}"
        )
    print("  (few: comparisons with fewer than MIN_CELLS cells, which the rule never calls copies)")
    print("\ngeometry of the negatives (verify.measure on query and mirrored query):")
    for kind, g in neg_geo.items():
        inl = [i for i, _ in g]
        print(
            f"  {kind:<42} pairs {len(g):>4}  inliers {min(inl):>3}-{max(inl):<3} "
            f"(median {int(np.median(inl))})  accepted by verify.accept: {sum(a for _, a in g)}"
        )
    lo_true = min(all_true) if all_true else float("nan")
    hi_neg = max(hard) if hard else float("nan")
    print(
        f"\nrule: score >= {t:.2f} over >= {A.MIN_CELLS} cells. True copies: min {lo_true:.3f} "
        f"(margin {lo_true - t:+.3f}; {sum(x < t for x in all_true)}/{len(all_true)} below). "
        f"Negatives: max {hi_neg:.3f} (margin {t - hi_neg:+.3f}; "
        f"{sum(x >= t for x in hard)}/{len(hard)} at or above)."
    )
    # time one call on a 512 px query (the working size), apart from the loop above
    q512 = photos[names[0]].resize(F.work_size(*photos[names[0]].size))
    sig0 = A.signature(photos[names[0]])
    m0 = [[0.99, 0.03, 2.0], [-0.03, 0.99, 1.0]]
    A.similarity(q512, sig0, m0)
    t0 = time.perf_counter()
    for _ in range(200):
        A.similarity(q512, sig0, m0)
    ms512 = 1000 * (time.perf_counter() - t0) / 200
    print(
        f"similarity: {ms512:.2f} ms per call on a 512 px query; "
        f"{1000 * score.seconds / max(score.calls, 1):.2f} ms on average over the "
        f"{score.calls} calls above (queries of any size, resized to 512 px inside); "
        f"signature: {1000 * sig_seconds / max(n_sig, 1):.2f} ms per photo, "
        f"{len(sig0)} bytes for {names[0]}"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "true": {
                        k: {"n": len(v), "min": min(v), "p5": _pct(v, 5), "median": _pct(v, 50)}
                        for k, v in true_scores.items()
                    },
                    "negatives": {
                        k: {"n": len(v), "max": max(v), "p95": _pct(v, 95), "median": _pct(v, 50)}
                        for k, v in neg.items()
                    },
                    "threshold": t,
                    "ms_per_call_512": ms512,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
