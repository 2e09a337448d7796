"""The index loses nothing: killed builds, concurrent use, a full disk, old schemas.

An index can take hours to build, so these tests attack the real ``revimg`` process:

- ``revimg index build`` is killed with SIGKILL at random moments (20 trials on 200
  generated photos here; ``REVIMG_KILL_TRIALS`` and ``REVIMG_KILL_PHOTOS`` run more by hand,
  as ``benchmarks/reliability.py`` does). After every kill the database passes SQLite's
  integrity check, holds only complete entries (each identical to the entry an
  uninterrupted build makes), keeps every entry it had before the trial untouched, and
  opens for ``revimg index info``; the rerun that finishes the job hashes only the rest.
- ``revimg check`` runs while a build writes; two builds run at once.
- A full disk and a read-only index folder give one clear error line and leave the index
  as it was; a bank import with a malformed line names it and changes nothing.
- An index of an older schema is migrated; a newer or damaged one is refused, untouched.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from revimg.imaging import decoding, hashing
from revimg.index.backend import DB_NAME
from revimg.index.schema import MIGRATIONS, SCHEMA_VERSION
from revimg.index.store import open_index
from revimg.matching.checker import check_paths
from tests.conftest import STOCK
from tests.reliability_figures import (
    KILL_PHOTOS,
    KILL_TRIALS,
    REVIMG,
    Ran,
    cli_env,
    drop_file_mode_override,
    file_modes_apply,
    record,
    run_cli,
)

#: Photos in the generated folder, and SIGKILL trials (bounded in CI; more by hand).
PHOTOS = KILL_PHOTOS or 200
TRIALS = KILL_TRIALS or 20
#: Bound on any single CLI run here (a full build of the folder takes a few seconds).
RUN_S = 120.0 + PHOTOS * 0.1
SUMMARY = re.compile(
    r"added (\d+), updated (\d+), skipped (\d+), failed (\d+)(?:, removed \d+)? in "
)
SOURCES = (
    "kphotoalbum__jesper.jpg",
    "kphotoalbum__bar55.jpg",
    "tuxpaint__mudstone.jpg",
    "palapeli__citrus-fruits.jpg",
    "tuxpaint__mossy_bark.jpg",
    "kphotoalbum__cold_water.jpg",
)


def make_photos(folder: Path, count: int, seed: int = 7) -> list[Path]:
    """``count`` distinct small JPEGs (random crops of stock photos), 100 per subfolder."""
    rng = np.random.default_rng(seed)
    sources = []
    for name in SOURCES:
        with Image.open(STOCK / name) as img:
            img.draft("RGB", (600, 600))
            sources.append(img.convert("RGB"))
    paths = []
    for i in range(count):
        src = sources[i % len(sources)]
        w, h = src.size
        scale = rng.uniform(0.35, 0.9)
        cw, ch = int(w * scale), int(w * scale * 2 / 3)
        ch = min(ch, h)
        x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        photo = src.crop((x, y, x + cw, y + ch)).resize((192, 128), Image.Resampling.BILINEAR)
        if rng.random() < 0.5:
            photo = photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        sub = folder / f"set{i // 100:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        path = sub / f"photo{i:05d}.jpg"
        photo.save(path, quality=int(rng.integers(70, 95)))
        paths.append(path)
    return paths


# -- reading an index as it is on disk ------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """An entry as stored: what it is about, and when and under which id it was written."""

    content: tuple[Any, ...]  # what an uninterrupted build must store for this file
    written: tuple[Any, ...]  # id, added, updated: changes if the entry is redone


def inspect(location: Path) -> dict[str, Row]:
    """Every entry of the index on disk, after checking the database is whole.

    Raises AssertionError on a damaged database or an incomplete entry (a photo row without
    its centre view or local features, or with a bad hash length).
    """
    db = location / DB_NAME
    if not db.exists():
        return {}
    conn = sqlite3.connect(db, timeout=30)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if version == 0:  # killed before the first schema was committed: nothing in it
            assert "images" not in tables
            return {}
        assert version == SCHEMA_VERSION
        views: dict[int, list[tuple[Any, ...]]] = {}
        for image_id, name, box, pdq, quality in conn.execute(
            "SELECT image_id, name, box, pdq, quality FROM views ORDER BY image_id, name"
        ):
            views.setdefault(image_id, []).append((name, box, bytes(pdq), quality))
        features = {
            image_id: hashlib.sha256(blob).hexdigest()
            for image_id, blob in conn.execute("SELECT image_id, blob FROM features")
        }
        rows = {}
        for r in conn.execute(
            "SELECT id, path, name, size, mtime_ns, sha256, width, height, pdq, pdq_quality,"
            " phash, meta, added, updated, origin FROM images ORDER BY id"
        ):
            image_id, path, *content, added, updated, origin = r
            assert origin == "file" and path is not None
            assert len(content[6]) == 32 and len(content[8]) == 8  # pdq, phash
            assert len(views.get(image_id, [])) == 1, f"{path}: views {views.get(image_id)}"
            assert image_id in features, f"{path}: no local features"
            assert path not in rows, f"{path} twice"
            rows[path] = Row(
                (
                    *[bytes(c) if isinstance(c, bytes) else c for c in content],
                    tuple(views[image_id]),
                    features[image_id],
                ),
                (image_id, added, updated),
            )
        assert set(views) <= {r.written[0] for r in rows.values()}
        return rows
    finally:
        conn.close()


def content(rows: dict[str, Row]) -> dict[str, tuple[Any, ...]]:
    return {path: row.content for path, row in rows.items()}


def index_state(location: Path) -> tuple[Any, ...]:
    """Everything a failed write must leave as it was: entries, metadata and generation."""
    db = location / DB_NAME
    uri = f"{db.resolve().as_uri()}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=30)
    try:
        dump = tuple(
            tuple(conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall())
            for table in ("images", "views", "features", "meta")
        )
        return dump + (conn.execute("PRAGMA user_version").fetchone()[0],)
    finally:
        conn.close()


def summary(ran: Ran) -> tuple[int, int, int, int]:
    """The four counts of a build's summary line (its last stderr line)."""
    lines = ran.err_lines()
    assert lines, ran.err
    found = SUMMARY.match(lines[-1])
    assert found, lines[-1]
    added, updated, skipped, failed = (int(g) for g in found.groups())
    return added, updated, skipped, failed


