"""Build throughput on a Dask cluster: plain (one process), 1 worker, 2 workers.

On this machine, in one run, the same photos are indexed three times into fresh indexes:

- the plain path: ``builder.run(..., jobs=1)`` (decode and hash in this process);
- ``--cluster`` with a LocalCluster of 1 worker process, then of 2 (``threads_per_worker=1``),
  through ``revimg.cluster.build.hasher``; this process writes, as in every build.

Photos a second for each (the cluster's start-up, and each worker's loading of the hashing
libraries, are timed apart, not in the build), the
ratio 2-worker/1-worker (target >= 1.8x: the work spreads) and the overhead of the
1-worker cluster against the plain path (target <= 15%: shipping work and results costs
little). The three indexes must hold the same rows (checked). Also printed: photos per
hour per core (plain path), and bytes per entry on disk, for the README's sizing table.

Photos: ``../shared/corpus/photos`` if present (its LICENSES file skipped), else
``examples/stock``; copied ``--copies`` times into distinct files so there is enough work.
The machine's other load (two cores, shared) shows up in the figures: run it on a quiet one.

    python benchmarks/cluster.py [--quick] [--photos DIR] [--copies N] [--json out.json]

``--quick`` (8 example photos, one copy) is what the test suite runs: it checks the
script works, not the targets.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from revimg.imaging.decoding import image_extensions  # noqa: E402
from revimg.index import builder  # noqa: E402
from revimg.index.store import open_index  # noqa: E402

CORPUS = REPO.parent / "shared" / "corpus" / "photos"
EXAMPLES = REPO / "examples" / "stock"
RATIO_TARGET = 1.8
OVERHEAD_TARGET = 0.15


def photo_files(folder: Path) -> list[Path]:
    known = image_extensions()
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in known)


def make_folder(photos: list[Path], copies: int, into: Path) -> int:
    """``copies`` copies of each photo, in subfolders (distinct files, same bytes)."""
    for i in range(copies):
        sub = into / f"copy{i}"
        sub.mkdir(parents=True)
        for photo in photos:
            shutil.copyfile(photo, sub / photo.name)
    return copies * len(photos)


def rows(location: Path) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(location / "index.sqlite")
    try:
        found = conn.execute(
            "SELECT i.id, i.path, i.pdq, i.phash, v.pdq, f.blob FROM images i"
            " LEFT JOIN views v ON v.image_id = i.id LEFT JOIN features f ON f.image_id = i.id"
            " ORDER BY i.id, v.name"
        ).fetchall()
    finally:
        conn.close()
    return found


def build(folder: Path, location: Path, hasher: Any = None) -> tuple[float, int]:
    """Seconds to build ``folder`` into a fresh index; the photos added."""
    with open_index(location, create=True) as index:
        started = time.perf_counter()
        stats = builder.run(index, builder.folder_files([folder]), jobs=1, hasher=hasher)
        index.refresh()
        seconds = time.perf_counter() - started
    if stats.failed:
        raise SystemExit(f"{stats.failed} photos failed: {stats.failures[:3]}")
    return seconds, stats.added


def warm_up(photo: Path) -> None:
    """Runs on each worker: hash one photo, so the libraries are loaded before timing."""
    from revimg.cluster.build import hash_chunk

    stat = photo.stat()
    hash_chunk([(builder.Task(str(photo), photo.name, stat.st_size, stat.st_mtime_ns), None, None)])


def on_cluster(folder: Path, location: Path, workers: int) -> tuple[float, int, float]:
    """Seconds to build on a LocalCluster of ``workers``; photos; seconds to start it."""
    from revimg.cluster import connect
    from revimg.cluster.build import hasher

    started = time.perf_counter()
    with connect("local", workers=workers) as client:
        client.wait_for_workers(workers)
        # each worker imports the hashing code (numpy, OpenCV) once: start-up, not build
        client.run(warm_up, next(folder.rglob("*.*")))
        start_s = time.perf_counter() - started
        seconds, added = build(folder, location, hasher(client))
    return seconds, added, start_s


def index_bytes(location: Path) -> int:
    return sum(p.stat().st_size for p in location.iterdir() if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 example photos, one copy")
    parser.add_argument("--photos", type=Path, help="folder of photos [corpus, else examples]")
    parser.add_argument("--copies", type=int, help="copies of each photo [8; quick 1]")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    source = args.photos or (EXAMPLES if args.quick or not CORPUS.is_dir() else CORPUS)
    photos = photo_files(source)
    if args.quick:
        photos = photos[:8]
    copies = args.copies or (1 if args.quick else 8)
    with tempfile.TemporaryDirectory(prefix="revimg-cluster-bench-") as tmp:
        work = Path(tmp)
        count = make_folder(photos, copies, work / "photos")
        print(
            f"{count} photos ({len(photos)} from {source}, {copies} copies); {os.cpu_count()} cores"
        )
        plain_s, added = build(work / "photos", work / "plain")
        assert added == count
        one_s, _, one_start = on_cluster(work / "photos", work / "one", 1)
        two_s, _, two_start = on_cluster(work / "photos", work / "two", 2)
        same = rows(work / "plain") == rows(work / "one") == rows(work / "two")
        entry_bytes = index_bytes(work / "plain") / count
    figures: dict[str, Any] = {
        "photos": count,
        "plain_photos_per_s": count / plain_s,
        "cluster1_photos_per_s": count / one_s,
        "cluster2_photos_per_s": count / two_s,
        "cluster1_start_s": one_start,
        "cluster2_start_s": two_start,
        "ratio_2_to_1": one_s / two_s,
        "overhead_1_worker": one_s / plain_s - 1,
        "photos_per_hour_per_core": 3600 * count / plain_s,
        "bytes_per_entry": entry_bytes,
        "same_rows": same,
    }
    for name in ("plain", "cluster1", "cluster2"):
        print(f"{name:>9}: {figures[name + '_photos_per_s']:7.1f} photos/s")
    print(
        f"cluster start: {one_start:.1f} s (1 worker), {two_start:.1f} s (2 workers), not timed in"
    )
    ratio, overhead = figures["ratio_2_to_1"], figures["overhead_1_worker"]
    print(
        f"2 workers / 1 worker: {ratio:.2f}x (target >= {RATIO_TARGET}x: "
        f"{'met' if ratio >= RATIO_TARGET else 'NOT met'})"
    )
    print(
        f"1-worker cluster vs plain: {overhead:+.1%} time (target <= {OVERHEAD_TARGET:.0%}: "
        f"{'met' if overhead <= OVERHEAD_TARGET else 'NOT met'})"
    )
    print(f"plain path: {figures['photos_per_hour_per_core']:,.0f} photos/hour/core")
    print(f"index on disk: {entry_bytes:,.0f} bytes/entry (with local features)")
    print(f"same rows in the three indexes: {same}")
    load = os.getloadavg()[0]
    figures["load_average_1min"] = load
    print(f"machine load (1-minute average) at the end: {load:.1f} on {os.cpu_count()} cores")
    if load > 0.5 * (os.cpu_count() or 1):
        print("other work was running: the ratio and the overhead understate a quiet machine's")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
