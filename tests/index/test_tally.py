"""The index's kept counts (revimg.index.tally): right after every kind of write, and a check
that never counts rows."""

from __future__ import annotations

import dataclasses
import os
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from revimg.imaging.hashing import MIN_QUALITY
from revimg.index import tally
from revimg.index.backend import Entry, PlainBankBatch
from revimg.index.store import SQLiteIndex, open_index
from revimg.matching.checker import check_paths
from tests.conftest import STOCK
from tests.index.test_store import fake_hashes
from tests.reliability_figures import REVIMG, cli_env


def kept(index: SQLiteIndex) -> tally.Tally | None:
    """The stored tally, if it is current (None: reads would count rows)."""
    conn = index._conn
    token = conn.execute("SELECT value FROM meta WHERE key = 'write_token'").fetchone()
    return tally.stored(conn, token[0] if token else "")


def assert_kept(index: SQLiteIndex) -> None:
    """The stored tally is current and agrees with counting every row."""
    found = kept(index)
    assert found is not None, "no current tally: reads would scan the tables"
    assert found.as_dict() == tally.scan(index._conn, MIN_QUALITY).as_dict()
    assert index.counts().as_dict() == found.as_dict()


def file_item(n: int, *, features: bool = True, quality: int = 100) -> tuple:
    hashes = fake_hashes(n, quality=quality)
    if features:
        hashes = hashes.__class__(**{**hashes.__dict__, "features": b"f" * (n % 7 + 1)})
    return (f"/photos/{n}.jpg", f"{n}.jpg", 1000 + n, 7 + n, hashes, {"n": n})


def bank_entry(n: int, **fields: object) -> Entry:
    rng = np.random.default_rng(n)
    base: dict = dict(
        id=0,
        name=f"bank-{n}",
        path=None,
        origin="stock-bank",
        sha256=None,
        width=None,
        height=None,
        pdq=rng.bytes(32),
        pdq_quality=100,
        phash=None,
    )
    base.update(fields)
    return Entry(**base)


def test_every_kind_of_write_keeps_the_tally(tmp_path: Path) -> None:
    folder = tmp_path / "index"
    with open_index(folder, create=True) as index:
        assert_kept(index)
        index.put_files([file_item(i) for i in range(6)])  # a build's batch
        index.put_files([file_item(6, features=False, quality=10)])
        assert_kept(index)
        assert index.counts().features == 6 and index.counts().low == 1
        index.put_file(*file_item(2, features=False)[:5])  # rehashed: features gone
        index.put_files([file_item(3, quality=5)])  # rehashed: now low quality
        assert_kept(index)
        assert index.remove_each([["/photos/1.jpg", "nowhere"], ["/photos/9.jpg"]]) == [1, 0]
        assert_kept(index)
        fake = fake_hashes(50)
        outcomes = index.put_bank_entries(
            [
                bank_entry(1),
                bank_entry(1),  # the same hash and name: same
                bank_entry(2, pdq_quality=3),
                bank_entry(3, sha256="a" * 64, meta={"x": 1}, views=fake.views),
                bank_entry(4, sha256="a" * 64, meta={"y": 2}),  # merged
                bank_entry(5, sha256="b" * 64, origin="other-bank"),
            ]
        )
        assert outcomes == ["added", "same", "added", "added", "merged", "added"]
        assert_kept(index)
        rng = np.random.default_rng(9)
        plain = PlainBankBatch("list", [f"h{i}" for i in range(40)], [rng.bytes(32)] * 40, 4)
        index.put_bank_batches([plain, [bank_entry(6), bank_entry(2, pdq_quality=3)]])
        assert_kept(index)
        index.merge_meta_by_path([("/photos/4.jpg", {"z": 1})])
        assert_kept(index)
        assert index.remove(["bank-1", "h3"]) == 2  # bank entries by name
        assert_kept(index)

        def failing() -> Iterator[PlainBankBatch]:
            yield PlainBankBatch("list", ["late"], [rng.bytes(32)], 100)
            raise ValueError("a bad line")

        before = index.counts().as_dict()
        with pytest.raises(ValueError):
            index.put_bank_batches(failing())
        assert_kept(index)
        assert index.counts().as_dict() == before
        info = index.info()
        assert info["entries"] == index.counts().images
        assert info["local_features"] == index.counts().features
        assert info["by_origin"] == {"file": 6, "list": 39, "other-bank": 1, "stock-bank": 3}


