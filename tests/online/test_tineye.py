"""TinEye API client against recorded responses (providers.md §1)."""

from __future__ import annotations

import httpx
import pytest

from revimg.errors import ProviderError
from revimg.online.tineye import TinEye

from .helpers import EXIF_MARKER, IMAGE_URL, KEY, Recorder, Sleeps, fast_options, respond


def make(secret, sleeps=None, **options) -> TinEye:
    return TinEye(secret, None, fast_options(sleeps, **options))


def test_url_search_sends_key_in_header_and_parses_matches(mock_client, secret) -> None:
    rec = Recorder(respond("tineye", "search_ok.json"))
    matches = make(secret).search(mock_client(rec), image=None, image_url=IMAGE_URL)

    (request,) = rec.requests
    assert request.method == "GET"
    assert request.url.host == "api.tineye.com" and request.url.path == "/rest/search/"
    assert request.headers["x-api-key"] == KEY
    assert KEY not in str(request.url)
    params = request.url.params
    assert params["image_url"] == IMAGE_URL
    assert params["limit"] == "50" and params["sort"] == "score" and params["order"] == "desc"
    assert "api_key" not in params and "public_key" not in params

    assert len(matches) == 2
    stock, blog = matches
    assert stock.provider == "tineye" and stock.kind == "exact"
    assert stock.page_url == "https://stock.example.com/photo/smiling-woman-1234"
    assert stock.image_url == "https://stock.example.com/photos/smiling-woman-1234.jpg"
    assert stock.domain == "stock.example.com"
    assert stock.score == pytest.approx(0.942)
    assert stock.first_seen == "2016-03-14"
    assert stock.tags == ("stock",) and stock.stock is True
    # The earliest backlink wins, although TinEye listed it second.
    assert blog.page_url == "https://blog.example.org/2019/05/spring"
    assert blog.image_url == "https://blog.example.org/img/header.jpg"
    assert blog.first_seen == "2019-05-02"
    assert blog.score == pytest.approx(0.618)
    assert blog.tags == () and blog.stock is False


def test_upload_is_multipart_jpeg_without_metadata(mock_client, secret, jpeg) -> None:
    assert EXIF_MARKER.encode() in jpeg
    rec = Recorder(respond("tineye", "no_match.json"))
    assert make(secret).search(mock_client(rec), image=jpeg, image_url=None) == []

    (request,) = rec.requests
    assert request.method == "POST" and request.url.path == "/rest/search/"
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    content = request.content
    assert b'name="image_upload"; filename="photo.jpg"' in content
    assert b"\xff\xd8\xff" in content  # a JPEG went out...
    assert EXIF_MARKER.encode() not in content  # ...without the photo's EXIF
    assert b'name="limit"' in content
    assert "image_url" not in request.url.params


def test_base_url_can_be_replaced(mock_client, secret) -> None:
    rec = Recorder(respond("tineye", "no_match.json"))
    provider = TinEye(secret, "http://127.0.0.1:8080/", fast_options())
    assert provider.host == "127.0.0.1:8080"
    provider.search(mock_client(rec), image=None, image_url=IMAGE_URL)
    assert str(rec.requests[0].url).startswith("http://127.0.0.1:8080/rest/search/?")


@pytest.mark.parametrize(
    ("name", "status", "kind", "message"),
    [
        (
            "auth_401.json",
            401,
            "auth",
            "tineye: the API key was refused (HTTP 401): Please provide a valid API key.",
        ),
        (
            "quota_402.json",
            402,
            "quota",
            "tineye: quota exhausted (HTTP 402): You have no more searches available. "
            "Please purchase another bundle if you wish to make more searches.",
        ),
        (
            "too_simple_400.json",
            400,
            "refused",
            "tineye: request refused (HTTP 400): The image is too small or too simple.",
        ),
    ],
)
def test_error_statuses(mock_client, secret, name, status, kind, message) -> None:
    rec = Recorder(respond("tineye", name, status))
    with pytest.raises(ProviderError) as caught:
        make(secret).search(mock_client(rec), image=None, image_url=IMAGE_URL)
    assert str(caught.value) == message
    assert caught.value.kind == kind
    assert len(rec.requests) == 1  # never retried


