"""A photo is read once per check: hashing, its metadata, the web search and the report
share the same bytes (issue 15); bytes are let go once the photo's result is out."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from revimg.cli import app
from revimg.errors import ImageError
from revimg.imaging import decoding
from revimg.imaging.photo import Photo
from revimg.index.builder import folder_files
from revimg.index.builder import run as build
from revimg.index.store import open_index
from revimg.matching.checker import OnlineRequest, check_sources
from revimg.online.settings import load_settings
from tests.conftest import STOCK, SUSPECTS
from tests.online.helpers import KEY, respond

PHOTOS = sorted(STOCK.glob("*.jpg"))[:5]


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Every file read of a photo appends its path to a log (worker processes too: the
    log is a file, and forked workers inherit the patch)."""
    log = tmp_path / "reads.log"
    log.touch()
    real = decoding.read_bytes

    def counted(path: Path, name: str | None = None) -> bytes:
        with open(log, "a") as out:
            out.write(f"{os.path.abspath(path)}\n")
        return real(path, name)

    monkeypatch.setattr(decoding, "read_bytes", counted)
    return log


def read_counts(log: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in log.read_text().splitlines():
        counts[line] = counts.get(line, 0) + 1
    return counts


@pytest.fixture(scope="module")
def index_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("photo") / "index"
    with open_index(folder, create=True) as index:
        build(index, folder_files([STOCK]), jobs=1)
    return folder


def test_a_photo_is_read_and_decoded_once(reads: Path) -> None:
    photo = Photo("x", path=PHOTOS[0])
    first = photo.decoded()
    assert photo.read() is photo.read() and photo.decoded() is first
    assert list(read_counts(reads).values()) == [1]
    photo.release()  # let go; asked again, the file is read again
    photo.read()
    assert list(read_counts(reads).values()) == [2]


def test_stdin_bytes_are_kept_and_an_empty_stdin_is_an_error() -> None:
    given = Photo("-", data=PHOTOS[0].read_bytes())
    given.release()  # nothing to read them again from: they stay
    assert given.read() == PHOTOS[0].read_bytes()
    with pytest.raises(ImageError, match="no image data on standard input"):
        Photo("-", data=b"").read()


def test_a_photo_sent_to_another_process_carries_what_was_read() -> None:
    photo = Photo("x", path=PHOTOS[0])
    photo.decoded()
    copy = pickle.loads(pickle.dumps(photo))
    assert copy.data == photo.data and copy.path == photo.path and copy._decoded is None


def tineye(request: httpx.Request) -> httpx.Response:
    request.read()
    return respond("tineye", "search_ok.json")


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_check_with_a_web_search_reads_each_photo_once(
    reads: Path, index_folder: Path, tmp_path: Path, jobs: int
) -> None:
    """Hashing, metadata and the web search (another thread) share one read; with worker
    processes the parent reads and sends the bytes, and the workers read nothing."""
    (tmp_path / "config.toml").write_text("")
    settings = load_settings({"REVIMG_TINEYE_KEY": KEY}, tmp_path / "config.toml")
    with httpx.Client(transport=httpx.MockTransport(tineye)) as client:
        request = OnlineRequest(("tineye",), settings, use_cache=False, client=client)
        photos = [Photo(str(p), path=p) for p in PHOTOS]
        with open_index(index_folder) as index:
            results = list(check_sources(index, photos, jobs=jobs, online=request))
    assert [r.verdict for r in results] == ["match"] * len(PHOTOS)
    assert all(r.online and r.online[0].error is None for r in results)
    assert read_counts(reads) == {os.path.abspath(p): 1 for p in PHOTOS}
    assert all(p.data is None for p in photos)  # let go once each result was out


def test_the_report_shows_the_bytes_the_check_read(
    reads: Path, index_folder: Path, tmp_path: Path
) -> None:
    suspects = sorted(SUSPECTS.glob("*.jpg"))
    report = tmp_path / "report.html"
    done = CliRunner().invoke(
        app,
        ["check", *map(str, suspects), "--index", str(index_folder), "--no-online"]
        + ["--report", str(report), "--format", "json"],
    )
    assert done.exit_code == 1, done.output
    assert report.stat().st_size > 10_000
    counts = read_counts(reads)  # the known photos the report shows are read too, once each
    assert {p: counts.get(os.path.abspath(p)) for p in suspects} == {p: 1 for p in suspects}
