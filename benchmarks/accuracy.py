"""Match-quality benchmark: recall@1 per edit and false positives, revimg against a naive baseline.

Builds an index from a folder of photos (default: ../shared/corpus/photos when present),
keeping every fourth photo out as an unrelated distractor (and, for pairs of shots of
one scene such as ``x.jpg`` / ``x_2.jpg``, one shot in and one out). It then makes edited
copies of every photo with Pillow, checks each through the same library code that
``revimg check`` uses, at the default threshold, and prints per edit:

- recall@1: the top match is the photo the copy was made from (indexed photos only);
- false-positive rate: any match reported for a copy of a distractor, and for low-detail
  images (flat colours, gradients, text on a plain background);

for revimg and for a naive baseline measured in the same run (imagehash pHash of a full
decode, Hamming distance <= 10, no variants, no crops).

With ``--foreign``, it also measures hashes that other tools made (``revimg.imaging.foreign``):
imagehash pHash, dHash, wHash and aHash lists of the indexed photos (as their users make
them: ``imagehash.phash(Image.open(path))``) are imported into an index of their own, and
every edited copy is checked against it: recall@1 per kind and edit, false positives on
copies of the distractors. Then, since 60 photos make few pairs, every picture of a larger
set of distinct pictures (the photos, their quarters and their ninths) is compared with
every other one, as a check compares them (the nearest of the query's eight variants, a
query with too little detail for PDQ left out): the false-positive rate per distance.

    python benchmarks/accuracy.py [--photos DIR] [--foreign] [--json results.json]
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageOps

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from revimg.imaging import decoding, foreign  # noqa: E402
from revimg.imaging import pdq as pdqlib  # noqa: E402
from revimg.imaging.photo import Photo  # noqa: E402
from revimg.index import bank, builder  # noqa: E402
from revimg.index.store import open_index  # noqa: E402
from revimg.matching.checker import check_source  # noqa: E402
from revimg.matching.find import DEFAULT_THRESHOLD  # noqa: E402

DEFAULT_PHOTOS = REPO.parent / "shared" / "corpus" / "photos"
Edit = Callable[[Image.Image, int], Image.Image]


def _resize_to_width(im: Image.Image, width: int) -> Image.Image:
    return im.resize((width, max(1, round(im.height * width / im.width))), Image.Resampling.LANCZOS)


def _centre_crop(im: Image.Image, area: float) -> Image.Image:
    f = area**0.5
    w, h = round(im.width * f), round(im.height * f)
    left, top = (im.width - w) // 2, (im.height - h) // 2
    return im.crop((left, top, left + w, top + h))


def _corner_crop(im: Image.Image, seed: int) -> Image.Image:
    f = 0.7**0.5
    w, h = round(im.width * f), round(im.height * f)
    corner = seed % 4
    left = 0 if corner in (0, 2) else im.width - w
    top = 0 if corner in (0, 1) else im.height - h
    return im.crop((left, top, left + w, top + h))


def _square(im: Image.Image) -> Image.Image:
    side = min(im.size)
    left, top = (im.width - side) // 2, (im.height - side) // 2
    return im.crop((left, top, left + side, top + side)).resize(
        (400, 400), Image.Resampling.LANCZOS
    )


def _border(im: Image.Image) -> Image.Image:
    bw, bh = round(im.width * 0.1), round(im.height * 0.1)
    canvas = Image.new("RGB", (im.width + 2 * bw, im.height + 2 * bh), (255, 255, 255))
    canvas.paste(im, (bw, bh))
    return canvas


def _banner(im: Image.Image, seed: int) -> Image.Image:
    out = im.copy()
    draw = ImageDraw.Draw(out)
    top = round(im.height * 0.85)
    draw.rectangle((0, top, im.width, im.height), fill=(20, 20, 20))
    draw.text(
        (im.width * 0.05, top + (im.height - top) * 0.3),
        f"Hi, I'm Alex #{seed}",
        fill=(255, 255, 255),
        font_size=max(10, (im.height - top) // 3),
    )
    return out


def _screenshot(im: Image.Image, seed: int) -> Image.Image:
    phone_w = 720
    shot = _resize_to_width(im, round(phone_w * 0.9))
    bar = 110
    canvas = Image.new("RGB", (phone_w, shot.height + 2 * bar + 160), (250, 250, 250))
    draw = ImageDraw.Draw(canvas)
    colours = [(59, 89, 152), (225, 48, 108), (37, 211, 102), (0, 132, 255)]
    draw.rectangle((0, 0, phone_w, bar), fill=colours[seed % 4])
    draw.text((30, 40), "Profile", fill=(255, 255, 255), font_size=32)
    canvas.paste(shot, ((phone_w - shot.width) // 2, bar + 80))
    draw.rectangle((0, canvas.height - bar, phone_w, canvas.height), fill=(30, 30, 30))
    return canvas


#: name -> (edit, save format)
EDITS: dict[str, tuple[Edit, str]] = {
    "resize-50": (
        lambda im, s: im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS),
        "JPEG",
    ),
    "resize-320w": (lambda im, s: _resize_to_width(im, 320), "JPEG"),
    "jpeg-q30": (lambda im, s: im, "JPEG30"),
    "webp": (lambda im, s: im, "WEBP"),
    "grayscale": (lambda im, s: ImageOps.grayscale(im).convert("RGB"), "JPEG"),
    "brightness+30": (lambda im, s: ImageEnhance.Brightness(im).enhance(1.3), "JPEG"),
    "contrast-30": (lambda im, s: ImageEnhance.Contrast(im).enhance(0.7), "JPEG"),
    "blur-r2": (lambda im, s: im.filter(ImageFilter.GaussianBlur(2)), "JPEG"),
    "border-10": (lambda im, s: _border(im), "JPEG"),
    "mirror": (lambda im, s: ImageOps.mirror(im), "JPEG"),
    "mirror+resize": (
        lambda im, s: ImageOps.mirror(_resize_to_width(im, max(64, im.width // 2))),
        "JPEG",
    ),
    "crop-80": (lambda im, s: _centre_crop(im, 0.8), "JPEG"),
    "square-400": (lambda im, s: _square(im), "JPEG"),
    "banner-15": (_banner, "JPEG"),
    "screenshot": (_screenshot, "PNG"),
    "rotate-90": (lambda im, s: im.transpose(Image.Transpose.ROTATE_270), "JPEG"),
    "crop-60": (lambda im, s: _centre_crop(im, 0.6), "JPEG"),
    "corner-70": (_corner_crop, "JPEG"),
    "rotate-5": (lambda im, s: im.rotate(5, resample=Image.Resampling.BICUBIC), "JPEG"),
}
TARGETS = {
    **dict.fromkeys(
        [
            "resize-50",
            "resize-320w",
            "jpeg-q30",
            "webp",
            "grayscale",
            "brightness+30",
            "contrast-30",
            "blur-r2",
            "border-10",
        ],
        0.99,
    ),
    **dict.fromkeys(
        [
            "mirror",
            "mirror+resize",
            "crop-80",
            "square-400",
            "banner-15",
            "screenshot",
            "rotate-90",
        ],
        0.97,
    ),
    **dict.fromkeys(["crop-60", "corner-70", "rotate-5"], 0.90),
}
FP_TARGET = 0.002


def encode(im: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    if fmt == "JPEG30":
        im.save(buf, "JPEG", quality=30)
    elif fmt == "JPEG":
        im.save(buf, "JPEG", quality=90)
    elif fmt == "WEBP":
        im.save(buf, "WEBP", quality=75)
    else:
        im.save(buf, fmt)
    return buf.getvalue()


def low_detail_images() -> dict[str, Image.Image]:
    """Flat colours, gradients and text on a plain background."""
    out: dict[str, Image.Image] = {}
    for i, colour in enumerate([(255, 255, 255), (0, 0, 0), (128, 128, 128), (200, 30, 30)]):
        out[f"flat-{i}"] = Image.new("RGB", (800, 600), colour)
    for i, (a, b) in enumerate([((0, 0, 0), (255, 255, 255)), ((20, 60, 200), (250, 200, 40))]):
        grad = Image.linear_gradient("L").resize((800, 600))
        out[f"gradient-h-{i}"] = ImageOps.colorize(grad.rotate(90, expand=False), a, b)
        out[f"gradient-v-{i}"] = ImageOps.colorize(grad, a, b)
    for i, text in enumerate(["Hello!", "Call me on WhatsApp", "Lorem ipsum dolor sit amet"]):
        im = Image.new("RGB", (800, 600), (255, 255, 255) if i % 2 == 0 else (235, 240, 250))
        ImageDraw.Draw(im).text((60, 260), text, fill=(0, 0, 0), font_size=48)
        out[f"text-{i}"] = im
    return out


def split(photos: list[Path]) -> tuple[list[Path], list[Path]]:
    """Indexed photos and distractors: every 4th out, and one shot of each x / x_2 pair out."""
    names = {p.stem: p for p in photos}
    indexed, distractors = [], []
    for i, p in enumerate(photos):
        base = re.sub(r"_2$", "", p.stem)
        if p.stem.endswith("_2") and base in names:
            distractors.append(p)
        elif f"{p.stem}_2" in names:
            indexed.append(p)
        elif i % 4 == 3:
            distractors.append(p)
        else:
            indexed.append(p)
    return indexed, distractors


def upright(path: Path) -> Image.Image:
    with Image.open(path) as im:
        return ImageOps.exif_transpose(im).convert("RGB")


def build_index(location: Path, photos: list[Path]) -> tuple[Any, Any]:
    """An index of ``photos`` (named by file name) at ``location``, ready to search."""
    index = open_index(location, create=True)
    stats = builder.run(index, [(p, p.name) for p in photos])
    index.refresh()
    return index, stats


class NaiveBaseline:
    """What users of imagehash write: pHash of a full decode, distance <= 10, nothing else."""

    def __init__(self, indexed: list[Path]) -> None:
        import imagehash

        self._imagehash = imagehash
        self._hashes = [(p.name, imagehash.phash(Image.open(p))) for p in indexed]

    def top(self, data: bytes) -> str | None:
        h = self._imagehash.phash(Image.open(io.BytesIO(data)))
        name, best = min(((n, h - x) for n, x in self._hashes), key=lambda t: t[1])
        return name if best <= 10 else None


def _all_kinds() -> dict[str, Callable[[Image.Image], Any]]:
    """imagehash's 64-bit hashes by kind: the ones revimg matches and the refused aHash."""
    import imagehash

    return {
        "phash": imagehash.phash,
        "dhash": imagehash.dhash,
        "whash": imagehash.whash,
        "ahash": imagehash.average_hash,
    }


