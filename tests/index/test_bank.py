"""Hash banks: export, import, validation of every line, and hostile input."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from revimg.errors import BankError
from revimg.imaging.hashing import MIN_QUALITY, ImageHashes, View
from revimg.index import bank, metadata
from revimg.index.backend import Entry, PlainBankBatch
from revimg.index.store import SQLiteIndex, open_index

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HEX_A = "0123456789abcdef" * 4
HEX_B = "fedcba9876543210" * 4
HEX_C = "00ff" * 16


def portable(e: Entry) -> tuple[Any, ...]:
    """What a bank carries: everything but the id, the local path and the origin."""
    return (e.name, e.sha256, e.width, e.height, e.pdq, e.pdq_quality, e.phash, e.meta, e.views)


def snapshot(index: SQLiteIndex) -> tuple[int, int, list[Entry]]:
    return index.generation(), index.count(), list(index.entries())


def record(**fields: Any) -> str:
    return json.dumps({"pdq": HEX_A, "name": "photo", **fields})


@pytest.fixture(scope="module")
def source(built_index: Path, photo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the built index with stock metadata, a bank entry and awkward values."""
    location = tmp_path_factory.mktemp("bank-source") / "index"
    shutil.copytree(built_index, location)
    table = metadata.load(EXAMPLES / "stock-meta.csv")
    with open_index(location) as index:
        items = []
        for e in index.entries():
            meta = table.lookup(Path(e.path), e.name)
            assert meta, e.name
            items.append((e.path, meta))
        assert index.merge_meta_by_path(items) == len(items)
        index.put_bank_entries(
            [
                Entry(
                    0,
                    'Zoë — café ☕ "quoted", comma',
                    None,
                    "friends.jsonl",
                    None,
                    None,
                    None,
                    bytes.fromhex(HEX_B),
                    37,
                    None,
                    {"note": "línea\ttab", "n": [1, 2.5, None]},
                    (View("centre-square", (0.0, 0.25, 1.0, 0.75), bytes.fromhex(HEX_C), 64),),
                )
            ]
        )[0]
        index.refresh()
    return location


def export_text(location: Path, fmt: str) -> str:
    out = io.StringIO()
    with open_index(location) as index:
        assert bank.export(index, out, fmt) == index.count()
    return out.getvalue()


@pytest.fixture
def fresh(tmp_path: Path):
    with open_index(tmp_path / "fresh", create=True) as index:
        yield index


