"""Keyless browser links (providers.md §6)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from revimg.errors import UsageError
from revimg.online.links import check_image_url, links

URL = "https://example.com/profile/jane%20doe.jpg?s=1&t=2"
#: The whole URL as one query value: its own %20 is escaped once more.
ENC = "https%3A%2F%2Fexample.com%2Fprofile%2Fjane%2520doe.jpg%3Fs%3D1%26t%3D2"


def test_every_engine_and_exact_urls() -> None:
    result = dict(links(URL))
    assert list(result) == [
        "google-lens",
        "bing",
        "yandex",
        "tineye",
        "sogou",
        "iqdb-3d",
        "ascii2d",
        "lenso",
        "saucenao",
    ]
    enc = ENC
    assert result["google-lens"] == f"https://lens.google.com/uploadbyurl?url={enc}"
    assert result["bing"] == (
        f"https://www.bing.com/images/search?q=imgurl:{enc}&view=detailv2&iss=sbi&FORM=IRSBIQ"
    )
    assert result["yandex"] == f"https://yandex.com/images/search?url={enc}&rpt=imageview"
    assert result["tineye"] == f"https://www.tineye.com/search/?&url={enc}"
    assert result["sogou"] == f"https://pic.sogou.com/ris?query={enc}&flag=1&drag=0"
    assert result["iqdb-3d"] == f"https://3d.iqdb.org/?url={enc}"
    assert result["ascii2d"] == (
        "https://ascii2d.net/search/url/https://example.com/profile/jane%20doe.jpg?s=1&t=2"
    )
    assert result["lenso"] == f"https://lenso.ai/en/search-by-url?url={enc}"
    assert result["saucenao"] == f"https://saucenao.com/search.php?url={enc}"


@pytest.mark.parametrize(
    ("engine", "param"),
    [
        ("google-lens", "url"),
        ("bing", "q"),
        ("yandex", "url"),
        ("tineye", "url"),
        ("sogou", "query"),
        ("iqdb-3d", "url"),
        ("lenso", "url"),
        ("saucenao", "url"),
    ],
)
def test_the_engine_gets_back_the_exact_image_url(engine: str, param: str) -> None:
    image = "https://cdn.example.com/a/b.jpg?w=400&sig=x%2By#frag"
    url = dict(links(image))[engine]
    value = parse_qs(urlsplit(url).query)[param][0]
    if engine == "bing":
        value = value.removeprefix("imgurl:")
    assert value == "https://cdn.example.com/a/b.jpg?w=400&sig=x%2By"  # fragment dropped


def test_non_ascii_is_percent_encoded() -> None:
    url = dict(links("https://example.com/fotos/müller.jpg"))
    assert url["google-lens"].endswith("m%C3%BCller.jpg")
    assert url["ascii2d"].endswith("/fotos/m%C3%BCller.jpg")
    assert all(ord(c) < 128 for _, u in links("https://example.com/fotos/müller.jpg") for c in u)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "   ",
        "file:///etc/passwd",
        "ftp://example.com/a.jpg",
        "data:image/png;base64,AAAA",
        "javascript:alert(1)",
        "example.com/a.jpg",
        "/home/me/photo.jpg",
        "https://",
        "https://exa mple.com/a.jpg",
        "https://example.com/a b.jpg",
        "https://example.com:99999/a.jpg",
    ],
)
def test_only_http_urls_are_accepted(bad: str) -> None:
    with pytest.raises(UsageError):
        links(bad)


def test_credentials_are_refused() -> None:
    with pytest.raises(UsageError, match="user name or password"):
        check_image_url("https://me:secret@example.com/a.jpg")


def test_check_image_url_normalises_scheme_and_keeps_the_rest() -> None:
    assert check_image_url(" HTTPS://Example.com/A.jpg?x=1#top ") == "https://Example.com/A.jpg?x=1"
