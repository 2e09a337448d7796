"""The on-disk result cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from revimg.online.cache import ResultCache, cache_key, default_folder, url_digest
from revimg.online.providers import WebMatch

from .helpers import IMAGE_URL

MATCHES = [
    WebMatch.make(
        "tineye",
        page_url="https://www.gettyimages.co.uk/detail/photo/woman-1234",
        image_url="https://media.gettyimages.com/photos/woman-1234.jpg",
        score=0.942,
        first_seen="2016-03-14",
        tags=("stock",),
    ),
    WebMatch.make(
        "tineye", page_url="https://blog.example.org/spring", title="Spring", kind="partial"
    ),
]


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def test_round_trip_and_expiry(tmp_path: Path) -> None:
    clock = Clock()
    cache = ResultCache(tmp_path, ttl_days=7, clock=clock)
    key = cache_key("tineye", "https://api.tineye.com", "url", url_digest(IMAGE_URL))
    assert cache.get("tineye", key) is None
    assert cache.put("tineye", key, MATCHES) is True
    assert cache.get("tineye", key) == MATCHES
    clock.now += 7 * 86400 - 1
    assert cache.get("tineye", key) == MATCHES
    clock.now += 2
    assert cache.get("tineye", key) is None


def test_empty_results_are_cached_too(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path)
    cache.put("vision", "k" * 64, [])
    assert cache.get("vision", "k" * 64) == []


def test_ttl_zero_disables(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path, ttl_days=0)
    assert cache.put("tineye", "a" * 64, MATCHES) is False
    assert cache.get("tineye", "a" * 64) is None
    assert not any(tmp_path.iterdir())


def test_keys_depend_on_everything_and_hide_the_input() -> None:
    digest = url_digest(IMAGE_URL)
    base = cache_key("tineye", "https://api.tineye.com", "url", digest)
    assert len(base) == 64 and IMAGE_URL not in base
    assert base == cache_key("tineye", "https://api.tineye.com/", "url", digest)
    others = {
        cache_key("vision", "https://api.tineye.com", "url", digest),
        cache_key("tineye", "http://127.0.0.1:8080", "url", digest),
        cache_key("tineye", "https://api.tineye.com", "bytes", digest),
        cache_key("tineye", "https://api.tineye.com", "url", url_digest(IMAGE_URL + "?x")),
    }
    assert base not in others and len(others) == 4


@pytest.mark.parametrize(
    "content",
    [
        "",
        "{not json",
        "[]",
        '{"format": 99, "provider": "tineye", "stored_at": 1, "matches": []}',
        '{"format": 1, "provider": "vision", "stored_at": 1700000000, "matches": []}',
        '{"format": 1, "provider": "tineye", "stored_at": "yesterday", "matches": []}',
        '{"format": 1, "provider": "tineye", "stored_at": 1700000000, "matches": [{"x": 1}]}',
        '{"format": 1, "provider": "tineye", "stored_at": 1700000000}',
    ],
)
def test_corrupt_files_are_misses(tmp_path: Path, content: str) -> None:
    cache = ResultCache(tmp_path, clock=Clock())
    cache.put("tineye", "b" * 64, MATCHES)
    path = tmp_path / "tineye" / f"{'b' * 64}.json"
    path.write_text(content, encoding="utf-8")
    assert cache.get("tineye", "b" * 64) is None


def test_file_contents_are_normalised_matches(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path, clock=Clock())
    cache.put("tineye", "c" * 64, MATCHES)
    files = list(tmp_path.rglob("*"))
    assert [p.name for p in files if p.is_file()] == [f"{'c' * 64}.json"]  # no temp files left
    data = json.loads((tmp_path / "tineye" / f"{'c' * 64}.json").read_text())
    assert data["format"] == 1 and data["provider"] == "tineye"
    assert data["stored_at"] == 1_700_000_000.0
    assert data["matches"][0] == MATCHES[0].to_dict()
    assert data["matches"][0]["stock"] is True


def test_unwritable_folder_is_ignored(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    cache = ResultCache(blocker / "cache")
    assert cache.put("tineye", "d" * 64, MATCHES) is False
    assert cache.get("tineye", "d" * 64) is None


def test_default_folder_is_under_revimg_home(isolated_env: Path) -> None:
    assert default_folder() == isolated_env / "cache" / "online"
    assert ResultCache().folder == isolated_env / "cache" / "online"


def test_clear(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path)
    cache.put("tineye", "e" * 64, MATCHES)
    cache.put("vision", "f" * 64, [])
    assert cache.clear() == 2
    assert cache.get("tineye", "e" * 64) is None
    assert ResultCache(tmp_path / "never-made").clear() == 0
