"""Large local libraries: what one check costs as a library indexed from files grows.

A library indexed from photo files carries local features (about 15 KB of ORB keypoints a
photo) besides its PDQ hashes; a check must not pay for every photo in it. This benchmark
measures, at a few library sizes, in one run on this machine:

- one whole ``revimg check`` process on a crop of a real photo (a match only local
  features find): cold (a fresh process, the index files dropped from the page cache with
  ``posix_fadvise(DONTNEED)``, which drops only pages nothing else holds) and warm (median
  of 5 after a warm-up); its peak RSS;
- one ``revimg check`` over a batch of query photos (crops and edits of the real photos,
  and unrelated pictures), whole process, two cores;
- ``revimg index info``, ``index add`` of one photo, ``index remove`` of it, and opening
  the index in-process (median), each at every size;
- index bytes per photo on disk;

then the per-photo slope of each figure between the smallest and the largest library,
and the figure that slope projects at 1e6 photos, next to the baseline: the same figure
for the library of the real photos alone (measured in the same run). Build throughput is
measured on the real photos with ``revimg index build --jobs 2``.

How the large libraries are made: building 1e5 photos through ``revimg index build``
would take hours on two cores, so the library beyond the real photos is synthesized.
The real corpus photos are hashed by revimg (``hashing.hash_image``: PDQ, views, local
features with appearance signatures); each synthetic photo then takes

- the keypoint positions, octaves, size and appearance signature of a random real photo,
- descriptors made byte by byte: byte k of each descriptor is byte k of a random real
  descriptor, so the frequency of each byte value at each position is that of real ORB
  descriptors, while whole descriptors and the 24-bit retrieval words are new (a
  synthetic photo is not a near-duplicate of any real one, nor of the query),
- PDQ hashes (whole photo and centre-square view) made the same way from the real PDQ
  hashes, with their quality; a random SHA-256 and pHash,

and is written through the index's own write API (``SQLiteIndex.put_files``, 256 photos a
transaction, then ``refresh()`` as a build ends), so the database, search files and
features file are laid out as a real build lays them out. The libraries grow in one
folder: the real photos, then synthetic photos up to each size in turn.

    python benchmarks/library.py [--quick] [--sizes 1e4,1e5] [--batch 1000] [--json out.json]

``--quick`` (sizes 1e3 and 1e4, small batches) is what the test suite runs, much smaller.
"""

from __future__ import annotations

import argparse
import compileall
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from speed import (  # noqa: E402
    corpus_photos,
    fmt_count,
    fmt_seconds,
    print_table,
    revimg_command,
    run_measured,
    say,
)

from revimg.imaging import decoding, features, hashing  # noqa: E402
from revimg.index.store import open_index  # noqa: E402

DEFAULT_PHOTOS = REPO.parent / "shared" / "corpus" / "photos"
SEED = 20261206
WARM_RUNS = 5
WRITE_BATCH = 256
TARGETS = {"check_warm_s": 0.35, "check_rss_mb": 300.0}
PROJECT_TO = 10**6


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["OPENBLAS_NUM_THREADS"] = "1"
    env.pop("REVIMG_INDEX", None)
    return env


def _revimg(args: list[str], timeout: float = 3600) -> Any:
    res = run_measured([*revimg_command(), *args], timeout, _env())
    if res.returncode not in (0, 1):
        raise SystemExit(f"revimg {' '.join(args)} failed: {res.stderr.strip()[-500:]}")
    return res


def drop_cache(folder: Path) -> None:
    """Ask the kernel to forget the cached pages of the index files (cold start)."""
    for path in folder.iterdir():
        if not path.is_file():
            continue
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


# -- material ------------------------------------------------------------------------------


def make_queries(photos: list[Path], out: Path, count: int) -> list[Path]:
    """Crops (60-80% of a side), scaled and recompressed copies of the real photos, and a
    share of unrelated pictures (flipped colour noise): ``count`` JPEGs."""
    rng = np.random.default_rng(SEED)
    out.mkdir(parents=True, exist_ok=True)
    made = []
    for i in range(count):
        target = out / f"q{i:05d}.jpg"
        if i % 10 == 9:  # unrelated: smooth noise, no match expected
            noise = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
            img = Image.fromarray(noise).resize((640, 480), Image.Resampling.BICUBIC)
        else:
            img = ImageOps.exif_transpose(Image.open(photos[i % len(photos)])).convert("RGB")
            w, h = img.size
            f = float(rng.uniform(0.6, 0.8))
            x0 = int(rng.uniform(0, 1 - f) * w)
            y0 = int(rng.uniform(0, 1 - f) * h)
            img = img.crop((x0, y0, x0 + int(f * w), y0 + int(f * h)))
            img.thumbnail((800, 800))
        img.save(target, quality=85)
        made.append(target)
    return made


def real_hashes(photos: list[Path]) -> list[hashing.ImageHashes]:
    out = []
    for p in photos:
        data, decoded = decoding.load(p, str(p))
        out.append(hashing.hash_image(decoded, data))
    return out