def test_error_code_in_a_200_body_counts(mock_client, secret) -> None:
    """The official client fails when the body's code is not 200, whatever the status."""
    rec = Recorder(respond("tineye", "quota_402.json", 200))
    with pytest.raises(ProviderError, match=r"^tineye: quota exhausted \(HTTP 402\)"):
        make(secret).search(mock_client(rec), image=None, image_url=IMAGE_URL)


def test_rate_limit_is_retried_then_reported(mock_client, secret, sleeps: Sleeps) -> None:
    rec = Recorder(respond("tineye", "rate_429.json", 429))
    with pytest.raises(ProviderError) as caught:
        make(secret, sleeps).search(mock_client(rec), image=None, image_url=IMAGE_URL)
    assert str(caught.value) == (
        "tineye: rate limited (HTTP 429) after 3 tries: Too many requests."
    )
    assert caught.value.kind == "rate_limited"
    assert len(rec.requests) == 3 and len(sleeps.delays) == 2


def test_server_error_html_body(mock_client, secret) -> None:
    rec = Recorder(respond("tineye", "server_503.txt", 503))
    with pytest.raises(ProviderError) as caught:
        make(secret).search(mock_client(rec), image=None, image_url=IMAGE_URL)
    assert str(caught.value) == "tineye: server error (HTTP 503) after 3 tries"


def test_server_error_then_success(mock_client, secret) -> None:
    rec = Recorder(respond("tineye", "server_503.txt", 503), respond("tineye", "search_ok.json"))
    matches = make(secret).search(mock_client(rec), image=None, image_url=IMAGE_URL)
    assert [m.first_seen for m in matches] == ["2016-03-14", "2019-05-02"]
    assert len(rec.requests) == 2


def test_malformed_json(mock_client, secret) -> None:
    rec = Recorder(respond("tineye", "malformed.txt"))
    with pytest.raises(ProviderError) as caught:
        make(secret).search(mock_client(rec), image=None, image_url=IMAGE_URL)
    assert str(caught.value) == "tineye: malformed JSON in the response (HTTP 200)"
    assert caught.value.kind == "malformed"


def test_timeouts_become_provider_errors(mock_client, secret) -> None:
    rec = Recorder(httpx.ReadTimeout("read timed out"))
    with pytest.raises(ProviderError) as caught:
        make(secret, timeout=20).search(mock_client(rec), image=None, image_url=IMAGE_URL)
    assert str(caught.value) == "tineye: timed out after 20 s (3 tries)"
    assert caught.value.kind == "timeout"


def test_missing_key_is_a_config_error(mock_client) -> None:
    rec = Recorder(respond("tineye", "no_match.json"))
    with pytest.raises(ProviderError) as caught:
        TinEye(None, None, fast_options()).search(mock_client(rec), image=None, image_url=IMAGE_URL)
    assert caught.value.kind == "config"
    assert "REVIMG_TINEYE_KEY or TINEYE_API_KEY" in str(caught.value)
    assert rec.requests == []


def test_unexpected_shapes_are_tolerated(mock_client, secret) -> None:
    weird = {
        "code": 200,
        "results": {
            "matches": [
                "not a match",
                {"score": "n/a", "backlinks": "nope", "image_url": "https://img.example.net/r/1"},
                {"backlinks": [{"backlink": "https://x.example.org/p", "crawl_date": "someday"}]},
            ]
        },
    }
    rec = Recorder(httpx.Response(200, json=weird))
    matches = make(secret).search(mock_client(rec), image=None, image_url=IMAGE_URL)
    assert [(m.page_url, m.image_url, m.score, m.first_seen) for m in matches] == [
        (None, "https://img.example.net/r/1", None, None),
        ("https://x.example.org/p", None, None, None),
    ]