def _dihedral(img: Image.Image, kinds: dict[str, Callable[[Image.Image], Any]]) -> Any:
    """Per kind, the (8,) uint64 hashes of the eight variants, as ``foreign.dihedral``."""
    import numpy as np

    from revimg.imaging.hashing import VARIANT_TRANSPOSE

    grey = img.convert("L")
    variants = [grey if t is None else grey.transpose(t) for t in VARIANT_TRANSPOSE]
    return {
        k: np.array([int(str(f(v)), 16) for v in variants], np.uint64) for k, f in kinds.items()
    }


def _tiles(im: Image.Image, n: int) -> list[Image.Image]:
    w, h = im.size
    return [
        im.crop((i * w // n, j * h // n, (i + 1) * w // n, (j + 1) * h // n))
        for j in range(n)
        for i in range(n)
    ]


def foreign_pairs(paths: list[Path], most: int = 16) -> dict[str, Any]:
    """False positives of each kind among distinct pictures, per distance 0..``most``.

    The pictures: each photo, its four quarters and its nine ninths. A pair is compared
    unless one is a part of the other or the two overlap (a quarter and a ninth of one
    photo); parts of one photo that do not overlap are distinct pictures (harsh: they share
    the photo's light and colours). Each pair is compared both ways, the query in its eight
    variants; queries with PDQ quality below 50 are left out, as a check leaves them out.
    """
    import numpy as np

    from revimg.imaging.hashing import MIN_QUALITY

    kinds = _all_kinds()
    items: list[tuple[int, str]] = []
    stored: dict[str, list[Any]] = defaultdict(list)
    queries: dict[str, list[Any]] = defaultdict(list)
    quality: list[int] = []
    for number, path in enumerate(paths):
        im = upright(path)
        pictures = [("full", im)] + [(f"q{i}", t) for i, t in enumerate(_tiles(im, 2))]
        pictures += [(f"n{i}", t) for i, t in enumerate(_tiles(im, 3))]
        for label, picture in pictures:
            items.append((number, label))
            quality.append(pdqlib.hash_luma(pdqlib.luma(picture))[1])
            hashed = _dihedral(picture, kinds)
            for k in kinds:
                stored[k].append(hashed[k][0])
                queries[k].append(hashed[k])
    parent = np.array([i[0] for i in items])
    family = np.array([i[1][0] for i in items])
    full = family == "f"
    same = parent[:, None] == parent[None, :]
    # a pair is distinct unless it is one picture, a part and its photo, or overlapping parts
    distinct = ~same | (~full[:, None] & ~full[None, :] & (family[:, None] == family[None, :]))
    np.fill_diagonal(distinct, False)
    distinct &= (np.array(quality) >= MIN_QUALITY)[:, None]  # rows are queries
    out: dict[str, Any] = {"pictures": len(items), "pairs": int(distinct.sum()), "kinds": {}}
    for k in kinds:
        s = np.array(stored[k], np.uint64)
        q = np.stack(queries[k])
        nearest = np.bitwise_count(q[:, None, :] ^ s[None, :, None]).min(axis=2)
        d = nearest[distinct]
        photos = nearest[distinct & full[:, None] & full[None, :]]
        out["kinds"][k] = {
            "within": [int((d <= t).sum()) for t in range(most + 1)],
            "photo_pairs_within": [int((photos <= t).sum()) for t in range(most + 1)],
            "photo_pairs": int(photos.size),
        }
    return out


def foreign_run(
    paths: list[Path],
    indexed: list[Path],
    edits: dict[str, tuple[Edit, str]],
    threshold: float,
    people: set[str],
) -> dict[str, Any]:
    """Recall@1 per kind and edit, and false positives, through the check path."""
    import numpy as np

    from revimg.imaging.hashing import MIN_QUALITY

    kinds = _all_kinds()
    listing = []
    stored: dict[str, list[int]] = defaultdict(list)
    for p in indexed:
        with Image.open(p) as im:  # as imagehash users hash their files: no EXIF rotation
            for k, f in kinds.items():
                value = str(f(im))
                stored[k].append(int(value, 16))
                if k in foreign.KINDS:
                    listing.append(f"{k}:{value} {k}/{p.name}")
    index = open_index(":memory:")
    bank.import_lines(index, "\n".join(listing), "imagehash-lists", "imagehash-lists")
    hits: dict[str, dict[str, list[int]]] = {k: defaultdict(list) for k in kinds}
    fps: dict[str, dict[str, list[int]]] = {k: defaultdict(list) for k in kinds}
    own: dict[str, dict[str, list[int]]] = {k: defaultdict(list) for k in kinds}
    # refused kinds are measured directly, at pHash's limit; wHash only on pairs below
    # (eight wHashes of a query take about 0.5 s)
    refused_limit = {k: foreign.KINDS["phash"].limit for k in foreign.REFUSED if k != "whash"}
    kinds = {k: f for k, f in kinds.items() if k in foreign.KINDS or k in refused_limit}
    names = [p.name for p in indexed]
    for seed, path in enumerate(paths):
        original = upright(path)
        is_indexed = path in indexed
        for name, (edit, fmt) in edits.items():
            data = encode(edit(original, seed), fmt)
            result = check_source(index, Photo(name, data=data), threshold=threshold, top=50)
            top = {}
            for m in result.matches:
                top.setdefault(m.method, m.entry.name.split("/", 1)[1])
            decoded = decoding.decode(data, name)
            low = pdqlib.hash_luma(pdqlib.luma(decoded.image))[1] < MIN_QUALITY
            direct = _dihedral(decoded.image, {k: kinds[k] for k in refused_limit})
            for k in refused_limit:  # refused at import: measured here directly
                d = np.bitwise_count(
                    np.array(stored[k], np.uint64)[:, None] ^ direct[k][None, :]
                ).min(axis=1)
                best = int(d.argmin())
                ok = not low and d[best] <= refused_limit[k]
                top[k] = names[best] if ok else None
                if is_indexed:
                    own[k][name].append(int(d[names.index(path.name)]))
            for k in kinds:
                got = top.get(k)
                if is_indexed:
                    hits[k][name].append(int(got == path.name))
                else:
                    fps[k][name].append(int(got is not None))
                    fps[k]["people" if path.name in people else "other"].append(
                        int(got is not None)
                    )
    index.close()
    rows = {}
    for k in kinds:
        every = [x for e in edits for x in hits[k][e]]
        wrong = [x for e in edits for x in fps[k][e]]
        rows[k] = {
            "limit": foreign.KINDS[k].limit if k in foreign.KINDS else refused_limit[k],
            "recall_by_edit": {e: sum(hits[k][e]) / len(hits[k][e]) for e in edits},
            "recall_all_edits": sum(every) / len(every),
            "false_positives": sum(wrong),
            "false_positive_queries": len(wrong),
            "false_positives_people": sum(fps[k]["people"]),
            "people_queries": len(fps[k]["people"]),
        }
    return rows


def print_foreign(rows: dict[str, Any], pairs: dict[str, Any] | None) -> None:
    """The figures of ``--foreign``: per edit and kind, then false positives."""
    kinds = list(rows)
    print("\nhashes other tools made (imagehash), recall@1 at each kind's limit (bits of 64):")
    print(f"{'edit':<15}" + "".join(f"{k + ' <=' + str(rows[k]['limit']):>12}" for k in kinds))
    for edit in next(iter(rows.values()))["recall_by_edit"]:
        print(f"{edit:<15}" + "".join(f"{rows[k]['recall_by_edit'][edit]:>12.3f}" for k in kinds))
    print(f"{'all edits':<15}" + "".join(f"{rows[k]['recall_all_edits']:>12.3f}" for k in kinds))
    for k in kinds:
        r = rows[k]
        print(
            f"{k}: false positives on copies of distractors {r['false_positives']}/"
            f"{r['false_positive_queries']} (people's other shots: "
            f"{r['false_positives_people']}/{r['people_queries']})"
        )
    if pairs is None:
        return
    print(
        f"\ndistinct pictures: {pairs['pictures']} (photos, quarters, ninths), "
        f"{pairs['pairs']} ordered pairs; pairs within d bits (photo pairs in brackets):"
    )
    print(f"{'d':>3}" + "".join(f"{k:>22}" for k in pairs["kinds"]))
    for t in range(len(next(iter(pairs["kinds"].values()))["within"])):
        cells = "".join(
            f"{v['within'][t]:>12} ({v['photo_pairs_within'][t]:>4}/{v['photo_pairs']})"
            for v in pairs["kinds"].values()
        )
        print(f"{t:>3}{cells}")


def print_findings(misses: list[str], false_alarms: list[str], most: int = 40) -> None:
    """List the first misses and false alarms, so that a figure can be traced to photos."""
    for title, lines in (("misses", misses), ("false alarms", false_alarms)):
        if lines:
            print(f"\n{title} ({len(lines)}):")
            for line in lines[:most]:
                print(f"  {line}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS, help="folder of photos")
    parser.add_argument(
        "--people-glob",
        default="kphotoalbum__*",
        help="file-name pattern of the photos of people (reported separately)",
    )
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--edits", default="", help="comma-separated subset of edits")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--foreign",
        action="store_true",
        help="also measure imagehash pHash/dHash/wHash/aHash lists (a few minutes more)",
    )
    args = parser.parse_args(argv)

    if not args.photos.is_dir():
        print(f"no photo folder at {args.photos}: pass --photos DIR", file=sys.stderr)
        return 2
    photos = sorted(p for p in builder.folder_files([args.photos]) if "LICENSES" not in p[1])
    paths = [p for p, _ in photos]
    indexed, distractors = split(paths)
    people = {p.name for p in paths if p.match(args.people_glob)}
    edits = {k: v for k, v in EDITS.items() if not args.edits or k in args.edits.split(",")}
    print(
        f"photos: {len(paths)} ({len(indexed)} indexed, {len(distractors)} distractors; "
        f"{len(people)} match {args.people_glob!r}); edits: {len(edits)}; "
        f"threshold {args.threshold}"
    )

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        index, stats = build_index(Path(tmp) / "index", indexed)
        build_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        baseline = NaiveBaseline(indexed)
        baseline_build_s = time.perf_counter() - t0
        print(f"index: {stats.summary()}; baseline index {baseline_build_s:.1f} s")

        hits: dict[str, dict[str, list[int]]] = {m: defaultdict(list) for m in ("revimg", "naive")}
        fps: dict[str, dict[str, list[int]]] = {m: defaultdict(list) for m in ("revimg", "naive")}
        misses: list[str] = []
        false_alarms: list[str] = []
        query_s = 0.0
        n_queries = 0
        for seed, path in enumerate(paths):
            original = upright(path)
            is_indexed = path in indexed
            group = "people" if path.name in people else "other"
            for name, (edit, fmt) in edits.items():
                data = encode(edit(original, seed), fmt)
                t0 = time.perf_counter()
                result = check_source(
                    index, Photo(f"{name}:{path.name}", data=data), threshold=args.threshold, top=3
                )
                query_s += time.perf_counter() - t0
                n_queries += 1
                top = result.matches[0].entry.name if result.matches else None
                naive_top = baseline.top(data)
                if is_indexed:
                    for method, got in (("revimg", top), ("naive", naive_top)):
                        ok = int(got == path.name)
                        hits[method][name].append(ok)
                        hits[method][f"{name}|{group}"].append(ok)
                    if top != path.name:
                        misses.append(
                            f"{name}:{path.name} -> {top} "
                            f"{[(m.entry.name, m.distance) for m in result.matches]}"
                        )
                else:
                    for method, got in (("revimg", top), ("naive", naive_top)):
                        fps[method][name].append(int(got is not None))
                        fps[method][f"all|{group}"].append(int(got is not None))
                    if top is not None:
                        false_alarms.append(
                            f"{name}:{path.name} -> {top} {result.matches[0].distance}"
                        )
        for label, im in low_detail_images().items():
            data = encode(im, "PNG")
            result = check_source(index, Photo(label, data=data), threshold=args.threshold)
            fps["revimg"]["low-detail"].append(int(bool(result.matches)))
            fps["naive"]["low-detail"].append(int(baseline.top(data) is not None))
            if result.matches:
                false_alarms.append(f"low-detail {label} -> {result.matches[0].entry.name}")
        index.close()

    def rate(xs: list[int]) -> float:
        return sum(xs) / len(xs) if xs else float("nan")

    print()
    print(
        f"{'edit':<15}{'n':>4}{'revimg':>9}{'people':>8}{'naive':>8}{'ratio':>7}{'target':>8}  met"
    )
    rows = []
    for name in edits:
        r, nv = rate(hits["revimg"][name]), rate(hits["naive"][name])
        ppl = rate(hits["revimg"][f"{name}|people"])
        target = TARGETS[name]
        met = r >= target and (ppl != ppl or ppl >= target)
        ratio = r / nv if nv > 0 else float("inf")
        rows.append(
            {
                "edit": name,
                "n": len(hits["revimg"][name]),
                "recall_at_1": r,
                "recall_at_1_people": ppl,
                "naive_recall_at_1": nv,
                "target": target,
                "met": met,
            }
        )
        print(
            f"{name:<15}{len(hits['revimg'][name]):>4}{r:>9.3f}{ppl:>8.3f}{nv:>8.3f}"
            f"{ratio:>7.1f}{target:>8.2f}  {'yes' if met else 'NO'}"
        )
    all_fp = [x for k, v in fps["revimg"].items() if "|" not in k for x in v]
    naive_fp = [x for k, v in fps["naive"].items() if "|" not in k for x in v]
    people_fp = fps["revimg"].get("all|people", [])
    print()
    print(
        f"false positives, revimg: {sum(all_fp)}/{len(all_fp)} = {rate(all_fp):.4f} "
        f"(people: {sum(people_fp)}/{len(people_fp)}; low-detail: "
        f"{sum(fps['revimg']['low-detail'])}/{len(fps['revimg']['low-detail'])}); "
        f"target <= {FP_TARGET}"
    )
    print(f"false positives, naive:  {sum(naive_fp)}/{len(naive_fp)} = {rate(naive_fp):.4f}")
    print(
        f"time: index build {build_s:.1f} s for {len(indexed)} photos; "
        f"check {1000 * query_s / max(n_queries, 1):.1f} ms per query over {n_queries} queries"
    )
    print_findings(misses, false_alarms)
    foreign_rows = pairs = None
    if args.foreign:
        t0 = time.perf_counter()
        foreign_rows = foreign_run(paths, indexed, edits, args.threshold, people)
        pairs = foreign_pairs(paths)
        print_foreign(foreign_rows, pairs)
        print(f"time: foreign-hash measurements {time.perf_counter() - t0:.0f} s")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "rows": rows,
                    "false_positive_rate": rate(all_fp),
                    "naive_false_positive_rate": rate(naive_fp),
                    "misses": misses,
                    "false_alarms": false_alarms,
                    "foreign": foreign_rows,
                    "foreign_pairs": pairs,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
