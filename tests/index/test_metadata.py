"""Per-photo metadata files (--meta): CSV and JSON Lines, aliases, tags and lookups."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from revimg.errors import BankError
from revimg.index import builder, metadata
from revimg.index.store import open_index

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- CSV ------------------------------------------------------------------------------------------


def test_csv_aliases_tags_and_extra_columns(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "meta.csv",
        "File,Title,Photographer,License,URL,Tags,Camera,Empty\n"
        "a.jpg,Sunset,Ann Smith,CC-BY-4.0,https://example.org/a, beach; sea ;;sky ,X100,\n"
        'b.jpg,,Bob,,,"one, two,three",,\n',
    )
    table = metadata.load(path)
    assert len(table) == 2
    assert table.lookup(tmp_path / "a.jpg") == {
        "title": "Sunset",
        "credit": "Ann Smith",
        "licence": "CC-BY-4.0",
        "source_url": "https://example.org/a",
        "tags": ["beach", "sea", "sky"],
        "camera": "X100",
    }
    # empty cells are dropped; without a semicolon, tags split on commas
    assert table.lookup(tmp_path / "b.jpg") == {"credit": "Bob", "tags": ["one", "two", "three"]}


@pytest.mark.parametrize(
    ("column", "field"),
    [
        ("license", "licence"),
        ("licence", "licence"),
        ("photographer", "credit"),
        ("creator", "credit"),
        ("author", "credit"),
        ("byline", "credit"),
        ("credit", "credit"),
        ("url", "source_url"),
        ("source", "source_url"),
        ("source_url", "source_url"),
    ],
)
def test_each_alias_maps_to_its_field(tmp_path: Path, column: str, field: str) -> None:
    table = metadata.load(write(tmp_path, "m.csv", f"name,{column.upper()}\nx.jpg,value\n"))
    assert table.lookup(Path("/anywhere/x.jpg")) == {field: "value"}


def test_the_stock_metadata_file(tmp_path: Path) -> None:
    with open(EXAMPLES / "stock-meta.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    table = metadata.load(EXAMPLES / "stock-meta.csv")
    assert len(table) == len(rows) > 0
    for row in rows:
        meta = table.lookup(EXAMPLES / "stock" / row["file"])
        assert meta is not None
        assert meta["title"] == row["title"]
        assert meta["credit"] == row["credit"]
        assert meta["tags"] == row["tags"].split(";")
        assert "file" not in meta


def test_csv_with_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufefffilename,title\nz.jpg,Zürich\n".encode())
    assert metadata.load(path).lookup(Path("z.jpg")) == {"title": "Zürich"}


def test_header_only_csv_is_an_empty_table(tmp_path: Path) -> None:
    table = metadata.load(write(tmp_path, "m.csv", "file,title\n"))
    assert len(table) == 0
    assert table.lookup(tmp_path / "a.jpg") is None


@pytest.mark.parametrize("text", ["", "\n\n"])
def test_empty_csv_is_an_error(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, "m.csv", text)
    with pytest.raises(BankError, match="empty") as excinfo:
        metadata.load(path)
    assert str(path) in str(excinfo.value)


def test_csv_without_a_key_column_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "m.csv", "title,credit\nSunset,Ann\n")
    with pytest.raises(BankError) as excinfo:
        metadata.load(path)
    message = str(excinfo.value)
    assert "line 2" in message and "path" in message and str(path) in message


def test_csv_row_with_an_empty_key_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "m.csv", "file,title\na.jpg,A\n,B\n")
    with pytest.raises(BankError, match="line 3"):
        metadata.load(path)


def test_missing_and_undecodable_files(tmp_path: Path) -> None:
    with pytest.raises(BankError, match="no such metadata file"):
        metadata.load(tmp_path / "absent.csv")
    bad = tmp_path / "latin1.csv"
    bad.write_bytes("file,title\na.jpg,caf\xe9\n".encode("latin-1"))
    with pytest.raises(BankError, match="cannot read"):
        metadata.load(bad)


# -- JSON Lines -----------------------------------------------------------------------------------


def test_jsonl_fields_and_tags(tmp_path: Path) -> None:
    lines = [
        {"path": "a.jpg", "title": "A", "tags": ["x", "y"], "license": "MIT", "rating": 4},
        {"file": "b.jpg", "tags": "p;q", "url": "https://e.org/b"},
        {"name": "c.jpg", "photographer": "C", "creator": "ignored: credit came first"},
    ]
    path = write(tmp_path, "m.jsonl", "\n".join(json.dumps(r) for r in lines) + "\n\n")
    table = metadata.load(path)
    assert len(table) == 3
    assert table.lookup(Path("a.jpg")) == {
        "title": "A",
        "tags": ["x", "y"],
        "licence": "MIT",
        "rating": 4,
    }
    assert table.lookup(Path("b.jpg")) == {"tags": ["p", "q"], "source_url": "https://e.org/b"}
    assert table.lookup(Path("c.jpg")) == {"credit": "C"}


def test_jsonl_is_recognised_by_content(tmp_path: Path) -> None:
    path = write(tmp_path, "meta.txt", '  {"file": "a.jpg", "title": "A"}\n')
    assert metadata.load(path).lookup(Path("a.jpg")) == {"title": "A"}


@pytest.mark.parametrize(
    ("bad", "reason"),
    [('{"file": "b.jpg", "title": ', "not valid JSON"), ('["b.jpg", "B"]', "JSON object")],
)
def test_malformed_jsonl_line_is_named(tmp_path: Path, bad: str, reason: str) -> None:
    text = '{"file": "a.jpg"}\n\n' + bad + '\n{"file": "c.jpg"}\n'
    path = write(tmp_path, "m.jsonl", text)
    with pytest.raises(BankError) as excinfo:
        metadata.load(path)
    message = str(excinfo.value)
    assert "line 3" in message and reason in message and str(path) in message


def test_jsonl_without_a_key_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "m.jsonl", '{"file": "a.jpg"}\n{"title": "no key"}\n')
    with pytest.raises(BankError, match="line 2.*no path, file or name"):
        metadata.load(path)


def test_empty_jsonl_is_an_empty_table(tmp_path: Path) -> None:
    assert len(metadata.load(write(tmp_path, "m.jsonl", ""))) == 0


def test_jsonl_with_a_line_separator_inside_a_string(tmp_path: Path) -> None:
    text = json.dumps({"file": "a.jpg", "title": "one\u2028two"}, ensure_ascii=False) + "\n"
    table = metadata.load(write(tmp_path, "m.jsonl", text))
    assert table.lookup(Path("a.jpg")) == {"title": "one\u2028two"}


# -- lookups --------------------------------------------------------------------------------------


def test_lookup_by_absolute_path_relative_path_and_name(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    absolute = photos / "2023" / "trip" / "beach.jpg"
    lines = [
        {"path": str(photos / "2023" / ".." / "2023" / "trip" / "beach.jpg"), "title": "absolute"},
        {"path": "2023/trip/beach.jpg", "title": "relative"},
        {"path": "beach.jpg", "title": "name"},
        {"path": "2024\\winter\\snow.jpg", "title": "windows relative"},
        {"path": "lake.jpg", "title": "lake by name"},
    ]
    path = write(tmp_path, "m.jsonl", "\n".join(json.dumps(r) for r in lines))
    table = metadata.load(path)
    # the absolute path wins, then the path relative to the indexed folder, then the name
    assert table.lookup(absolute, "2023/trip/beach.jpg") == {"title": "absolute"}
    other = photos / "copy" / "2023" / "trip" / "beach.jpg"
    assert table.lookup(other, "2023/trip/beach.jpg") == {"title": "relative"}
    assert table.lookup(photos / "elsewhere" / "beach.jpg", "elsewhere/beach.jpg") == {
        "title": "name"
    }
    assert table.lookup(photos / "2024" / "winter" / "snow.jpg", "2024/winter/snow.jpg") == {
        "title": "windows relative"
    }
    assert table.lookup(photos / "x" / "lake.jpg") == {"title": "lake by name"}
    assert table.lookup(photos / "unknown.jpg", "unknown.jpg") is None


def test_lookup_of_a_relative_query_path_uses_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "m.csv", f"path,title\n{tmp_path / 'sub' / 'a.jpg'},found\n")
    monkeypatch.chdir(tmp_path)
    assert metadata.load(path).lookup(Path("sub/a.jpg")) == {"title": "found"}


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.text(
            st.characters(blacklist_characters=";,", blacklist_categories=("Cs", "Cc")), max_size=12
        ),
        max_size=6,
    ),
    st.sampled_from([";", ","]),
)
def test_tags_split_into_stripped_non_empty_parts(tags: list[str], sep: str) -> None:
    meta = metadata.normalise({"name": "a.jpg", "tags": f" {sep} ".join(tags)})
    expected = [t.strip() for t in tags if t.strip()]
    assert meta.get("tags", []) == expected


# -- through a build ------------------------------------------------------------------------------


def test_build_attaches_metadata_to_real_photos(photo_dir: Path, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    shutil.copytree(photo_dir, photos)
    names = sorted(p.name for p in photos.iterdir())
    meta_file = write(
        tmp_path,
        "meta.csv",
        f"file,title,photographer\n{names[0]},First,Ann\n{photos / names[1]},Second,Bob\n",
    )
    table = metadata.load(meta_file)
    with open_index(tmp_path / "index", create=True) as index:
        stats = builder.run(index, builder.folder_files([photos]), meta=table, jobs=1)
        assert stats.added == len(names)
        metas = {e.name: e.meta for e in index.entries()}
        assert metas[names[0]] == {"title": "First", "credit": "Ann"}
        assert metas[names[1]] == {"title": "Second", "credit": "Bob"}
        assert all(metas[n] == {} for n in names[2:])

        # a rebuild with changed metadata updates unchanged photos without rehashing them
        write(tmp_path, "meta.csv", f"file,title\n{names[2]},Third\n")
        again = builder.run(
            index, builder.folder_files([photos]), meta=metadata.load(meta_file), jobs=1
        )
        assert again.skipped == len(names) and again.added == again.updated == 0
        assert {e.name: e.meta for e in index.entries()}[names[2]] == {"title": "Third"}
