"""The SQLite index: opening, writing, reading, the search cache, and concurrent use."""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import json
import os
import shutil
import sqlite3
import struct
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.random  # noqa: F401 - loaded before the forked child, which may not import
import pytest

from revimg.errors import IndexMissing, IndexUnusable
from revimg.imaging import decoding, hashing
from revimg.imaging.hashing import MIN_QUALITY, ImageHashes, View
from revimg.index import search
from revimg.index.backend import CACHE_NAME, DB_NAME, FEATURES_NAME, Entry
from revimg.index.schema import SCHEMA_VERSION
from revimg.index.store import SQLiteIndex, open_index
from tests.conftest import is_mapped

STOCK = Path(__file__).resolve().parents[2] / "examples" / "stock"


def fake_hashes(seed: int, *, quality: int = 100, view_quality: int | None = 90) -> ImageHashes:
    """Synthetic but well-formed hashes; ``view_quality=None`` gives no views."""
    rng = np.random.default_rng(seed)
    views: tuple[View, ...] = ()
    if view_quality is not None:
        views = (View("centre-square", (0.125, 0.0, 0.875, 1.0), rng.bytes(32), view_quality),)
    return ImageHashes(
        sha256=hashlib.sha256(seed.to_bytes(8, "big")).hexdigest(),
        width=400 + seed % 97,
        height=300,
        pdq=rng.bytes(32),
        pdq_quality=quality,
        phash=rng.bytes(8),
        views=views,
    )


def q(*pdqs: bytes) -> np.ndarray:
    """Query variants as the (k, 32) uint8 array ``search`` takes."""
    return np.frombuffer(b"".join(pdqs), dtype=np.uint8).reshape(-1, 32)


def hit_ids(index: SQLiteIndex, pdq: bytes, max_distance: int = 0) -> set[int]:
    return {h.image_id for h in index.search(q(pdq), max_distance)}


@pytest.fixture(scope="module")
def real() -> dict[str, ImageHashes]:
    """Hashes of real stock photos (one of them not in the shared built index)."""
    out = {}
    for name in ("kphotoalbum__bar55.jpg", "tuxpaint__mudstone.jpg", "tuxpaint__lighthouse.jpg"):
        data, decoded = decoding.load(STOCK / name)
        out[name] = hashing.hash_image(decoded, data)
    return out


@pytest.fixture
def index_copy(built_index: Path, tmp_path: Path) -> Path:
    """A private copy of the shared built index."""
    target = tmp_path / "index"
    shutil.copytree(built_index, target)
    return target


def all_pdqs(index: SQLiteIndex) -> np.ndarray:
    return q(*[e.pdq for e in index.entries()])


def cache_header(folder: Path) -> tuple[bytes, int, int]:
    """Magic, generation and row count of a cache file (the stamp is 'index id:generation')."""
    with open(folder / CACHE_NAME, "rb") as fh:
        magic, stamp, rows = struct.unpack("<8s48sQ", fh.read(64))
    return magic, int(stamp.rstrip(b"\0").decode().split(":")[1]), rows


# -- opening --------------------------------------------------------------------------------------


def test_missing_index_says_how_to_build_one_and_creates_nothing(tmp_path: Path) -> None:
    location = tmp_path / "nowhere" / "index"
    with pytest.raises(IndexMissing) as excinfo:
        open_index(location)
    assert str(excinfo.value) == f"no index at {location}"  # the fact; the CLI adds the how
    assert excinfo.value.location == str(location)
    assert not (tmp_path / "nowhere").exists()
    from typer.testing import CliRunner

    from revimg.cli import app

    shown = CliRunner().invoke(app, ["index", "info", "--index", str(location)])
    assert shown.exit_code == 2
    assert f"no index at {location}: build one with 'revimg index build FOLDER'" in shown.output


