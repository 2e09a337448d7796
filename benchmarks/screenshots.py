"""Screenshot benchmark: recall@1 when the query is a phone screenshot holding the photo.

What a scam victim holds is rarely the photo file: it is a screenshot of a messenger,
a dating app, a profile page or a web page with the photo somewhere in it, often one
that was forwarded through a messenger on the way. This builds an index from a folder
of photos exactly as benchmarks/accuracy.py does (every fourth photo and one shot of
each ``x`` / ``x_2`` pair kept out as distractors), draws every photo into the
screenshots of benchmarks/layouts.py (deterministic per photo, layout and repeat),
checks each screenshot through the library code that ``revimg check`` uses in two
deliveries, each its own row:

- ``png``: the screenshot as taken (row ``<layout>``);
- ``forwarded``: as it arrives after being sent on through a messenger: downscaled to a
  width of 720 or 864 px (LANCZOS) and saved as JPEG of quality 60-85, both drawn from a
  seeded random generator (row ``<layout>/forwarded``);

and prints per row:

- recall@1: the top match is the photo the screenshot was made from (indexed photos);
- false positives: any match on a screenshot of a distractor;
- milliseconds per check, and the ratio to checking the plain photo (a JPEG of it);
- when matches carry ``query_box`` (where in the query the match lies), the share of
  top-1 hits whose box overlaps the drawn photo with IoU >= 0.5.

Hard negatives, same person: for the pairs of shots of one person (``X`` indexed,
``X_2`` a distractor) whose faces benchmarks/appearance_eval.py can align (eye
positions marked by hand), the face is cropped and aligned as face datasets do, in each
of appearance_eval's framings. The crop of the indexed shot (JPEG q85) is a copy and
must match ``X`` (row ``same-person (aligned faces)``); the crop of the other shot (JPEG
q85), and that crop drawn into a chat bubble and a profile avatar (in each delivery),
must match nothing (rows ``same-person/other: <form>``, target: no match at all).

    python benchmarks/screenshots.py [--photos DIR] [--layouts a,b] [--per-photo N]
                                     [--deliveries png,forwarded] [--no-faces]
                                     [--json results.json] [--save DIR]
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

# accuracy puts the repository on sys.path for the revimg imports below
import appearance_eval  # noqa: E402
from accuracy import (  # noqa: E402
    DEFAULT_PHOTOS,
    FP_TARGET,
    build_index,
    encode,
    print_findings,
    split,
    upright,
)
from layouts import LAYOUTS, Box  # noqa: E402

from revimg.imaging.photo import Photo  # noqa: E402
from revimg.index import builder  # noqa: E402
from revimg.matching.checker import check_source  # noqa: E402
from revimg.matching.find import DEFAULT_THRESHOLD  # noqa: E402

#: recall@1 each layout should reach, in every delivery (false positives: FP_TARGET, as
#: in accuracy.py)
TARGETS = {
    "messenger-fullscreen": 0.99,
    "chat-bubble": 0.95,
    "dating-card": 0.93,
    "web-page": 0.95,
    "profile-avatar": 0.85,
    "chat-list-avatar": 0.50,
}
PLAIN = "plain photo"
DELIVERIES = ("png", "forwarded")
#: forwarded through a messenger: width after the downscale, JPEG quality range
FORWARD_WIDTHS = (720, 864)
FORWARD_QUALITY = (60, 85)

#: the pairs of shots of one scene or person, ``kphotoalbum__<X>.jpg`` and its second
#: shot (appearance_eval.GROUPS); only those with faces appearance_eval can align count
PERSON_PAIRS = [
    tuple(g[:2])
    for g in appearance_eval.GROUPS
    if g[0] in {"jesper", "bar55", "donna", "spiff", "pool", "skagen", "new_wave_1"}
]
FACES = "same-person (aligned faces)"
OTHER = "same-person/other"  # rows of the other shot: "same-person/other: <form>"
#: recall@1 of the aligned face crop of the indexed shot (a tight crop, 5-35 % of the
#: photo, upscaled for the small faces): between the profile and the chat-list avatars
FACES_TARGET = 0.75
#: where the other shot's face crop goes; each must give no match at all
OTHER_FORMS = ("crop", "chat-bubble", "profile-avatar")
FACE_FP_TARGET = 0


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


def jpeg(im: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def forward(shot: Image.Image, rng: random.Random) -> tuple[bytes, str]:
    """The screenshot as a messenger delivers it: downscaled, JPEG; and how (``720w-q71``)."""
    width = rng.choice(FORWARD_WIDTHS)
    quality = rng.randint(*FORWARD_QUALITY)
    height = max(1, round(shot.height * width / shot.width))
    small = shot.resize((width, height), Image.Resampling.LANCZOS)
    return jpeg(small, quality), f"{width}w-q{quality}"


def deliver(shot: Image.Image, delivery: str, seed: str) -> tuple[bytes, str]:
    """Bytes of ``shot`` in ``delivery`` and a label suffix."""
    if delivery == "png":
        return encode(shot, "PNG"), ""
    return forward(shot, random.Random(f"forwarded:{seed}"))


def kind_of(layout: str, delivery: str) -> str:
    """Row name: the layout for PNG, ``layout/forwarded`` for the forwarded delivery."""
    return layout if delivery == "png" else f"{layout}/{delivery}"


def face_pairs(
    photos: dict[str, Path], indexed: set[Path], distractors: set[Path]
) -> tuple[list[tuple[str, int, str, int]], list[str]]:
    """Faces to check, (indexed shot, face, other shot, face), and the pairs skipped (why)."""
    faces: list[tuple[str, int, str, int]] = []
    skipped: list[str] = []
    for a, b in PERSON_PAIRS:
        pa, pb = photos.get(a), photos.get(b)
        if pa is None or pb is None:
            skipped.append(f"{a}/{b}: not both in the photo folder")
            continue
        if pa in indexed and pb in distractors:
            x, y = a, b
        elif pb in indexed and pa in distractors:
            x, y = b, a
        else:
            skipped.append(f"{a}/{b}: the split indexes {'both' if pa in indexed else 'neither'}")
            continue
        links = [
            (ka, kb) if (p, q) == (x, y) else (kb, ka)
            for p, ka, q, kb in appearance_eval.SAME_PERSON
            if {p, q} == {x, y}
        ]
        ex = appearance_eval.face_eyes(x, upright(photos[x]))
        ey = appearance_eval.face_eyes(y, upright(photos[y]))
        links = [(kx, ky) for kx, ky in links if kx < len(ex) and ky < len(ey)]
        if not links:
            skipped.append(f"{a}/{b}: no faces to align")
            continue
        faces += [(x, kx, y, ky) for kx, ky in links]
    return faces, skipped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS, help="folder of photos")
    parser.add_argument("--layouts", default="", help="comma-separated subset of layouts")
    parser.add_argument(
        "--per-photo", type=int, default=2, help="screenshots per photo and layout (seeds)"
    )
    parser.add_argument(
        "--deliveries",
        default=",".join(DELIVERIES),
        help="comma-separated deliveries of each screenshot: png (as taken), forwarded "
        "(downscaled to 720 or 864 px wide, JPEG q60-85)",
    )
    parser.add_argument(
        "--no-faces", action="store_true", help="skip the same-person aligned-face rows"
    )
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--save", type=Path, help="write the screenshots here (PNG or JPEG)")
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
    deliveries = [x for x in DELIVERIES if x in args.deliveries.split(",")]
    unknown = sorted(set(x for x in args.deliveries.split(",") if x) - set(DELIVERIES))
    if unknown or not deliveries:
        print(
            f"unknown or no deliveries {unknown}; known: {', '.join(DELIVERIES)}",
            file=sys.stderr,
        )
        return 2
    layouts = {k: v for k, v in LAYOUTS.items() if not wanted or k in wanted}
    photos = sorted(p for p in builder.folder_files([args.photos]) if "LICENSES" not in p[1])
    paths = [p for p, _ in photos]
    indexed, distractors = split(paths)
    indexed_set, distractor_set = set(indexed), set(distractors)
    by_stem = {p.stem.removeprefix("kphotoalbum__"): p for p in paths if "kphotoalbum__" in p.name}
    faces, skipped_pairs = (
        ([], []) if args.no_faces else face_pairs(by_stem, indexed_set, distractor_set)
    )
    print(
        f"photos: {len(paths)} ({len(indexed)} indexed, {len(distractors)} distractors); "
        f"layouts: {len(layouts)} x {args.per_photo} per photo x {len(deliveries)} deliveries "
        f"({', '.join(deliveries)}); threshold {args.threshold}"
    )
    if not args.no_faces:
        print(
            f"same-person faces: {len(faces)} "
            f"({', '.join(f'{x}#{kx} vs {y}#{ky}' for x, kx, y, ky in faces) or 'none'}) x "
            f"{len(appearance_eval.FRAMINGS)} framings; skipped: {'; '.join(skipped_pairs) or '-'}"
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
    faces_s = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        index, stats = build_index(Path(tmp) / "index", indexed)
        build_s = time.perf_counter() - t0
        print(f"index: {stats.summary()}")

        def check(kind: str, path: Path | None, label: str, data: bytes, box: Box | None) -> None:
            """``path``: the photo the query should match; None: it must match nothing."""
            t0 = time.perf_counter()
            result = check_source(index, Photo(label, data=data), threshold=args.threshold, top=3)
            ms[kind].append(1000 * (time.perf_counter() - t0))
            top = result.matches[0] if result.matches else None
            found = [(m.entry.name, m.distance) for m in result.matches]
            if path is not None and path in indexed_set:
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

        def save(stem: str, data: bytes, delivery: str) -> None:
            ext = "png" if delivery == "png" else "jpg"
            (args.save / f"{stem}.{ext}").write_bytes(data)

        for i, path in enumerate(paths):
            original = upright(path)
            check(PLAIN, path, f"{PLAIN}:{path.name}", encode(original, "JPEG"), None)
            for name, layout in layouts.items():
                for k in range(args.per_photo):
                    t0 = time.perf_counter()
                    seed = f"{name}:{path.name}:{k}"
                    shot, box = layout(original, random.Random(seed))
                    delivered = [(d, *deliver(shot, d, seed)) for d in deliveries]
                    make_s += time.perf_counter() - t0
                    for d, data, how in delivered:
                        kind = kind_of(name, d)
                        label = f"{kind}#{k}:{path.name}" + (f"@{how}" if how else "")
                        if args.save and (not args.save_photos or i < args.save_photos):
                            save(f"{name}__{path.stem}__{k}__{d}", data, d)
                        check(kind, path, label, data, box)
            if (i + 1) % 10 == 0:
                print(f"  {i + 1}/{len(paths)} photos", file=sys.stderr, flush=True)

        # ---- same person: aligned face crops of the indexed shot and of the other one
        t_faces = time.perf_counter()
        for x, kx, y, ky in faces:
            im_x, im_y = upright(by_stem[x]), upright(by_stem[y])
            eyes_x = appearance_eval.face_eyes(x, im_x)[kx]
            eyes_y = appearance_eval.face_eyes(y, im_y)[ky]
            for j, framing in enumerate(appearance_eval.FRAMINGS):
                tag = f"framing {j} ({framing[2]} px)"
                crop_x = appearance_eval.align_face(im_x, eyes_x, framing)
                check(FACES, by_stem[x], f"{FACES}:{x}#{kx} {tag}", jpeg(crop_x, 85), None)
                crop_y = appearance_eval.align_face(im_y, eyes_y, framing)
                kind = f"{OTHER}: crop"
                check(kind, None, f"{kind}:{y}#{ky} {tag} (X={x})", jpeg(crop_y, 85), None)
                for name in OTHER_FORMS[1:]:
                    for k in range(args.per_photo):
                        seed = f"{FACES}:{name}:{y}#{ky}:{j}:{k}"
                        shot, _ = LAYOUTS[name](crop_y, random.Random(seed))
                        for d in deliveries:
                            data, how = deliver(shot, d, seed)
                            kind = f"{OTHER}: {kind_of(name, d)}"
                            label = f"{kind}#{k}:{y}#{ky} {tag} (X={x})" + (
                                f"@{how}" if how else ""
                            )
                            check(kind, None, label, data, None)
        faces_s = time.perf_counter() - t_faces
        index.close()
    total_s = time.perf_counter() - started

    kinds = [kind_of(name, d) for name in layouts for d in deliveries]
    face_kinds = [
        k
        for k in [
            FACES,
            f"{OTHER}: crop",
            *(f"{OTHER}: {kind_of(n, d)}" for n in OTHER_FORMS[1:] for d in deliveries),
        ]
        if faces
    ]
    width = max(22, *(len(k) + 2 for k in [*kinds, *face_kinds]))
    plain_ms = sum(ms[PLAIN]) / max(len(ms[PLAIN]), 1)
    print()
    print(
        f"{'layout':<{width}}{'n':>5}{'recall@1':>10}{'target':>8}{'fp':>8}{'ms':>8}"
        f"{'xplain':>8}{'box iou':>9}  met"
    )
    rows: list[dict[str, Any]] = []
    for name in [*kinds, PLAIN, *face_kinds]:
        layout = name.split("/")[0]
        r, fp = rate(hits[name]), rate(fps[name])
        mean_ms = sum(ms[name]) / max(len(ms[name]), 1)
        ratio = mean_ms / plain_ms if plain_ms else float("nan")
        box_share = rate(boxed[name]) if boxed[name] else None
        fp_only = name.startswith(OTHER)
        if fp_only:
            target = None
            met: bool | None = sum(fps[name]) <= FACE_FP_TARGET
            shown_target = f"{FACE_FP_TARGET} fp"
        else:
            target = FACES_TARGET if name == FACES else TARGETS.get(layout)
            met = None if target is None else bool(r >= target and not fp > FP_TARGET)
            shown_target = "-" if target is None else f"{target:.2f}"
        n = len(fps[name]) if fp_only else len(hits[name])
        row: dict[str, Any] = {
            "layout": name,
            "n": n,
            "recall_at_1": None if fp_only else r,
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
        if name in kinds:
            row["delivery"] = "png" if name == layout else name.split("/", 1)[1]
        if fp_only:
            row["false_positive_target"] = FACE_FP_TARGET
        rows.append(row)
        print(
            f"{name:<{width}}{n:>5}{'-' if fp_only else f'{r:.3f}':>10}{shown_target:>8}"
            f"{f'{sum(fps[name])}/{len(fps[name])}':>8}{mean_ms:>8.0f}{ratio:>8.1f}"
            f"{'n/a' if box_share is None else f'{box_share:.2f}':>9}"
            f"  {'-' if met is None else 'yes' if met else 'NO'}"
        )
    all_fp = [x for name in kinds for x in fps[name]]
    fp_rate = rate(all_fp)
    print()
    print(
        f"false positives, screenshots: {sum(all_fp)}/{len(all_fp)} = {fp_rate:.4f}; "
        f"target <= {FP_TARGET}: {'NO' if fp_rate > FP_TARGET else 'yes'}"
    )
    for d in deliveries:
        xs = [x for name in layouts for x in fps[kind_of(name, d)]]
        rs = [x for name in layouts for x in hits[kind_of(name, d)]]
        print(f"  {d}: recall@1 {rate(rs):.3f} over {len(rs)}; false positives {sum(xs)}/{len(xs)}")
    face_fp = [x for k in face_kinds if k != FACES for x in fps[k]]
    if faces:
        print(
            f"false positives, same-person other shots: {sum(face_fp)}/{len(face_fp)}; "
            f"target {FACE_FP_TARGET}: {'yes' if sum(face_fp) <= FACE_FP_TARGET else 'NO'}"
        )
    n_checks = sum(len(v) for v in ms.values())
    print(
        f"time: index build {build_s:.1f} s for {len(indexed)} photos; "
        f"making screenshots {make_s:.1f} s; same-person faces {faces_s:.1f} s; "
        f"{n_checks} checks; total {total_s:.1f} s"
    )
    print_findings(misses, false_alarms, most=200)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "rows": rows,
                    "false_positive_rate": fp_rate,
                    "false_positive_target": FP_TARGET,
                    "plain_ms_per_check": plain_ms,
                    "seconds": {
                        "build": build_s,
                        "make": make_s,
                        "faces": faces_s,
                        "total": total_s,
                    },
                    "misses": misses,
                    "false_alarms": false_alarms,
                    "per_photo": args.per_photo,
                    "deliveries": deliveries,
                    "same_person": {
                        "faces": [f"{x}#{kx} vs {y}#{ky}" for x, kx, y, ky in faces],
                        "framings": len(appearance_eval.FRAMINGS),
                        "skipped_pairs": skipped_pairs,
                        "false_positives": sum(face_fp),
                        "checks": len(face_fp),
                        "false_positive_target": FACE_FP_TARGET,
                    },
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