# -- export and import ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_then_import_reproduces_the_entries(
    source: Path, fresh: SQLiteIndex, fmt: str
) -> None:
    with open_index(source) as index:
        original = sorted(portable(e) for e in index.entries())
        by_pdq = {e.pdq: e.name for e in index.entries() if e.pdq_quality >= MIN_QUALITY}
    assert any(e[7] for e in original) and any(e[8] for e in original)  # meta and views present
    text = export_text(source, fmt)
    stats = bank.import_lines(fresh, text, "shared-bank", f"bank.{fmt}")
    assert (stats.added, stats.merged, stats.unchanged, stats.skipped_lines) == (
        len(original),
        0,
        0,
        [],
    )
    imported = list(fresh.entries())
    assert sorted(portable(e) for e in imported) == original
    assert {(e.path, e.origin) for e in imported} == {(None, "shared-bank")}
    for pdq, name in by_pdq.items():  # and they are searchable
        (hit,) = [
            h for h in fresh.search(np.frombuffer(pdq, np.uint8).reshape(1, 32), 0) if h.view == 0
        ]
        assert fresh.get([hit.image_id])[hit.image_id].name == name


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_holds_no_local_paths_or_pixels(source: Path, photo_dir: Path, fmt: str) -> None:
    text = export_text(source, fmt)
    with open_index(source) as index:
        paths = [e.path for e in index.entries() if e.path]
        count = index.count()
    assert paths
    for forbidden in [*paths, str(photo_dir), str(source), str(source.parent)]:
        assert forbidden not in text
    for p in paths:  # no image bytes, in hex or base64
        assert Path(p).read_bytes()[:48].hex() not in text
    assert "/9j/" not in text  # base64 of a JPEG's first bytes
    assert len(text.encode()) < 1500 * (count + 1)
    if fmt == "jsonl":
        rows = [json.loads(line) for line in text.splitlines()[1:]]
    else:
        rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == count
    assert all("path" not in row for row in rows)
    assert not [s for s in _strings(rows) if os.path.isabs(s)]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        try:  # CSV cells hold JSON text for views and meta
            inner = json.loads(value)
        except ValueError:
            return [value]
        return [value, *_strings(inner)] if isinstance(inner, dict | list) else [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_reimport_is_idempotent(source: Path, fresh: SQLiteIndex, fmt: str) -> None:
    text = export_text(source, fmt)
    first = bank.import_lines(fresh, text, "bank", "bank")
    before = list(fresh.entries())
    again = bank.import_lines(fresh, text, "bank", "bank")
    assert (again.added, again.merged, again.unchanged) == (0, 0, first.added)
    assert list(fresh.entries()) == before
    assert f"unchanged {first.added}" in again.summary()


def test_import_merges_metadata_into_the_entry_with_the_same_sha256(
    source: Path, fresh: SQLiteIndex
) -> None:
    with open_index(source) as index:
        local = next(e for e in index.entries() if e.path)
    hashes_only = dataclasses.replace(local, meta={"title": "Local title"})
    fresh.put_bank_entries([hashes_only])[0]
    line = json.dumps(
        {
            "name": "renamed-by-the-sender.jpg",
            "sha256": local.sha256,
            "pdq": local.pdq.hex(),
            "meta": {"title": "Bank title", "credit": "Bank credit"},
        }
    )
    stats = bank.import_lines(fresh, line, "partner", "partner.jsonl")
    assert (stats.added, stats.merged, stats.unchanged) == (0, 1, 0)
    (entry,) = fresh.entries()
    assert entry.meta == {
        "title": "Local title",
        "credit": "Bank credit",
    }  # filled, not overwritten
    assert entry.name == local.name
    assert bank.import_lines(fresh, line, "partner", "partner.jsonl").unchanged == 1


def test_import_merges_into_a_local_file_entry(tmp_path: Path, source: Path) -> None:
    with open_index(source) as index:
        local = next(e for e in index.entries() if e.path)
    with open_index(tmp_path / "x", create=True) as index:
        h = ImageHashes(
            local.sha256,
            local.width,
            local.height,
            local.pdq,
            local.pdq_quality,
            local.phash,
            local.views,
        )
        index.put_file(local.path, local.name, 1, 1, h, {"title": "mine"})
        stats = bank.import_lines(
            index,
            json.dumps({"sha256": local.sha256, "pdq": HEX_A, "meta": {"licence": "CC0"}}),
            "b",
            "b",
        )
        assert stats.merged == 1
        (entry,) = index.entries()
        assert (entry.path, entry.meta) == (local.path, {"title": "mine", "licence": "CC0"})


def test_export_unknown_format_is_refused(memory_index: SQLiteIndex) -> None:
    with pytest.raises(BankError, match="xml"):
        bank.export(memory_index, io.StringIO(), "xml")


# -- malformed lines ------------------------------------------------------------------------------

BAD_LINES = {
    "bad hex": record(pdq="zz" * 32),
    "short hash": record(pdq=HEX_A[:-2]),
    "long hash": record(pdq=HEX_A + "00"),
    "no hash": json.dumps({"name": "x"}),
    "bad json": '{"pdq": "' + HEX_A + '", "name": ',
    "not an object": json.dumps([HEX_A, "x"]),
    "quality above 100": record(pdq_quality=101),
    "quality below 0": record(pdq_quality=-1),
    "quality fraction": record(pdq_quality=50.5),
    "quality text": record(pdq_quality="good"),
    "short sha256": record(sha256="ab" * 31),
    "bad phash": record(phash="12345"),
    "zero width": record(width=0),
    "meta not object": record(meta=["a"]),
    "view box outside": record(
        views=[{"name": "centre-square", "box": [0, 0, 2, 1], "pdq": HEX_B}]
    ),
    "view bad pdq": record(views=[{"name": "centre-square", "box": [0, 0, 1, 1], "pdq": "x"}]),
    "NUL in name": record(name="evil\x00.jpg"),
    "blank name": record(name="   "),
    "name too long": record(name="n" * 5000),
}


def _bank_with_bad_line(bad: str) -> str:
    header = json.dumps({"format": bank.FORMAT_NAME, "version": bank.FORMAT_VERSION})
    return "\n".join([header, record(name="good-1"), bad, record(pdq=HEX_B, name="good-2")]) + "\n"


@pytest.mark.parametrize("bad", list(BAD_LINES.values()), ids=list(BAD_LINES))
def test_malformed_line_is_named_and_nothing_is_imported(fresh: SQLiteIndex, bad: str) -> None:
    fresh.put_bank_entries(
        [Entry(0, "already", None, "x", None, None, None, bytes.fromhex(HEX_C), 90, None)]
    )[0]
    before = snapshot(fresh)
    with pytest.raises(BankError) as excinfo:
        bank.import_lines(fresh, _bank_with_bad_line(bad), "o", "their-bank.jsonl")
    message = str(excinfo.value)
    assert "their-bank.jsonl" in message and "line 3" in message
    assert snapshot(fresh) == before


def test_malformed_csv_row_is_named(fresh: SQLiteIndex) -> None:
    text = f"name,pdq,pdq_quality\nfine,{HEX_A},90\nbroken,{HEX_B},999\n"
    before = snapshot(fresh)
    with pytest.raises(BankError, match="line 3"):
        bank.import_lines(fresh, text, "o", "b.csv")
    assert snapshot(fresh) == before


def test_malformed_plain_line_is_named(fresh: SQLiteIndex) -> None:
    text = f"# a comment\n{HEX_A} one\nnot-a-hash two\n{HEX_B}\n"
    before = snapshot(fresh)
    with pytest.raises(BankError, match="line 3"):
        bank.import_lines(fresh, text, "o", "list.txt")
    assert snapshot(fresh) == before


def test_skip_bad_imports_the_good_lines_and_records_the_bad(fresh: SQLiteIndex) -> None:
    lines = [
        json.dumps({"format": bank.FORMAT_NAME, "version": 1}),
        record(name="g1"),
        BAD_LINES["bad hex"],
        record(pdq=HEX_B, name="g2"),
        BAD_LINES["bad json"],
        "",
        record(pdq=HEX_C, name="g3"),
    ]
    stats = bank.import_lines(fresh, "\n".join(lines), "o", "b.jsonl", skip_bad=True)
    assert stats.added == 3
    assert [n for n, _ in stats.skipped_lines] == [3, 5]
    assert all(reason for _, reason in stats.skipped_lines)
    assert "skipped 2" in stats.summary()
    assert sorted(e.name for e in fresh.entries()) == ["g1", "g2", "g3"]


# -- plain PDQ lists ------------------------------------------------------------------------------


def test_plain_pdq_list_with_labels_comments_and_blank_lines(fresh: SQLiteIndex) -> None:
    text = (
        "# exported by another tool\n"
        "\n"
        f"{HEX_A}\n"
        f"{HEX_B.upper()},known scam photo\n"
        f"  {HEX_C}\tlabel with\ttabs  \n"
        "   # indented comment\n"
        f"{'11' * 32} label with spaces\n"
    )
    stats = bank.import_lines(fresh, text, "list", "list.txt")
    assert stats.added == 4 and not stats.skipped_lines
    got = {e.pdq.hex(): e for e in fresh.entries()}
    assert {h: e.name for h, e in got.items()} == {
        HEX_A: HEX_A,
        HEX_B: "known scam photo",
        HEX_C: "label with\ttabs",
        "11" * 32: "label with spaces",
    }
    assert all(e.sha256 is None and e.path is None and e.origin == "list" for e in got.values())
    for h in got:  # a plain list carries no quality: its hashes must still be searched
        assert len(fresh.search(np.frombuffer(bytes.fromhex(h), np.uint8).reshape(1, 32), 0)) == 1
    again = bank.import_lines(fresh, text, "list", "list.txt")
    assert (again.added, again.unchanged) == (0, 4)


# -- versions and hostile values ------------------------------------------------------------------


@pytest.mark.parametrize("version", [bank.FORMAT_VERSION + 1, 99, "2", None])
@pytest.mark.parametrize("skip_bad", [False, True])
def test_newer_or_unknown_format_version_is_refused(
    fresh: SQLiteIndex, version: Any, skip_bad: bool
) -> None:
    text = json.dumps({"format": bank.FORMAT_NAME, "version": version}) + "\n" + record() + "\n"
    before = snapshot(fresh)
    with pytest.raises(BankError) as excinfo:
        bank.import_lines(fresh, text, "o", "future.jsonl", skip_bad=skip_bad)
    assert "newer" in str(excinfo.value) and "upgrade" in str(excinfo.value)
    assert snapshot(fresh) == before


def test_hostile_name_is_only_a_label(fresh: SQLiteIndex, tmp_path: Path) -> None:
    listing = sorted(tmp_path.rglob("*"))
    lines = [
        record(name="../../etc/passwd", path="/etc/shadow"),
        record(pdq=HEX_B, name="/absolute/elsewhere.jpg"),
        record(pdq=HEX_C, name="<script>alert(1)</script>"),
    ]
    assert bank.import_lines(fresh, "\n".join(lines), "o", "b").added == 3
    names = {e.name: e for e in fresh.entries()}
    assert set(names) == {
        "../../etc/passwd",
        "/absolute/elsewhere.jpg",
        "<script>alert(1)</script>",
    }
    assert all(e.path is None for e in names.values())
    assert fresh.file_states() == {}
    assert sorted(tmp_path.rglob("*")) == listing  # the index folder's files only, nothing new
    assert fresh.remove(["../../etc/passwd"]) == 1


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(record(pdq_quality=float("inf")), id="Infinity quality"),
        pytest.param(record(width=float("-inf")), id="-Infinity width"),
        pytest.param(record().replace('"name"', '"height": 1e400, "name"'), id="1e400 height"),
        pytest.param(
            record().replace('"name"', f'"width": {"9" * 5000}, "name"'), id="5000-digit width"
        ),
        pytest.param(
            record().replace('"name"', '"meta": ' + "[" * 50_000 + "]" * 50_000 + ', "name"'),
            id="deeply nested meta",
        ),
        pytest.param(f'pdq,meta\n{HEX_A},"{{""a"": {"1" * 5000}}}"\n', id="csv 5000-digit meta"),
    ],
)
def test_hostile_numbers_and_nesting_are_bank_errors(text: str) -> None:
    with pytest.raises(BankError, match="line"):
        list(bank.parse(text, "o", "b"))