def test_empty_folder_is_a_missing_index_and_stays_empty(tmp_path: Path) -> None:
    with pytest.raises(IndexMissing):
        open_index(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_file_instead_of_folder_is_unusable(tmp_path: Path) -> None:
    location = tmp_path / "index"
    location.write_bytes(b"my holiday notes")
    for create in (False, True):
        with pytest.raises(IndexUnusable, match="folder"):
            open_index(location, create=create)
    assert location.read_bytes() == b"my holiday notes"


def test_cannot_create_below_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(IndexUnusable, match="cannot create"):
        open_index(tmp_path / "file" / "index", create=True)


def test_garbage_database_is_unusable(tmp_path: Path) -> None:
    (tmp_path / DB_NAME).write_bytes(os.urandom(4096))
    with pytest.raises(IndexUnusable) as excinfo:
        open_index(tmp_path)
    assert str(tmp_path) in str(excinfo.value)
    del excinfo
    gc.collect()


def test_create_then_reopen(tmp_path: Path) -> None:
    location = tmp_path / "new" / "index"
    with open_index(location, create=True) as index:
        assert index.count() == 0
        assert index.generation() == 0
        assert list(index.entries()) == []
        assert index.search(q(bytes(32)), 256) == []
    assert (location / DB_NAME).is_file()
    with open_index(location) as index:  # no create needed now
        assert index.count() == 0


def test_newer_schema_is_refused_and_left_untouched(index_copy: Path) -> None:
    db = index_copy / DB_NAME
    with sqlite3.connect(db) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = db.read_bytes()
    with pytest.raises(IndexUnusable) as excinfo:
        open_index(index_copy)
    message = str(excinfo.value)
    assert "newer" in message and "upgrade" in message
    assert str(SCHEMA_VERSION + 1) in message
    del excinfo
    gc.collect()
    assert db.read_bytes() == before
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
    finally:
        conn.close()


# -- writing and reading --------------------------------------------------------------------------


def test_put_file_adds_then_updates_the_same_path(
    memory_index: SQLiteIndex, real: dict[str, ImageHashes]
) -> None:
    first, second = real["kphotoalbum__bar55.jpg"], real["tuxpaint__mudstone.jpg"]
    assert first.views and second.views  # both photos are landscape: a centre-square view each
    path = "/photos/a.jpg"
    meta = {"title": "Bar", "credit": "K"}
    assert memory_index.put_file(path, "a.jpg", 10, 111, first, meta) == "added"
    (entry,) = memory_index.entries()
    assert (entry.path, entry.name, entry.origin) == (path, "a.jpg", "file")
    assert (entry.sha256, entry.pdq, entry.phash) == (first.sha256, first.pdq, first.phash)
    assert (entry.width, entry.height, entry.pdq_quality) == (
        first.width,
        first.height,
        first.pdq_quality,
    )
    assert entry.views == first.views
    assert entry.meta == meta
    assert hit_ids(memory_index, first.pdq) == {entry.id}
    assert hit_ids(memory_index, first.views[0].pdq) == {entry.id}

    assert memory_index.put_file(path, "a.jpg", 20, 222, second, {"title": "Mud"}) == "updated"
    (updated,) = memory_index.entries()
    assert updated.id == entry.id
    assert (updated.sha256, updated.pdq) == (second.sha256, second.pdq)
    assert updated.views == second.views
    assert updated.meta == {"title": "Mud", "credit": "K"}  # new fields win, old ones stay
    assert memory_index.file_states() == {path: (20, 222)}
    assert hit_ids(memory_index, first.pdq) == set()
    assert hit_ids(memory_index, first.views[0].pdq) == set()
    assert hit_ids(memory_index, second.pdq) == {entry.id}

    # an update without views drops the old ones
    no_views = fake_hashes(3, view_quality=None)
    assert memory_index.put_file(path, "a.jpg", 30, 333, no_views) == "updated"
    assert memory_index.get([entry.id])[entry.id].views == ()


def test_views_of_unknown_kinds_are_not_stored(memory_index: SQLiteIndex) -> None:
    h = fake_hashes(1)
    odd = View("sky-only", (0.0, 0.0, 1.0, 0.5), bytes(range(32)), 100)
    memory_index.put_file(
        "/p/x.jpg", "x.jpg", 1, 1, ImageHashes(**{**h.__dict__, "views": (*h.views, odd)})
    )
    (entry,) = memory_index.entries()
    assert [v.name for v in entry.views] == ["centre-square"]
    assert hit_ids(memory_index, odd.pdq) == set()


def test_file_states_lists_local_files_only(memory_index: SQLiteIndex) -> None:
    memory_index.put_files(
        [(f"/p/{i}.jpg", f"{i}.jpg", 100 + i, 10**18 + i, fake_hashes(i), None) for i in range(5)]
    )
    bank = Entry(0, "from-a-bank", None, "bank.jsonl", None, None, None, bytes(32), 100, None)
    memory_index.put_bank_entries([bank])[0]
    assert memory_index.file_states() == {f"/p/{i}.jpg": (100 + i, 10**18 + i) for i in range(5)}


def test_remove_by_path_and_by_bank_name(index_copy: Path) -> None:
    with open_index(index_copy) as index:
        local = next(index.entries())
        view_pdq = local.views[0].pdq
        shared_name = local.name  # a bank entry with the same name as a local file
        bank = Entry(0, shared_name, None, "bank", None, None, None, bytes(range(32)), 100, None)
        assert index.put_bank_entries([bank])[0] == "added"
        n = index.count()

        assert index.remove([shared_name]) == 1  # only the bank entry: local files go by path
        assert index.count() == n - 1
        assert hit_ids(index, bank.pdq) == set()
        assert local.id in hit_ids(index, local.pdq)

        assert index.remove([local.path, "/no/such/file.jpg"]) == 1
        assert index.count() == n - 2
        assert local.path not in index.file_states()
        assert index.get([local.id]) == {}
        assert hit_ids(index, local.pdq) == set()
        assert hit_ids(index, view_pdq) == set()  # its views went with it
        assert index.info()["views"]["centre-square"] == n - 2
        assert index.remove(["/no/such/file.jpg"]) == 0


def test_memory_index_remove_drops_views(memory_index: SQLiteIndex) -> None:
    h = fake_hashes(1)
    memory_index.put_file("/p/a.jpg", "a.jpg", 1, 1, h)
    assert memory_index.remove(["/p/a.jpg"]) == 1
    assert memory_index.search(q(h.views[0].pdq), 0) == []


def test_get_by_sha256_and_entries(memory_index: SQLiteIndex) -> None:
    dup = fake_hashes(7)
    outcomes = memory_index.put_files(
        [
            ("/p/one.jpg", "one.jpg", 1, 1, dup, {"title": "one"}),
            ("/p/two.jpg", "two.jpg", 1, 1, fake_hashes(8), None),
            ("/p/copy.jpg", "copy.jpg", 1, 1, dup, None),  # same file content, other path
        ]
    )
    assert outcomes == ["added"] * 3
    entries = list(memory_index.entries())
    by_path = {e.path: e for e in entries}
    ids = [e.id for e in entries]
    assert ids == sorted(ids)

    got = memory_index.get([ids[0], ids[2], 999_999])
    assert set(got) == {ids[0], ids[2]}
    assert got[ids[0]] == entries[0]  # same fields and views as entries() gives
    assert got[ids[0]].views == dup.views

    same = memory_index.by_sha256(dup.sha256)
    assert [e.path for e in same] == ["/p/one.jpg", "/p/copy.jpg"]
    assert same[0].meta == {"title": "one"}
    assert memory_index.by_sha256("0" * 64) == []
    assert by_path["/p/two.jpg"].sha256 == fake_hashes(8).sha256


def test_entries_and_get_page_over_many_rows(memory_index: SQLiteIndex) -> None:
    n = 1200
    items = [
        (
            f"/p/{i:05d}.jpg",
            f"{i:05d}.jpg",
            i,
            i,
            fake_hashes(i, view_quality=None if i % 3 else 80),
            None,
        )
        for i in range(n)
    ]
    assert memory_index.put_files(items) == ["added"] * n
    entries = list(memory_index.entries())
    assert len(entries) == n
    assert [e.id for e in entries] == sorted({e.id for e in entries})
    for e, (path, _, _, _, h, _) in zip(entries, items, strict=True):
        assert (e.path, e.pdq, e.views) == (path, h.pdq, h.views)
    got = memory_index.get(e.id for e in entries)
    assert len(got) == n
    assert all(got[e.id] == e for e in entries)


def test_put_files_is_all_or_nothing(memory_index: SQLiteIndex) -> None:
    memory_index.put_file("/p/keep.jpg", "keep.jpg", 1, 1, fake_hashes(1))
    generation, count = memory_index.generation(), memory_index.count()
    broken = ImageHashes(**{**fake_hashes(3).__dict__, "pdq": bytes(31)})  # not a PDQ hash
    with pytest.raises((sqlite3.Error, IndexUnusable)):
        memory_index.put_files(
            [
                ("/p/a.jpg", "a.jpg", 1, 1, fake_hashes(2), None),
                ("/p/b.jpg", "b.jpg", 1, 1, broken, None),
            ]
        )
    assert (memory_index.generation(), memory_index.count()) == (generation, count)
    assert "/p/a.jpg" not in memory_index.file_states()
    # and the index still takes writes afterwards
    assert memory_index.put_file("/p/a.jpg", "a.jpg", 1, 1, fake_hashes(2)) == "added"


def test_generation_grows_with_every_write_and_only_then(memory_index: SQLiteIndex) -> None:
    bank = Entry(0, "b", None, "bank", "ab" * 32, 1, 1, bytes(32), 100, None, {"x": 1})
    writes: list[Callable[[], Any]] = [
        lambda: memory_index.put_file("/p/a.jpg", "a.jpg", 1, 1, fake_hashes(1)),
        lambda: memory_index.put_files([("/p/b.jpg", "b.jpg", 1, 1, fake_hashes(2), None)]),
        lambda: memory_index.put_bank_entries([bank])[0],
        lambda: memory_index.put_bank_entries([dataclasses.replace(bank, meta={"y": 2})]),
        lambda: memory_index.merge_meta_by_path([("/p/b.jpg", {"title": "u"})]),
        lambda: memory_index.remove(["/p/a.jpg"]),
    ]
    seen = [memory_index.generation()]
    for write in writes:
        write()
        seen.append(memory_index.generation())
        # reads do not move it
        memory_index.search(q(bytes(32)), 10)
        list(memory_index.entries())
        memory_index.info()
        assert memory_index.generation() == seen[-1]
    assert all(b > a for a, b in zip(seen, seen[1:], strict=False))
    assert memory_index.info()["generation"] == seen[-1]


def test_merge_meta_by_path_counts_real_changes(memory_index: SQLiteIndex) -> None:
    memory_index.put_file("/p/a.jpg", "a.jpg", 1, 1, fake_hashes(1), {"title": "A"})
    memory_index.put_file("/p/b.jpg", "b.jpg", 1, 1, fake_hashes(2))
    changed = memory_index.merge_meta_by_path(
        [("/p/a.jpg", {"title": "A"}), ("/p/b.jpg", {"credit": "B"}), ("/p/none.jpg", {"x": 1})]
    )
    assert changed == 1
    metas = {e.path: e.meta for e in memory_index.entries()}
    assert metas == {"/p/a.jpg": {"title": "A"}, "/p/b.jpg": {"credit": "B"}}


def test_low_quality_hashes_are_stored_but_not_searched(memory_index: SQLiteIndex) -> None:
    low = fake_hashes(1, quality=MIN_QUALITY - 1, view_quality=None)
    edge = fake_hashes(2, quality=MIN_QUALITY, view_quality=None)
    weak_view = fake_hashes(3, quality=100, view_quality=MIN_QUALITY - 1)
    memory_index.put_files(
        [
            ("/p/low.jpg", "low.jpg", 1, 1, low, None),
            ("/p/edge.jpg", "edge.jpg", 1, 1, edge, None),
            ("/p/weak.jpg", "weak.jpg", 1, 1, weak_view, None),
        ]
    )
    ids = {e.path: e.id for e in memory_index.entries()}
    assert hit_ids(memory_index, low.pdq, 256) == {ids["/p/edge.jpg"], ids["/p/weak.jpg"]}
    assert hit_ids(memory_index, edge.pdq) == {ids["/p/edge.jpg"]}
    assert hit_ids(memory_index, weak_view.pdq) == {ids["/p/weak.jpg"]}
    assert hit_ids(memory_index, weak_view.views[0].pdq) == set()
    assert memory_index.get([ids["/p/low.jpg"]])[ids["/p/low.jpg"]].pdq == low.pdq
    assert memory_index.info()["low_quality_entries"] == 1


def test_info_fields(index_copy: Path) -> None:
    with open_index(index_copy) as index:
        n = index.count()
        bank = Entry(0, "b", None, "partner.jsonl", None, None, None, bytes(32), 10, None)
        index.put_bank_entries([bank])[0]
        info = index.info()
        files = [p for p in index_copy.iterdir() if p.is_file()]
        assert info["location"] == str(index_copy)
        assert info["entries"] == n + 1 == len(list(index.entries()))
        assert info["by_origin"] == {"file": n, "partner.jsonl": 1}
        assert info["views"] == {"centre-square": sum(len(e.views) for e in index.entries())}
        assert info["low_quality_entries"] == 1
        assert info["size_bytes"] == sum(p.stat().st_size for p in files) > 0
        assert info["schema_version"] == SCHEMA_VERSION
        assert info["generation"] == index.generation() > 0
        assert 0 < info["created"] <= info["updated"]
        assert {"revimg", "pillow", "numpy"} <= set(info["hashed_with"])
        assert info["running"]["revimg"] == info["hashed_with"]["revimg"]
        json.dumps(info)  # printable as JSON


def test_memory_index_info(memory_index: SQLiteIndex) -> None:
    info = memory_index.info()
    assert (info["location"], info["entries"], info["size_bytes"]) == (":memory:", 0, 0)
    assert info["by_origin"] == {} and info["hashed_with"] == {}


# -- the search cache -----------------------------------------------------------------------------


def test_cache_is_rewritten_after_writes(index_copy: Path, real: dict[str, ImageHashes]) -> None:
    new = real["tuxpaint__lighthouse.jpg"]
    with open_index(index_copy) as index:
        index.search(q(new.pdq), 0)
        generation = index.generation()
        magic, cached_gen, rows = cache_header(index_copy)
        assert (magic, cached_gen) == (b"REVIMGS2", generation)
        assert rows == index.count() + sum(len(e.views) for e in index.entries())

        assert index.put_file("/elsewhere/lighthouse.jpg", "lighthouse.jpg", 1, 1, new) == "added"
        assert index.generation() > generation
        (hit,) = [h for h in index.search(q(new.pdq), 0)]
        assert index.get([hit.image_id])[hit.image_id].name == "lighthouse.jpg"
        _, cached_gen2, rows2 = cache_header(index_copy)
        assert cached_gen2 == index.generation()
        assert rows2 == rows + 1 + len(new.views)


def test_reopened_index_searches_from_the_mapped_cache(
    index_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_index(index_copy) as index:
        queries = all_pdqs(index)
        before = {d: index.search(queries, d) for d in (0, 31, 90, 256)}
    assert len(before[256]) == len(before[0]) + 8  # each photo once more through its view
    monkeypatch.setattr(SQLiteIndex, "_load_arrays", lambda self: pytest.fail("cache not used"))
    with open_index(index_copy) as index:
        assert is_mapped(index.arrays().words)
        assert {d: index.search(queries, d) for d in before} == before


def test_stale_cache_is_detected_and_rebuilt(index_copy: Path) -> None:
    with open_index(index_copy) as index:
        index.refresh()
        old_cache = (index_copy / CACHE_NAME).read_bytes()
        victim = next(index.entries())
        queries = all_pdqs(index)
        index.remove([victim.path])
        expected = index.search(queries, 256)
        generation = index.generation()
    assert victim.id not in {h.image_id for h in expected}
    (index_copy / CACHE_NAME).write_bytes(old_cache)  # an older cache with a valid header
    with open_index(index_copy) as index:
        assert index.search(queries, 256) == expected
    assert cache_header(index_copy)[1] == generation


def _damage(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "truncated":
        data = data[: len(data) // 2]
    elif how == "empty":
        data = bytearray()
    elif how == "magic":
        data[0:8] = b"\xde\xad\xbe\xef" * 2
    elif how == "rows":
        data[56:64] = struct.pack("<Q", struct.unpack("<Q", data[56:64])[0] + 1)
    elif how == "appended":
        data += b"garbage"
    elif how == "folder":
        path.unlink()
        path.mkdir()
        return
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["truncated", "empty", "magic", "rows", "appended", "folder"])
def test_damaged_cache_is_detected_and_rebuilt(index_copy: Path, how: str) -> None:
    with open_index(index_copy) as index:
        queries = all_pdqs(index)
        expected = index.search(queries, 60)
    _damage(index_copy / CACHE_NAME, how)
    with open_index(index_copy) as index:
        assert index.search(queries, 60) == expected
    if how != "folder":  # a folder in its place cannot be replaced; searching still works
        assert search.read_cache(index_copy / CACHE_NAME) is not None


@pytest.mark.xfail(
    strict=True,
    reason="limitation: search.bin has no checksum, so bytes scribbled over the hash rows "
    "behind an intact header are trusted and searches silently go wrong",
)
def test_scribbled_cache_rows_are_detected(index_copy: Path) -> None:
    with open_index(index_copy) as index:
        queries = all_pdqs(index)
        expected = index.search(queries, 0)
    path = index_copy / CACHE_NAME
    data = bytearray(path.read_bytes())
    data[64 : 64 + 32 * 4] = os.urandom(32 * 4)  # the first four hash rows
    path.write_bytes(bytes(data))
    with open_index(index_copy) as index:
        assert index.search(queries, 0) == expected


def test_cache_of_a_replaced_database_is_not_trusted(tmp_path: Path) -> None:
    old, new = fake_hashes(1, view_quality=None), fake_hashes(2, view_quality=None)
    with open_index(tmp_path, create=True) as index:
        index.put_file("/p/old.jpg", "old.jpg", 1, 1, old)
        index.refresh()
    for leftover in tmp_path.glob(DB_NAME + "*"):
        leftover.unlink()
    with open_index(tmp_path, create=True) as index:
        index.put_file("/p/new.jpg", "new.jpg", 1, 1, new)
        assert hit_ids(index, old.pdq) == set()
        assert len(hit_ids(index, new.pdq)) == 1


# -- read-only indexes and concurrent use ---------------------------------------------------------


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A folder another user can traverse (tmp_path is private to its owner)."""
    folder = Path(tempfile.mkdtemp(prefix="revimg-test-"))
    os.chmod(folder, 0o755)
    yield folder
    for root, dirs, _ in os.walk(folder):
        for d in dirs:
            os.chmod(os.path.join(root, d), 0o755)
    shutil.rmtree(folder)


def run_without_write_access(fn: Callable[[], Any]) -> dict[str, Any]:
    """Run ``fn`` in a forked child that cannot write to files it does not own.

    Root ignores file modes, so when the tests run as root (as in CI containers) the child
    gives up root and becomes ``nobody`` before it calls ``fn``; a non-root run relies on the
    modes alone. Returns ``{"ok": result}`` or ``{"error": "Type: message"}``; skips the test
    when root cannot be given up.
    """
    import pwd  # POSIX only, like fork

    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        payload = b'{"error": "child failed"}'
        try:
            os.close(r)
            if os.geteuid() == 0:
                try:
                    nobody = pwd.getpwnam("nobody")
                    uid, gid = nobody.pw_uid, nobody.pw_gid
                except KeyError:
                    uid = gid = 65534
                try:
                    os.setgroups([])
                    os.setgid(gid)
                    os.setuid(uid)
                except OSError as exc:
                    payload = json.dumps({"skip": f"cannot drop root to test modes: {exc}"})
                    payload = payload.encode()
                    raise
            try:
                payload = json.dumps({"ok": fn()}).encode()
            except BaseException as exc:  # noqa: BLE001 - reported to the parent
                payload = json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode()
        finally:
            os.write(w, payload)
            os._exit(0)
    os.close(w)
    chunks = []
    while chunk := os.read(r, 65536):
        chunks.append(chunk)
    os.close(r)
    os.waitpid(pid, 0)
    result = json.loads(b"".join(chunks) or b'{"error": "no answer from the child"}')
    if "skip" in result:
        pytest.skip(result["skip"])
    return result


needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork (POSIX)")


@pytest.fixture
def read_only_setup(
    built_index: Path, shared_tmp: Path
) -> tuple[Path, np.ndarray, list[list[int]]]:
    """An index copy another user may read, a query and its expected hits (as lists)."""
    location = shared_tmp / "index"
    shutil.copytree(built_index, location)
    with open_index(location) as index:  # also imports everything the child will need
        index.refresh()
        queries = all_pdqs(index)
        hits = [[h.image_id, h.view, h.variant, h.distance] for h in index.search(queries, 31)]
        index.info()
    assert hits
    return location, queries, hits


def _read_then_try_to_write(location: Path, queries: np.ndarray) -> Callable[[], Any]:
    def child() -> Any:
        with open_index(location) as index:
            hits = [[h.image_id, h.view, h.variant, h.distance] for h in index.search(queries, 31)]
            count = index.count()
            try:
                index.put_file("/p/x.jpg", "x.jpg", 1, 1, fake_hashes(1))
                write = "written"
            except IndexUnusable as exc:
                write = f"IndexUnusable: {exc}"
            except Exception as exc:  # noqa: BLE001 - reported to the parent
                write = f"{type(exc).__name__}: {exc}"
            return {"hits": hits, "count": count, "write": write, "count_after": index.count()}

    return child


def _make_read_only(location: Path, *, folder_writable: bool) -> None:
    for p in location.iterdir():
        os.chmod(p, 0o444)
    os.chmod(location, 0o777 if folder_writable else 0o555)


@needs_fork
def test_read_only_database_file_still_searches(read_only_setup) -> None:
    location, queries, hits = read_only_setup
    _make_read_only(location, folder_writable=True)
    result = run_without_write_access(_read_then_try_to_write(location, queries))
    assert "ok" in result, result
    assert result["ok"]["hits"] == hits
    assert result["ok"]["write"] != "written"
    assert result["ok"]["count_after"] == result["ok"]["count"]


@needs_fork
def test_write_to_read_only_database_is_a_clear_error(read_only_setup) -> None:
    location, queries, _ = read_only_setup
    _make_read_only(location, folder_writable=True)
    result = run_without_write_access(_read_then_try_to_write(location, queries))
    assert "ok" in result, result
    write = result["ok"]["write"]
    assert write.startswith("IndexUnusable:") and "read-only" in write, write


@needs_fork
def test_read_only_index_folder_searches_and_refuses_writes(read_only_setup) -> None:
    location, queries, hits = read_only_setup
    _make_read_only(location, folder_writable=False)
    result = run_without_write_access(_read_then_try_to_write(location, queries))
    assert "ok" in result, result
    assert result["ok"]["hits"] == hits
    assert result["ok"]["write"].startswith("IndexUnusable:")
    assert "read-only" in result["ok"]["write"]
    assert sorted(p.name for p in location.iterdir()) == sorted(
        [DB_NAME, CACHE_NAME, FEATURES_NAME]
    )


def test_reader_is_not_disturbed_by_a_concurrent_write(index_copy: Path) -> None:
    writer, reader = open_index(index_copy), open_index(index_copy)
    try:
        queries = all_pdqs(reader)
        before = reader.search(queries, 256)
        state = (reader.count(), [e.id for e in reader.entries()], reader.generation())
        seen = []
        new = [fake_hashes(100 + i) for i in range(3)]

        def items() -> Iterator[tuple[str, str, int, int, ImageHashes, None]]:
            for i, h in enumerate(new):
                # the writer's transaction is open (and holds earlier rows) while the reader reads
                seen.append((reader.count(), [e.id for e in reader.entries()], reader.generation()))
                assert reader.search(queries, 256) == before
                yield (f"/p/new{i}.jpg", f"new{i}.jpg", 1, 1, h, None)

        assert writer.put_files(items()) == ["added"] * 3
        assert seen == [state] * 3
        assert reader.count() == state[0] + 3
        assert reader.generation() > state[2]
        for h in new:
            assert len(hit_ids(reader, h.pdq)) == 1
        assert reader.search(queries, 256) != before
    finally:
        writer.close()
        reader.close()


def test_read_only_commands_never_make_an_index_out_of_an_empty_file(tmp_path: Path) -> None:
    """A zero-byte database (damaged, or a build killed before its first schema): check and
    info say there is no index, exit 2, and leave the folder exactly as it was."""
    from typer.testing import CliRunner

    from revimg.cli import app
    from tests.conftest import SUSPECTS

    location = tmp_path / "index"
    location.mkdir()
    (location / DB_NAME).write_bytes(b"")
    before = sorted((p.name, p.stat().st_size) for p in location.iterdir())
    runner = CliRunner()
    for args in (
        ["check", str(SUSPECTS / "mirrored.jpg"), "--index", str(location)],
        ["index", "info", "--index", str(location)],
        ["index", "export", "--index", str(location)],
    ):
        done = runner.invoke(app, args)
        assert done.exit_code == 2 and "no index at" in done.output, (args, done.output)
    assert sorted((p.name, p.stat().st_size) for p in location.iterdir()) == before
    # a command that writes may make it into an index
    built = runner.invoke(
        app, ["index", "add", str(SUSPECTS / "unrelated.jpg"), "--index", str(location)]
    )
    assert built.exit_code == 0, built.output


def test_both_engines_have_what_a_check_reads() -> None:
    """SQLiteIndex and the shard set answer every method of IndexBackend, and nothing in
    IndexBackend is a write (the one written index is SQLiteIndex)."""
    from revimg.index.backend import IndexBackend
    from revimg.index.shards import ShardedIndex

    wanted = {n for n, v in vars(IndexBackend).items() if callable(v) and not n.startswith("_")}
    assert {"get", "search", "features_of", "feature_searcher", "close"} <= wanted
    assert not {n for n in wanted if n.startswith(("put", "remove", "merge"))}
    for engine in (SQLiteIndex, ShardedIndex):
        assert all(callable(getattr(engine, n, None)) for n in wanted), engine
