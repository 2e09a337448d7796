"""The command line: the contract of names, formats, streams and exit codes."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from revimg.cli import app
from tests.conftest import SMALL_SET, STOCK, SUSPECTS

runner = CliRunner()


def invoke(*args: str, input: bytes | str | None = None) -> object:
    return runner.invoke(app, list(args), input=input)


def _copy(tmp_path: Path, names: tuple[str, ...] = SMALL_SET) -> Path:
    folder = tmp_path / "stock"
    folder.mkdir()
    for name in names:
        shutil.copy2(STOCK / name, folder / name)
    return folder


# -- hash ----------------------------------------------------------------------------------


def test_hash_jsonl_fields() -> None:
    photo = str(STOCK / SMALL_SET[0])
    result = invoke("hash", photo, "--format", "jsonl")
    assert result.exit_code == 0, result.stderr
    (line,) = result.stdout.splitlines()
    row = json.loads(line)
    assert row["path"] == photo
    assert len(row["pdq"]) == 64 and len(row["phash"]) == 16 and len(row["sha256"]) == 64
    assert 0 <= row["pdq_quality"] <= 100


def test_hash_stdin_and_csv() -> None:
    data = (STOCK / SMALL_SET[1]).read_bytes()
    result = invoke("hash", "-", "--format", "csv", input=data)
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows[0]["path"] == "-" and len(rows[0]["pdq"]) == 64


def test_hash_bad_file_names_it_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_text("text")
    result = invoke("hash", str(STOCK / SMALL_SET[0]), str(bad), "--format", "json")
    assert result.exit_code == 2
    rows = json.loads(result.stdout)
    assert rows[0]["pdq"] and rows[1] == {"path": str(bad), "error": rows[1]["error"]}
    (err,) = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert str(bad) in err and "not an image" in err


# -- index ---------------------------------------------------------------------------------


def test_build_check_export_import_round_trip(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    ix = str(tmp_path / "ix")
    meta = tmp_path / "meta.csv"
    meta.write_text(f"file,title,license\n{SMALL_SET[0]},The Title,CC-BY-4.0\n")
    built = invoke("index", "build", str(folder), "--index", ix, "--meta", str(meta), "-j", "1")
    assert built.exit_code == 0, built.stderr
    assert f"added {len(SMALL_SET)}, updated 0, skipped 0, failed 0" in built.stderr
    assert built.stdout == ""

    checked = invoke("check", str(STOCK / SMALL_SET[0]), "--index", ix, "--format", "json")
    assert checked.exit_code == 1
    (res,) = json.loads(checked.stdout)
    assert res["verdict"] == "match"
    assert res["matches"][0]["meta"] == {"title": "The Title", "licence": "CC-BY-4.0"}

    exported = invoke("index", "export", "--index", ix)
    assert exported.exit_code == 0
    assert str(tmp_path) not in exported.stdout  # no local paths in a shared bank
    bank = tmp_path / "bank.jsonl"
    bank.write_text(exported.stdout)
    other = str(tmp_path / "other")
    imported = invoke("index", "import", str(bank), "--index", other)
    assert imported.exit_code == 0, imported.stderr
    assert f"added {len(SMALL_SET)}" in imported.stderr
    again = invoke("index", "import", str(bank), "--index", other)
    assert f"added 0, merged 0, unchanged {len(SMALL_SET)}" in again.stderr

    via_bank = invoke(
        "check",
        str(SUSPECTS / "unrelated.jpg"),
        str(STOCK / SMALL_SET[0]),
        "--index",
        other,
        "--format",
        "jsonl",
    )
    assert via_bank.exit_code == 1
    first, second = (json.loads(x) for x in via_bank.stdout.splitlines())
    assert first["verdict"] == "no_match" and second["verdict"] == "match"
    assert second["matches"][0]["path"] == SMALL_SET[0]  # a bank entry has a name, no local path


def test_build_incremental_and_bad_file_exit(tmp_path: Path) -> None:
    folder = _copy(tmp_path, SMALL_SET[:3])
    ix = str(tmp_path / "ix")
    assert invoke("index", "build", str(folder), "--index", ix).exit_code == 0
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    second = invoke("index", "build", str(folder), "--index", ix)
    assert second.exit_code == 2
    assert "added 0, updated 0, skipped 3, failed 1" in second.stderr
    assert "broken.png" in second.stderr
    assert invoke("index", "build", str(folder), "--index", ix, "--skip-bad").exit_code == 0


def test_add_remove_info(tmp_path: Path) -> None:
    ix = str(tmp_path / "ix")
    photo = tmp_path / "one.jpg"
    shutil.copy2(STOCK / SMALL_SET[0], photo)
    assert invoke("index", "add", str(photo), "--index", ix).exit_code == 0
    info = json.loads(invoke("index", "info", "--index", ix, "--format", "json").stdout)
    assert info["entries"] == 1 and info["size_bytes"] > 0
    assert {"pdq", "phash"} <= set(info["hash_kinds"])
    assert "revimg" in info["hashed_with"] and "pillow" in info["hashed_with"]
    table = invoke("index", "info", "--index", ix, "--format", "table")
    assert "entries" in table.stdout and "hashed with" in table.stdout
    removed = invoke("index", "remove", str(photo), "--index", ix)
    assert removed.exit_code == 0 and "removed 1 of 1" in removed.stderr
    again = invoke("index", "remove", str(photo), str(tmp_path / "other.jpg"), "--index", ix)
    assert again.exit_code == 2
    assert again.stderr.splitlines() == [
        f"not in the index: {photo}",
        f"not in the index: {tmp_path / 'other.jpg'}",
        "removed 0 of 2",
    ]


def test_hash_table_shows_whole_hashes() -> None:
    photo = str(STOCK / SMALL_SET[0])
    as_json = json.loads(invoke("hash", photo, "--format", "json").stdout)[0]
    shown = invoke("hash", photo, "--format", "table").stdout
    assert len(as_json["pdq"]) == 64
    for field in ("pdq", "phash", "sha256"):
        assert as_json[field] in shown, field


def test_export_csv_to_file_and_import_pdq_list(tmp_path: Path) -> None:
    folder = _copy(tmp_path, SMALL_SET[:2])
    ix = str(tmp_path / "ix")
    invoke("index", "build", str(folder), "--index", ix)
    out = tmp_path / "bank.csv"
    result = invoke("index", "export", "--index", ix, "--format", "csv", "-o", str(out))
    assert result.exit_code == 0 and result.stdout == ""
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(rows) == 2 and all(len(r["pdq"]) == 64 for r in rows)
    plain = tmp_path / "list.txt"
    plain.write_text("".join(f"{r['pdq']} label-{i}\n" for i, r in enumerate(rows)))
    other = str(tmp_path / "other")
    assert invoke("index", "import", str(plain), "--index", other).exit_code == 0
    check = invoke("check", str(STOCK / SMALL_SET[1]), "--index", other, "--format", "jsonl")
    assert json.loads(check.stdout)["matches"][0]["name"] == "label-1"


def test_import_bad_line_names_it_and_creates_nothing(tmp_path: Path) -> None:
    bank = tmp_path / "bad.txt"
    bank.write_text("a" * 64 + "\nnot-a-hash\n")
    ix = tmp_path / "ix"
    result = invoke("index", "import", str(bank), "--index", str(ix))
    assert result.exit_code == 2
    assert "line 2" in result.stderr and str(bank) in result.stderr
    assert not ix.exists()


# -- check ---------------------------------------------------------------------------------


def test_missing_index_says_how_to_build(tmp_path: Path) -> None:
    result = invoke("check", str(STOCK / SMALL_SET[0]), "--index", str(tmp_path / "none"))
    assert result.exit_code == 2
    assert "revimg index build" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_index_from_environment(
    tmp_path: Path, built_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REVIMG_INDEX", str(built_index))
    result = invoke("check", str(STOCK / SMALL_SET[0]), "--format", "jsonl")
    assert result.exit_code == 1


def test_default_index_lives_in_revimg_home(isolated_env: Path) -> None:
    photo = STOCK / SMALL_SET[0]
    assert invoke("index", "add", str(photo)).exit_code == 0
    assert (isolated_env / "index" / "index.sqlite").exists()
    assert invoke("check", str(photo), "--format", "jsonl").exit_code == 1


def test_check_csv_rows_and_top(built_index: Path) -> None:
    result = invoke(
        "check",
        str(STOCK / SMALL_SET[0]),
        str(SUSPECTS / "unrelated.jpg"),
        "--index",
        str(built_index),
        "--format",
        "csv",
        "--top",
        "1",
        "--threshold",
        "0.0",
    )
    assert result.exit_code == 1
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["query"] for r in rows] == [
        str(STOCK / SMALL_SET[0]),
        str(SUSPECTS / "unrelated.jpg"),
    ]
    assert rows[0]["rank"] == "1" and rows[0]["match_name"] == SMALL_SET[0]


def test_check_empty_stdin_is_an_error(built_index: Path) -> None:
    result = invoke("check", "-", "--index", str(built_index), "--format", "jsonl", input=b"")
    assert result.exit_code == 2
    assert json.loads(result.stdout) == {"query": "-", "error": "no image data on standard input"}


def test_threshold_out_of_range_is_a_usage_error(built_index: Path) -> None:
    result = invoke(
        "check", str(STOCK / SMALL_SET[0]), "--index", str(built_index), "--threshold", "31"
    )
    assert result.exit_code == 2


def test_table_view_for_people(built_index: Path) -> None:
    result = invoke(
        "check",
        str(SUSPECTS / "mirrored.jpg"),
        str(SUSPECTS / "unrelated.jpg"),
        "--index",
        str(built_index),
        "--format",
        "table",
    )
    assert result.exit_code == 1
    assert "LIKELY A KNOWN PHOTO" in result.stdout and "mirrored" in result.stdout
    assert "no match" in result.stdout


@pytest.mark.parametrize(
    "command",
    [
        ["hash"],
        ["check"],
        ["index", "build"],
        ["index", "add"],
        ["index", "remove"],
        ["index", "info"],
        ["index", "export"],
        ["index", "import"],
    ],
    ids=lambda c: "-".join(c),
)
def test_every_command_has_help_with_example(command: list[str]) -> None:
    result = invoke(*command, "--help")
    assert result.exit_code == 0
    assert "Example:" in result.stdout


# -- real processes: exit codes, python -m, pipes -------------------------------------------


def _run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVIMG_")}
    env["REVIMG_HOME"] = os.environ["REVIMG_HOME"]
    return subprocess.run(
        [sys.executable, "-m", "revimg", *args],
        input=stdin,
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_process_exit_codes(built_index: Path) -> None:
    ix = ["--index", str(built_index)]
    match = _run("check", str(SUSPECTS / "mirrored.jpg"), *ix)
    assert match.returncode == 1, match.stderr
    assert json.loads(match.stdout)["verdict"] == "match"  # a pipe gets jsonl by default
    assert match.stderr == b""
    none = _run("check", str(SUSPECTS / "unrelated.jpg"), *ix)
    assert none.returncode == 0 and json.loads(none.stdout)["verdict"] == "no_match"
    error = _run("check", str(SUSPECTS / "README.md"), *ix)
    assert error.returncode == 2
    assert error.stderr.decode().strip().count("\n") == 0 and b"README.md" in error.stderr
    assert b"Traceback" not in error.stderr


def test_process_stdin_and_version(built_index: Path) -> None:
    data = (SUSPECTS / "mirrored.jpg").read_bytes()
    piped = _run("check", "-", "--index", str(built_index), stdin=data)
    assert piped.returncode == 1 and json.loads(piped.stdout)["query"] == "-"
    version = _run("--version")
    assert version.returncode == 0 and version.stdout.startswith(b"revimg ")