def test_sha256_with_trailing_newline_is_rejected() -> None:
    with pytest.raises(BankError):
        list(bank.parse(record(sha256="ab" * 32 + "\n"), "o", "b"))


@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\x85"])
def test_line_separator_characters_survive_a_round_trip(
    memory_index: SQLiteIndex, char: str
) -> None:
    memory_index.put_bank_entries(
        [
            Entry(
                0,
                f"a{char}b",
                None,
                "o",
                None,
                None,
                None,
                bytes.fromhex(HEX_A),
                100,
                None,
                {"title": f"x{char}y"},
            )
        ]
    )[0]
    out = io.StringIO()
    bank.export(memory_index, out, "jsonl")
    assert [portable(e) for e in bank.parse(out.getvalue(), "o", "b")] == [
        portable(e) for e in memory_index.entries()
    ]


def test_carriage_return_in_a_name_survives_a_csv_round_trip(memory_index: SQLiteIndex) -> None:
    memory_index.put_bank_entries(
        [
            Entry(
                0,
                "holiday\rphoto.jpg",
                None,
                "o",
                None,
                None,
                None,
                bytes.fromhex(HEX_A),
                100,
                None,
            )
        ]
    )[0]
    out = io.StringIO()
    bank.export(memory_index, out, "csv")
    assert [e.name for e in bank.parse(out.getvalue(), "o", "b.csv")] == ["holiday\rphoto.jpg"]


