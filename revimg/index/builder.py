"""Build and update an index from folders of photos, using every core.

Workers decode and hash; the parent process alone writes, in small transactions, so an
interrupted build keeps every photo it finished and a rerun carries on from there.
Unchanged files (same path, size and modification time) are skipped.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from revimg.config import default_jobs
from revimg.errors import ImageError, IndexUnusable
from revimg.imaging import decoding, hashing
from revimg.imaging.sources import WalkProblem, walk_images
from revimg.index.metadata import MetaTable
from revimg.index.store import SQLiteIndex

#: Photos written per transaction: a crash loses at most this many finished hashes.
BATCH = 32
#: Photos handed to a worker at a time.
CHUNK = 4
#: Up to this many files given by name are looked up one by one (not every indexed path).
_FEW_FILES = 1000
#: How often (seconds) a worker checks that the build it works for is still alive.
_PARENT_POLL_S = 0.5


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
class Task:
    path: str
    name: str
    size: int
    mtime_ns: int


#: What hashing one photo gives: the task, its hashes or None, and the reason it failed.
Hashed = tuple[Task, hashing.ImageHashes | None, str | None]
#: Hashes a build's tasks, yielding one result per task in task order (see ``run``).
Hasher = Callable[[list[Task]], Iterable[Hashed]]


def hash_task(task: Task, data: bytes | None = None) -> Hashed:
    """Hash one photo: read from its path, or from ``data`` (its bytes, read elsewhere)."""
    try:
        if data is None:
            data, decoded = decoding.load(Path(task.path), task.path)
        else:
            decoded = decoding.decode(data, task.path)
        return task, hashing.hash_image(decoded, data), None
    except ImageError as exc:
        return task, None, exc.reason
    except Exception as exc:  # noqa: BLE001 - one bad file must not stop a build
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return task, None, f"cannot hash image ({type(exc).__name__}: {detail})"


def exit_with_parent(parent: int | None = None) -> None:
    """Worker initializer: exit when the build process is gone (killed with SIGKILL, say).

    Without it, workers wait for more work forever: each killed build would leave its
    worker processes behind. ``parent`` is the pid that created the pool (pass it as
    ``initargs``): a worker started just as its parent died sees it gone at once.
    """
    parent = os.getppid() if parent is None else parent

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_PARENT_POLL_S)
        os._exit(1)

    threading.Thread(target=watch, name="revimg-parent-watch", daemon=True).start()


def _hash_isolated(task: Task) -> tuple[Task, hashing.ImageHashes | None, str | None]:
    """Hash one photo in a process of its own, so that a crash names this photo."""
    pool = ProcessPoolExecutor(max_workers=1, initializer=exit_with_parent, initargs=(os.getpid(),))
    try:
        return pool.submit(hash_task, task).result()
    except BrokenProcessPool:
        return task, None, "the decoder crashed on this file (its worker process died)"
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _hash_all(
    tasks: list[Task], jobs: int
) -> Iterator[tuple[Task, hashing.ImageHashes | None, str | None]]:
    """Results in task order, hashed by ``jobs`` worker processes.

    A worker that dies (a decoder crash, the out-of-memory killer) breaks the pool: the
    photos that were in flight are then hashed one by one in processes of their own, so
    the one that kills its worker is reported as failed, and the build goes on.
    """
    if jobs <= 1 or len(tasks) < 4:
        for task in tasks:
            yield hash_task(task)
        return
    done = 0
    while done < len(tasks):
        pool = ProcessPoolExecutor(
            max_workers=jobs, initializer=exit_with_parent, initargs=(os.getpid(),)
        )
        try:
            for result in pool.map(hash_task, tasks[done:], chunksize=CHUNK):
                yield result
                done += 1
        except BrokenProcessPool:
            pass
        finally:
            # Stop at once on any exit (an error while writing, an interrupt): queued
            # photos are dropped instead of all being hashed first.
            pool.shutdown(wait=True, cancel_futures=True)
        in_flight = tasks[done : done + (jobs + 1) * CHUNK]
        for task in in_flight:
            yield _hash_isolated(task)
            done += 1


def plan(
    index: SQLiteIndex,
    files: Iterable[tuple[Path, str]],
    stats: BuildStats,
    meta: MetaTable | None,
) -> tuple[list[Task], list[tuple[str, dict[str, Any]]]]:
    """Split files into work to hash and unchanged files (whose metadata may still change).

    A list of a few files (``index add``) looks up those files only, not every path.
    """
    if isinstance(files, list | tuple) and len(files) <= _FEW_FILES:
        known = index.file_states(os.path.abspath(path) for path, _ in files)
    else:
        known = index.file_states()
    tasks: list[Task] = []
    unchanged_meta: list[tuple[str, dict[str, Any]]] = []
    for path, name in files:
        absolute = os.path.abspath(path)
        try:
            st = path.stat()
        except OSError as exc:
            stats.failed += 1
            stats.failures.append((str(path), exc.strerror or str(exc)))
            continue
        if not _is_utf8(absolute):
            # The index stores paths as UTF-8 text; such a name cannot be stored or shown.
            stats.failed += 1
            stats.failures.append((str(path), "file name is not valid UTF-8; rename the file"))
            continue
        if known.get(absolute) == (st.st_size, st.st_mtime_ns):
            stats.skipped += 1
            if meta is not None and (m := meta.lookup(path, name)):
                unchanged_meta.append((absolute, m))
            continue
        tasks.append(Task(absolute, name, st.st_size, st.st_mtime_ns))
    return tasks, unchanged_meta


def _is_utf8(text: str) -> bool:
    """Whether a file name decoded from the file system is valid UTF-8 (no escapes)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class BuildStopped(IndexUnusable):
    """The index could not be written mid-build (a full disk, say); ``stats`` says what
    was kept: every batch written before the failure stays in the index.
    """

    def __init__(self, stats: BuildStats, reason: str) -> None:
        self.stats = stats
        if stats.added or stats.updated:
            reason = (
                f"{reason.removesuffix('; nothing was changed')}; the build had added "
                f"{stats.added} and updated {stats.updated} photos, which are kept; the "
                "last batch was not written (run the build again to finish)"
            )
        super().__init__(reason)


def run(
    index: SQLiteIndex,
    files: Iterable[tuple[Path, str]],
    *,
    meta: MetaTable | None = None,
    jobs: int | None = None,
    on_planned: Callable[[int], None] | None = None,
    on_progress: Callable[[str, str | None], None] | None = None,
    hasher: Hasher | None = None,
) -> BuildStats:
    """Hash and store ``(path, name)`` pairs; ``on_progress(path, error)`` after each.

    ``hasher`` replaces the local worker processes (``jobs``): a cluster's, say
    (``revimg.cluster``); whoever hashes, this process alone writes, in task order.
    """
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
        hashed = _hash_all(tasks, jobs or default_jobs()) if hasher is None else hasher(tasks)
        for task, hashes, error in hashed:
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
        if batch:
            flush()
    except IndexUnusable as exc:
        stats.seconds = time.perf_counter() - started
        raise BuildStopped(stats, str(exc)) from None
    except BaseException:
        if batch:  # an interrupt: keep the photos already hashed
            flush()
        raise
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
