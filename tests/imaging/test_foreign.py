"""Hashes other tools made (imagehash pHash; dHash, wHash, aHash refused): import, matching."""

from __future__ import annotations

import dataclasses
import io
import json
import re
from pathlib import Path

import imagehash
import pytest
from PIL import Image
from typer.testing import CliRunner

from revimg.cli import app
from revimg.errors import BankError
from revimg.imaging import foreign
from revimg.index import bank
from revimg.index.backend import NO_PDQ
from revimg.index.store import SQLiteIndex, open_index
from revimg.matching.checker import check_paths
from tests.conftest import STOCK, SUSPECTS

PHOTO = STOCK / "kphotoalbum__cold_water.jpg"  # examples/suspects/mirrored.jpg is its mirror
OTHERS = ("tuxpaint__mudstone.jpg", "palapeli__citrus-fruits.jpg", "kphotoalbum__jesper.jpg")


def imagehash_list(kind: str = "phash", prefix: str = "") -> str:
    """What an imagehash user writes: one ``str(imagehash.<kind>(image))`` and name per line."""
    compute = {"phash": imagehash.phash, "dhash": imagehash.dhash}
    lines = []
    for name in (PHOTO.name, *OTHERS):
        with Image.open(STOCK / name) as img:
            lines.append(f"{prefix}{compute[kind](img)} {name}")
    return "\n".join(lines) + "\n"


@pytest.fixture()
def with_dhash(monkeypatch: pytest.MonkeyPatch) -> None:
    """dHash accepted for one test: matching several kinds, kept apart, is general."""
    monkeypatch.setitem(foreign.KINDS, "dhash", foreign.Kind("dhash", imagehash.dhash, 6, 8))
    monkeypatch.delitem(foreign.REFUSED, "dhash")


def imported(text: str, where: str = "list.txt") -> SQLiteIndex:
    index = open_index(":memory:")
    bank.import_lines(index, text, where, where)
    return index


def test_plain_list_kinds_and_labels() -> None:
    text = (
        "# pHash by default, or named\n"
        "0123456789abcdef first\n"
        "phash:1123456789ABCDEF,second\n"
        "2123456789abcdef\n"
        f"{'ab' * 32} a PDQ line still reads\n"
        f"pdq:{'cd' * 32} a named PDQ\n"
    )
    index = imported(text)
    got = {e.name: (e.foreign, e.pdq, e.pdq_quality) for e in index.entries()}
    assert got["first"] == (("phash", bytes.fromhex("0123456789abcdef")), NO_PDQ, 0)
    assert got["second"][0] == ("phash", bytes.fromhex("1123456789abcdef"))
    assert got["phash:2123456789abcdef"][0] == ("phash", bytes.fromhex("2123456789abcdef"))
    assert got["a PDQ line still reads"] == (None, bytes.fromhex("ab" * 32), 100)
    assert got["a named PDQ"] == (None, bytes.fromhex("cd" * 32), 100)
    assert index.foreign_kinds() == ("phash",)
    assert index.info()["foreign_hashes"] == {"phash": 3}
    assert index.info()["low_quality_entries"] == 0  # the placeholder PDQ is not low detail
    again = bank.import_lines(index, text, "list.txt", "list.txt")
    assert (again.added, again.unchanged) == (0, 5)


def test_same_hex_as_two_kinds_is_two_entries(with_dhash: None) -> None:
    index = imported("0123456789abcdef x\ndhash:0123456789abcdef x\n")
    assert sorted(e.foreign[0] for e in index.entries() if e.foreign) == ["dhash", "phash"]


def test_jsonl_and_csv_banks_carry_them() -> None:
    lines = [
        json.dumps({"name": "p", "phash": "0123456789abcdef", "meta": {"credit": "x"}}),
        json.dumps({"name": "q", "pdq": None, "phash": "1123456789abcdef"}),
    ]
    index = imported("\n".join(lines))
    got = {e.name: (e.foreign, e.meta) for e in index.entries()}
    assert got == {
        "p": (("phash", bytes.fromhex("0123456789abcdef")), {"credit": "x"}),
        "q": (("phash", bytes.fromhex("1123456789abcdef")), {}),
    }
    csv_text = "name,pdq,phash\nw,,2123456789abcdef\n"
    assert [e.foreign for e in imported(csv_text).entries()] == [
        ("phash", bytes.fromhex("2123456789abcdef"))
    ]