class Synthesizer:
    """Distinct photo entries with the byte statistics of real descriptors and hashes."""

    def __init__(self, real: list[hashing.ImageHashes]) -> None:
        self.rng = np.random.default_rng(SEED)
        self.sources = [(h, features.from_blob(h.features)) for h in real if h.features is not None]
        self.descriptors = np.concatenate([f.descriptors for _, f in self.sources])
        pdqs = [h.pdq for h in real] + [v.pdq for h in real for v in h.views]
        self.pdqs = np.frombuffer(b"".join(pdqs), np.uint8).reshape(-1, 32)
        self.qualities = [h.pdq_quality for h in real]
        self._cols = np.arange(32)

    def _bytes_like(self, pool: np.ndarray, n: int) -> np.ndarray:
        return pool[self.rng.integers(0, len(pool), (n, 32)), self._cols]

    def entry(self, i: int) -> tuple[str, str, int, int, hashing.ImageHashes, None]:
        h, f = self.sources[int(self.rng.integers(len(self.sources)))]
        made = features.Features(
            f.points,
            self._bytes_like(self.descriptors, len(f)),
            f.width,
            f.height,
            f.octaves,
            f.appearance,
        )
        pdq = self._bytes_like(self.pdqs, 1 + len(h.views))
        views = tuple(
            replace(v, pdq=pdq[1 + k].tobytes(), quality=v.quality) for k, v in enumerate(h.views)
        )
        hashes = replace(
            h,
            sha256=hashlib.sha256(f"synthetic {i}".encode()).hexdigest(),
            pdq=pdq[0].tobytes(),
            phash=self.rng.bytes(8),
            views=views,
            features=features.to_blob(made),
        )
        path = f"/synthetic-library/{i:07d}.jpg"
        return path, f"{i:07d}.jpg", 100_000 + i, 1_700_000_000_000_000_000 + i, hashes, None


def grow(folder: Path, synth: Synthesizer, start: int, stop: int) -> float:
    """Add synthetic photos ``start`` .. ``stop`` through the index's write API."""
    t = time.perf_counter()
    with open_index(folder) as index:
        for at in range(start, stop, WRITE_BATCH):
            index.put_files([synth.entry(i) for i in range(at, min(stop, at + WRITE_BATCH))])
        index.refresh()
    return time.perf_counter() - t


# -- measuring -----------------------------------------------------------------------------


def measure(folder: Path, query: Path, batch: list[Path], extra: Path, runs: int) -> dict:
    """Every figure at the library's current size."""
    ix = ["--index", str(folder)]
    out: dict[str, Any] = {"photos": None, "bytes": folder_size(folder)}
    drop_cache(folder)
    cold = _revimg(["check", str(query), *ix, "--format", "json", "--no-online"])
    out["check_cold_s"] = cold.seconds
    out["check_cold_rss_mb"] = cold.peak_rss_mb
    verdict = json.loads(cold.stdout)
    first = verdict[0] if isinstance(verdict, list) else verdict
    out["check_matches"] = len(first.get("matches", []))
    warm = [
        _revimg(["check", str(query), *ix, "--format", "json", "--no-online"])
        for _ in range(runs + 1)
    ][1:]
    out["check_warm_s"] = statistics.median(r.seconds for r in warm)
    out["check_cpu_s"] = statistics.median(r.cpu_seconds or 0.0 for r in warm)
    out["check_rss_mb"] = max(r.peak_rss_mb for r in warm)
    res = _revimg(["check", *map(str, batch), *ix, "--format", "jsonl", "--no-online"])
    out["batch_s"] = res.seconds
    out["batch_rss_mb"] = res.peak_rss_mb
    info = _revimg(["index", "info", *ix, "--format", "json"])
    out["info_s"] = info.seconds
    out["photos"] = json.loads(info.stdout)["entries"]
    add = _revimg(["index", "add", str(extra), *ix])
    out["add_s"] = add.seconds
    out["add_rss_mb"] = add.peak_rss_mb
    remove = _revimg(["index", "remove", str(extra), *ix])
    out["remove_s"] = remove.seconds
    opened = []
    for _ in range(runs):
        t = time.perf_counter()
        open_index(folder).close()
        opened.append(time.perf_counter() - t)
    out["open_s"] = statistics.median(opened)
    return out


ROWS = (
    ("one check, warm (s)", "check_warm_s", "s"),
    ("one check, warm, CPU (s)", "check_cpu_s", "s"),
    ("one check, cold (s)", "check_cold_s", "s"),
    ("peak RSS of a check (MB)", "check_rss_mb", "MB"),
    ("batch check (s)", "batch_s", "s"),
    ("peak RSS of the batch (MB)", "batch_rss_mb", "MB"),
    ("index info (s)", "info_s", "s"),
    ("index add of 1 photo (s)", "add_s", "s"),
    ("index remove of 1 photo (s)", "remove_s", "s"),
    ("open the index, in-process (s)", "open_s", "s"),
    ("index on disk (MB)", "bytes", "B"),
)


def _fmt(value: float, unit: str) -> str:
    if value < 0:
        return "-" + _fmt(-value, unit)
    if unit == "s":
        return fmt_seconds(value)
    if unit == "MB":
        return f"{value:.0f} MB"
    return f"{value / 1e6:.1f} MB"