def test_url_bank_replacements_and_hash_lists_keep_the_tally(tmp_path: Path) -> None:
    from revimg.index.backend import BankSource

    fake = fake_hashes(60)
    with open_index(tmp_path / "index", create=True) as index:
        index.put_files([file_item(i) for i in range(3)])
        release = [
            bank_entry(1, origin="url-bank"),
            bank_entry(2, origin="url-bank", pdq_quality=3),
            bank_entry(3, origin="url-bank", views=fake.views),
        ]
        source = BankSource("https://example.org/b.jsonl", "url-bank", None, None, None, 1.0, 0)
        index.replace_bank(source, [release])
        assert_kept(index)
        # the next release drops one, and gives another new fields (quality, views)
        nxt = [bank_entry(1, origin="url-bank", views=fake.views), bank_entry(2, origin="url-bank")]
        counts = index.replace_bank(source, [nxt])
        assert counts["removed"] == 1 and counts["changed"] == 2
        assert_kept(index)
        # a pHash-only entry (its PDQ a placeholder of quality 0) from a hash list
        listed = bank_entry(7, origin="phashes", pdq=bytes(32), pdq_quality=0)
        index.put_bank_entries([dataclasses.replace(listed, foreign=("phash", bytes(8)))])
        assert_kept(index)
        info = index.info()
        assert info["foreign_hashes"] == {"phash": 1}
        assert info["low_quality_entries"] == 0  # the placeholder is not a photo of low detail


def test_an_untrusted_tally_is_counted_again(tmp_path: Path) -> None:
    """A write by an older revimg (new token, no tally) or an upgrade: reads count the rows
    until the next write, which stores a fresh tally; a schema upgrade counts at once."""
    folder = tmp_path / "index"
    with open_index(folder, create=True) as index:
        index.put_files([file_item(i) for i in range(3)])
    conn = sqlite3.connect(folder / "index.sqlite")
    conn.execute("PRAGMA foreign_keys = ON")
    with conn:  # what an older revimg's write looks like: rows and a new token, no tally
        conn.execute("DELETE FROM images WHERE path = '/photos/0.jpg'")
        conn.execute("UPDATE meta SET value = 'older' WHERE key = 'write_token'")
    conn.close()
    with open_index(folder) as index:
        assert kept(index) is None
        assert index.count() == 2 and index.feature_count() == 2  # counted, not trusted
        index.put_files([file_item(7)])
        assert_kept(index)
        assert index.count() == 3
    conn = sqlite3.connect(folder / "index.sqlite")
    with conn:  # an index from before schema 5, without a tally: the upgrade counts once
        conn.execute("DELETE FROM meta WHERE key = 'counts'")
        for later in ("bank_holdings", "bank_sources", "foreign_hashes"):  # schema 6 and 7
            conn.execute(f"DROP TABLE {later}")
        conn.execute("PRAGMA user_version = 4")
    conn.close()
    with open_index(folder) as index:
        assert_kept(index)
        assert index.file_states()["/photos/7.jpg"][1] == -1  # marked for a rehash
        index.put_files([file_item(7, features=False)])  # the rehash a build then does
        assert_kept(index)
        assert index.feature_count() == 2


