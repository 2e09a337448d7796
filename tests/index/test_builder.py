"""Index builds: every core, incremental reruns, bad files mid-folder, prune, metadata."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from revimg.index import builder
from revimg.index.metadata import MetaTable
from revimg.index.store import open_index
from tests.conftest import SMALL_SET, STOCK


def _folder(tmp_path: Path, names: tuple[str, ...] = SMALL_SET[:4]) -> Path:
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    for i, name in enumerate(names):
        shutil.copy2(STOCK / name, (folder / "sub" if i % 2 else folder) / name)
    return folder


def _build(location: Path, folder: Path, **kw: object) -> builder.BuildStats:
    with open_index(location, create=True) as index:
        return builder.run(index, builder.folder_files([folder]), **kw)  # type: ignore[arg-type]


def test_build_then_rerun_skips_unchanged(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    first = _build(tmp_path / "ix", folder, jobs=1)
    assert (first.added, first.skipped, first.failed) == (4, 0, 0)
    again = _build(tmp_path / "ix", folder, jobs=1)
    assert (again.added, again.updated, again.skipped) == (0, 0, 4)
    assert "added 0, updated 0, skipped 4, failed 0" in again.summary()


def test_changed_file_is_updated(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    _build(tmp_path / "ix", folder, jobs=1)
    target = folder / SMALL_SET[0]
    shutil.copy2(STOCK / "tuxpaint__mudstone.jpg", target)  # same name, new content
    os.utime(target, ns=(1, 1_000_000_000))
    stats = _build(tmp_path / "ix", folder, jobs=1)
    assert (stats.updated, stats.skipped) == (1, 3)
    with open_index(tmp_path / "ix") as index:
        entries = {e.name: e for e in index.entries()}
    mud = (STOCK / "tuxpaint__mudstone.jpg").read_bytes()
    import hashlib

    assert entries[SMALL_SET[0]].sha256 == hashlib.sha256(mud).hexdigest()


def test_bad_files_are_counted_and_the_build_goes_on(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.jpg").write_text("not an image")
    (folder / "sub" / "cut.jpg").write_bytes((STOCK / SMALL_SET[0]).read_bytes()[:3000])
    (folder / "readme.txt").write_text("ignored: not an image extension")
    stats = _build(tmp_path / "ix", folder, jobs=2)
    assert stats.added == 4 and stats.failed == 3
    failed = {Path(p).name: reason for p, reason in stats.failures}
    assert set(failed) == {"empty.jpg", "notes.jpg", "cut.jpg"}
    assert "empty" in failed["empty.jpg"]
    assert all("\n" not in r for r in failed.values())


def test_parallel_build_equals_serial(tmp_path: Path) -> None:
    folder = _folder(tmp_path, SMALL_SET)
    _build(tmp_path / "serial", folder, jobs=1)
    _build(tmp_path / "parallel", folder, jobs=2)
    with open_index(tmp_path / "serial") as a, open_index(tmp_path / "parallel") as b:
        left = sorted((e.name, e.pdq, e.phash, e.views) for e in a.entries())
        right = sorted((e.name, e.pdq, e.phash, e.views) for e in b.entries())
    assert left == right and len(left) == len(SMALL_SET)


def test_names_are_relative_and_paths_absolute(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    _build(tmp_path / "ix", folder, jobs=1)
    with open_index(tmp_path / "ix") as index:
        entries = list(index.entries())
    assert {e.name for e in entries} == {
        SMALL_SET[0],
        f"sub/{SMALL_SET[1]}",
        SMALL_SET[2],
        f"sub/{SMALL_SET[3]}",
    }
    assert all(e.path and os.path.isabs(e.path) for e in entries)


def test_prune_drops_missing_files_only_below_the_folders(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy2(STOCK / "tuxpaint__mudstone.jpg", other / "m.jpg")
    _build(tmp_path / "ix", folder, jobs=1)
    _build(tmp_path / "ix", other, jobs=1)
    (folder / SMALL_SET[0]).unlink()
    (other / "m.jpg").unlink()
    with open_index(tmp_path / "ix") as index:
        assert builder.prune(index, [folder]) == 1
        assert len(list(index.entries())) == 4  # 3 left in folder + m.jpg (other not pruned)


def test_metadata_reaches_new_and_unchanged_entries(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    meta = MetaTable({SMALL_SET[0]: {"title": "First"}}, tmp_path)
    _build(tmp_path / "ix", folder, jobs=1, meta=meta)
    later = MetaTable(
        {SMALL_SET[0]: {"licence": "CC0"}, f"sub/{SMALL_SET[1]}": {"title": "T"}}, tmp_path
    )
    stats = _build(tmp_path / "ix", folder, jobs=1, meta=later)
    assert stats.skipped == 4
    with open_index(tmp_path / "ix") as index:
        by_name = {e.name: e.meta for e in index.entries()}
    assert by_name[SMALL_SET[0]] == {"title": "First", "licence": "CC0"}
    assert by_name[f"sub/{SMALL_SET[1]}"] == {"title": "T"}


def test_symlink_loop_does_not_hang(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    (folder / "loop").symlink_to(folder, target_is_directory=True)
    stats = _build(tmp_path / "ix", folder, jobs=1)
    assert stats.added == 4