def one_error_line(ran: Ran) -> str:
    assert ran.code == 2, (ran.code, ran.err[-1000:])
    assert "Traceback" not in ran.err and not ran.timed_out, ran.err[-3000:]
    lines = ran.err_lines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), lines
    return lines[0]


def build(folder: Path, location: Path, *extra: str, **kw: Any) -> Ran:
    return run_cli(
        ["index", "build", str(folder), "--index", str(location), *extra], timeout=RUN_S, **kw
    )


# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("photos")
    make_photos(folder, PHOTOS)
    return folder


@dataclass(frozen=True)
class Golden:
    location: Path  # an index built without interruption (do not modify)
    rows: dict[str, tuple[Any, ...]]  # its entries' content
    seconds: float  # how long the CLI build took


@pytest.fixture(scope="module")
def golden(photos: Path, tmp_path_factory: pytest.TempPathFactory) -> Golden:
    location = tmp_path_factory.mktemp("golden") / "index"
    ran = build(photos, location)
    assert ran.code == 0 and summary(ran) == (PHOTOS, 0, 0, 0), ran.err
    rows = content(inspect(location))
    assert len(rows) == PHOTOS
    return Golden(location, rows, ran.seconds)


@pytest.fixture(scope="module")
def extra_photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few photos that are not in the golden index."""
    folder = tmp_path_factory.mktemp("extra")
    make_photos(folder, 40, seed=99)
    return folder


@pytest.fixture
def golden_copy(golden: Golden, tmp_path: Path) -> Path:
    target = tmp_path / "index"
    shutil.copytree(golden.location, target)
    return target


# -- SIGKILL at random moments --------------------------------------------------------------------


def _group_members(pgid: int) -> set[int]:
    """Running processes of a process group (zombies, which init may never reap, left out)."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return set()
        return {pgid}
    members = set()
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # state, ppid, pgrp, ...
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.add(int(entry.name))
    return members


def _group_alive(pgid: int) -> bool:
    return bool(_group_members(pgid))