# -- properties -----------------------------------------------------------------------------------

_FIELDS = [
    "name",
    "label",
    "sha256",
    "width",
    "height",
    "pdq",
    "pdq_quality",
    "phash",
    "views",
    "meta",
    "format",
    "version",
]
_hex = st.binary(min_size=0, max_size=33).map(bytes.hex)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=True, allow_infinity=False)
    | st.text(max_size=20)
    | _hex
)
_json = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(_FIELDS + ["box", "quality"]), inner, max_size=5)
    ),
    max_leaves=12,
)
_records = st.dictionaries(st.sampled_from(_FIELDS), _json, max_size=8).map(
    lambda d: json.dumps(d, allow_nan=True)
)
_lines = st.lists(st.one_of(st.text(max_size=80), _records, _hex), max_size=6).map("\n".join)
_csv = st.lists(st.lists(st.one_of(st.text(max_size=20), _hex), max_size=4), max_size=4).map(
    lambda rows: "pdq,name,pdq_quality,meta,views\n" + "\n".join(",".join(r) for r in rows)
)


@settings(max_examples=200, deadline=None)
@given(text=st.one_of(st.text(), _lines, _csv), skip_bad=st.booleans())
@example(text='{"format": "revimg-hash-bank", "version": 1}', skip_bad=False)
@example(text=f"{HEX_A}\x00label", skip_bad=True)
def test_parse_raises_nothing_but_bank_error(text: str, skip_bad: bool) -> None:
    skipped: list[tuple[int, str]] = []
    try:
        entries = list(bank.parse(text, "o", "fuzz", skip_bad=skip_bad, skipped=skipped))
    except BankError:
        return
    for e in entries:
        assert len(e.pdq) == 32 and 0 <= e.pdq_quality <= 100
        assert e.name.strip() and "\x00" not in e.name and e.path is None
        assert e.phash is None or len(e.phash) == 8
    assert all(1 <= n <= len(text.splitlines()) + 1 for n, _ in skipped)