def test_a_killed_import_leaves_a_true_tally(tmp_path: Path) -> None:
    """SIGKILL a bank import inside its transaction: the tally is the one before it."""
    from revimg.index.bank import BATCH

    folder = tmp_path / "index"
    with open_index(folder, create=True) as index:
        index.put_files([file_item(i, features=False) for i in range(3)])
        before = index.counts().as_dict()
    rng = np.random.default_rng(3)
    bank = tmp_path / "bank.txt"
    hashes = rng.bytes(32 * (BATCH * 2 + 5)).hex()
    bank.write_text("\n".join(hashes[i : i + 64] for i in range(0, len(hashes), 64)) + "\n")
    point = "bank-batch:2"
    proc = subprocess.Popen(  # noqa: S603
        [*REVIMG, "index", "import", str(bank), "--index", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**cli_env(), "REVIMG_HOLD_AT": point},
        start_new_session=True,
    )
    assert proc.stderr is not None
    said = []
    for raw in proc.stderr:
        said.append(raw.decode("utf-8", "replace").rstrip("\n"))
        if said[-1] == f"revimg: holding at {point}":
            break
    else:
        proc.wait()
        proc.stderr.close()
        pytest.fail(f"the import ended before {point}: {said}")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    with open_index(folder) as index:
        assert_kept(index)
        assert index.counts().as_dict() == before
    env = {k: v for k, v in cli_env().items() if k != "REVIMG_HOLD_AT"}
    done = subprocess.run(  # noqa: S603
        [*REVIMG, "index", "import", str(bank), "--index", str(folder)],
        capture_output=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    with open_index(folder) as index:
        assert_kept(index)
        assert index.count() == 3 + BATCH * 2 + 5


def test_a_check_reads_no_count_of_rows(built_index: Path, tmp_path: Path) -> None:
    """Whether the index has local features, its counts, generation and stamps: none of
    it counts rows (a count walks every page of the 15 KB-a-photo features table)."""
    import shutil

    folder = tmp_path / "index"
    shutil.copytree(built_index, folder)
    with open_index(folder) as index:
        index.put_files(
            [file_item(90, features=False)]
        )  # a write by this version: the tally is current
        index.refresh()
        statements: list[str] = []
        index._conn.set_trace_callback(statements.append)
        results = list(check_paths(index, [STOCK / "kphotoalbum__bar55.jpg"]))
        info = index.info()
        index._conn.set_trace_callback(None)
    assert results[0].matches and info["local_features"] >= 1
    counting = [s for s in statements if "count(" in s.lower()]
    assert not counting, counting


def test_adding_one_photo_looks_up_that_photo_only(tmp_path: Path) -> None:
    """``index add`` of a photo asks the index about that file, not for every path."""
    from revimg.index import builder

    with open_index(tmp_path / "index", create=True) as index:
        index.put_files([file_item(i, features=False) for i in range(5)])
        statements: list[str] = []
        index._conn.set_trace_callback(statements.append)
        stats = builder.run(index, [(STOCK / "kphotoalbum__bar55.jpg", "bar55.jpg")], jobs=1)
        index._conn.set_trace_callback(None)
        assert stats.added == 1
        assert_kept(index)
    assert not [s for s in statements if "path IS NOT NULL" in s], statements


def _crop_of(name: str, out: Path) -> Path:
    """A JPEG of the middle 60% of a stock photo: found by its local features only."""
    from PIL import Image

    img = Image.open(STOCK / name).convert("RGB")
    w, h = img.size
    img.crop((int(0.2 * w), int(0.2 * h), int(0.8 * w), int(0.8 * h))).save(out, quality=90)
    return out


def _found_by_features(index: SQLiteIndex, query: Path, name: str) -> bool:
    (result,) = check_paths(index, [query])
    return any(m.method == "features" and m.entry.name == name for m in result.matches)


def test_a_photo_added_to_a_large_index_extends_the_features_file(
    built_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``index add`` of a photo does not build the features file again (that reads every
    photo's features): the photos added since it was built are read from the database
    and searched beside it, up to a limit; a removal builds it again."""
    import shutil

    from revimg.index import builder, derived, feature_search
    from revimg.index.backend import FEATURES_NAME

    folder = tmp_path / "index"
    shutil.copytree(built_index, folder)
    added = "tuxpaint__lighthouse.jpg"
    query = _crop_of(added, tmp_path / "query.jpg")
    with open_index(folder) as index:
        index.put_files([file_item(95, features=False)])  # counts kept from here on
        index.refresh()
        before = (folder / FEATURES_NAME).read_bytes()
        stats = builder.run(index, [(STOCK / added, added)], jobs=1)
        assert stats.added == 1
        index.refresh()
        assert (folder / FEATURES_NAME).read_bytes() == before  # not built again
        assert _found_by_features(index, query, added)
        assert index.shared_search_files()  # batch workers extend it the same way
    with open_index(folder) as fresh:  # another process: the same, from the files
        assert _found_by_features(fresh, query, added)
        monkeypatch.setattr(derived, "FEATURES_EXTENSION_MAX", 1)
        other = "palapeli__castle-maintenon.jpg"
        builder.run(fresh, [(STOCK / other, other)], jobs=1)
        fresh.refresh()  # two photos added since: built again
        rebuilt = (folder / FEATURES_NAME).read_bytes()
        assert rebuilt != before
        assert _found_by_features(fresh, query, added)
        (other_id,) = [e.id for e in fresh.entries() if e.name == other]
        fresh.remove([str(STOCK / other)])  # the highest id: a new photo can take it again
        fresh.refresh()  # a removal: not built again
        assert (folder / FEATURES_NAME).read_bytes() == rebuilt
        assert not _found_by_features(fresh, _crop_of(other, tmp_path / "other.jpg"), other)
        taken = "tuxpaint__jellyfish.jpg"
        builder.run(fresh, [(STOCK / taken, taken)], jobs=1)
        fresh.refresh()
        (new_id,) = [e.id for e in fresh.entries() if e.name == taken]
        assert new_id == other_id  # it took the removed photo's id again
        assert (folder / FEATURES_NAME).read_bytes() == rebuilt  # still not built again
        assert _found_by_features(fresh, _crop_of(taken, tmp_path / "taken.jpg"), taken)
        more = ["tuxpaint__ocean_waves.jpg", "tuxpaint__burnt_bark.jpg"]
        builder.run(fresh, [(STOCK / n, n) for n in more], jobs=1)
        fresh.refresh()  # more photos than an extension takes: built again, once
        after = (folder / FEATURES_NAME).read_bytes()
        assert after != rebuilt
    with open_index(folder) as again:  # a file built after the removal needs no floor
        found = feature_search.FeatureSearcher.load(folder / FEATURES_NAME)
        assert found is not None and again._features_extension(found) == []
        assert _found_by_features(again, _crop_of(taken, tmp_path / "taken.jpg"), taken)
        assert (folder / FEATURES_NAME).read_bytes() == after
        # a second removal of the highest id: an earlier removal's floor does not apply to
        # this file, built after it (else every photo above that floor would be read again)
        last = "tuxpaint__trees_at_dusk.jpg"
        builder.run(again, [(STOCK / last, last)], jobs=1)
        again.remove([str(STOCK / last)])
        again.refresh()
        assert (folder / FEATURES_NAME).read_bytes() == after
        assert_kept(again)


def test_a_photo_removed_from_a_large_index_leaves_the_features_file(
    built_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``index remove`` does not build the features file again: a search asks the saved
    file for as many more candidates as photos were removed, and drops them; past
    REMOVALS_KEPT removals, or when the highest id goes (a new photo could take it), the
    file is built again."""
    import shutil

    from revimg.index.backend import FEATURES_NAME

    folder = tmp_path / "index"
    shutil.copytree(built_index, folder)
    gone, kept_name = "tuxpaint__mudstone.jpg", "kphotoalbum__cold_water.jpg"
    gone_query = _crop_of(gone, tmp_path / "gone.jpg")
    kept_query = _crop_of(kept_name, tmp_path / "kept.jpg")
    with open_index(folder) as index:
        index.put_files([file_item(95, features=False)])  # counts kept; the highest id
        index.refresh()
        before = (folder / FEATURES_NAME).read_bytes()
        assert _found_by_features(index, gone_query, gone)
        paths = {e.name: e.path for e in index.entries()}
        assert index.remove([paths[gone]]) == 1
        index.refresh()
        assert (folder / FEATURES_NAME).read_bytes() == before  # not built again
        assert kept(index) is not None and kept(index).features_removed == 1
        assert not _found_by_features(index, gone_query, gone)
        assert _found_by_features(index, kept_query, kept_name)
        assert index.shared_search_files()
        assert_kept(index)
    with open_index(folder) as fresh:  # another process, from the files
        assert not _found_by_features(fresh, gone_query, gone)
        assert _found_by_features(fresh, kept_query, kept_name)
        monkeypatch.setattr(tally, "REMOVALS_KEPT", 1)
        assert fresh.remove([paths["palapeli__citrus-fruits.jpg"]]) == 1
        fresh.refresh()  # a second removal past the limit: built again
        assert (folder / FEATURES_NAME).read_bytes() != before
        assert kept(fresh).features_removed == 0
        assert _found_by_features(fresh, kept_query, kept_name)


def test_a_features_file_from_a_copy_that_added_other_photos_is_not_extended(
    built_index: Path, tmp_path: Path
) -> None:
    """Two copies of one index each add a different photo (the same new id): a features
    file built in one after its addition is not taken for the other's."""
    import shutil

    from revimg.index import builder
    from revimg.index.backend import FEATURES_NAME

    first, second = tmp_path / "first", tmp_path / "second"
    shutil.copytree(built_index, first)
    with open_index(first) as a:
        a.put_files([file_item(95, features=False)])
        a.refresh()
    shutil.copytree(first, second)
    one, two = "tuxpaint__lighthouse.jpg", "palapeli__castle-maintenon.jpg"
    with open_index(first) as a, open_index(second) as b:
        builder.run(a, [(STOCK / one, one)], jobs=1)
        builder.run(b, [(STOCK / two, two)], jobs=1)
        a.rebuild_search_files()  # the first's file now holds its own new photo
        b.refresh()
    shutil.copy(first / FEATURES_NAME, second / FEATURES_NAME)
    with open_index(second) as b:
        assert _found_by_features(b, _crop_of(two, tmp_path / "two.jpg"), two)
        assert not _found_by_features(b, _crop_of(one, tmp_path / "one.jpg"), one)