@pytest.mark.parametrize("kind", ["dhash", "whash", "ahash"])
@pytest.mark.parametrize("form", ["plain", "jsonl"])
def test_refused_kind_stops_the_import_with_its_reason(kind: str, form: str) -> None:
    if form == "plain":
        text = f"0123456789abcdef ok\n{kind}:0123456789abcdef refused\n"
    else:
        text = '{"name": "ok", "phash": "0123456789abcdef"}\n'
        text += json.dumps({"name": "r", kind: "0123456789abcdef"})
    index = open_index(":memory:")
    for skip_bad in (False, True):  # a refused kind is not a bad line to skip
        with pytest.raises(BankError) as caught:
            bank.import_lines(index, text, "list.txt", "list.txt", skip_bad=skip_bad)
        message = str(caught.value)
        assert message == f"list.txt, line 2: {foreign.REFUSED[kind]}; nothing was imported"
        label = f"{kind[0]}{kind[1:].capitalize()} (imagehash"
        assert message.startswith(f"list.txt, line 2: {label}"), message
        assert "too often" in message and "share pHashes" in message and "\n" not in message
    assert index.count() == 0


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("0123456789abcde short", "a hash must be 64 hex digits (PDQ) or 16"),
        ("phash:0123456789abcdeg x", "phash must be 16 hex digits"),
        ("xhash:0123456789abcdef x", "unknown kind of hash 'xhash'"),
        (
            '{"name": "x", "phash": "01", "dhash": "0123456789abcdef"}',
            "an entry without pdq carries one hash, not 2",
        ),
        ('{"name": "x", "phash": "0123"}', "phash must be 16 hex digits"),
    ],
)
def test_bad_lines_are_named(line: str, reason: str) -> None:
    good = '{"name": "ok", "phash": "0123456789abcdef"}' if line.startswith("{") else "ab" * 32
    index = open_index(":memory:")
    with pytest.raises(BankError, match=re.escape(f"list.txt, line 2: {reason}")):
        bank.import_lines(index, f"{good}\n{line}\n", "list.txt", "list.txt")
    assert index.count() == 0
    stats = bank.import_lines(index, f"{good}\n{line}\n", "list.txt", "list.txt", skip_bad=True)
    assert stats.added == 1 and [n for n, _ in stats.skipped_lines] == [2]


def test_score_scale_matches_pdq() -> None:
    for name, kind in foreign.KINDS.items():
        assert foreign.score_of(name, 0) == 1.0
        assert foreign.score_of(name, kind.limit) == pytest.approx(0.75)
        assert foreign.max_distance_for(name, 0.75) == kind.limit
        assert foreign.max_distance_for(name, 0.0) == kind.ceiling  # never beyond it
        assert foreign.max_distance_for(name, 1.0) == 0


def test_query_hash_is_imagehash_bit_for_bit() -> None:
    with Image.open(PHOTO) as img:
        img.load()
        hashes = foreign.dihedral(img, tuple(foreign.KINDS))
        assert int(hashes["phash"][0]) == int(str(imagehash.phash(img)), 16)
        mirrored = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        assert int(hashes["phash"][5]) == int(str(imagehash.phash(mirrored)), 16)