#: Text for names and metadata; the characters left out have their own xfail tests above.
_alphabet = st.characters(
    blacklist_categories=("Cs",), blacklist_characters="\x00\r\x85\u2028\u2029"
)
_names = st.text(_alphabet, min_size=1, max_size=40).filter(lambda s: s.strip())
_entries = st.builds(
    lambda name, sha, pdq, quality, phash, meta, view: Entry(
        0,
        name,
        None,
        "o",
        sha,
        None,
        None,
        pdq,
        quality,
        phash,
        meta,
        (View("centre-square", view[0], view[1], view[2]),) if view else (),
    ),
    _names,
    st.none() | st.binary(min_size=32, max_size=32).map(bytes.hex),
    st.binary(min_size=32, max_size=32),
    st.integers(0, 100),
    st.none() | st.binary(min_size=8, max_size=8),
    st.dictionaries(_names, st.text(_alphabet, max_size=20) | st.integers(-5, 5), max_size=3),
    st.none()
    | st.tuples(
        st.tuples(*[st.floats(0, 1)] * 4), st.binary(min_size=32, max_size=32), st.integers(0, 100)
    ),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(entries=st.lists(_entries, min_size=1, max_size=5), fmt=st.sampled_from(["jsonl", "csv"]))
def test_hashes_round_trip_through_export_and_import(entries: list[Entry], fmt: str) -> None:
    with open_index(":memory:") as a, open_index(":memory:") as b:
        a.put_bank_entries(entries)
        out = io.StringIO()
        bank.export(a, out, fmt)
        bank.import_lines(b, out.getvalue(), "o", "b")
        assert sorted(map(portable, b.entries()), key=repr) == sorted(
            map(portable, a.entries()), key=repr
        )


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=10, unique=True))
def test_plain_list_hex_round_trip(hashes: list[bytes]) -> None:
    text = "\n".join(h.hex().upper() if i % 2 else h.hex() for i, h in enumerate(hashes))
    assert [e.pdq for e in bank.parse(text, "o", "b")] == hashes
    lines = [json.dumps(bank._entry_dict(e)) for e in bank.parse(text, "o", "b")]
    assert [e.pdq for e in bank.parse("\n".join(lines), "o", "b")] == hashes


