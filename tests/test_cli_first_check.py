"""A first check on a new machine: no index, yet an honest answer and the next steps."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from revimg.cli import app
from tests.conftest import DATA, SUSPECTS

runner = CliRunner()
UNRELATED = str(SUSPECTS / "unrelated.jpg")
STOCK_CREDIT = str(DATA / "provenance" / "stock-full.jpg")


def _check(*args: str):
    return runner.invoke(app, ["check", *args])


def test_no_index_is_not_fully_checked_with_a_reason_for_scripts(isolated_env: Path) -> None:
    done = _check(UNRELATED, "-f", "json")
    assert done.exit_code == 2, done.output
    (result,) = json.loads(done.stdout)
    assert result["verdict"] == "incomplete" and result["matches"] == []
    assert result["not_run"] == [
        {
            "part": "index",
            "kind": "missing",
            "reason": f"there is no index of known photos at {isolated_env / 'index'}, "
            "so none were compared",
        }
    ]
    assert any("revimg links PHOTO" in h for h in result["hints"])
    assert any("revimg index import URL" in h for h in result["hints"])
    assert not (isolated_env / "index").exists()  # a check never creates an index


def test_no_index_still_reads_the_photos_own_metadata(isolated_env: Path) -> None:
    done = _check(STOCK_CREDIT, "-f", "json")
    (result,) = json.loads(done.stdout)
    assert result["verdict"] == "match" and result["evidence"] == ["stock"]
    assert result["not_run"][0]["part"] == "index"
    assert done.exit_code == 1  # a part that ran found evidence


def test_no_index_table_gives_the_next_steps_once(isolated_env: Path) -> None:
    done = _check(UNRELATED, str(SUSPECTS / "mirrored.jpg"), "-f", "table")
    assert done.exit_code == 2
    out = done.stdout
    assert out.count("NOT FULLY CHECKED: the comparison with known photos") == 2
    assert "no match" not in out.lower()
    assert out.count("What you can do next:") == 1
    assert out.count("revimg links PHOTO") == 1
    assert "2 photos: 2 not fully checked; fully checked: 0 of 2" in out


def test_a_named_index_that_is_missing_is_an_error(isolated_env: Path, tmp_path: Path) -> None:
    done = _check(UNRELATED, "--index", str(tmp_path / "typo"), "-f", "json")
    assert done.exit_code == 2
    assert done.stdout == "" and "no index at" in done.stderr


def test_links_for_a_file_gives_upload_pages(tmp_path: Path) -> None:
    done = runner.invoke(app, ["links", UNRELATED, "-f", "jsonl"])
    assert done.exit_code == 0, done.output
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert {r["engine"] for r in rows} >= {"google-lens", "bing", "tineye"}
    assert all(r["upload"] is True and UNRELATED not in r["url"] for r in rows)
    missing = runner.invoke(app, ["links", str(tmp_path / "nope.jpg")])
    assert missing.exit_code == 2 and "no such file" in missing.stderr
