"""Sharded indexes: the split, and checks against a shard set equal to the source's."""

from __future__ import annotations

import json
import os
import random
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from revimg.cli import app
from revimg.errors import IndexUnusable, UsageError
from revimg.imaging import decoding, hashing
from revimg.imaging.photo import Photo
from revimg.index import bank, builder, metadata, shards
from revimg.index.store import open_index
from revimg.matching.checker import check_source
from revimg.report.data import result_dict
from tests.conftest import EXAMPLES, STOCK, SUSPECTS

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import accuracy  # noqa: E402

PARTS = 3


def make_source(location: Path) -> Path:
    """examples/stock with its metadata, then a bank: copies of ten stock photos' PDQ
    under other names (ties with the photos), five pHashes and 300 random hashes."""
    with open_index(location, create=True) as index:
        meta = metadata.load(EXAMPLES / "stock-meta.csv")
        stats = builder.run(index, builder.folder_files([STOCK]), meta=meta, jobs=1)
        assert stats.failed == 0
        photos = list(index.entries())
        rng = random.Random(16)
        lines = [f"{e.pdq.hex()} copy-of-{e.name}" for e in photos[:10]]
        lines += [f"{e.phash.hex()} phash-of-{e.name}" for e in photos[10:15] if e.phash]
        lines += [f"{rng.getrandbits(256):064x} random-{i}" for i in range(300)]
        bank.import_lines(index, "\n".join(lines) + "\n", "test-bank", "<test>")
        index.refresh()
    return location


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_source(tmp_path_factory.mktemp("shards") / "source")


@pytest.fixture(scope="module")
def shard_set(source: Path) -> Path:
    out = source.parent / "out"
    with open_index(source) as index:
        shards.split(index, out, PARTS)
    return out


def _assignment(out: Path) -> list[list[int]]:
    parts = json.loads((out / shards.MANIFEST_NAME).read_text())["parts"]
    return [np.load(out / shards.shard_folder(k) / shards.IDS_NAME).tolist() for k in range(parts)]


def test_every_entry_lands_in_exactly_one_shard(source: Path, shard_set: Path) -> None:
    manifest = json.loads((shard_set / shards.MANIFEST_NAME).read_text())
    with open_index(source) as index:
        entries = list(index.entries())
        stamp = index.stamp()
    assert manifest["parts"] == PARTS and manifest["source"]["stamp"] == stamp
    assert manifest["source"]["entries"] == len(entries) == 335
    assigned = _assignment(shard_set)
    assert sorted(i for ids in assigned for i in ids) == [e.id for e in entries]
    assert [s["entries"] for s in manifest["shards"]] == [len(ids) for ids in assigned]
    assert all(len(ids) > 50 for ids in assigned)  # the key spreads them
    for e in entries:  # by the stable key, whatever the order
        assert e.id in assigned[shards.shard_of(e, PARTS)]
    with shards.ShardedIndex.open(shard_set) as sharded:  # everything kept, ids too
        assert list(sharded.entries()) == entries
        with open_index(source) as index:
            assert sharded.file_states() == index.file_states()
            ids = [e.id for e in entries]
            ours, theirs = sharded.features_of(ids), index.features_of(ids)
            assert len(ours) == 20 and ours.keys() == theirs.keys()
            for i in ours:
                assert np.array_equal(ours[i].descriptors, theirs[i].descriptors)
                assert ours[i].appearance == theirs[i].appearance
            assert sharded.foreign_kinds() == index.foreign_kinds() == ("phash",)