# -- streaming import ------------------------------------------------------------------------


def _plain_lines(n: int, start: int = 0) -> list[str]:
    rng = np.random.default_rng(start)
    return [f"{rng.bytes(32).hex()} photo-{start + i}" for i in range(n)]


def test_a_bad_line_many_batches_in_rolls_everything_back(
    fresh: SQLiteIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bank, "BATCH", 3)  # ten batches pass before the bad line
    bank.import_lines(fresh, "\n".join(_plain_lines(5)), "old", "old.txt")
    before = fresh.count(), fresh.generation()
    lines = _plain_lines(30, start=100) + ["not-a-hash label"]
    with pytest.raises(BankError, match=r"new\.txt, line 31: .*nothing was imported"):
        bank.import_lines(fresh, "\n".join(lines), "new", "new.txt")
    assert (fresh.count(), fresh.generation()) == before


def test_streamed_import_counts_repeats_within_and_across_batches(
    fresh: SQLiteIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bank, "BATCH", 4)
    lines = _plain_lines(10)
    text = "\n".join(lines + lines[:3] + [lines[9]])  # repeats in later batches
    stats = bank.import_lines(fresh, text, "b", "b.txt")
    assert (stats.added, stats.unchanged) == (10, 4)
    again = bank.import_lines(fresh, text, "b", "b.txt")
    assert (again.added, again.unchanged) == (0, 14)
    assert fresh.count() == 10


def test_import_from_a_file_stream_holds_one_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []
    real, real_plain = SQLiteIndex._put_bank_batch, SQLiteIndex._insert_plain

    def spy(self: SQLiteIndex, batch: list[Entry]) -> list[str]:
        seen.append(len(batch))
        return real(self, batch)

    def spy_plain(self: SQLiteIndex, batch: PlainBankBatch, now: float) -> int:
        seen.append(len(batch.names))
        return real_plain(self, batch, now)

    monkeypatch.setattr(bank, "BATCH", 7)
    monkeypatch.setattr(SQLiteIndex, "_put_bank_batch", spy)
    monkeypatch.setattr(SQLiteIndex, "_insert_plain", spy_plain)
    path = tmp_path / "bank.txt"
    lines = _plain_lines(50)
    lines[20:20] = ["# a comment", ""]  # skipped
    lines[40] = "zz" * 32 + " not hex"  # the batch holding it is parsed line by line
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with path.open(encoding="utf-8", newline="\n") as fh:
        stats = bank.import_into(tmp_path / "ix", fh, "bank.txt", "bank.txt", skip_bad=True)
    assert stats.added == 49 and [n for n, _ in stats.skipped_lines] == [41]
    assert max(seen) == 7 and sum(seen) == 49


