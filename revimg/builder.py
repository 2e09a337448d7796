"""Build and update an index from folders of photos, using every core.

Workers decode and hash; the parent process alone writes, in small transactions, so an
interrupted build keeps every photo it finished and a rerun carries on from there.
Unchanged files (same path, size and modification time) are skipped.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from revimg import hashing, imaging
from revimg.config import default_jobs
from revimg.errors import ImageError
from revimg.index import SQLiteIndex
from revimg.metadata import MetaTable
from revimg.sources import WalkProblem, walk_images

#: Photos written per transaction: a crash loses at most this many finished hashes.
BATCH = 32


@dataclass
class BuildStats:
    """What a build did; ``failures`` holds (path, reason) pairs."""

    added: int = 0
    updated: int = 0
    skipped: int = 0
    failed: int = 0
    removed: int = 0
    seconds: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        """The one summary line a build ends with."""
        text = (
            f"added {self.added}, updated {self.updated}, skipped {self.skipped}, "
            f"failed {self.failed}"
        )
        if self.removed:
            text += f", removed {self.removed}"
        return f"{text} in {self.seconds:.1f} s"


@dataclass(frozen=True)
class _Task:
    path: str
    name: str
    size: int
    mtime_ns: int


def _hash_task(task: _Task) -> tuple[_Task, hashing.ImageHashes | None, str | None]:
    try:
        data, decoded = imaging.load(Path(task.path), task.path)
        return task, hashing.hash_image(decoded, data), None
    except ImageError as exc:
        return task, None, exc.reason
    except Exception as exc:  # noqa: BLE001 - one bad file must not stop a build
        return task, None, f"cannot hash image ({type(exc).__name__}: {exc})"


def _hash_all(
    tasks: list[_Task], jobs: int
) -> Iterator[tuple[_Task, hashing.ImageHashes | None, str | None]]:
    if jobs <= 1 or len(tasks) < 4:
        for task in tasks:
            yield _hash_task(task)
        return
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        yield from pool.map(_hash_task, tasks, chunksize=4)


def plan(
    index: SQLiteIndex,
    files: Iterable[tuple[Path, str]],
    stats: BuildStats,
    meta: MetaTable | None,
) -> tuple[list[_Task], list[tuple[str, dict[str, Any]]]]:
    """Split files into work to hash and unchanged files (whose metadata may still change)."""
    known = index.file_states()
    tasks: list[_Task] = []
    unchanged_meta: list[tuple[str, dict[str, Any]]] = []
    for path, name in files:
        absolute = os.path.abspath(path)
        try:
            st = path.stat()
        except OSError as exc:
            stats.failed += 1
            stats.failures.append((str(path), exc.strerror or str(exc)))
            continue
        if known.get(absolute) == (st.st_size, st.st_mtime_ns):
            stats.skipped += 1
            if meta is not None and (m := meta.lookup(path, name)):
                unchanged_meta.append((absolute, m))
            continue
        tasks.append(_Task(absolute, name, st.st_size, st.st_mtime_ns))
    return tasks, unchanged_meta


def run(
    index: SQLiteIndex,
    files: Iterable[tuple[Path, str]],
    *,
    meta: MetaTable | None = None,
    jobs: int | None = None,
    on_planned: Callable[[int], None] | None = None,
    on_progress: Callable[[str, str | None], None] | None = None,
) -> BuildStats:
    """Hash and store ``(path, name)`` pairs; ``on_progress(path, error)`` after each."""
    started = time.perf_counter()
    stats = BuildStats()
    tasks, unchanged_meta = plan(index, files, stats, meta)
    if on_planned is not None:
        on_planned(len(tasks))
    batch: list[tuple[str, str, int, int, hashing.ImageHashes, dict[str, Any] | None]] = []

    def flush() -> None:
        for outcome in index.put_files(batch):
            if outcome == "added":
                stats.added += 1
            else:
                stats.updated += 1
        batch.clear()

    try:
        for task, hashes, error in _hash_all(tasks, jobs or default_jobs()):
            if hashes is None:
                stats.failed += 1
                stats.failures.append((task.path, error or "unknown error"))
            else:
                m = meta.lookup(Path(task.path), task.name) if meta is not None else None
                batch.append((task.path, task.name, task.size, task.mtime_ns, hashes, m))
                if len(batch) >= BATCH:
                    flush()
            if on_progress is not None:
                on_progress(task.path, error)
    finally:
        if batch:
            flush()
    if unchanged_meta:
        index.merge_meta_by_path(unchanged_meta)
    stats.seconds = time.perf_counter() - started
    return stats


def folder_files(
    folders: Iterable[Path], on_problem: Callable[[WalkProblem], None] | None = None
) -> Iterator[tuple[Path, str]]:
    """``(path, name)`` for every image below the folders; name is relative to its folder."""
    for folder in folders:
        for path in walk_images(folder, on_problem):
            yield path, path.relative_to(folder).as_posix()


def prune(index: SQLiteIndex, folders: Iterable[Path] | None = None) -> int:
    """Drop entries of local files that no longer exist (below ``folders`` when given)."""
    roots = [os.path.join(os.path.abspath(f), "") for f in folders] if folders else None
    gone = [
        p
        for p in index.file_states()
        if (roots is None or any(p.startswith(r) for r in roots)) and not os.path.exists(p)
    ]
    return index.remove(gone) if gone else 0
