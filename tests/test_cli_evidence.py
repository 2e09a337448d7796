"""check's other evidence through the real CLI: metadata, the HTML report, --quiet, inspect."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import DATA, STOCK, SUSPECTS

STOCK_CREDIT = DATA / "provenance" / "stock-full.jpg"
AI_MARKED = DATA / "provenance" / "ai-xmp-trained.jpg"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "revimg", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
        check=False,
    )


def test_a_stock_credit_is_evidence_without_any_match(built_index: Path) -> None:
    done = _run(
        "check", str(STOCK_CREDIT), str(AI_MARKED), "--index", str(built_index), "-f", "jsonl"
    )
    assert done.returncode == 1, done.stderr
    stock, ai = (json.loads(line) for line in done.stdout.splitlines())
    assert stock["matches"] == [] and stock["verdict"] == "match"
    assert stock["evidence"] == ["stock"]
    assert "Getty Images" in {h["agency"] for h in stock["provenance"]["stock_agencies"]}
    assert ai["evidence"] == ["ai"]
    table = _run("check", str(STOCK_CREDIT), "--index", str(built_index), "-f", "table")
    assert "LIKELY A STOCK PHOTO" in table.stdout and "Getty Images" in table.stdout


def test_quiet_prints_one_verdict_line_per_photo(built_index: Path) -> None:
    photos = [str(SUSPECTS / "mirrored.jpg"), str(SUSPECTS / "unrelated.jpg")]
    done = _run("check", *photos, "--index", str(built_index), "-f", "table", "--quiet")
    lines = [ln for ln in done.stdout.splitlines() if ln.strip()]
    assert len(lines) == 3, done.stdout
    assert "LIKELY A KNOWN PHOTO" in lines[0] and "no match" in lines[1]
    assert lines[2] == "2 photos: 1 likely match, 1 no match; fully checked: 2 of 2"
    assert done.returncode == 1


def test_report_is_written_and_self_contained(built_index: Path, tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    photos = [str(SUSPECTS / "profile-square.jpg"), str(SUSPECTS / "unrelated.jpg")]
    done = _run(
        "check", *photos, "--index", str(built_index), "-f", "json", "--report", str(report)
    )
    assert done.returncode == 1, done.stderr
    assert f"report: {report}" in done.stderr
    html = report.read_text(encoding="utf-8")
    assert "default-src &#x27;none&#x27;" in html  # the CSP meta tag, attribute-escaped
    assert html.count("data:image/jpeg;base64,") >= 3  # two queries and one known photo
    assert "profile-square.jpg" in html and "unrelated.jpg" in html
    bad = _run(
        "check",
        photos[0],
        "--index",
        str(built_index),
        "--report",
        str(tmp_path / "missing" / "r.html"),
    )
    assert bad.returncode == 2 and bad.stderr.splitlines()[-1].startswith("Error: ")


def test_inspect_shows_the_evidence_and_reports_bad_files(tmp_path: Path) -> None:
    done = _run("inspect", str(STOCK_CREDIT), str(STOCK / "kphotoalbum__jesper.jpg"), "-f", "jsonl")
    assert done.returncode == 0, done.stderr
    stock, camera = (json.loads(line) for line in done.stdout.splitlines())
    assert stock["is_evidence"] is True and stock["findings"][0].startswith("Credit")
    assert camera["camera"] == "Canon EOS DIGITAL REBEL XT" and camera["is_evidence"] is False
    text = tmp_path / "note.jpg"
    text.write_text("not a photo")
    bad = _run("inspect", str(text))
    assert bad.returncode == 2
    assert bad.stderr.strip().startswith(f"Error: {text}") and "Traceback" not in bad.stderr