def test_bulk_and_line_by_line_parsing_agree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plain lists go through a bulk parser; it must give what the line parser gives."""
    pdq = "a5" * 32
    lines = [
        f"{pdq}",  # no label: named by its hash
        f"{pdq} spaced label ",
        f"{pdq}\tTabbed",
        f"{pdq},comma,more",
        f"{pdq.upper()}  two spaces\r",
        f"{'0f' * 32} caf\u00e9 \u2603",
        f"{pdq} spaced label",  # the second line again
    ]
    batch = bank._bulk_plain(lines, "o")
    assert batch is not None
    careful = [bank._parse_plain(line, "o") for line in lines]
    assert batch.names == [e.name for e in careful]
    assert batch.pdqs == [e.pdq for e in careful]
    assert batch.quality == careful[0].pdq_quality and batch.origin == "o"
    # what the bulk parser leaves to the careful one
    for odd in (
        f"{pdq[:-2]}",
        f"{pdq}x label",
        f"{pdq[:10]} {pdq[11:]}",
        f"{pdq} " + "n" * 2001,
        f"{pdq} a\x00b",
        "zz" * 32,
    ):
        assert bank._bulk_plain([lines[0], odd], "o") is None, odd
    # blank lines and comments are skipped in bulk too
    mixed = bank._bulk_plain([" ", "# note", lines[1], "  # indented"], "o")
    assert mixed is not None and mixed.names == ["spaced label"]
    empty = bank._bulk_plain(["", "# only a comment"], "o")
    assert empty is not None and empty.names == [] and empty.pdqs == []
    # the same rows either way: a bulk import, then the same entries one by one, adds nothing
    ix = tmp_path / "ix"
    first = bank.import_into(ix, "\n".join(lines), "o", "b.txt")
    assert (first.added, first.unchanged) == (6, 1)
    with open_index(ix) as index:
        again = index.put_bank_entries(careful)
    assert again == ["same"] * 7


def test_a_bad_line_is_named_across_bulk_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bank, "BATCH", 7)
    lines = _plain_lines(30)
    lines[16] = "not a hash"
    with pytest.raises(BankError, match="line 17:"):
        bank.import_into(tmp_path / "ix", "\n".join(lines), "b", "b.txt")
    assert not (tmp_path / "ix").exists()
    skipped = bank.import_into(tmp_path / "ix", "\n".join(lines), "b", "b.txt", skip_bad=True)
    assert skipped.added == 29 and [n for n, _ in skipped.skipped_lines] == [17]


def test_a_failed_import_removes_the_index_it_created(tmp_path: Path) -> None:
    target = tmp_path / "new-index"
    with pytest.raises(BankError, match="line 3"):
        bank.import_into(target, "\n".join([*_plain_lines(2), "zz"]), "b", "b.txt")
    assert not target.exists()
    existing = tmp_path / "existing"
    bank.import_into(existing, "\n".join(_plain_lines(2)), "b", "b.txt")
    with pytest.raises(BankError):
        bank.import_into(existing, "\n".join([*_plain_lines(2, 9), "zz"]), "c", "c.txt")
    with open_index(existing) as index:
        assert index.count() == 2


def test_not_utf8_in_the_middle_of_a_stream_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bank.txt"
    path.write_bytes(("\n".join(_plain_lines(3)) + "\n").encode() + b"\xff\xfe bad\n")
    with path.open(encoding="utf-8", newline="\n") as fh, pytest.raises(BankError, match="UTF-8"):
        bank.import_into(tmp_path / "ix", fh, "b", "bank.txt")
    assert not (tmp_path / "ix").exists()


def test_schema_2_bank_keys_are_migrated_and_reimport_changes_nothing(tmp_path: Path) -> None:
    import sqlite3

    from revimg.index import backend, schema

    folder = tmp_path / "old"
    folder.mkdir()
    conn = sqlite3.connect(folder / backend.DB_NAME)
    for script in schema.MIGRATIONS[:2]:
        conn.executescript(script)
    line = _plain_lines(1)[0]
    pdq, label = bytes.fromhex(line[:64]), line[65:]
    conn.execute(
        "INSERT INTO images (key, name, origin, pdq, pdq_quality, added, updated)"
        " VALUES (?, ?, 'b', ?, 100, 0, 0)",
        (f"bank:{pdq.hex()}:{label}", label, pdq),
    )
    conn.executemany(
        "INSERT INTO meta (key, value) VALUES (?, ?)",
        [("generation", "1"), ("index_id", "x" * 32), ("created", "0"), ("updated", "0")],
    )
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    with open_index(folder) as index:
        assert index.count() == 1
        stats = bank.import_lines(index, line, "b", "b.txt")
        assert (stats.added, stats.unchanged) == (0, 1)
        assert index.count() == 1


def test_an_import_into_an_empty_index_leaves_it_in_wal_mode(tmp_path: Path) -> None:
    """Such an import writes through a rollback journal (each page once); afterwards the
    index is back in WAL mode, where checks can read while others write."""
    import sqlite3

    from revimg.index import backend

    ix = tmp_path / "ix"
    stats = bank.import_into(ix, "\n".join(_plain_lines(40)), "b", "b.txt")
    assert stats.added == 40
    conn = sqlite3.connect(ix / backend.DB_NAME)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()
    again = bank.import_into(ix, "\n".join(_plain_lines(40, 100)), "c", "c.txt")
    assert again.added == 40
    with open_index(ix) as index:
        assert index.count() == 80
