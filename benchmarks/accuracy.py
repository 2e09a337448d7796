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

    python benchmarks/accuracy.py [--photos DIR] [--json results.json]
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

from revimg import builder  # noqa: E402
from revimg.checker import check_source  # noqa: E402
from revimg.index import open_index  # noqa: E402
from revimg.matching import DEFAULT_THRESHOLD  # noqa: E402
from revimg.sources import Source  # noqa: E402

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
                    index, Source(f"{name}:{path.name}", data=data), threshold=args.threshold, top=3
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
            result = check_source(index, Source(label, data=data), threshold=args.threshold)
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
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "rows": rows,
                    "false_positive_rate": rate(all_fp),
                    "naive_false_positive_rate": rate(naive_fp),
                    "misses": misses,
                    "false_alarms": false_alarms,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
