"""Screenshot benchmark: recall@1 when the query is a phone screenshot holding the photo.

What a scam victim holds is rarely the photo file: it is a screenshot of a messenger,
a dating app, a profile page or a web page with the photo somewhere in it. This builds
an index from a folder of photos exactly as benchmarks/accuracy.py does (every fourth
photo and one shot of each ``x`` / ``x_2`` pair kept out as distractors), draws every
photo into the screenshots of benchmarks/layouts.py (deterministic per photo, layout
and repeat), checks each PNG through the library code that ``revimg check`` uses and
prints per layout:

- recall@1: the top match is the photo the screenshot was made from (indexed photos);
- false positives: any match on a screenshot of a distractor;
- milliseconds per check, and the ratio to checking the plain photo (a JPEG of it);
- when matches carry ``query_box`` (where in the query the match lies), the share of
  top-1 hits whose box overlaps the drawn photo with IoU >= 0.5.

    python benchmarks/screenshots.py [--photos DIR] [--layouts a,b] [--per-photo N]
                                     [--json results.json] [--save DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

# accuracy puts the repository on sys.path for the revimg imports below
from accuracy import DEFAULT_PHOTOS, FP_TARGET, encode, print_findings, split, upright  # noqa: E402
from layouts import LAYOUTS, Box  # noqa: E402

from revimg import builder  # noqa: E402
from revimg.checker import check_source  # noqa: E402
from revimg.index import open_index  # noqa: E402
from revimg.matching import DEFAULT_THRESHOLD  # noqa: E402
from revimg.sources import Source  # noqa: E402

#: recall@1 each layout should reach (false positives: FP_TARGET, as in accuracy.py)
TARGETS = {
    "messenger-fullscreen": 0.99,
    "chat-bubble": 0.95,
    "dating-card": 0.93,
    "web-page": 0.95,
    "profile-avatar": 0.85,
    "chat-list-avatar": 0.50,
}
PLAIN = "plain photo"


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two (left, top, right, bottom) boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def rate(xs: list[int]) -> float:
    return sum(xs) / len(xs) if xs else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS, help="folder of photos")
    parser.add_argument("--layouts", default="", help="comma-separated subset of layouts")
    parser.add_argument(
        "--per-photo", type=int, default=1, help="screenshots per photo and layout (seeds)"
    )
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--save", type=Path, help="write the screenshots here as PNG")
    parser.add_argument(
        "--save-photos",
        type=int,
        default=0,
        help="with --save: only the screenshots of the first N photos (0: all)",
    )
    args = parser.parse_args(argv)

    if not args.photos.is_dir():
        print(f"no photo folder at {args.photos}: pass --photos DIR", file=sys.stderr)
        return 2
    wanted = [x for x in args.layouts.split(",") if x]
    unknown = sorted(set(wanted) - set(LAYOUTS))
    if unknown:
        print(f"unknown layouts {unknown}; known: {', '.join(LAYOUTS)}", file=sys.stderr)
        return 2
    layouts = {k: v for k, v in LAYOUTS.items() if not wanted or k in wanted}
    photos = sorted(p for p in builder.folder_files([args.photos]) if "LICENSES" not in p[1])
    paths = [p for p, _ in photos]
    indexed, distractors = split(paths)
    print(
        f"photos: {len(paths)} ({len(indexed)} indexed, {len(distractors)} distractors); "
        f"layouts: {len(layouts)} x {args.per_photo} per photo; threshold {args.threshold}"
    )
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    hits: dict[str, list[int]] = defaultdict(list)
    fps: dict[str, list[int]] = defaultdict(list)
    ms: dict[str, list[float]] = defaultdict(list)
    boxed: dict[str, list[int]] = defaultdict(list)  # top-1 hits with query_box: IoU >= 0.5
    misses: list[str] = []
    false_alarms: list[str] = []
    make_s = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        index = open_index(Path(tmp) / "index", create=True)
        stats = builder.run(index, [(p, p.name) for p in indexed])
        index.refresh()
        build_s = time.perf_counter() - t0
        print(f"index: {stats.summary()}")

        def check(kind: str, path: Path, label: str, data: bytes, box: Box | None) -> None:
            t0 = time.perf_counter()
            result = check_source(index, Source(label, data=data), threshold=args.threshold, top=3)
            ms[kind].append(1000 * (time.perf_counter() - t0))
            top = result.matches[0] if result.matches else None
            found = [(m.entry.name, m.distance) for m in result.matches]
            if path in indexed_set:
                hit = top is not None and top.entry.name == path.name
                hits[kind].append(int(hit))
                if not hit:
                    misses.append(f"{label} -> {top and top.entry.name} {found}")
                elif box is not None and hasattr(top, "query_box"):
                    qb = getattr(top, "query_box", None)
                    boxed[kind].append(int(qb is not None and iou(tuple(qb), box) >= 0.5))
            else:
                fps[kind].append(int(top is not None))
                if top is not None:
                    false_alarms.append(f"{label} -> {top.entry.name} {found}")

        indexed_set = set(indexed)
        for i, path in enumerate(paths):
            original = upright(path)
            check(PLAIN, path, f"{PLAIN}:{path.name}", encode(original, "JPEG"), None)
            for name, layout in layouts.items():
                for k in range(args.per_photo):
                    t0 = time.perf_counter()
                    shot, box = layout(original, random.Random(f"{name}:{path.name}:{k}"))
                    data = encode(shot, "PNG")
                    make_s += time.perf_counter() - t0
                    label = f"{name}#{k}:{path.name}"
                    if args.save and (not args.save_photos or i < args.save_photos):
                        (args.save / f"{name}__{path.stem}__{k}.png").write_bytes(data)
                    check(name, path, label, data, box)
            if (i + 1) % 10 == 0:
                print(f"  {i + 1}/{len(paths)} photos", file=sys.stderr, flush=True)
        index.close()
    total_s = time.perf_counter() - started

    plain_ms = sum(ms[PLAIN]) / max(len(ms[PLAIN]), 1)
    print()
    print(
        f"{'layout':<22}{'n':>4}{'recall@1':>10}{'target':>8}{'fp':>8}{'ms':>8}"
        f"{'xplain':>8}{'box iou':>9}  met"
    )
    rows: list[dict[str, Any]] = []
    for name in [*layouts, PLAIN]:
        r, fp = rate(hits[name]), rate(fps[name])
        mean_ms = sum(ms[name]) / max(len(ms[name]), 1)
        ratio = mean_ms / plain_ms if plain_ms else float("nan")
        box_share = rate(boxed[name]) if boxed[name] else None
        target = TARGETS.get(name)
        met = None if target is None else bool(r >= target and not fp > FP_TARGET)
        rows.append(
            {
                "layout": name,
                "n": len(hits[name]),
                "recall_at_1": r,
                "target": target,
                "false_positives": sum(fps[name]),
                "distractor_checks": len(fps[name]),
                "false_positive_rate": fp,
                "ms_per_check": mean_ms,
                "cost_ratio": ratio,
                "box_iou_share": box_share,
                "box_iou_n": len(boxed[name]),
                "met": met,
            }
        )
        print(
            f"{name:<22}{len(hits[name]):>4}{r:>10.3f}"
            f"{'-' if target is None else f'{target:.2f}':>8}"
            f"{f'{sum(fps[name])}/{len(fps[name])}':>8}{mean_ms:>8.0f}{ratio:>8.1f}"
            f"{'n/a' if box_share is None else f'{box_share:.2f}':>9}"
            f"  {'-' if met is None else 'yes' if met else 'NO'}"
        )
    all_fp = [x for name in layouts for x in fps[name]]
    fp_rate = rate(all_fp)
    print()
    print(
        f"false positives, screenshots: {sum(all_fp)}/{len(all_fp)} = {fp_rate:.4f}; "
        f"target <= {FP_TARGET}: {'NO' if fp_rate > FP_TARGET else 'yes'}"
    )
    n_checks = sum(len(v) for v in ms.values())
    print(
        f"time: index build {build_s:.1f} s for {len(indexed)} photos; "
        f"making screenshots {make_s:.1f} s; {n_checks} checks; total {total_s:.1f} s"
    )
    print_findings(misses, false_alarms)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "rows": rows,
                    "false_positive_rate": fp_rate,
                    "false_positive_target": FP_TARGET,
                    "plain_ms_per_check": plain_ms,
                    "seconds": {"build": build_s, "make": make_s, "total": total_s},
                    "misses": misses,
                    "false_alarms": false_alarms,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
