"""Sanitisers per destination (revimg.text), generated: any text, safe where it goes."""

from __future__ import annotations

import csv
import html
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from revimg.text import FORMULA_START, csv_cell, from_csv_cell, html_text, terminal

#: Text as strangers write it: control characters, escape sequences, formula starts,
#: bidirectional overrides, lone surrogates (names that are not UTF-8), quotes.
HOSTILE = st.lists(
    st.one_of(
        st.characters(codec=None),
        st.sampled_from(["\x1b", "\x1b]8;;", "\x07", "\r", "\n", "\u202e", "\x9b", "\ud800"]),
        st.sampled_from([*FORMULA_START, "'", '"', ";", ",", "<", ">", "&", "<script>"]),
    ),
    max_size=30,
).map("".join)


@settings(derandomize=True, max_examples=300, deadline=None)
@given(HOSTILE)
def test_terminal_text_has_nothing_a_terminal_acts_on(text: str) -> None:
    shown = terminal(text)
    assert shown.isprintable()
    assert "\x1b" not in shown and "\n" not in shown and "\r" not in shown
    if text.isprintable():
        assert shown == text


@settings(derandomize=True, max_examples=300, deadline=None)
@given(HOSTILE)
def test_csv_cells_never_start_a_formula_and_read_back(text: str) -> None:
    cell = csv_cell(text)
    assert len(cell) <= 1 or not cell.startswith(FORMULA_START)
    assert from_csv_cell(cell) == text
    # and through a real CSV writer and reader
    buf = io.StringIO()
    csv.writer(buf).writerow([cell, 5])
    [row] = list(csv.reader(io.StringIO(buf.getvalue())))
    assert from_csv_cell(row[0]) == text


# -- the same classes through the command line -------------------------------------------

#: Names a file system allows (no "/" or NUL), as hostile as the rest.
FILE_NAMES = HOSTILE.map(lambda s: s.replace("/", "_").replace("\x00", "_")).filter(
    lambda s: (
        s.strip(".") != "" and len(s.encode("utf-8", "surrogateescape")) < 200
        if not any(0xD800 <= ord(c) <= 0xDFFF for c in s)
        else False
    )
)


def _no_terminal_controls(text: str) -> None:
    for line in text.splitlines():
        assert line.isprintable(), repr(line)


def _no_formula_cells(text: str) -> None:
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            assert len(cell) <= 1 or not cell.startswith(FORMULA_START), (cell, row)


@settings(derandomize=True, max_examples=12, deadline=None)
@given(name=FILE_NAMES, title=HOSTILE.map(lambda s: s.encode("utf-8", "replace").decode()))
def test_hostile_names_and_meta_leave_every_output_safe(
    tmp_path_factory: object, name: str, title: str
) -> None:
    import shutil

    from typer.testing import CliRunner

    from revimg.cli import app
    from tests.conftest import STOCK

    tmp = tmp_path_factory.mktemp("hostile")  # type: ignore[attr-defined]
    photos = tmp / "photos"
    photos.mkdir()
    photo = photos / f"{name}.jpg"
    shutil.copy(STOCK / "kphotoalbum__jesper.jpg", photo)
    meta = tmp / "meta.csv"
    with meta.open("w", newline="", encoding="utf-8", errors="surrogateescape") as fh:
        csv.writer(fh).writerow(["file", "title", "credit"])
        csv.writer(fh).writerow([photo.name, title, title])
    runner = CliRunner()
    ix = ["--index", str(tmp / "index")]
    built = runner.invoke(app, ["index", "build", str(photos), "--meta", str(meta), *ix])
    assert built.exit_code == 0, built.output
    as_csv = runner.invoke(app, ["check", str(photo), *ix, "--format", "csv"])
    assert as_csv.exit_code == 1, as_csv.output
    _no_formula_cells(as_csv.stdout)
    for args in (
        ["check", str(photo), *ix, "--format", "table"],
        ["hash", str(photo), "--format", "table"],
        ["inspect", str(photo), "--format", "table"],
        ["index", "info", *ix, "--format", "table"],
    ):
        shown = runner.invoke(app, args)
        assert shown.exit_code in (0, 1), (args, shown.output)
        _no_terminal_controls(shown.output)
    exported = runner.invoke(app, ["index", "export", *ix, "--format", "csv"])
    assert exported.exit_code == 0
    _no_formula_cells(exported.stdout)


@settings(derandomize=True, max_examples=300, deadline=None)
@given(HOSTILE)
def test_html_text_opens_no_tag_or_attribute_and_shows_the_text(text: str) -> None:
    shown = html_text(text)
    assert not any(c in shown for c in "<>\"'") and shown.isprintable()
    visible = "".join(c if c.isprintable() else " " for c in text)
    assert html.unescape(shown) == visible