def test_kill_build_at_random_moments_loses_nothing(
    photos: Path, golden: Golden, tmp_path: Path
) -> None:
    """SIGKILL ``revimg index build`` at random moments; check the index after every kill."""
    rng = random.Random(20240611)
    kills = parent_only_kills = stray_workers = completed = rounds = 0
    lost = redone = info_checks = 0
    most_seen = 0
    location: Path | None = None
    before: dict[str, Row] = {}
    env = cli_env()
    last_full = golden.seconds
    while kills < TRIALS:
        if location is None:
            rounds += 1
            location = tmp_path / f"round{rounds}"
            before = {}
        delay = rng.uniform(0.02, last_full * 0.8)
        proc = subprocess.Popen(  # noqa: S603
            [*REVIMG, "index", "build", str(photos), "--index", str(location)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,
        )
        try:
            proc.wait(timeout=delay)
            finished = True
        except subprocess.TimeoutExpired:
            finished = False
        if not finished:
            kills += 1
            if kills % 4 == 0:  # the build process alone (as the OOM killer does): workers follow
                parent_only_kills += 1
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                deadline = time.monotonic() + 5
                while _group_alive(proc.pid) and time.monotonic() < deadline:
                    time.sleep(0.05)
                if _group_alive(proc.pid):
                    stray_workers += 1
            else:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            if _group_alive(proc.pid):
                os.killpg(proc.pid, signal.SIGKILL)
        assert proc.stderr is not None
        err = proc.stderr.read().decode("utf-8", "replace")
        proc.stderr.close()
        assert "Traceback" not in err, err

        after = inspect(location)  # integrity, complete entries only
        for path, row in after.items():
            assert row.content == golden.rows[path], f"{path}: differs from an uninterrupted build"
        lost += sum(1 for path in before if path not in after)
        redone += sum(1 for path, row in before.items() if path in after and after[path] != row)
        assert lost == 0 and redone == 0, f"trial {kills}: lost {lost}, redone {redone}"
        most_seen = max(most_seen, len(after))
        if finished:
            completed += 1
            assert proc.returncode == 0, err
            added, updated, skipped, failed = _parse(err)
            assert (added, updated, skipped, failed) == (PHOTOS - len(before), 0, len(before), 0)
            assert content(after) == golden.rows
            location = None
            continue
        if KILL_TRIALS or kills % 5 == 0:  # the CLI opens the index (every trial by hand)
            info = run_cli(
                ["index", "info", "--index", str(location), "--format", "json"], timeout=RUN_S
            )
            if _has_schema(location):
                assert info.code == 0, info.err
                assert json.loads(info.out)["entries"] == len(after)
            else:  # killed before it made the index: nothing there yet, and it says so
                assert info.code == 2 and "no index at" in info.err, info.err
            info_checks += 1
        before = after
    # the rerun that finishes the job hashes only what is missing
    assert location is not None
    ran = build(photos, location)
    assert ran.code == 0, ran.err
    assert summary(ran) == (PHOTOS - len(before), 0, len(before), 0)
    final = inspect(location)
    assert content(final) == golden.rows
    assert all(final[p] == row for p, row in before.items())
    assert stray_workers == 0, "worker processes outlived a killed build"
    leftovers = sorted(p.name for p in tmp_path.rglob("*revimg-tmp*"))
    record(
        "kill_trials",
        photos=PHOTOS,
        kills=kills,
        parent_only_kills=parent_only_kills,
        builds_finished_between_kills=completed,
        rounds=rounds,
        entries_lost=lost,
        entries_redone=redone,
        integrity_checks=kills + completed + 1,
        info_checks=info_checks,
        stray_workers=stray_workers,
        leftover_temp_files=len(leftovers),
    )


def _has_schema(location: Path) -> bool:
    """The index database exists and its first schema was committed."""
    db = location / DB_NAME
    if not db.exists():
        return False
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute("PRAGMA user_version").fetchone()[0] > 0
    except sqlite3.DatabaseError:  # being created this very moment
        return False
    finally:
        conn.close()


def _parse(stderr: str) -> tuple[int, int, int, int]:
    lines = [line for line in stderr.splitlines() if line.strip()]
    found = SUMMARY.match(lines[-1]) if lines else None
    assert found, stderr
    added, updated, skipped, failed = (int(g) for g in found.groups())
    return added, updated, skipped, failed


def test_killed_batch_check_leaves_no_workers(golden: Golden) -> None:
    files = sorted(golden.rows)[:60]
    proc = subprocess.Popen(  # noqa: S603
        [*REVIMG, "check", *files, "--index", str(golden.location)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=cli_env(),
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + RUN_S
        while not _group_members(proc.pid) - {proc.pid} and time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.skip("the check ran without worker processes (one core?)")
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 2  # the builder's workers go within 0.5 s
        while _group_alive(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = _group_members(proc.pid)
    finally:
        if _group_alive(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)
    assert not left, f"{len(left)} worker processes outlived the killed check"


# -- concurrent use -------------------------------------------------------------------------------


def test_check_while_a_build_writes(photos: Path, golden: Golden, tmp_path: Path) -> None:
    """``revimg check`` (and the library) read while a build writes: never an error, never a
    half-written entry."""
    location = tmp_path / "index"
    query = sorted(golden.rows)[len(golden.rows) // 3]  # indexed a third of the way in
    proc = subprocess.Popen(  # noqa: S603
        [*REVIMG, "index", "build", str(photos), "--index", str(location), "--jobs", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=cli_env(),
        start_new_session=True,
    )
    cli_runs: list[Ran] = []
    library_checks = [0]
    problems: list[str] = []
    stop = threading.Event()

    def cli_loop() -> None:
        while not stop.is_set():
            cli_runs.append(run_cli(["check", query, "--index", str(location)], timeout=RUN_S))

    def library_loop() -> None:
        while not stop.is_set():
            try:
                with open_index(location) as index:
                    (result,) = check_paths(index, [query])
                    if result.error is not None:
                        problems.append(f"check error: {result.error}")
                    ids = [e.id for e in index.entries()]
                    feats = index.features_of(ids)
                    for e in index.get(ids).values():
                        if len(e.pdq) != 32 or len(e.views) != 1 or e.id not in feats:
                            problems.append(f"half-written entry {e.path}")
                library_checks[0] += 1
            except Exception as exc:  # noqa: BLE001 - reported below
                problems.append(f"{type(exc).__name__}: {exc}")

    deadline = time.monotonic() + RUN_S
    # from the moment the build has committed the index's schema (before it, the index does
    # not exist yet, and a check says so without touching it)
    while not _has_schema(location) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    threads = [threading.Thread(target=cli_loop), threading.Thread(target=library_loop)]
    for t in threads:
        t.start()
    try:
        proc.wait(timeout=RUN_S)
    finally:
        stop.set()
        for t in threads:
            t.join(RUN_S)
        assert proc.stderr is not None
        err = proc.stderr.read().decode()
        proc.stderr.close()
    assert proc.returncode == 0 and _parse(err) == (PHOTOS, 0, 0, 0), err
    assert not problems, problems[:5]
    assert cli_runs and library_checks[0] > 0
    for ran in cli_runs:
        assert ran.code in (0, 1), (ran.code, ran.err)
        assert "Traceback" not in ran.err and not ran.err_lines(), ran.err
        assert json.loads(ran.out)["query"] == query
    assert content(inspect(location)) == golden.rows
    record(
        "check_while_build", cli_checks=len(cli_runs), library_checks=library_checks[0], errors=0
    )


def test_two_builds_at_once_serialize_without_damage(
    photos: Path, golden: Golden, tmp_path: Path
) -> None:
    location = tmp_path / "index"
    with ThreadPoolExecutor(2) as pool:
        runs = [pool.submit(build, photos, location, "--jobs", "1") for _ in range(2)]
        first, second = (r.result() for r in runs)
    for ran in (first, second):
        assert "Traceback" not in ran.err and not ran.timed_out
        if ran.code != 0:  # allowed: a clear "busy" refusal
            line = one_error_line(ran)
            assert "busy" in line, line
    assert first.code == 0 or second.code == 0
    done = [summary(r) for r in (first, second) if r.code == 0]
    assert sum(d[0] for d in done) == PHOTOS  # each photo added once, whoever got there first
    assert content(inspect(location)) == golden.rows
    record("two_builds", exit_codes=[first.code, second.code], entries=PHOTOS)


# -- a read-only folder and a full disk ----------------------------------------------------------


@pytest.fixture
def bank_file(tmp_path: Path) -> Path:
    path = tmp_path / "bank.txt"
    rng = np.random.default_rng(5)
    path.write_text("".join(f"{rng.bytes(32).hex()} entry-{i}\n" for i in range(3000)))
    return path


@pytest.fixture
def read_only_index(golden_copy: Path) -> Iterator[Path]:
    reason = file_modes_apply()
    if reason is not None:
        pytest.skip(reason)
    for p in golden_copy.iterdir():
        os.chmod(p, 0o444)
    os.chmod(golden_copy, 0o555)
    yield golden_copy
    os.chmod(golden_copy, 0o755)
    for p in golden_copy.iterdir():
        os.chmod(p, 0o644)


def test_read_only_index_folder_refuses_writes_and_keeps_everything(
    read_only_index: Path, extra_photos: Path, bank_file: Path, golden: Golden
) -> None:
    before = index_state(read_only_index)
    listing = sorted(p.name for p in read_only_index.iterdir())
    ix = ["--index", str(read_only_index)]
    limited = {"preexec_fn": drop_file_mode_override}
    for args in (
        ["index", "build", str(extra_photos), *ix],
        ["index", "import", str(bank_file), *ix],
        ["index", "remove", next(iter(golden.rows)), *ix],
    ):
        ran = run_cli(args, timeout=RUN_S, **limited)
        line = one_error_line(ran)
        assert "read-only" in line and str(read_only_index) in line, line
        assert index_state(read_only_index) == before
    check = run_cli(["check", next(iter(golden.rows)), *ix], timeout=RUN_S, **limited)
    assert check.code == 1 and not check.err_lines(), check.err  # still searchable
    assert sorted(p.name for p in read_only_index.iterdir()) == listing


def _file_size_limit(limit: int) -> Any:
    def limit_writes() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return limit_writes


def test_write_failure_leaves_the_index_as_it_was(
    golden_copy: Path, extra_photos: Path, bank_file: Path
) -> None:
    # No file may grow past 64 KB: every write of the index fails as on a full disk.
    before = index_state(golden_copy)
    ix = ["--index", str(golden_copy)]
    for args in (
        ["index", "build", str(extra_photos), *ix],
        ["index", "import", str(bank_file), *ix],
    ):
        ran = run_cli(args, timeout=RUN_S, preexec_fn=_file_size_limit(64 * 1024))
        line = one_error_line(ran)
        assert str(golden_copy) in line and "cannot write to the index" in line, line
        assert index_state(golden_copy) == before
    after = build(extra_photos, golden_copy)  # once writes work again, it all goes in
    assert after.code == 0 and summary(after) == (40, 0, 0, 0)


def test_write_failure_mid_build_keeps_complete_entries_and_resumes(
    photos: Path, golden: Golden, tmp_path: Path
) -> None:
    location = tmp_path / "index"
    ran = build(photos, location, preexec_fn=_file_size_limit(600 * 1024))
    line = one_error_line(ran)
    assert str(location) in line, line
    kept = inspect(location)
    assert 0 < len(kept) < PHOTOS
    assert all(row.content == golden.rows[p] for p, row in kept.items())
    rerun = build(photos, location)
    assert rerun.code == 0 and summary(rerun) == (PHOTOS - len(kept), 0, len(kept), 0)
    assert content(inspect(location)) == golden.rows


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MB tmpfs (root only): a real "No space left on device"."""
    mount = tmp_path / "disk"
    mount.mkdir()
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
            capture_output=True,
            check=False,
        )
    except OSError as exc:
        pytest.skip(f"cannot mount a tmpfs here ({exc})")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False, capture_output=True)


def test_full_disk_mid_build_keeps_complete_entries_and_resumes(
    photos: Path, golden: Golden, tiny_disk: Path
) -> None:
    location = tiny_disk / "index"
    ran = build(photos, location)
    line = one_error_line(ran)
    assert str(location) in line and "disk is full" in line, line
    kept = inspect(location)
    assert len(kept) < PHOTOS
    assert all(row.content == golden.rows[p] for p, row in kept.items())
    grow = subprocess.run(
        ["mount", "-o", "remount,size=64m", str(tiny_disk)], capture_output=True, check=False
    )
    assert grow.returncode == 0, grow.stderr
    rerun = build(photos, location)
    assert rerun.code == 0 and summary(rerun) == (PHOTOS - len(kept), 0, len(kept), 0)
    assert content(inspect(location)) == golden.rows
    record("full_disk", kept_before_full=len(kept), lost=0)


def test_write_failure_mid_build_says_what_was_kept(photos: Path, tmp_path: Path) -> None:
    location = tmp_path / "index"
    ran = build(photos, location, preexec_fn=_file_size_limit(600 * 1024))
    kept = len(inspect(location))
    assert kept > 0
    assert "nothing was changed" not in ran.err and f"added {kept}" in ran.err, ran.err


# -- hash banks -----------------------------------------------------------------------------------


def test_bank_with_a_bad_line_changes_nothing_then_imports_once(
    golden_copy: Path, tmp_path: Path
) -> None:
    rng = np.random.default_rng(11)
    lines = [f"{rng.bytes(32).hex()},shared-{i}" for i in range(5000)]
    lines[4320] = "0123456789abcdef-not-a-hash,evil"
    bank = tmp_path / "shared.txt"
    bank.write_text("\n".join(lines) + "\n")
    before = index_state(golden_copy)
    ix = ["--index", str(golden_copy)]
    ran = run_cli(["index", "import", str(bank), *ix], timeout=RUN_S)
    line = one_error_line(ran)
    assert line.startswith(f"Error: {bank}, line 4321: "), line
    assert index_state(golden_copy) == before
    skipping = run_cli(["index", "import", str(bank), *ix, "--skip-bad"], timeout=RUN_S)
    assert skipping.code == 0, skipping.err
    assert skipping.err_lines()[0].startswith(f"skipped: {bank}, line 4321: ")
    assert skipping.err_lines()[-1].startswith("added 4999, merged 0, unchanged 0")
    after = index_state(golden_copy)
    again = run_cli(["index", "import", str(bank), *ix, "--skip-bad"], timeout=RUN_S)
    assert again.code == 0 and again.err_lines()[-1].startswith("added 0, merged 0, unchanged 4999")
    assert index_state(golden_copy) == after


def _run_until_held(args: list[str], point: str) -> subprocess.Popen[bytes]:
    """Start ``revimg args`` told to hold at ``point`` (see ``revimg.holdpoints``); return
    once it says it holds there (it then waits to be killed). Fails if it ends first."""
    proc = subprocess.Popen(  # noqa: S603
        [*REVIMG, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**cli_env(), "REVIMG_HOLD_AT": point},
        start_new_session=True,
    )
    assert proc.stderr is not None
    said: list[str] = []
    for raw in proc.stderr:  # blocks until the process writes a line or ends
        line = raw.decode("utf-8", "replace").rstrip("\n")
        said.append(line)
        if line == f"revimg: holding at {point}":
            return proc
    proc.wait()
    pytest.fail(f"revimg ended (exit {proc.returncode}) before {point}: {said}")


def test_kill_bank_import_leaves_the_index_as_it_was(golden_copy: Path, tmp_path: Path) -> None:
    """SIGKILL a bank import inside its transaction: after its second batch, and after its
    last batch just before the commit. Both kill points are ones the process reports."""
    from revimg.index.bank import BATCH

    rng = np.random.default_rng(12)
    bank = tmp_path / "big.txt"
    hashes = rng.bytes(32 * (BATCH * 3 + 7)).hex()
    bank.write_text("\n".join(hashes[i : i + 64] for i in range(0, len(hashes), 64)) + "\n")
    before = index_state(golden_copy)
    points = ("bank-batch:2", "bank-commit:1")
    for point in points:
        proc = _run_until_held(["index", "import", str(bank), "--index", str(golden_copy)], point)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        assert proc.stderr is not None
        proc.stderr.close()
        assert index_state(golden_copy) == before, point
        inspect(golden_copy)
    # and the same import, not killed, does land: the kills above interrupted real work
    ran = run_cli(["index", "import", str(bank), "--index", str(golden_copy)], timeout=RUN_S)
    assert ran.code == 0, ran.err
    assert index_state(golden_copy) != before
    record("kill_bank_import", kills=len(points), entries_changed=0)


# -- schema versions ------------------------------------------------------------------------------


def _old_index(location: Path, version: int, photo_paths: list[Path]) -> None:
    """An index as revimg wrote it at schema ``version`` (1 or 2), filled by hand."""
    location.mkdir(parents=True)
    conn = sqlite3.connect(location / DB_NAME, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        for number in range(version):
            conn.executescript(MIGRATIONS[number])
        now = time.time()
        conn.executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?)",
            [
                ("created", str(now)),
                ("updated", str(now)),
                ("generation", "3"),
                ("index_id", "old"),
            ],
        )
        for path in photo_paths:
            data, decoded = decoding.load(path)
            h = hashing.hash_image(decoded, data, with_features=version >= 2)
            st = path.stat()
            cur = conn.execute(
                "INSERT INTO images (key, path, name, origin, size, mtime_ns, sha256, width,"
                " height, pdq, pdq_quality, phash, meta, added, updated)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    f"file:{path}",
                    str(path),
                    path.name,
                    "file",
                    st.st_size,
                    st.st_mtime_ns,
                    h.sha256,
                    h.width,
                    h.height,
                    h.pdq,
                    h.pdq_quality,
                    h.phash,
                    json.dumps({"title": path.stem}),
                    now,
                    now,
                ),
            )
            for v in h.views:
                conn.execute(
                    "INSERT INTO views VALUES (?,?,?,?,?)",
                    (cur.lastrowid, v.name, json.dumps(list(v.box)), v.pdq, v.quality),
                )
            if h.features is not None:
                conn.execute("INSERT INTO features VALUES (?, ?)", (cur.lastrowid, h.features))
        # a hash-bank entry without a SHA-256, under the long key of schemas 1 and 2
        conn.execute(
            "INSERT INTO images (key, name, origin, pdq, pdq_quality, meta, added, updated)"
            " VALUES (?,?,?,?,?,?,?,?)",
            (
                f"bank:{'ab' * 32}:known scam photo",
                "known scam photo",
                "bank.txt",
                bytes.fromhex("ab" * 32),
                100,
                "{}",
                now,
                now,
            ),
        )
        conn.execute(f"PRAGMA user_version = {version}")
    finally:
        conn.close()


@pytest.mark.parametrize("version", [1, 2])
def test_older_schema_is_migrated_and_nothing_is_misread(version: int, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    paths = make_photos(folder, 3, seed=version)
    location = tmp_path / "index"
    _old_index(location, version, paths)
    ix = ["--index", str(location)]
    info = run_cli(["index", "info", *ix, "--format", "json"], timeout=RUN_S)
    assert info.code == 0, info.err
    shown = json.loads(info.out)
    assert shown["schema_version"] == SCHEMA_VERSION and shown["entries"] == 4
    check = run_cli(["check", str(paths[1]), *ix], timeout=RUN_S)
    assert check.code == 1, check.err
    top = json.loads(check.out)["matches"][0]
    assert top["path"] == str(paths[1]) and top["meta"]["title"] == paths[1].stem
    # schema 2 added local features and schema 5 appearance signatures: photos indexed
    # before them are rehashed once (updated, not added again), then skipped
    rebuilt = build(folder, location)
    assert rebuilt.code == 0 and summary(rebuilt) == (0, 3, 0, 0), rebuilt.err
    again = build(folder, location)
    assert again.code == 0 and summary(again) == (0, 0, 3, 0), again.err
    # the bank entry got its compact key: importing the same bank line again adds nothing
    bank = tmp_path / "bank.txt"
    bank.write_text(f"{'ab' * 32} known scam photo\n")
    imported = run_cli(["index", "import", str(bank), *ix, "--origin", "bank.txt"], timeout=RUN_S)
    assert imported.code == 0 and imported.err_lines()[-1].startswith(
        "added 0, merged 0, unchanged 1"
    )
    with open_index(location) as index:
        assert index.count() == 4 and index.feature_count() == 3
        assert {e.meta.get("title") for e in index.entries() if e.path} == {p.stem for p in paths}


@pytest.mark.parametrize("damage", ["newer", "no-tables", "garbage"])
def test_newer_or_damaged_index_is_refused_untouched(
    damage: str, tmp_path: Path, golden_copy: Path, extra_photos: Path, bank_file: Path
) -> None:
    db = golden_copy / DB_NAME
    if damage == "newer":
        conn = sqlite3.connect(db)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        conn.close()
        want = "newer"
    elif damage == "no-tables":
        conn = sqlite3.connect(db)
        conn.executescript(
            "DROP TABLE features; DROP TABLE views; DROP TABLE images; PRAGMA user_version = 1;"
        )
        conn.close()
        want = "unreadable"
    else:
        data = bytearray(db.read_bytes())
        data[:100] = os.urandom(100)  # the header: no longer a database
        db.write_bytes(bytes(data))
        want = "cannot open the index"
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in golden_copy.iterdir()}
    ix = ["--index", str(golden_copy)]
    commands = [
        ["check", str(next(extra_photos.rglob("*.jpg"))), *ix],
        ["index", "build", str(extra_photos), *ix],
        ["index", "info", *ix],
        ["index", "import", str(bank_file), *ix],
    ]
    for args in commands if damage == "newer" else commands[:2]:
        line = one_error_line(run_cli(args, timeout=RUN_S))
        assert str(golden_copy) in line and want in line, line
        after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in golden_copy.iterdir()}
        assert after == before, args
