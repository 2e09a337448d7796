"""Speed benchmark: hashing, index build, bank import, search and check, against baselines.

Everything is measured side by side in one run on this machine, so the figures to read are
the medians and the ratios, not absolute times (a shared machine is noisy):

1. Hashing large JPEGs (about 12 MP, made from the corpus): revimg's path
   (``decoding.load`` + ``hashing.hash_image``) against a naive ``imagehash.phash`` of a full
   decode, and against the floor, the DCT-scaled decode alone; single process and a process
   pool over all cores. ``features.extract`` (ORB) is timed as its own row when present.
2. Build: ``revimg index build`` (a real subprocess) over generated 1-2 MP photos with
   ``--jobs 1`` and ``--jobs 2``.
3. Search, for each bank size N: ``revimg index import`` of a synthetic PDQ list (random
   hashes plus the hash of one real photo, so that there is a true match), the wall time of
   ``revimg check one.jpg`` (median of 7 runs after a warm-up), in-process ``index.search``
   per query (real query photos, all their variants, max distance 32), and one
   ``revimg check`` call over a batch of query JPEGs. Baseline: what imagehash users write,
   every hash loaded from SQLite into Python and compared in a Python loop.
4. Memory: peak RSS of the import and check processes, index bytes on disk per entry.
   Peak RSS is that of the largest single process (worker processes are not added up), and
   it counts the pages of the memory-mapped search files that a process touched.

Libraries indexed from photo files (with local features) at 1e4 and 1e5 photos are
measured by ``benchmarks/library.py``: one check cold and warm, its peak RSS, a batch,
``index info/add/remove``, bytes per photo, and the slope of each projected to 1e6.

Random hashes are the friendliest case for multi-index hashing (buckets evenly filled);
real PDQ hashes are less uniform, so real banks search somewhat slower.

    python benchmarks/speed.py [--quick] [--sizes 1e5,1e6,1e7] [--photos DIR] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# One BLAS thread per process, as the revimg CLI sets it (and so do its build workers):
# in-process figures then match the CLI's, and a process pool does not oversubscribe.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from revimg.errors import RevimgError  # noqa: E402
from revimg.imaging import decoding, hashing  # noqa: E402
from revimg.index.store import open_index  # noqa: E402

DEFAULT_PHOTOS = REPO.parent / "shared" / "corpus" / "photos"
MAX_DISTANCE = 32  # the default threshold (0.75) as a PDQ distance
CHECK_RUNS = 7
SEED = 20241129
#: Label of the one real photo's hash in the synthetic banks (as wide as the random labels).
PLANTED = "planted000"


# -- small helpers -------------------------------------------------------------------------


def say(text: str = "") -> None:
    """Print progress right away (the full run is long; its output is often tailed)."""
    print(text, flush=True)


def median(values: Iterable[float]) -> float:
    """Median of a non-empty collection."""
    return float(statistics.median(list(values)))


def fmt_seconds(s: float | None) -> str:
    """Seconds with a unit that keeps three significant figures readable."""
    if s is None:
        return "-"
    if s < 1e-3:
        return f"{s * 1e6:.0f} us"
    if s < 1.0:
        return f"{s * 1e3:.1f} ms"
    return f"{s:.2f} s"


def fmt_value(value: float | None, unit: str) -> str:
    """A figure in its unit."""
    if value is None:
        return "-"
    if unit == "s":
        return fmt_seconds(value)
    if unit == "MB":
        return f"{value:.0f} MB"
    if unit == "B":
        return f"{value:.0f} B"
    if unit == "x":
        return f"{value:.2f}x"
    return f"{value:.1f} {unit}"


def fmt_count(n: int) -> str:
    """1e5-style names for round sizes, digits otherwise."""
    exponent = len(str(n)) - 1
    return f"1e{exponent}" if n == 10**exponent else f"{n:,}"


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A plain-text table, columns padded to fit."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    say(line.rstrip())
    say("  ".join("-" * w for w in widths))
    for row in rows:
        say("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    say()


@dataclass
class Figure:
    """One line of the summary: revimg's figure, the baseline's, their ratio and the target."""

    name: str
    revimg: float | None
    unit: str = "s"
    baseline: float | None = None
    baseline_name: str = ""
    ratio: float | None = None
    ratio_name: str = ""
    target: str = ""
    met: bool | None = None
    note: str = ""

    def row(self) -> list[str]:
        ratio = "-" if self.ratio is None else f"{self.ratio:.2f} {self.ratio_name}".strip()
        met = {True: "yes", False: "NO", None: "-"}[self.met]
        revimg = fmt_value(self.revimg, self.unit) if self.revimg is not None else self.note
        base = fmt_value(self.baseline, self.unit)
        if self.baseline is not None and self.baseline_name:
            base = f"{base} ({self.baseline_name})"
        return [self.name, revimg or "-", base, ratio, self.target or "-", met]


@dataclass
class Report:
    """Everything measured, for the summary table and the JSON file."""

    figures: list[Figure] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        return figure


def cpu_ticks() -> tuple[int, int] | None:
    """All CPU time and idle time so far, machine-wide, in clock ticks (Linux)."""
    try:
        with open("/proc/stat") as fh:
            values = [int(v) for v in fh.readline().split()[1:9]]
        return sum(values), values[3] + values[4]  # idle + iowait
    except (OSError, ValueError, IndexError):
        return None


def busy_cpus(seconds: float = 1.0) -> float | None:
    """CPUs kept busy by other processes: sampled over a pause while this benchmark is idle."""
    before = cpu_ticks()
    time.sleep(seconds)
    after = cpu_ticks()
    if before is None or after is None:
        return None
    (total0, idle0), (total1, idle1) = before, after
    total = total1 - total0
    if total <= 0:
        return None
    return (total - (idle1 - idle0)) / total * (os.cpu_count() or 1)


def section(report: Report, title: str) -> None:
    """A section header, with how busy the machine is: other work skews the ratios."""
    busy = busy_cpus()
    report.details.setdefault("busy_cpus_at_start", {})[title] = busy
    if busy is None:
        say(f"== {title}")
        return
    warn = " - other processes are running, figures may suffer" if busy > 0.3 else ""
    say(f"== {title}  [other processes use {busy:.1f} of {os.cpu_count()} CPUs{warn}]")


# -- subprocesses --------------------------------------------------------------------------


@dataclass
class ProcResult:
    """A finished (or killed) subprocess: wall time, exit code, peak RSS and its output."""

    seconds: float
    returncode: int
    peak_rss_mb: float
    stdout: str
    stderr: str
    timed_out: bool
    cpu_seconds: float | None = None  # the command and the workers it waited for
    others_cpus: float | None = None  # CPUs that other processes kept busy meanwhile


def revimg_command() -> list[str]:
    """How to run the revimg CLI of this Python environment."""
    beside = Path(sys.executable).with_name("revimg")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("revimg")
    if found:
        return [found]
    return [sys.executable, "-m", "revimg"]


#: Runs the measured command as its own child and reports its wall time and peak RSS.
#: A forked child starts with its parent's peak RSS (it survives exec), so the command is
#: spawned from this small interpreter (about 9 MB), not from the benchmark process.
_SPAWN = """
import os, sys, time
t = time.perf_counter()
pid = os.posix_spawnp(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - t
with open(sys.argv[1], "w") as fh:
    fh.write(f"{seconds!r} {usage.ru_maxrss} {usage.ru_utime + usage.ru_stime!r}")
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


def group_peak_rss_mb(pgid: int) -> float:
    """Largest peak RSS (VmHWM) among the live processes of a process group (Linux)."""
    peak = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:  # fields after the name: state, ppid, pgrp
                continue
            for line in (stat.parent / "status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except (OSError, IndexError, ValueError):
            continue
    return peak / 1024


def run_measured(cmd: list[str], timeout: float, env: dict[str, str]) -> ProcResult:
    """Run ``cmd``: its wall time, exit code and peak RSS; killed after ``timeout`` seconds.

    The command runs in its own process group, so that a timeout also ends the worker
    processes it started (and nothing else).
    """
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryDirectory() as scratch,
    ):
        stats = Path(scratch) / "stats"
        wrapper = [sys.executable, "-I", "-S", "-c", _SPAWN, str(stats)]
        ticks_before = cpu_ticks()
        started = time.perf_counter()
        proc = subprocess.Popen(
            [*wrapper, *cmd],
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        killed = threading.Event()
        peak_at_kill = [0.0]

        def kill() -> None:
            killed.set()
            peak_at_kill[0] = group_peak_rss_mb(proc.pid)
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            proc.wait()
        except BaseException:  # interrupted: do not leave the command running
            kill()
            proc.wait()
            raise
        finally:
            timer.cancel()
        seconds = time.perf_counter() - started
        ticks_after = cpu_ticks()
        peak = peak_at_kill[0]
        cpu_seconds = others = None
        try:
            measured, rss_kb, cpu = stats.read_text().split()
            seconds, peak = float(measured), int(rss_kb) / 1024  # ru_maxrss: kB on Linux
            cpu_seconds = float(cpu)
        except (OSError, ValueError):
            pass  # killed: the wall time seen from here, the peak seen before the kill
        if cpu_seconds is not None and ticks_before and ticks_after and seconds > 0:
            busy = (ticks_after[0] - ticks_before[0]) - (ticks_after[1] - ticks_before[1])
            busy_seconds = busy / os.sysconf("SC_CLK_TCK")
            others = max(0.0, busy_seconds - cpu_seconds) / seconds
        out.seek(0)
        err.seek(0)
        return ProcResult(
            seconds=seconds,
            returncode=proc.returncode,
            peak_rss_mb=peak,
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
            timed_out=killed.is_set(),
            cpu_seconds=cpu_seconds,
            others_cpus=others,
        )


def cpu_note(res: ProcResult) -> str:
    """How many CPUs a command kept busy, and how many other processes took meanwhile."""
    if res.cpu_seconds is None or res.seconds <= 0:
        return ""
    text = f", {res.cpu_seconds / res.seconds:.2f} CPUs busy"
    if res.others_cpus is not None:
        text += f" (other processes: {res.others_cpus:.2f})"
    return text


def last_line(text: str) -> str:
    """The last non-empty line of some output (for error messages)."""
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else "(no output)"


def folder_bytes(folder: Path) -> dict[str, int]:
    """Size of each file directly in a folder."""
    return {p.name: p.stat().st_size for p in sorted(folder.iterdir()) if p.is_file()}


# -- test images ---------------------------------------------------------------------------


def corpus_photos(folder: Path) -> list[Path]:
    """Image files directly in the corpus folder, sorted."""
    return sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in decoding.IMAGE_EXTENSIONS
    )


def spread(items: Sequence[Path], k: int) -> list[Path]:
    """``k`` items spread evenly over a sorted list (deterministic)."""
    k = min(k, len(items))
    return [items[i * len(items) // k] for i in range(k)]


def _open_rgb(path: str, longest: int | None = None) -> Image.Image:
    with Image.open(path) as im:
        if longest is not None:
            im.draft("RGB", (longest, longest))
        rgb = ImageOps.exif_transpose(im).convert("RGB")
    if longest is not None:
        rgb.thumbnail((longest, longest), Image.Resampling.BICUBIC)
    return rgb


def _make_large(job: tuple[str, str]) -> None:
    """A 12 MP (4000 x 3000) JPEG at quality 90, upscaled from a corpus photo."""
    src, dst = job
    im = _open_rgb(src)
    size = (4000, 3000) if im.width >= im.height else (3000, 4000)
    ImageOps.fit(im, size, Image.Resampling.BICUBIC).save(dst, "JPEG", quality=90)


def _make_derived(job: tuple[str, list[tuple[str, int]], float, float]) -> None:
    """Random crops of one source photo, resized to ``lo``-``hi`` megapixels, as JPEGs."""
    src, outputs, lo, hi = job
    im = _open_rgb(src, 2000)
    for dst, seed in outputs:
        rng = random.Random(seed)
        w = max(16, round(im.width * rng.uniform(0.6, 1.0)))
        h = max(16, round(im.height * rng.uniform(0.6, 1.0)))
        x, y = rng.randint(0, im.width - w), rng.randint(0, im.height - h)
        scale = (rng.uniform(lo, hi) * 1e6 / (w * h)) ** 0.5
        size = (max(16, round(w * scale)), max(16, round(h * scale)))
        crop = im.crop((x, y, x + w, y + h)).resize(size, Image.Resampling.BICUBIC)
        crop.save(dst, "JPEG", quality=rng.randint(80, 92))


def make_derived(
    sources: Sequence[Path], folder: Path, count: int, megapixels: tuple[float, float], seed: int
) -> list[Path]:
    """``count`` JPEGs cut from the sources (round robin), made with every core."""
    folder.mkdir(parents=True, exist_ok=True)
    per_source: dict[int, list[tuple[str, int]]] = {}
    paths = []
    for i in range(count):
        s = i % len(sources)
        path = folder / f"{i:05d}_{sources[s].stem[:40]}.jpg"
        per_source.setdefault(s, []).append((str(path), seed * 1_000_003 + i))
        paths.append(path)
    jobs = [(str(sources[s]), outs, *megapixels) for s, outs in per_source.items()]
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(_make_derived, jobs))
    return paths


# -- 1. hashing ----------------------------------------------------------------------------


def revimg_hash(path: Path) -> hashing.ImageHashes:
    """revimg's indexing path for one file."""
    data, decoded = decoding.load(path)
    return hashing.hash_image(decoded, data)


def revimg_query_hash(path: Path) -> hashing.QueryHashes:
    """revimg's checking path for one file (all variants, content boxes)."""
    data, decoded = decoding.load(path)
    return hashing.hash_query(decoded, data)


def naive_hash(path: Path) -> str:
    """What imagehash users write: pHash of a full decode."""
    import imagehash

    return str(imagehash.phash(Image.open(path)))


def floor_decode(path: Path) -> tuple[int, int]:
    """The pure DCT-scaled decode at revimg's working size: nothing can be cheaper."""
    with Image.open(path) as im:
        im.draft("RGB", (decoding.WORK_SIZE, decoding.WORK_SIZE))
        im.load()
        return im.size


def naive_pdq(path: Path) -> int:
    """The naive check script's hashing: PDQ of a full decode (pdqhash, no variants)."""
    import pdqhash

    vector, _ = pdqhash.compute(np.asarray(Image.open(path).convert("RGB")))
    return int.from_bytes(np.packbits(np.asarray(vector, dtype=np.uint8)).tobytes(), "big")


def timed(fn: Callable[[Path], object], path: Path) -> float:
    """Seconds one call takes."""
    started = time.perf_counter()
    fn(path)
    return time.perf_counter() - started


def _pool_revimg(path: str) -> int:
    return len(revimg_hash(Path(path)).pdq)


def _pool_naive(path: str) -> int:
    return len(naive_hash(Path(path)))


def _pool_warm(path: str) -> int:
    return _pool_revimg(path) + _pool_naive(path)


def bench_hashing(photos: list[Path], tmp: Path, n_images: int, report: Report) -> None:
    """Section 1: per-image hashing of 12 MP JPEGs, single process and all cores."""
    section(report, f"1. hashing 12 MP JPEGs ({n_images} images made from the corpus)")
    folder = tmp / "large"
    folder.mkdir()
    jobs = [
        (str(p), str(folder / f"{i:02d}_{p.stem[:40]}.jpg"))
        for i, p in enumerate(spread(photos, n_images))
    ]
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(_make_large, jobs))
    images = [Path(dst) for _, dst in jobs]
    say(f"   made {len(images)} JPEGs in {time.perf_counter() - started:.1f} s")

    wired = False  # does hash_image compute local features (stored in the index)?
    for p in images:  # warm-up: imports (scipy, pdqhash, cv2), page cache
        wired = getattr(revimg_hash(p), "features", None) is not None
        naive_hash(p)
        floor_decode(p)
    extract: Callable[[Image.Image], Any] | None = None
    try:
        from revimg.imaging import features

        extract = getattr(features, "extract", None)
    except ImportError as exc:
        report.notes.append(f"revimg.imaging.features not importable: {exc}")
    decoded = {p: decoding.load(p)[1].image for p in images} if extract else {}
    if extract is not None:
        for img in decoded.values():
            extract(img)

    methods: dict[str, Callable[[Path], object]] = {
        "revimg": revimg_hash,
        "naive": naive_hash,
        "floor": floor_decode,
        "query": revimg_query_hash,
    }
    if extract is not None:
        methods["features"] = lambda p: extract(decoded[p])  # type: ignore[misc]
    names = list(methods)
    rounds = 3
    times: dict[str, dict[Path, list[float]]] = {m: {p: [] for p in images} for m in names}
    cpu: dict[str, float] = dict.fromkeys(names, 0.0)
    wall: dict[str, float] = dict.fromkeys(names, 0.0)
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for p in images:
            for m in order:
                c, t = time.process_time(), time.perf_counter()
                methods[m](p)
                elapsed = time.perf_counter() - t
                times[m][p].append(elapsed)
                wall[m] += elapsed
                cpu[m] += time.process_time() - c
    per_image = {m: median(median(ts) for ts in times[m].values()) for m in names}
    labels = {
        "revimg": "revimg: decoding.load + hashing.hash_image",
        "naive": "naive: imagehash.phash(Image.open(p)), full decode",
        "floor": f"floor: draft('RGB', ({decoding.WORK_SIZE}, {decoding.WORK_SIZE})) decode only",
        "query": "revimg check path: decoding.load + hashing.hash_query",
        "features": "features.extract (ORB) on the decoded image",
    }
    rows = [
        [
            labels[m],
            fmt_seconds(per_image[m]),
            f"{per_image[m] / per_image['revimg']:.2f}",
            f"{cpu[m] / wall[m]:.2f}",
        ]
        for m in names
    ]
    say(f"   single process, median per image over {len(images)} images x {rounds} rounds:")
    say("   (CPU/wall: about 1 when measured undisturbed on one core, below 1 when waiting)")
    print_table(["method", "per image", "vs revimg", "CPU/wall"], rows)

    cores = os.cpu_count() or 1
    tasks = [str(p) for p in images] * max(1, (4 * cores + len(images) - 1) // len(images))
    throughput: dict[str, list[float]] = {"revimg": [], "naive": []}
    with ProcessPoolExecutor(max_workers=cores) as pool:
        list(pool.map(_pool_warm, [str(images[i % len(images)]) for i in range(cores)]))
        for r in range(3):
            for m in ("revimg", "naive") if r % 2 == 0 else ("naive", "revimg"):
                fn = _pool_revimg if m == "revimg" else _pool_naive
                t = time.perf_counter()
                list(pool.map(fn, tasks))
                throughput[m].append(len(tasks) / (time.perf_counter() - t))
    mp = {m: median(v) for m, v in throughput.items()}
    say(f"   all {cores} cores (ProcessPoolExecutor, {len(tasks)} images per round, 3 rounds):")
    print_table(
        ["method", "images/s", "vs 1 process"],
        [[m, f"{mp[m]:.2f}", f"{mp[m] * per_image[m]:.2f}x"] for m in ("revimg", "naive")],
    )

    report.details["hashing"] = {
        "images": len(images),
        "size": "4000x3000 JPEG q90",
        "rounds": rounds,
        "per_image_seconds": per_image,
        "cpu_over_wall": {m: cpu[m] / wall[m] for m in names},
        "pool_images_per_second": mp,
        "pool_workers": cores,
        "features_wired_into_hash_image": wired,
    }
    report.add(
        Figure(
            "hash 12 MP JPEG, revimg vs floor (decode only)",
            per_image["revimg"],
            baseline=per_image["floor"],
            baseline_name="floor",
            ratio=per_image["revimg"] / per_image["floor"],
            ratio_name="revimg/floor",
            target="<= 1.3",
            met=per_image["revimg"] / per_image["floor"] <= 1.3,
        )
    )
    report.add(
        Figure(
            "hash 12 MP JPEG, revimg vs naive imagehash",
            per_image["revimg"],
            baseline=per_image["naive"],
            baseline_name="naive",
            ratio=per_image["naive"] / per_image["revimg"],
            ratio_name="naive/revimg",
            target=">= 2.5",
            met=per_image["naive"] / per_image["revimg"] >= 2.5,
        )
    )
    report.add(
        Figure(
            f"hash 12 MP JPEG, {cores} processes (images/s)",
            mp["revimg"],
            unit="img/s",
            baseline=mp["naive"],
            baseline_name="naive",
            ratio=mp["revimg"] / mp["naive"],
            ratio_name="revimg/naive",
            target=">= 2.5",
            met=mp["revimg"] / mp["naive"] >= 2.5,
        )
    )
    if "features" in per_image:
        report.add(
            Figure(
                "features.extract (ORB) per image" + (" [in hash_image]" if wired else ""),
                per_image["features"],
                baseline=per_image["revimg"],
                baseline_name="hash_image path",
                ratio=per_image["features"] / per_image["revimg"],
                ratio_name="features/revimg",
            )
        )
    else:
        report.notes.append("revimg.imaging.features.extract not found: no features row")


# -- 2. build ------------------------------------------------------------------------------


def bench_build(
    photos: list[Path], tmp: Path, count: int, rounds: int, env: dict[str, str], report: Report
) -> None:
    """Section 2: ``revimg index build`` with one and two worker processes."""
    section(report, f"2. index build over {count} generated 1-2 MP photos")
    started = time.perf_counter()
    folder = tmp / "build-photos"
    make_derived(photos, folder, count, (1.0, 2.0), SEED)
    say(f"   made {count} JPEGs in {time.perf_counter() - started:.1f} s")
    runs: dict[int, list[ProcResult]] = {1: [], 2: []}
    sizes: dict[str, int] = {}
    for r in range(rounds):
        for jobs in (1, 2) if r % 2 == 0 else (2, 1):
            ix = tmp / f"build-index-{jobs}"
            shutil.rmtree(ix, ignore_errors=True)
            cmd = [*revimg_command(), "index", "build", str(folder), "--index", str(ix)]
            res = run_measured([*cmd, "--jobs", str(jobs)], 60 + count * 1.0, env)
            if res.timed_out or res.returncode != 0:
                why = "timed out" if res.timed_out else f"exit {res.returncode}"
                raise RuntimeError(
                    f"index build --jobs {jobs} failed ({why}): {last_line(res.stderr)}"
                )
            if f"added {count}," not in res.stderr:
                report.notes.append(
                    f"build --jobs {jobs}: unexpected summary {last_line(res.stderr)!r}"
                )
            runs[jobs].append(res)
            say(
                f"   round {r + 1} --jobs {jobs}: {res.seconds:.1f} s "
                f"({count / res.seconds:.1f} images/s), peak RSS {res.peak_rss_mb:.0f} MB"
                f"{cpu_note(res)} [{last_line(res.stderr)}]"
            )
            sizes = folder_bytes(ix)
    rate = {j: count / median(r.seconds for r in runs[j]) for j in runs}
    rss = {j: max(r.peak_rss_mb for r in runs[j]) for j in runs}
    per_entry = sum(sizes.values()) / count
    print_table(
        ["build", "images/s", "peak RSS"],
        [[f"--jobs {j}", f"{rate[j]:.1f}", f"{rss[j]:.0f} MB"] for j in runs],
    )
    say(f"   index on disk: {per_entry:.0f} bytes per photo ({sizes})")
    say()
    report.details["build"] = {
        "photos": count,
        "rounds": rounds,
        "seconds": {j: [r.seconds for r in runs[j]] for j in runs},
        "cpu_seconds": {j: [r.cpu_seconds for r in runs[j]] for j in runs},
        "others_cpus": {j: [r.others_cpus for r in runs[j]] for j in runs},
        "summaries": {j: [last_line(r.stderr) for r in runs[j]] for j in runs},
        "images_per_second": rate,
        "peak_rss_mb": rss,
        "index_files": sizes,
        "bytes_per_photo": per_entry,
    }
    report.add(
        Figure(
            f"build {count} photos, --jobs 2 vs --jobs 1 (images/s)",
            rate[2],
            unit="img/s",
            baseline=rate[1],
            baseline_name="--jobs 1",
            ratio=rate[2] / rate[1],
            ratio_name="j2/j1",
            target=">= 1.8",
            met=rate[2] / rate[1] >= 1.8,
        )
    )
    report.add(Figure("build: peak RSS, --jobs 2", rss[2], unit="MB"))
    report.add(Figure("build: index bytes per photo", per_entry, unit="B"))


# -- 3. search -----------------------------------------------------------------------------

_HEX = np.frombuffer(b"".join(f"{i:02x}".encode() for i in range(256)), np.uint8).reshape(256, 2)
_LINE = 64 + 1 + 10 + 1  # hash, space, label "r" + 9 digits, newline


def write_bank(path: Path, n: int, planted: str, seed: int) -> int:
    """A plain PDQ list of ``n`` fixed-width lines: random hashes labelled r000000000 ...,
    and the planted line (the same width) half-way. Returns the planted line's number.
    """
    if len(planted) != _LINE:
        raise ValueError(f"the planted line must be {_LINE} characters")
    rng = np.random.default_rng(seed)
    at = n // 2
    chunk = 1_000_000
    with open(path, "wb") as fh:
        for start in range(0, n, chunk):
            m = min(chunk, n - start)
            raw = rng.integers(0, 256, size=(m, 32), dtype=np.uint8)
            out = np.empty((m, _LINE), dtype=np.uint8)
            out[:, :64] = _HEX[raw].reshape(m, 64)
            out[:, 64] = ord(" ")
            out[:, 65] = ord("r")
            number = np.arange(start, start + m, dtype=np.int64)
            for d in range(9):
                out[:, _LINE - 2 - d] = ord("0") + (number // 10**d) % 10
            out[:, _LINE - 1] = ord("\n")
            if start <= at < start + m:
                out[at - start] = np.frombuffer(planted.encode("ascii"), np.uint8)
            fh.write(out.tobytes())
    return at


def naive_load(db: Path, limit: int | None = None) -> list[bytes]:
    """The naive baseline's load: every PDQ blob from SQLite into a Python list."""
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        sql = "SELECT pdq FROM images" + (f" LIMIT {int(limit)}" if limit else "")
        return [row[0] for row in conn.execute(sql)]
    finally:
        conn.close()


def naive_scan(rows: list[bytes], query: int, max_distance: int) -> list[int]:
    """The naive baseline's search: a Python loop of XOR + popcount over every row."""
    hits = []
    for i, a in enumerate(rows):
        if (int.from_bytes(a, "big") ^ query).bit_count() <= max_distance:
            hits.append(i)
    return hits


#: The whole-process baseline for one check: what a script over an imagehash/pdqhash
#: database does. PDQ of a full decode, every stored hash into Python, a Python loop.
NAIVE_CHECK = """
import sqlite3
import sys

import numpy as np
import pdqhash
from PIL import Image

photo, db, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
vector, quality = pdqhash.compute(np.asarray(Image.open(photo).convert("RGB")))
query = int.from_bytes(np.packbits(np.asarray(vector, dtype=np.uint8)).tobytes(), "big")
rows = [row[0] for row in sqlite3.connect(db).execute("SELECT pdq FROM images")]
hits = []
for i, stored in enumerate(rows):
    if (int.from_bytes(stored, "big") ^ query).bit_count() <= limit:
        hits.append(i)
print(len(hits))
"""


@dataclass
class SearchSetup:
    """Query material shared by every bank size."""

    one: Path  # a re-encoded, resized copy of the planted photo
    planted_line: str
    planted_pdq: int
    batch: list[Path]
    naive_script: Path
    naive_hash_seconds: float  # the naive script's hashing of one batch photo
    variants: list[np.ndarray]  # pdq_variants of the in-process queries
    single_pdq: list[int]  # each in-process query's own PDQ (what the naive baseline uses)


def prepare_search(photos: list[Path], tmp: Path, batch_count: int, report: Report) -> SearchSetup:
    """The planted photo, its query copy, the batch of query JPEGs and their hashes."""
    original = None
    for p in photos[len(photos) // 3 :] + photos[: len(photos) // 3]:
        h = revimg_hash(p)
        if h.pdq_quality >= 80:
            original, hashes = p, h
            break
    if original is None:
        raise RuntimeError("no corpus photo with PDQ quality >= 80 to plant")
    one = tmp / "one.jpg"
    im = _open_rgb(str(original))
    im.resize((round(im.width * 0.75), round(im.height * 0.75)), Image.Resampling.BICUBIC).save(
        one, "JPEG", quality=85
    )
    started = time.perf_counter()
    batch = make_derived(photos, tmp / "queries", batch_count, (0.15, 0.5), SEED + 1)
    say(f"   made {batch_count} query JPEGs (0.15-0.5 MP) in {time.perf_counter() - started:.1f} s")
    naive_script = tmp / "naive_check.py"
    naive_script.write_text(NAIVE_CHECK)
    naive_pdq(batch[0])
    naive_hash_s = median(timed(naive_pdq, p) for p in batch[:20])
    queries = [revimg_query_hash(p) for p in [one, *batch[:49]]]
    variants = [q.pdq_variants for q in queries if len(q.pdq_variants)]
    mean_k = float(np.mean([len(v) for v in variants]))
    say(
        f"   naive hashing of a query photo (pdqhash of a full decode): "
        f"{fmt_seconds(naive_hash_s)} median of 20"
    )
    report.notes.append(
        f"index.search looks up every variant of a query (here {mean_k:.1f} hashes per query "
        "on average: 8 dihedral variants per searchable view); the naive loop looks up one"
    )
    report.details["search_queries"] = {
        "planted": original.name,
        "in_process_queries": len(variants),
        "mean_variants_per_query": mean_k,
        "naive_hash_seconds": naive_hash_s,
        "batch": batch_count,
    }
    return SearchSetup(
        one=one,
        planted_line=f"{hashes.pdq.hex()} {PLANTED}\n",
        planted_pdq=int.from_bytes(hashes.pdq, "big"),
        batch=batch,
        naive_script=naive_script,
        naive_hash_seconds=naive_hash_s,
        variants=variants,
        single_pdq=[int.from_bytes(q.hashes.pdq, "big") for q in queries],
    )


def seed_index(ix: Path, bank: Path) -> float:
    """Fallback when the import times out: the bank's rows written straight into SQLite.

    revimg creates the index (its schema) and builds the search files (``refresh``); the
    rows themselves are inserted with plain SQL, in key order and without syncing, which is
    many times faster than the CLI import. It serves only to measure search at this size.
    """
    started = time.perf_counter()
    lines = np.fromfile(bank, dtype=np.uint8).reshape(-1, _LINE)
    nibble = np.zeros(256, np.uint8)
    nibble[np.frombuffer(b"0123456789", np.uint8)] = np.arange(10, dtype=np.uint8)
    nibble[np.frombuffer(b"abcdef", np.uint8)] = np.arange(10, 16, dtype=np.uint8)
    digits = nibble[lines[:, :64]]
    packed = np.ascontiguousarray((digits[:, 0::2] << 4) | digits[:, 1::2])
    words = packed.view(">u8").reshape(-1, 4)
    order = np.lexsort((words[:, 3], words[:, 2], words[:, 1], words[:, 0]))
    open_index(ix, create=True).close()
    conn = sqlite3.connect(ix / "index.sqlite", isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("BEGIN IMMEDIATE")
        now = time.time()
        label_width = _LINE - 66
        step = 1_000_000
        for start in range(0, len(order), step):
            rows = order[start : start + step]
            text = lines[rows, : _LINE - 1].tobytes().decode("ascii")
            hashes = packed[rows].tobytes()
            width = _LINE - 1
            conn.executemany(
                "INSERT INTO images (key, name, origin, pdq, pdq_quality, meta, added, updated)"
                " VALUES (?, ?, ?, ?, 100, '{}', ?, ?)",
                (
                    (
                        f"bank:{text[i * width : i * width + 64]}:"
                        f"{text[i * width + 65 : (i + 1) * width]}",
                        text[i * width + 65 : i * width + 65 + label_width],
                        bank.name,
                        hashes[i * 32 : (i + 1) * 32],
                        now,
                        now,
                    )
                    for i in range(len(rows))
                ),
            )
        conn.execute(
            "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)"
            " WHERE key = 'generation'"
        )
        conn.execute("COMMIT")
    finally:
        conn.close()
    with open_index(ix) as idx:
        idx.refresh()
    return time.perf_counter() - started


def bench_startup(env: dict[str, str], report: Report) -> None:
    """The floor under every ``revimg check``: starting Python, and starting the CLI."""
    cases = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "revimg --version": [*revimg_command(), "--version"],
    }
    medians = {}
    for name, cmd in cases.items():
        run_measured(cmd, 60, env)
        medians[name] = median(run_measured(cmd, 60, env).seconds for _ in range(CHECK_RUNS))
    say(
        "   start-up floor: "
        + ", ".join(f"{name} {fmt_seconds(s)}" for name, s in medians.items())
        + f" (median of {CHECK_RUNS})"
    )
    report.details["startup_seconds"] = medians
    report.add(
        Figure("start-up floor: revimg --version (process wall)", medians["revimg --version"])
    )


def bench_search_size(
    n: int,
    setup: SearchSetup,
    tmp: Path,
    env: dict[str, str],
    import_timeout: float,
    previous: tuple[int, float] | None,
    report: Report,
) -> tuple[int, float] | None:
    """Section 3 and 4 for one bank size; returns (n, import seconds) when the import ran."""
    name = fmt_count(n)
    section(report, f"3. search at N = {name}")
    size_target = {10**6: 0.35, 10**7: 0.5}.get(n)
    details: dict[str, Any] = {"n": n}
    report.details.setdefault("search", {})[name] = details
    bank = tmp / f"bank-{name}.txt"
    ix = tmp / f"index-{name}"
    started = time.perf_counter()
    write_bank(bank, n, setup.planted_line, SEED + n)
    details["bank_bytes"] = bank.stat().st_size
    say(
        f"   bank: {bank.stat().st_size / 1e6:.0f} MB written in "
        f"{time.perf_counter() - started:.1f} s"
    )

    # -- import
    if previous is not None:
        guess = previous[1] * n / previous[0]
        details["import_extrapolated_seconds"] = guess
        say(
            f"   import: about {guess:.0f} s expected (linear from {fmt_count(previous[0])}); "
            f"cap {import_timeout:.0f} s"
        )
    cmd = [*revimg_command(), "index", "import", str(bank), "--index", str(ix)]
    res = run_measured(cmd, import_timeout, env)
    details["import"] = {
        "seconds": res.seconds,
        "peak_rss_mb": res.peak_rss_mb,
        "returncode": res.returncode,
        "timed_out": res.timed_out,
        "summary": last_line(res.stderr),
    }
    imported: tuple[int, float] | None = None
    seeded = False
    if res.timed_out:
        say(
            f"   import: TIMED OUT after {res.seconds:.0f} s "
            f"(peak RSS so far {res.peak_rss_mb:.0f} MB)"
        )
        report.add(
            Figure(
                f"N={name}: revimg index import",
                None,
                note=f"timed out after {res.seconds:.0f} s",
                target="< 120 s" if n == 10**7 else "",
                met=False if n == 10**7 else None,
            )
        )
        shutil.rmtree(ix, ignore_errors=True)
        say("   seeding the index with plain SQL instead (sorted bulk insert), to measure search")
        try:
            seconds = seed_index(ix, bank)
        except (sqlite3.Error, OSError) as exc:
            say(f"   seeding FAILED ({exc}): no search figures at this size")
            report.notes.append(f"N={name}: import timed out and seeding failed: {exc}")
            return None
        say(f"   seeded in {seconds:.0f} s")
        details["seeded_in_process_seconds"] = seconds
        report.notes.append(
            f"N={name}: import timed out after {res.seconds:.0f} s; the index searched at this "
            f"size was seeded with plain SQL in key order ({seconds:.0f} s), not by the CLI"
        )
        seeded = True
    elif res.returncode != 0:
        say(f"   import FAILED (exit {res.returncode}): {last_line(res.stderr)}")
        report.add(
            Figure(f"N={name}: revimg index import", None, note=f"failed, exit {res.returncode}")
        )
        return None
    else:
        say(
            f"   import: {res.seconds:.1f} s, peak RSS {res.peak_rss_mb:.0f} MB{cpu_note(res)} "
            f"[{last_line(res.stderr)}]"
        )
        imported = (n, res.seconds)
        report.add(
            Figure(
                f"N={name}: revimg index import",
                res.seconds,
                target="< 120 s" if n == 10**7 else "",
                met=res.seconds < 120 if n == 10**7 else None,
            )
        )
    if not seeded:
        report.add(Figure(f"N={name}: import peak RSS", res.peak_rss_mb, unit="MB"))
    files = folder_bytes(ix)
    per_entry = sum(files.values()) / n
    details["index_files"] = files
    details["bytes_per_entry"] = per_entry
    say(
        f"   index on disk: {sum(files.values()) / 1e6:.0f} MB, "
        f"{per_entry:.0f} bytes per entry {files}"
    )
    report.add(Figure(f"N={name}: index bytes per entry", per_entry, unit="B"))

    # -- naive baseline: load every hash into Python, loop
    started = time.perf_counter()
    rows = naive_load(ix / "index.sqlite")
    load_s = time.perf_counter() - started
    slice_n = min(n, 1_000_000)
    sample = rows[:slice_n]
    del rows
    planted_hits = naive_scan(sample, setup.planted_pdq, MAX_DISTANCE) if slice_n == n else None
    n_naive = 5 if slice_n <= 100_000 else 3
    naive_times = []
    for q in setup.single_pdq[1 : 1 + n_naive]:
        t = time.perf_counter()
        naive_scan(sample, q, MAX_DISTANCE)
        naive_times.append((time.perf_counter() - t) * n / slice_n)
    del sample
    naive_query = median(naive_times)
    scaled = (
        "" if slice_n == n else f" (measured on {fmt_count(slice_n)} rows, scaled x{n // slice_n})"
    )
    say(f"   naive: load {fmt_seconds(load_s)}, scan {fmt_seconds(naive_query)} per query{scaled}")
    details["naive"] = {
        "load_seconds": load_s,
        "scan_seconds_per_query": naive_query,
        "queries": n_naive,
        "scan_rows_measured": slice_n,
        "planted_found": None if planted_hits is None else len(planted_hits) >= 1,
    }

    # -- in-process search
    with open_index(ix) as idx:
        t = time.perf_counter()
        idx.search(setup.variants[0], MAX_DISTANCE)
        first = time.perf_counter() - t
        hits = idx.search(setup.variants[0], MAX_DISTANCE)
        entries = idx.get(h.image_id for h in hits)
        found = any(e.name == PLANTED for e in entries.values())
        search_times = []
        for _ in range(3):
            for v in setup.variants:
                t = time.perf_counter()
                idx.search(v, MAX_DISTANCE)
                search_times.append(time.perf_counter() - t)
    per_query = median(search_times)
    say(
        f"   index.search: {fmt_seconds(per_query)} per query (median of {len(search_times)}; "
        f"first search after open {fmt_seconds(first)}); planted hash found: {found}"
    )
    if not found:
        report.notes.append(f"N={name}: index.search did NOT return the planted hash")
    details["search"] = {
        "seconds_per_query": per_query,
        "first_after_open": first,
        "samples": len(search_times),
        "planted_found": found,
    }
    report.add(
        Figure(
            f"N={name}: index.search per query",
            per_query,
            baseline=naive_query,
            baseline_name="naive loop" + (", scaled" if scaled else ""),
            ratio=naive_query / per_query,
            ratio_name="naive/revimg",
            target="<= 30 ms" if n == 10**7 else "",
            met=per_query <= 0.030 if n == 10**7 else None,
        )
    )

    # -- whole-process check of one photo
    check = [*revimg_command(), "check", str(setup.one), "--index", str(ix), "--format", "jsonl"]
    warm = run_measured(check, 120, env)
    planted_ok = warm.returncode == 1 and PLANTED in warm.stdout
    if warm.returncode not in (0, 1):
        say(f"   check FAILED (exit {warm.returncode}): {last_line(warm.stderr)}")
    if not planted_ok:
        report.notes.append(
            f"N={name}: revimg check one.jpg did not report the planted match "
            f"(exit {warm.returncode}): {last_line(warm.stdout + warm.stderr)}"
        )
    checks = [run_measured(check, 120, env) for _ in range(CHECK_RUNS)]
    check_s = median(c.seconds for c in checks)
    check_rss = max(c.peak_rss_mb for c in checks)
    say(
        f"   revimg check one.jpg: {fmt_seconds(check_s)} median of {CHECK_RUNS} "
        f"(min {fmt_seconds(min(c.seconds for c in checks))}), peak RSS {check_rss:.0f} MB, "
        f"planted match reported: {planted_ok}"
    )
    naive_cmd = [sys.executable, str(setup.naive_script), str(setup.one), str(ix / "index.sqlite")]
    naive_runs = [
        run_measured([*naive_cmd, str(MAX_DISTANCE)], 120 + n * 1e-5, env)
        for _ in range(3 if n <= 1_000_000 else 1)
    ]
    naive_ok = all(r.returncode == 0 and r.stdout.strip() not in ("", "0") for r in naive_runs)
    naive_check = median(r.seconds for r in naive_runs) if naive_ok else None
    naive_rss = max(r.peak_rss_mb for r in naive_runs) if naive_ok else None
    if not naive_ok:
        report.notes.append(
            f"N={name}: the naive check script failed or missed the planted photo: "
            f"{last_line(naive_runs[-1].stdout + naive_runs[-1].stderr)}"
        )
    say(
        f"   naive check script one.jpg: {fmt_seconds(naive_check)} "
        f"(median of {len(naive_runs)}), peak RSS {fmt_value(naive_rss, 'MB')}"
    )
    details["check_one"] = {
        "seconds": [c.seconds for c in checks],
        "median": check_s,
        "peak_rss_mb": check_rss,
        "planted_match": planted_ok,
        "naive_seconds": [r.seconds for r in naive_runs],
        "naive_peak_rss_mb": naive_rss,
    }
    report.add(
        Figure(
            f"N={name}: revimg check one.jpg (process wall)",
            check_s,
            baseline=naive_check,
            baseline_name="naive script",
            ratio=naive_check / check_s if naive_check else None,
            ratio_name="naive/revimg",
            target=f"<= {size_target} s" if size_target else "",
            met=check_s <= size_target if size_target else None,
        )
    )
    report.add(
        Figure(
            f"N={name}: check one.jpg peak RSS",
            check_rss,
            unit="MB",
            baseline=naive_rss,
            baseline_name="naive script",
            ratio=naive_rss / check_rss if naive_rss else None,
            ratio_name="naive/revimg",
        )
    )

    # -- one check call over a batch of photos
    batch_cmd = [*revimg_command(), "check", *map(str, setup.batch), "--index", str(ix)]
    batch = run_measured([*batch_cmd, "--format", "jsonl"], 60 + 2.0 * len(setup.batch), env)
    results = [ln for ln in batch.stdout.splitlines() if ln.strip()]
    batch_ok = not batch.timed_out and batch.returncode in (0, 1)
    if not batch_ok:
        report.notes.append(
            f"N={name}: batch check failed (exit {batch.returncode}, timed out {batch.timed_out}): "
            f"{last_line(batch.stderr)}"
        )
    naive_batch = load_s + len(setup.batch) * (setup.naive_hash_seconds + naive_query)
    say(
        f"   revimg check {len(setup.batch)} photos: {batch.seconds:.1f} s "
        f"({len(results)} results, exit {batch.returncode}), peak RSS {batch.peak_rss_mb:.0f} MB"
        f"{cpu_note(batch)}"
    )
    say()
    details["check_batch"] = {
        "photos": len(setup.batch),
        "seconds": batch.seconds,
        "results": len(results),
        "returncode": batch.returncode,
        "peak_rss_mb": batch.peak_rss_mb,
        "cpu_seconds": batch.cpu_seconds,
        "others_cpus": batch.others_cpus,
    }
    report.add(
        Figure(
            f"N={name}: revimg check {len(setup.batch)} photos, one call",
            batch.seconds if batch_ok else None,
            baseline=naive_batch,
            baseline_name="naive est.: load + (hash + scan) each",
            ratio=naive_batch / batch.seconds if batch_ok else None,
            ratio_name="naive/revimg",
            target="< 10 s" if n == 10**7 and len(setup.batch) == 1000 else "",
            met=(batch_ok and batch.seconds < 10)
            if n == 10**7 and len(setup.batch) == 1000
            else None,
            note="failed",
        )
    )
    report.add(Figure(f"N={name}: batch check peak RSS", batch.peak_rss_mb, unit="MB"))
    bank.unlink()
    shutil.rmtree(ix, ignore_errors=True)
    return imported


def source_digest() -> str:
    """A digest of revimg's source files: the code measured in-process and by the CLI."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted((REPO / "revimg").glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def git_state() -> dict[str, str]:
    """The commit and the locally changed files (read-only git commands), when available."""
    state = {}
    for key, cmd in (
        ("commit", ["git", "rev-parse", "--short", "HEAD"]),
        ("changed", ["git", "status", "--porcelain", "--untracked-files=all", "revimg"]),
    ):
        try:
            out = subprocess.run(
                cmd, cwd=REPO, capture_output=True, text=True, timeout=10, check=True
            ).stdout
            state[key] = " ".join(out.split()) if key == "changed" else out.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return state


# -- main ----------------------------------------------------------------------------------


def parse_sizes(text: str) -> list[int]:
    """'1e5,1e6' -> [100000, 1000000]."""
    try:
        sizes = [int(float(s)) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad --sizes {text!r}: use e.g. 1e5,1e6,1e7") from None
    if not sizes or any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError("--sizes needs positive numbers")
    return sizes


def compile_revimg(report: Report) -> None:
    """Byte-compile revimg as an install does, so that start-up is measured as users see it.

    An installed revimg (pip, pipx) ships compiled bytecode; a source checkout run with
    PYTHONDONTWRITEBYTECODE set (as here) would otherwise recompile every module on every
    start, about 50 ms of each check.
    """
    import compileall

    import revimg

    folder = Path(revimg.__file__).parent
    compileall.compile_dir(str(folder), quiet=1)
    report.notes.append(f"revimg's modules were byte-compiled first ({folder}), as an install does")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, fewer images (~1 min)")
    parser.add_argument("--sizes", type=parse_sizes, help="bank sizes [1e5,1e6,1e7; quick 1e4,1e5]")
    parser.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS, help="corpus photo folder")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--import-timeout",
        type=float,
        default=900.0,
        help="seconds before a bank import is stopped [900: lets a 1e7 import that is several "
        "times over its target finish]; search is then measured on an index seeded with plain SQL",
    )
    args = parser.parse_args(argv)
    if not args.photos.is_dir():
        say(f"error: no photo folder at {args.photos}; pass --photos DIR (a folder of JPEGs)")
        return 2
    photos = corpus_photos(args.photos)
    if len(photos) < 4:
        say(f"error: {args.photos} holds {len(photos)} photos; at least 4 are needed")
        return 2
    sizes = args.sizes or ([10**4, 10**5] if args.quick else [10**5, 10**6, 10**7])
    large = 3 if args.quick else 12
    build_count = 120 if args.quick else 2000
    batch_count = 100 if args.quick else 1000

    report = Report()
    started = time.perf_counter()
    digest = source_digest()
    report.details["run"] = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "quick": args.quick,
        "sizes": sizes,
        "photos": str(args.photos),
        "corpus_photos": len(photos),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "revimg_source_digest": digest,
        **git_state(),
    }
    say(
        f"revimg speed benchmark: {len(photos)} corpus photos, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, sizes {[fmt_count(s) for s in sizes]}"
        + (" (quick)" if args.quick else "")
    )
    run = report.details["run"]
    say(f"revimg: commit {run.get('commit', '?')}, changed: {run.get('changed') or 'none'}")
    compile_revimg(report)
    say()
    try:
        with tempfile.TemporaryDirectory(prefix="revimg-speed-") as tmp_name:
            tmp = Path(tmp_name)
            env = {**os.environ, "REVIMG_HOME": str(tmp / "home"), "OMP_NUM_THREADS": "1"}
            env.pop("REVIMG_INDEX", None)
            bench_hashing(photos, tmp, large, report)
            bench_build(photos, tmp, build_count, 1, env, report)
            section(report, "3. search: query material")
            setup = prepare_search(photos, tmp, batch_count, report)
            bench_startup(env, report)
            say()
            previous = None
            for n in sizes:
                try:
                    done = bench_search_size(
                        n, setup, tmp, env, args.import_timeout, previous, report
                    )
                except (RevimgError, sqlite3.Error) as exc:
                    say(f"   FAILED at N = {fmt_count(n)}: {exc}")
                    report.notes.append(f"N={fmt_count(n)}: failed in-process: {exc}")
                    done = None
                previous = done or previous
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    elapsed = time.perf_counter() - started
    report.details["run"]["seconds"] = elapsed
    if source_digest() != digest:
        report.notes.append(
            "revimg's source changed during this run: the figures mix two versions of the code; "
            "run again"
        )

    say(f"== summary (whole run {elapsed / 60:.1f} min; ratios measured side by side)")
    print_table(
        ["figure", "revimg", "baseline", "ratio", "target", "met?"],
        [f.row() for f in report.figures],
    )
    for note in report.notes:
        say(f"note: {note}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "summary": [asdict(f) for f in report.figures],
                    "details": report.details,
                    "notes": report.notes,
                },
                indent=2,
                default=str,
            )
            + "\n"
        )
        say(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