@pytest.fixture()
def rotated(tmp_path: Path) -> Path:
    """The photo turned a quarter clockwise and re-saved smaller, as a copy might be."""
    path = tmp_path / "rotated.jpg"
    with Image.open(PHOTO) as img:
        turned = img.transpose(Image.Transpose.ROTATE_270)
        turned.resize((turned.width // 2, turned.height // 2)).save(path, quality=85)
    return path


def test_check_finds_mirrored_and_rotated_copies(rotated: Path) -> None:
    kind = "phash"
    index = imported(imagehash_list())
    mirrored, turned, unrelated = check_paths(
        index, [SUSPECTS / "mirrored.jpg", rotated, SUSPECTS / "unrelated.jpg"]
    )
    for result, variant in ((mirrored, "mirrored"), (turned, "rotated-90-cw")):
        assert result.verdict == "match"
        best = result.matches[0]
        assert (best.entry.name, best.method, best.variant) == (PHOTO.name, kind, variant)
        assert best.distance <= foreign.KINDS[kind].limit
        assert best.score == pytest.approx(foreign.score_of(kind, best.distance))
        assert best.score >= 0.75
    assert unrelated.verdict == "no_match" and unrelated.matches == []


def test_entries_match_only_query_hashes_of_their_kind(with_dhash: None) -> None:
    """The photo's pHash filed as a dHash must not match, nor its dHash filed as a pHash."""
    with Image.open(PHOTO) as img:
        phash_hex, dhash_hex = str(imagehash.phash(img)), str(imagehash.dhash(img))
    wrong = imported(f"dhash:{phash_hex} p-as-d\nphash:{dhash_hex} d-as-p\n")
    assert next(check_paths(wrong, [PHOTO])).matches == []
    right = imported(f"dhash:{dhash_hex} d\nphash:{phash_hex} p\n")
    matches = next(check_paths(right, [PHOTO])).matches
    assert {(m.entry.name, m.method, m.distance) for m in matches} == {
        ("d", "dhash", 0),
        ("p", "phash", 0),
    }


def test_check_json_fields_through_the_cli(tmp_path: Path) -> None:
    listing = tmp_path / "phashes.txt"
    listing.write_text(imagehash_list())
    ix = str(tmp_path / "ix")
    runner = CliRunner()
    assert runner.invoke(app, ["index", "import", str(listing), "--index", ix]).exit_code == 0
    result = runner.invoke(
        app, ["check", str(SUSPECTS / "mirrored.jpg"), "--index", ix, "--format", "json"]
    )
    assert result.exit_code == 1, result.output
    match = json.loads(result.stdout)[0]["matches"][0]
    assert match["method"] == "phash" and match["variant"] == "mirrored"
    assert match["name"] == match["path"] == PHOTO.name and match["origin"] == "phashes.txt"
    assert 0 <= match["distance"] <= foreign.KINDS["phash"].limit
    assert match["score"] == round(foreign.score_of("phash", match["distance"]), 4)
    dhash = tmp_path / "dhash.txt"
    dhash.write_text("dhash:0123456789abcdef x\n")
    refused = runner.invoke(app, ["index", "import", str(dhash), "--index", ix])
    assert refused.exit_code == 2
    assert refused.stderr.startswith(f"Error: {dhash}, line 1: dHash")
    assert len(refused.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_import_round_trip(fmt: str) -> None:
    text = imagehash_list() + "0123456789abcdef\n1123456789abcdef w\n" + "ab" * 32
    source = imported(text)
    first = min(source.entries(), key=lambda e: e.id)  # metadata travels with the hashes
    assert source.put_bank_entries([dataclasses.replace(first, meta={"credit": "someone"})]) == [
        "merged"
    ]
    out = io.StringIO()
    assert bank.export(source, out, fmt) == 7
    copy = imported(out.getvalue(), "bank")
    shape = sorted((e.name, e.foreign, e.pdq, e.meta) for e in source.entries())
    assert sorted((e.name, e.foreign, e.pdq, e.meta) for e in copy.entries()) == shape
    if fmt == "jsonl":
        header = json.loads(out.getvalue().splitlines()[0])
        assert header["version"] == bank.FORMAT_VERSION == 2


def test_banks_without_them_stay_version_1() -> None:
    out = io.StringIO()
    bank.export(imported("ab" * 32 + "\n"), out)
    assert json.loads(out.getvalue().splitlines()[0])["version"] == bank.PDQ_ONLY_VERSION == 1


def test_removing_an_entry_removes_its_hash(tmp_path: Path) -> None:
    with open_index(tmp_path / "ix", create=True) as index:
        bank.import_lines(index, imagehash_list(), "l", "l")
        assert len(index.foreign_arrays()["phash"][0]) == 4
        assert index.remove([PHOTO.name]) == 1
        assert len(index.foreign_arrays()["phash"][0]) == 3
        assert next(check_paths(index, [SUSPECTS / "mirrored.jpg"])).matches == []


def test_a_stale_or_damaged_search_file_is_rebuilt(tmp_path: Path) -> None:
    location = tmp_path / "ix"
    with open_index(location, create=True) as index:
        bank.import_lines(index, imagehash_list(), "l", "l")
        index.refresh()
    (location / "foreign.npz").write_bytes(b"not a numpy file")
    with open_index(location) as index:
        assert next(check_paths(index, [SUSPECTS / "mirrored.jpg"])).matches[0].method == "phash"


def test_a_query_with_too_little_detail_matches_no_phash(tmp_path: Path) -> None:
    """A flat picture has a pHash like any other; it must not 'match' a list's flat one."""
    flat = tmp_path / "flat.png"
    Image.new("RGB", (400, 300), (200, 200, 200)).save(flat)
    with Image.open(flat) as img:
        index = imported(f"{imagehash.phash(img)} a-flat-picture\n")
    result = next(check_paths(index, [flat]))
    assert result.matches == [] and result.warnings  # says only exact copies are recognised


def test_table_and_report_say_bits_of_64(tmp_path: Path) -> None:
    listing = tmp_path / "phashes.txt"
    listing.write_text(imagehash_list())
    ix, page = str(tmp_path / "ix"), tmp_path / "report.html"
    runner = CliRunner()
    assert runner.invoke(app, ["index", "import", str(listing), "--index", ix]).exit_code == 0
    args = ["check", str(SUSPECTS / "mirrored.jpg"), "--index", ix, "--format", "table"]
    result = runner.invoke(app, [*args, "--report", str(page)])
    assert result.exit_code == 1
    assert "of 64 bits" in result.stdout and "of 256 bits" not in result.stdout
    assert "phash (imagehash) in the hash list phashes.txt" in result.stdout
    html = page.read_text()
    assert "of 64 bits" in html and "imagehash pHash from a hash list" in html