def test_splitting_again_gives_the_same_shards(source: Path, shard_set: Path, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with open_index(source) as index:
        again = shards.split(index, tmp_path / "again", PARTS)
        assert not again.replaced
        assert _assignment(tmp_path / "again") == _assignment(shard_set)
        # over an older split of the same index: replaced, and said so
        assert shards.split(index, tmp_path / "again", 2).replaced
        assert sum(map(len, _assignment(tmp_path / "again"))) == 335
        assert not (tmp_path / "again" / shards.shard_folder(2)).exists()
        (tmp_path / "mine").mkdir()
        (tmp_path / "mine" / "notes.txt").write_text("keep me")
        with pytest.raises(UsageError, match="not empty and is not a shard set"):
            shards.split(index, tmp_path / "mine", 2)
        with pytest.raises(UsageError, match="between 1 and 999"):
            shards.split(index, tmp_path / "zero", 0)
    with open_index(tmp_path / "other", create=True) as other:
        other.put_bank_entries(
            [bank._parse_plain("ab" * 32 + " x", "o")]  # another index, another id
        )
        with pytest.raises(UsageError, match="shards of another index"):
            shards.split(other, tmp_path / "again", 2)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def _queries() -> list[tuple[str, bytes]]:
    """The edit set of benchmarks/accuracy.py on examples/stock: every edit of every photo
    with REVIMG_SHARDS_FULL=1 (380 checks, about a minute each way); else one edit a
    photo, in turn (every edit once), and the low-detail pictures."""
    photos = sorted(STOCK.glob("*.jpg"))
    edits = list(accuracy.EDITS.items())
    full = os.environ.get("REVIMG_SHARDS_FULL") == "1"
    out = []
    for seed, path in enumerate(photos):
        original = accuracy.upright(path)
        chosen = edits if full else [edits[seed % len(edits)]]
        for name, (edit, fmt) in chosen:
            out.append((f"{name}:{path.name}", accuracy.encode(edit(original, seed), fmt)))
    for label, im in list(accuracy.low_detail_images().items())[:: 1 if full else 4]:
        out.append((label, accuracy.encode(im, "PNG")))
    return out


def test_the_accuracy_edit_set_gets_the_same_answers(source: Path, shard_set: Path) -> None:
    """Every query of the default run, or of the whole set with REVIMG_SHARDS_FULL=1."""
    queries = _queries()
    assert {q.split(":")[0] for q, _ in queries} >= set(accuracy.EDITS)
    matched = 0
    with open_index(source) as index, shards.ShardedIndex.open(shard_set) as sharded:
        for label, data in queries:
            whole = result_dict(check_source(index, Photo(label, data=data), top=3))
            split = result_dict(check_source(sharded, Photo(label, data=data), top=3))
            assert split == whole, label  # ids included: the source's ids are kept
            matched += bool(whole["matches"])
    assert matched > 15


def test_feature_candidates_are_ranked_as_the_whole_index_ranks_them(
    source: Path, shard_set: Path
) -> None:
    """Scores bit for bit and the top cut, where every shard has fewer photos than the
    cut of a check (so an end-to-end check alone would not see a per-shard ranking)."""
    photos = sorted(STOCK.glob("*.jpg"))
    with open_index(source) as index, shards.ShardedIndex.open(shard_set) as sharded:
        whole, merged = index.feature_searcher(), sharded.feature_searcher()
        assert len(merged) == len(whole) == 20
        compared = 0
        for seed, path in enumerate(photos[::5]):
            for name in ("crop-60", "mirror", "screenshot"):
                edit, fmt = accuracy.EDITS[name]
                data = accuracy.encode(edit(accuracy.upright(path), seed), fmt)
                query = hashing.hash_query(decoding.decode(data, name), data)
                for top in (1, 3, 10):
                    want = whole.candidates(
                        query.features, top, mirrored_query=query.mirrored_features
                    )
                    got = merged.candidates(
                        query.features, top, mirrored_query=query.mirrored_features
                    )
                    assert got == want, (name, path.name, top)
                    compared += len(want)
        assert compared > 50


def _check_json(args: list[str]) -> Any:
    result = CliRunner().invoke(app, ["check", *args, "--format", "json"])
    return result.exit_code, result.stdout, result.stderr


def test_check_command_on_a_shard_set(source: Path, shard_set: Path) -> None:
    photos = [str(p) for p in sorted(SUSPECTS.glob("*.jpg"))]
    code, out, _ = _check_json([*photos, "--index", str(shard_set)])
    want_code, want, _ = _check_json([*photos, "--index", str(source)])
    assert (code, json.loads(out)) == (want_code, json.loads(want))
    assert code == 1 and sum(bool(r["matches"]) for r in json.loads(out)) >= 3


@pytest.mark.parametrize(
    "damage, named",
    [
        (lambda out: (out / "shards.json").unlink(), "shards.json: the shard manifest is missing"),
        (lambda out: (out / "shards.json").write_text("{"), "the shard manifest is damaged"),
        (lambda out: shutil.rmtree(out / "shard-001"), "shard-001: a shard of this set is missing"),
        (lambda out: (out / "shard-002" / "index.sqlite").unlink(), "shard-002: a shard"),
        (lambda out: (out / "shard-000" / "source-ids.npy").write_bytes(b"x"), "source-ids.npy"),
        (lambda out: (out / "feature-df.npy").unlink(), "feature-df.npy"),
        (
            lambda out: open_index(out / "shard-001").put_bank_entries(
                [bank._parse_plain("cd" * 32 + " y", "o")]
            ),
            "shard-001: the shard changed since the split",
        ),
    ],
)
def test_a_damaged_shard_set_is_an_error_naming_it(
    source: Path, tmp_path: Path, damage, named
) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    with open_index(source) as index:
        shards.split(index, out, PARTS)
    damage(out)
    code, stdout, stderr = _check_json([str(SUSPECTS / "mirrored.jpg"), "--index", str(out)])
    assert code == 2 and stdout == ""
    assert stderr.startswith("Error: ") and named in stderr and len(stderr.splitlines()) == 1
    with pytest.raises(IndexUnusable, match=named.split(": ")[-1]):
        shards.ShardedIndex.open(out)


def test_a_shard_set_is_read_only(shard_set: Path) -> None:
    result = CliRunner().invoke(app, ["index", "build", str(STOCK), "--index", str(shard_set)])
    assert result.exit_code == 2 and "read-only" in result.stderr
    assert not (shard_set / "index.sqlite").exists()


def test_index_info_shows_a_shard_set_as_a_table_and_as_json(shard_set: Path) -> None:
    """`index info` on a shard set: one row per shard in the table (it once raised a
    KeyError there), and the same counts in JSON."""
    info = json.loads(
        CliRunner().invoke(app, ["index", "info", "--index", str(shard_set), "-f", "json"]).output
    )
    shown = CliRunner().invoke(app, ["index", "info", "--index", str(shard_set), "-f", "table"])
    assert shown.exit_code == 0, shown.output
    assert f"{info['shards']} shards of" in shown.output
    for i, one in enumerate(info["per_shard"]):
        assert f"shard {i}" in shown.output and f"{one['entries']} entries" in shown.output
