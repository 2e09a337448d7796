"""Hostile banks: names that are not Unicode, file names that are not UTF-8, and names that
look like local paths. A bank's names are labels: never decoded into a crash, never opened."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from revimg.cli import app
from revimg.imaging import decoding, hashing
from tests.conftest import STOCK, SUSPECTS

runner = CliRunner()


def _pdq(path: Path) -> str:
    data, decoded = decoding.load(path)
    return hashing.hash_image(decoded, data, with_views=False, with_features=False).pdq.hex()


def _bank(tmp_path: Path, name: str, entries: list[dict[str, object]]) -> Path:
    bank = tmp_path / name
    bank.write_text("".join(json.dumps(e) + "\n" for e in entries), encoding="utf-8")
    return bank


@pytest.mark.parametrize(
    "entry",
    [
        {"name": "\ud800"},
        {"name": "ok", "meta": {"title": "\udfff"}},
        {"name": "ok", "views": [{"name": "\ud83d", "box": [0, 0, 1, 1], "pdq": "ab" * 32}]},
    ],
)
def test_lone_surrogates_are_a_named_bad_line_not_a_traceback(
    tmp_path: Path, entry: dict[str, object]
) -> None:
    bank = _bank(
        tmp_path, "bank.jsonl", [{"pdq": "cd" * 32, "name": "fine"}, {"pdq": "ab" * 32, **entry}]
    )
    ix = ["--index", str(tmp_path / "index")]
    done = runner.invoke(app, ["index", "import", str(bank), *ix])
    assert done.exit_code == 2 and "line 2" in done.output and "Unicode" in done.output
    assert not (tmp_path / "index" / "index.sqlite").exists()  # nothing imported, nothing made
    skipped = runner.invoke(app, ["index", "import", str(bank), *ix, "--skip-bad"])
    assert skipped.exit_code == 0, skipped.output
    assert "added 1" in skipped.output


def test_a_bank_file_name_that_is_not_utf8_is_kept_escaped(tmp_path: Path) -> None:
    raw = os.fsencode(str(tmp_path)) + b"/bank-\xff\xfe.txt"
    with open(raw, "w", encoding="utf-8") as fh:
        fh.write("ab" * 32 + " someone\n")
    ix = ["--index", str(tmp_path / "index")]
    done = runner.invoke(app, ["index", "import", os.fsdecode(raw), *ix])
    assert done.exit_code == 0, done.output
    info = runner.invoke(app, ["index", "info", *ix, "--format", "json"])
    origins = json.loads(info.stdout)["by_origin"]
    assert list(origins) == ["bank-\\udcff\\udcfe.txt"] or all("\\" in o for o in origins), origins


def test_the_local_origin_is_refused_for_a_bank(tmp_path: Path) -> None:
    bank = _bank(tmp_path, "file", [{"pdq": "ab" * 32, "name": "x"}])
    ix = ["--index", str(tmp_path / "index")]
    done = runner.invoke(app, ["index", "import", str(bank), *ix])
    assert done.exit_code == 2 and "--origin" in done.output
    again = runner.invoke(app, ["index", "import", str(bank), *ix, "--origin", "file"])
    assert again.exit_code == 2
    fine = runner.invoke(app, ["index", "import", str(bank), *ix, "--origin", "shared"])
    assert fine.exit_code == 0, fine.output


def test_a_bank_name_that_is_a_local_path_is_never_opened_by_the_report(tmp_path: Path) -> None:
    """The review's attack: a bank entry named after a private file on this machine, whose
    hash matches the photo checked. The report shows a placeholder, not that file."""
    private = tmp_path / "private" / "secret.jpg"
    private.parent.mkdir()
    private.write_bytes((STOCK / "kphotoalbum__jesper.jpg").read_bytes())
    query = SUSPECTS / "mirrored.jpg"
    # as a bank named "file" left it in an index made before that origin was refused
    from revimg.index.backend import Entry
    from revimg.index.store import open_index

    with open_index(tmp_path / "index", create=True) as index:
        pdq = bytes.fromhex(_pdq(query))
        index.put_bank_entries(
            [Entry(0, str(private), None, "file", None, None, None, pdq, 100, None, {}, ())]
        )[0]
        index.refresh()
    ix = ["--index", str(tmp_path / "index")]
    report = tmp_path / "report.html"
    done = runner.invoke(app, ["check", str(query), *ix, "--report", str(report)])
    assert done.exit_code == 1, done.output
    html = report.read_text(encoding="utf-8")
    assert len(re.findall(r"<img ", html)) == 1  # the checked photo only
