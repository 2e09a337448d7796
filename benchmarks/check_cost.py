"""Cost of one check: a plain photo and a phone screenshot, this tree against another commit.

Both trees are measured in the same run, alternating, so that the ratios mean something on
a noisy machine. For each tree a worker process (that tree's code on ``sys.path``) builds
an index of the photos, then checks, one at a time and in-process as ``revimg check`` does
after start-up: every photo as a JPEG (``plain``) and every photo inside a generated phone
screenshot (``benchmarks/layouts.py``, PNG). Medians per kind are printed with the ratios
``this / other`` (the plain-photo target: at most 1.2) and ``screenshot / plain`` in this
tree (the target: at most 3).

    python benchmarks/check_cost.py [--against HEAD~1] [--photos DIR] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_PHOTOS = REPO.parent / "shared" / "corpus" / "photos"

WORKER = r"""
import io, json, random, sys, time
tree, bench, photos, index_dir, rounds = sys.argv[1:6]
sys.path.insert(0, tree)
sys.path.insert(0, bench)
from pathlib import Path
from PIL import Image, ImageOps
from revimg.index import builder
from revimg.matching.checker import check_source
from revimg.index.store import open_index
from revimg.imaging.photo import Photo
from layouts import LAYOUTS

paths = sorted(p for p, _ in builder.folder_files([Path(photos)]) if "LICENSES" not in str(p))
index = open_index(Path(index_dir), create=True)
builder.run(index, [(p, p.name) for p in paths], jobs=1)
index.refresh()
names = sorted(LAYOUTS)
queries = {"plain": [], "screenshot": []}
for i, p in enumerate(paths):
    with Image.open(p) as im:
        photo = ImageOps.exif_transpose(im).convert("RGB")
    buf = io.BytesIO()
    photo.save(buf, "JPEG", quality=90)
    queries["plain"].append(buf.getvalue())
    shot, _ = LAYOUTS[names[i % len(names)]](photo, random.Random(i))
    buf = io.BytesIO()
    shot.save(buf, "PNG")
    queries["screenshot"].append(buf.getvalue())
check_source(index, Photo("warm-up", data=queries["plain"][0]))
print("ready", flush=True)
for line in sys.stdin:
    kind = line.strip()
    times = []
    for i, data in enumerate(queries[kind]):
        t0 = time.perf_counter()
        check_source(index, Photo(f"{kind}{i}", data=data))
        times.append(time.perf_counter() - t0)
    print(json.dumps(times), flush=True)
"""


def start(tree: Path, photos: Path, index_dir: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-c",
            WORKER,
            str(tree),
            str(REPO / "benchmarks"),
            str(photos),
            str(index_dir),
            "0",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},
    )
    assert proc.stdout is not None
    ready = proc.stdout.readline().strip()
    if ready != "ready":
        raise SystemExit(f"the worker for {tree} did not start")
    return proc


def ask(proc: subprocess.Popen[str], kind: str) -> list[float]:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(kind + "\n")
    proc.stdin.flush()
    return json.loads(proc.stdout.readline())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default="HEAD~1", help="the other commit [HEAD~1]")
    parser.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS, help="folder of photos")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds [3]")
    args = parser.parse_args(argv)
    if not args.photos.is_dir():
        print(f"no photo folder at {args.photos}: pass --photos DIR", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        other_tree = Path(tmp) / "other"
        subprocess.run(  # noqa: S603
            [
                "git",
                "-C",
                str(REPO),
                "worktree",
                "add",
                "--detach",
                "-q",
                str(other_tree),
                args.against,
            ],
            check=True,
        )
        try:
            trees = {"this": REPO, "other": other_tree}
            procs = {k: start(t, args.photos, Path(tmp) / f"index-{k}") for k, t in trees.items()}
            times: dict[tuple[str, str], list[float]] = {}
            for _ in range(args.rounds):
                for kind in ("plain", "screenshot"):
                    for name, proc in procs.items():
                        times.setdefault((name, kind), []).extend(ask(proc, kind))
            for proc in procs.values():
                assert proc.stdin is not None
                proc.stdin.close()
                proc.wait()
        finally:
            subprocess.run(  # noqa: S603
                ["git", "-C", str(REPO), "worktree", "remove", "--force", str(other_tree)],
                check=False,
            )
    med = {k: statistics.median(v) * 1000 for k, v in times.items()}
    print(f"against {args.against}; {args.rounds} rounds; medians per check (ms)")
    print(f"{'kind':<12}{'this':>9}{'other':>9}{'this/other':>12}")
    for kind in ("plain", "screenshot"):
        this, other = med[("this", kind)], med[("other", kind)]
        print(f"{kind:<12}{this:>9.1f}{other:>9.1f}{this / other:>12.2f}")
    sys.path.insert(0, str(REPO / "benchmarks"))
    from layouts import LAYOUTS

    names = sorted(LAYOUTS)
    plain = med[("this", "plain")]
    for i, layout in enumerate(names):
        mine = statistics.median(times[("this", "screenshot")][i :: len(names)]) * 1000
        print(f"  {layout:<22}{mine:>9.1f} ms, {mine / plain:.2f} x plain")
    ratio = med[("this", "screenshot")] / med[("this", "plain")]
    print(f"screenshot / plain in this tree: {ratio:.2f} (target <= 3)")
    print(
        f"plain, this / other: {med[('this', 'plain')] / med[('other', 'plain')]:.2f} "
        "(target <= 1.2)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