def summarise(results: list[dict], build: dict) -> list[dict]:
    """The table: each figure per size, the per-photo slope (between the two largest
    libraries) and the figure it projects at 1e6 photos, against the real library's."""
    base, before, last = results[0], results[-2], results[-1]
    span = last["photos"] - before["photos"]
    headers = ["figure"] + [fmt_count(r["photos"]) for r in results]
    headers += ["per 1e4 photos", f"at {fmt_count(PROJECT_TO)}", "vs baseline"]
    rows, figures = [], []
    for label, key, unit in ROWS:
        slope = (last[key] - before[key]) / span if span > 0 else 0.0
        projected = last[key] + slope * (PROJECT_TO - last["photos"])
        ratio = projected / base[key] if base[key] else float("nan")
        figures.append({"figure": key, "slope_per_photo": slope, "projected_1e6": projected})
        rows.append(
            [label]
            + [_fmt(r[key], unit) for r in results]
            + [_fmt(slope * 1e4, unit), _fmt(projected, unit), f"{ratio:.2f}x"]
        )
    print_table(headers, rows)
    per_photo = last["bytes"] / last["photos"]
    say(f"index bytes per photo at {fmt_count(last['photos'])}: {per_photo / 1e3:.1f} kB")
    say(
        f"build (revimg index build --jobs 2, {build['photos']} real photos): "
        f"{build['seconds']:.1f} s, {build['photos'] / build['seconds']:.2f} photos/s "
        f"({build['seconds'] / build['photos']:.2f} s a photo), "
        f"peak RSS {build['rss_mb']:.0f} MB"
    )
    for key, target in TARGETS.items():
        at = last[key]
        say(
            f"target {key} <= {target} at {fmt_count(last['photos'])}: {at:.3g} "
            f"({'met' if at <= target else 'NOT met'})"
        )
    projected = next(f for f in figures if f["figure"] == "check_warm_s")["projected_1e6"]
    say(f"target check at 1e6 (projected) <= 0.5 s: {projected:.3g} s")
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sizes 1e3,1e4, small batches")
    parser.add_argument("--sizes", help="library sizes, e.g. 1e4,1e5 [quick: 1e3,1e4]")
    parser.add_argument("--batch", type=int, help="photos in the batch check [1000; quick 20]")
    parser.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS, help="real photo folder")
    parser.add_argument("--real", type=int, help="use only this many of the real photos")
    parser.add_argument("--runs", type=int, help=f"warm runs [{WARM_RUNS}; quick 2]")
    parser.add_argument("--keep", type=Path, help="build the libraries in this folder, keep it")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    default_sizes = "1e3,1e4" if args.quick else "1e4,1e5"
    sizes = sorted(int(float(s)) for s in (args.sizes or default_sizes).split(","))
    batch_count = args.batch or (20 if args.quick else 1000)
    runs = args.runs or (2 if args.quick else WARM_RUNS)
    photos = corpus_photos(args.photos)
    if args.real:
        photos = photos[: args.real]
    if len(photos) < 3:
        raise SystemExit(f"{args.photos}: need at least 3 photos")
    # byte-compiled as an install ships it: else every check process recompiles revimg
    # (PYTHONDONTWRITEBYTECODE), about 0.25 s of each, here as in benchmarks/speed.py
    compileall.compile_dir(str(REPO / "revimg"), quiet=1)
    work = Path(args.keep or tempfile.mkdtemp(prefix="revimg-library-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        say(f"== local libraries: {len(photos)} real photos, sizes {sizes}, batch {batch_count}")
        queries = make_queries(photos, work / "queries", batch_count + 1)
        query, batch = queries[0], queries[1:]
        extra = work / "extra" / "extra.jpg"
        extra.parent.mkdir(exist_ok=True)
        shutil.copy(photos[-1], extra)
        real = work / "real"
        real.mkdir(exist_ok=True)
        for p in photos:
            shutil.copy(p, real / p.name)
        folder = work / "library"
        shutil.rmtree(folder, ignore_errors=True)
        res = _revimg(["index", "build", str(real), "--index", str(folder), "--jobs", "2"])
        with open_index(folder) as index:
            real_count = index.count()
        build = {"photos": real_count, "seconds": res.seconds, "rss_mb": res.peak_rss_mb}
        say(f"built the real library: {real_count} photos in {res.seconds:.1f} s")
        results = [measure(folder, query, batch, extra, runs)]
        say(f"measured {real_count}: {json.dumps(results[-1])}")
        synth = Synthesizer(real_hashes(photos))
        have = real_count
        for size in sizes:
            if size <= have:
                continue
            seconds = grow(folder, synth, have, size)
            say(f"synthesized up to {size} photos in {seconds:.1f} s")
            have = size
            results.append(measure(folder, query, batch, extra, runs))
            say(f"measured {size}: {json.dumps(results[-1])}")
        figures = summarise(results, build)
        if args.json:
            args.json.write_text(
                json.dumps({"results": results, "build": build, "figures": figures}, indent=2)
            )
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
