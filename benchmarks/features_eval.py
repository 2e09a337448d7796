"""Local-feature (ORB) stage benchmark: recall@1 per edit, false positives, costs.

Uses the photos, split, edits and query encoding of ``benchmarks/accuracy.py``: the indexed
photos are decoded as the index builder decodes them (``revimg.imaging.decoding.decode``), their
features go through a blob round trip as an index would store them, and every edited copy
of every photo is encoded exactly as accuracy.py encodes it, decoded again and looked up:
``FeatureSearcher.candidates`` (query and its mirror image), then ``verify`` on each
candidate; the answer is the accepted candidate with the most inliers.

Prints, per edit, recall@1 (indexed photos) and whether the source was among the
candidates; false positives over every edit of the distractor photos and over low-detail
images; the evidence behind the acceptance rule (inliers, inlier ratio, reprojection error,
spread of true copies versus two shots of one scene versus unrelated photos, and versus
screenshots that share the same app chrome); costs; and an estimate of how candidate
retrieval ranks the source in a collection of 1e5 photos.

    python benchmarks/features_eval.py [--photos DIR] [--top 10] [--simulate 100000]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

import accuracy  # noqa: E402
from accuracy import EDITS, encode, low_detail_images, split, upright  # noqa: E402

from revimg.imaging import features as F  # noqa: E402
from revimg.imaging.decoding import decode  # noqa: E402
from revimg.index import feature_search  # noqa: E402
from revimg.matching import verify  # noqa: E402

PAIR = re.compile(r"_2$")


def _watermark(im: Image.Image, tiled: bool) -> Image.Image:
    """The same semi-transparent agency watermark (one big word, or tiled) over a photo."""
    im = im.convert("RGBA")
    layer = Image.new("RGBA", im.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    fs = max(12, im.width // 12)
    if tiled:
        for y in range(0, im.height, fs * 3):
            for x in range(-(y % (fs * 6)), im.width, fs * 7):
                draw.text((x, y), "STOCKCO", fill=(255, 255, 255, 110), font_size=fs)
    else:
        draw.text(
            (im.width * 0.2, im.height * 0.42),
            "STOCKCO",
            fill=(255, 255, 255, 140),
            font_size=fs * 2,
        )
    return Image.alpha_composite(im, layer).convert("RGB")


def _thumbnail_shot(im: Image.Image, width: int) -> Image.Image:
    """A photo shown small (``width`` px) in a 400 x 700 phone screenshot."""
    small = im.resize((width, round(width * im.height / im.width)), Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (400, 700), (250, 250, 250))
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((0, 0, 400, 60), fill=(59, 89, 152))
    draw.text((20, 20), "Profile", fill=(255, 255, 255), font_size=24)
    canvas.paste(small, ((400 - width) // 2, 120))
    return canvas


#: Extra edits, reported without targets: a photo shown small inside a screenshot
#: (its scale relative to the indexed photo is about 2 and 2.5 at the working size).
EXTRA_EDITS = {
    "thumb-360": (lambda im, s: _thumbnail_shot(im, 360), "JPEG"),
    "thumb-280": (lambda im, s: _thumbnail_shot(im, 280), "JPEG"),
}


def _ms(seconds: float, n: int) -> float:
    return 1000 * seconds / max(n, 1)


def _pct(xs: list[float], q: float) -> float:
    return float(np.percentile(xs, q)) if xs else float("nan")


def _best(q: F.Features, qm: F.Features, c: F.Features) -> verify.Verification | None:
    """Unfiltered measurement of a pair: the better of query and mirrored query."""
    found = [
        v for v in (verify.measure(q, c), verify.measure(qm, c, mirrored=True)) if v is not None
    ]
    return max(found, key=lambda v: v.inliers) if found else None


_COLUMNS = (
    ("inliers", lambda v: v.inliers, "{:.0f}"),
    ("ratio", lambda v: v.inlier_ratio, "{:.2f}"),
    ("reproj px", lambda v: v.reprojection_px, "{:.2f}"),
    ("cells", lambda v: v.cells, "{:.0f}"),
    ("coverage", lambda v: v.coverage, "{:.2f}"),
    ("agreement", lambda v: v.agreement, "{:.2f}"),
    ("cov+agree", lambda v: v.coverage + v.agreement, "{:.2f}"),
)


def _describe_header() -> str:
    return (
        f"{'pairs (min-max over pairs)':<36}{'n':>5}"
        + "".join(f"{name:>12}" for name, _, _ in _COLUMNS)
        + f"{'accepted':>10}"
    )


def _describe(label: str, vs: list[verify.Verification | None]) -> str:
    got = [v for v in vs if v is not None]
    if not got:
        return f"{label:<36}{len(vs):>5}  (no transform could be fitted)"
    cells = []
    for _, get, fmt in _COLUMNS:
        xs = [get(v) for v in got]
        cells.append(f"{fmt.format(min(xs)) + '-' + fmt.format(max(xs)):>12}")
    return f"{label:<36}{len(vs):>5}" + "".join(cells) + f"{sum(verify.accept(v) for v in got):>10}"


def simulate(
    n_photos: int,
    pool: np.ndarray,
    indexed: list[F.Features],
    queries: list[tuple[str, int, F.Features, F.Features]],
    top: int,
    seed: int = 0,
) -> list[str]:
    """Candidate retrieval with ``n_photos`` synthetic unrelated photos added to the index.

    Each synthetic photo draws ``MAX_FEATURES`` descriptors of the distractor photos (never
    of indexed ones) and flips each bit with probability 1/8, so its words have the bit
    statistics of real ORB descriptors without repeating real ones. Reports build time,
    memory, query time and how often each query's source is still among the candidates.
    """
    rng = np.random.default_rng(seed)
    n = F.MAX_FEATURES

    def items():
        yield from enumerate(indexed)
        for i in range(n_photos):
            d = pool[rng.integers(0, len(pool), n)]
            r = rng.integers(0, 256, (3, n, 32), dtype=np.uint8)
            flips = r[0] & r[1] & r[2]
            yield len(indexed) + i, F.Features(np.zeros((n, 2), np.float32), d ^ flips, 512, 512)

    t0 = time.perf_counter()
    searcher = feature_search.FeatureSearcher(items())
    build = time.perf_counter() - t0
    found: dict[str, list[int]] = defaultdict(list)
    t0 = time.perf_counter()
    for name, source, q, qm in queries:
        ids = [i for i, _ in searcher.candidates(q, top, mirrored_query=qm)]
        found[name].append(int(source in ids))
    query = time.perf_counter() - t0
    total = [x for v in found.values() for x in v]
    return [
        f"simulated index of {len(indexed)} real + {n_photos} synthetic photos: built in "
        f"{build:.1f} s (incl. generating descriptors), searcher {searcher.nbytes() / 1e6:.0f} MB "
        f"({searcher.postings / len(searcher):.0f} postings per photo); candidates "
        f"{_ms(query, len(queries)):.1f} ms per query (query + mirror)",
        f"  source among the top {top} candidates: {sum(total)}/{len(total)}; per edit: "
        + ", ".join(f"{k} {sum(v)}/{len(v)}" for k, v in found.items() if sum(v) < len(v))
        + (" (all others complete)" if sum(total) < len(total) else ""),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=accuracy.DEFAULT_PHOTOS)
    parser.add_argument("--top", type=int, default=10, help="candidates verified per query")
    parser.add_argument("--edits", default="", help="comma-separated subset of edits")
    parser.add_argument(
        "--simulate", type=int, default=0, help="also time retrieval over N synthetic photos"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if not args.photos.is_dir():
        print(f"no photo folder at {args.photos}: pass --photos DIR", file=sys.stderr)
        return 2

    photos = sorted(
        p for p in accuracy.builder.folder_files([args.photos]) if "LICENSES" not in p[1]
    )
    paths = [p for p, _ in photos]
    indexed, distractors = split(paths)
    edits = {k: v for k, v in EDITS.items() if not args.edits or k in args.edits.split(",")}
    position = {p: i for i, p in enumerate(indexed)}
    print(
        f"photos: {len(paths)} ({len(indexed)} indexed, {len(distractors)} distractors); "
        f"edits: {len(edits)}; top {args.top} candidates verified per query"
    )

    # -- index: decode as the builder does, extract, store as a blob ------------------------
    decode_s = extract_s = 0.0
    blobs: list[bytes] = []
    feats: list[F.Features] = []
    every: dict[Path, F.Features] = {}
    for p in paths:
        data = p.read_bytes()
        t0 = time.perf_counter()
        img = decode(data, p.name).image
        t1 = time.perf_counter()
        f = F.extract(img)
        t2 = time.perf_counter()
        every[p] = f
        if p in position:
            decode_s += t1 - t0
            extract_s += t2 - t1
            blob = F.to_blob(f)
            blobs.append(blob)
            feats.append(F.from_blob(blob))
    t0 = time.perf_counter()
    searcher = feature_search.FeatureSearcher(enumerate(feats))
    build_s = time.perf_counter() - t0
    n_feats = [len(f) for f in feats]
    print(
        f"index: {len(feats)} photos, {np.mean(n_feats):.0f} keypoints per photo "
        f"(min {min(n_feats)}), blob {np.mean([len(b) for b in blobs]):.0f} bytes per photo; "
        f"searcher built in {1000 * build_s:.1f} ms, {searcher.nbytes() / 1e3:.0f} kB"
    )

    # -- queries ---------------------------------------------------------------------------
    hits: dict[str, list[int]] = defaultdict(list)
    retrieved: dict[str, list[int]] = defaultdict(list)
    source_v: dict[str, list[verify.Verification | None]] = defaultdict(list)
    fps: dict[str, list[int]] = defaultdict(list)
    same_scene: list[verify.Verification | None] = []
    same_scene_rows: list[tuple[int, str]] = []
    wrong_best: list[verify.Verification | None] = []
    misses: list[str] = []
    false_alarms: list[str] = []
    q_extract_s = cand_s = verify_s = 0.0
    n_queries = n_verified = 0
    query_feats: list[tuple[F.Features, F.Features]] = []
    screenshots: dict[Path, tuple[F.Features, F.Features]] = {}
    names = [p.name for p in indexed]

    def look_up(img):
        nonlocal q_extract_s, cand_s, verify_s, n_queries, n_verified
        t0 = time.perf_counter()
        q, qm = F.extract_with_mirror(img)
        t1 = time.perf_counter()
        cands = searcher.candidates(q, args.top, mirrored_query=qm)
        t2 = time.perf_counter()
        accepted = []
        for image_id, _score in cands:
            v = verify.verify(q, feats[image_id], mirrored_query=qm)
            if v is not None:
                accepted.append((v.inliers, -image_id, image_id, v))
        t3 = time.perf_counter()
        q_extract_s += t1 - t0
        cand_s += t2 - t1
        verify_s += t3 - t2
        n_queries += 1
        n_verified += len(cands)
        best = max(accepted)[2:] if accepted else None
        return q, qm, cands, best

    for seed, path in enumerate(paths):
        original = upright(path)
        base = PAIR.sub("", path.stem)
        sibling = next((p for p in indexed if p.stem == base and p != path), None)
        for name, (edit, fmt) in {**edits, **EXTRA_EDITS}.items():
            data = encode(edit(original, seed), fmt)
            img = decode(data, f"{name}:{path.name}").image
            q, qm, cands, best = look_up(img)
            if name in edits:
                query_feats.append((q, qm))
            if name == "screenshot":
                screenshots[path] = (q, qm)
            top = best[0] if best else None
            for image_id, _ in cands:
                if indexed[image_id] != path:
                    wrong_best.append(_best(q, qm, feats[image_id]))
            if path in position:
                ok = int(top == position[path])
                hits[name].append(ok)
                retrieved[name].append(int(any(i == position[path] for i, _ in cands)))
                source_v[name].append(_best(q, qm, feats[position[path]]))
                if not ok:
                    misses.append(
                        f"{name}:{path.name} -> {names[top] if top is not None else None} "
                        f"(source retrieved: {bool(retrieved[name][-1])}, "
                        f"source inliers: {getattr(source_v[name][-1], 'inliers', 0)})"
                    )
            elif name in edits:
                fps[name].append(int(best is not None))
                if best is not None:
                    false_alarms.append(f"{name}:{path.name} -> {names[top]} {best[1]}")
                if sibling is not None:
                    v = _best(q, qm, feats[position[sibling]])
                    same_scene.append(v)
                    same_scene_rows.append(
                        (
                            v.inliers if v else 0,
                            f"{path.name} [{name}] vs {sibling.name}: "
                            + (
                                f"{v.inliers} inliers of {v.matches}, ratio {v.inlier_ratio:.2f}, "
                                f"spread {v.spread:.2f}"
                                if v
                                else "no fit"
                            ),
                        )
                    )

    low_detail_n: dict[str, int] = {}
    for label, im in low_detail_images().items():
        img = decode(encode(im, "PNG"), label).image
        q, qm, cands, best = look_up(img)
        low_detail_n[label] = len(q)
        fps["low-detail"].append(int(best is not None))
        for image_id, _ in cands:
            wrong_best.append(_best(q, qm, feats[image_id]))
        if best is not None:
            false_alarms.append(f"low-detail {label} -> {names[best[0]]}")

    # -- screenshots sharing app chrome: distractor screenshot vs indexed screenshot ---------
    chrome: list[verify.Verification | None] = []
    for d in distractors:
        if d not in screenshots:
            break
        q, qm = screenshots[d]
        for p in indexed:
            chrome.append(_best(q, qm, screenshots[p][0]))

    # -- the same watermark over different photos: distractor vs indexed, both watermarked --
    watermark: list[verify.Verification | None] = []
    for tiled in (False, True):
        marked = {
            p: F.extract_with_mirror(
                decode(encode(_watermark(upright(p), tiled), "JPEG"), p.name).image
            )
            for p in paths
        }
        for d in distractors:
            q, qm = marked[d]
            for p in indexed:
                watermark.append(_best(q, qm, marked[p][0]))

    # -- report ----------------------------------------------------------------------------
    def rate(xs: list[int]) -> float:
        return sum(xs) / len(xs) if xs else float("nan")

    print()
    print(
        f"{'edit':<15}{'n':>4}{'recall@1':>10}{'target':>8}  met"
        f"{'retrieved':>11}{'src inliers min':>17}{'p5':>6}{'median':>8}"
    )
    rows = []
    for name in [*edits, *EXTRA_EDITS]:
        r = rate(hits[name])
        target = accuracy.TARGETS.get(name, float("nan"))
        inl = [v.inliers if v else 0 for v in source_v[name]]
        met = "yes" if r >= target else ("NO " if target == target else " - ")
        rows.append(
            {
                "edit": name,
                "n": len(hits[name]),
                "recall_at_1": r,
                "target": target,
                "met": met == "yes",
                "retrieved": rate(retrieved[name]),
                "source_inliers_min": min(inl),
            }
        )
        print(
            f"{name:<15}{len(hits[name]):>4}{r:>10.3f}{target:>8.2f}  {met}"
            f"{rate(retrieved[name]):>11.3f}{min(inl):>17d}"
            f"{_pct(inl, 5):>6.0f}{_pct(inl, 50):>8.0f}"
        )
    all_fp = [x for v in fps.values() for x in v]
    print()
    print(
        f"false positives: {sum(all_fp)}/{len(all_fp)} = {rate(all_fp):.4f} "
        f"(distractor edits {sum(sum(v) for k, v in fps.items() if k != 'low-detail')}/"
        f"{sum(len(v) for k, v in fps.items() if k != 'low-detail')}, low-detail "
        f"{sum(fps['low-detail'])}/{len(fps['low-detail'])}); target <= {accuracy.FP_TARGET}"
    )
    print("low-detail keypoints: " + ", ".join(f"{k} {n}" for k, n in low_detail_n.items()))

    print(
        "\nacceptance rule: "
        f"inliers >= {verify.MIN_INLIERS}, inlier ratio >= {verify.MIN_INLIER_RATIO}, "
        f"scale {verify.MIN_SCALE}-{verify.MAX_SCALE}, box area >= {verify.MIN_BOX_AREA}, "
        f"inlier cells >= {verify.MIN_CELLS}, coverage >= {verify.MIN_COVERAGE}, "
        f"coverage + agreement >= {verify.MIN_EVIDENCE}; "
        f"RANSAC threshold {verify.REPROJ_PX} px at {F.WORK_SIDE} px"
    )
    true_all = [v for name, vs in source_v.items() if name in edits for v in vs]
    print(_describe_header())
    print(_describe("true copies (all edits)", true_all))
    for name in ("crop-60", "corner-70", "square-400", "screenshot", "rotate-5"):
        if name in source_v:
            print(_describe(f"  {name}", source_v[name]))
    for label, vs in (
        ("same scene, other shot", same_scene),
        ("unrelated candidates (all verified)", wrong_best),
        ("screenshots sharing app chrome", chrome),
        ("photos sharing a watermark", watermark),
    ):
        print(_describe(label, vs))
        strong = [v for v in vs if v is not None and v.inliers >= verify.MIN_INLIERS]
        if strong:
            print(_describe(f"  of which >= {verify.MIN_INLIERS} inliers", strong))
    for name in EXTRA_EDITS:
        print(_describe(f"  (extra) {name}", source_v[name]))
    for _, line in sorted(same_scene_rows, key=lambda t: -t[0])[:6]:
        print(f"  {line}")

    # -- retrieval at scale: where would the source rank among 1e5 unrelated photos? --------
    everything = feature_search.FeatureSearcher(enumerate(every[p] for p in paths))
    noise: list[float] = []
    truth: list[tuple[str, float]] = []
    all_pos = {p: i for i, p in enumerate(paths)}
    k = 0
    for path in paths:
        base = PAIR.sub("", path.stem)
        same = {i for p, i in all_pos.items() if PAIR.sub("", p.stem) == base}
        for name in edits:
            q, qm = query_feats[k]
            k += 1
            scores = np.maximum(everything._scores(q), everything._scores(qm))
            noise.extend(s for i, s in enumerate(scores) if i not in same)
            if len(q) >= verify.MIN_INLIERS:
                truth.append((name, float(scores[all_pos[path]])))
    noise_sorted = np.sort(noise)
    expected_rank = {
        name: [
            1e5 * (1 - np.searchsorted(noise_sorted, s, side="left") / len(noise_sorted))
            for n, s in truth
            if n == name
        ]
        for name in edits
    }
    worst = {name: max(v) if v else 0.0 for name, v in expected_rank.items()}
    within = [x < args.top for v in expected_rank.values() for x in v]
    print(
        f"\nretrieval at 1e5 photos (estimate from {len(noise)} unrelated scores): source "
        f"expected in the top {args.top} for {sum(within)}/{len(within)} queries; "
        f"worst expected rank per edit: "
        + ", ".join(f"{k} {v:.0f}" for k, v in worst.items() if v >= 1)
    )

    per_photo_postings = searcher.postings / max(len(feats), 1)
    print(
        f"\ncosts: decode {_ms(decode_s, len(feats)):.1f} ms per indexed photo (draft JPEG), "
        f"extract {_ms(extract_s, len(feats)):.1f} ms per photo; per query: extract "
        f"query+mirror {_ms(q_extract_s, n_queries):.1f} ms, candidates "
        f"{_ms(cand_s, n_queries):.2f} ms, verify {_ms(verify_s, n_queries):.1f} ms "
        f"({n_verified / max(n_queries, 1):.1f} candidates, "
        f"{_ms(verify_s, n_verified):.2f} ms each)"
    )
    print(
        f"storage: {np.mean([len(b) for b in blobs]):.0f} bytes of blob per photo; inverted file "
        f"{per_photo_postings:.0f} postings per photo (4 bytes each) -> about "
        f"{1e5 * (np.mean([len(b) for b in blobs])) / 1e9:.2f} GB of blobs and "
        f"{1e5 * per_photo_postings * 4 / 1e6:.0f} MB of postings (+ word table) at 1e5 photos"
    )
    if args.simulate:
        pool = np.concatenate([every[p].descriptors for p in distractors])
        sim_queries = [
            (name, position[path], *query_feats[i * len(edits) + j])
            for i, path in enumerate(paths)
            if path in position
            for j, name in enumerate(edits)
        ]
        print()
        for line in simulate(args.simulate, pool, feats, sim_queries, args.top):
            print(line)
    accuracy.print_findings(misses, false_alarms)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "rows": rows,
                    "false_positive_rate": rate(all_fp),
                    "misses": misses,
                    "false_alarms": false_alarms,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
