"""SerpApi engines (Lens, Bing, Yandex) against recorded responses (providers.md §4)."""

from __future__ import annotations

import httpx
import pytest

from revimg.errors import ProviderError
from revimg.online.serpapi import SerpApiBing, SerpApiLens, SerpApiYandex

from .helpers import (
    EXIF_MARKER,
    IMAGE_URL,
    KEY,
    Recorder,
    Sleeps,
    fast_options,
    make_noisy_jpeg,
    respond,
)


def lens(secret, sleeps=None) -> SerpApiLens:
    return SerpApiLens(secret, None, fast_options(sleeps))


def test_lens_by_url(mock_client, secret) -> None:
    rec = Recorder(respond("serpapi", "lens_exact.json"))
    matches = lens(secret).search(mock_client(rec), image=None, image_url=IMAGE_URL)

    (request,) = rec.requests
    assert request.method == "GET"
    assert request.url.host == "serpapi.com" and request.url.path == "/search.json"
    params = request.url.params
    assert params["engine"] == "google_lens" and params["type"] == "exact_matches"
    assert params["url"] == IMAGE_URL and params["api_key"] == KEY
    assert "image_id" not in params

    assert [(m.kind, m.page_url, m.title, m.seen_text) for m in matches] == [
        (
            "exact",
            "https://stock.example.com/photo/smiling-woman-1234",
            "Smiling woman in park – Example Stock",
            "8 years ago",
        ),
        ("exact", "https://blog.example.org/2019/05/spring", "Spring is here", None),
    ]
    assert matches[0].domain == "stock.example.com"
    assert matches[0].first_seen is None  # a relative date is not an ISO date
    assert matches[0].score is None


def test_lens_visual_matches_are_similar(mock_client, secret) -> None:
    rec = Recorder(respond("serpapi", "lens_visual.json"))
    (match,) = lens(secret).search(mock_client(rec), image=None, image_url=IMAGE_URL)
    assert match.kind == "similar"
    assert match.page_url == "https://photos.example.net/p/881"
    assert match.image_url == "https://photos.example.net/img/881.jpg"
    assert match.title == "Portrait of a woman outdoors"


def test_lens_upload_goes_through_the_image_api_under_500_kb(mock_client, secret) -> None:
    big = make_noisy_jpeg((1400, 1000))
    assert len(big) > 500 * 1024
    rec = Recorder(respond("serpapi", "image_uploaded.json"), respond("serpapi", "lens_exact.json"))
    matches = lens(secret).search(mock_client(rec), image=big, image_url=None)
    assert len(matches) == 2

    upload, search = rec.requests
    assert upload.method == "POST" and upload.url.path == "/image"
    assert KEY not in str(upload.url)  # the key goes in the form body here
    assert b'name="api_key"' in upload.content and KEY.encode() in upload.content
    start = upload.content.index(b"\xff\xd8\xff")
    end = upload.content.index(b"\xff\xd9", start) + 2
    assert end - start <= 500 * 1024
    assert search.url.params["image_id"] == "f3e2d1c0b9a8"
    assert "url" not in search.url.params


def test_lens_upload_strips_metadata(mock_client, secret, jpeg) -> None:
    rec = Recorder(
        respond("serpapi", "image_uploaded.json"), respond("serpapi", "lens_no_results.json")
    )
    assert lens(secret).search(mock_client(rec), image=jpeg, image_url=None) == []
    assert EXIF_MARKER.encode() not in rec.requests[0].content


def test_lens_upload_refused(mock_client, secret, jpeg) -> None:
    rec = Recorder(respond("serpapi", "image_invalid_format.json", 400))
    with pytest.raises(ProviderError) as caught:
        lens(secret).search(mock_client(rec), image=jpeg, image_url=None)
    assert str(caught.value) == (
        "serpapi-lens: request refused (HTTP 400): Invalid image format. "
        "Supported format: jpg, jpeg, png, webp (uploading the photo)"
    )
    assert len(rec.requests) == 1


def test_no_results_is_an_empty_list(mock_client, secret) -> None:
    rec = Recorder(respond("serpapi", "lens_no_results.json"))
    assert lens(secret).search(mock_client(rec), image=None, image_url=IMAGE_URL) == []


def test_error_status_in_metadata_is_an_error(mock_client, secret) -> None:
    rec = Recorder(respond("serpapi", "search_error_status.json"))
    with pytest.raises(ProviderError) as caught:
        lens(secret).search(mock_client(rec), image=None, image_url=IMAGE_URL)
    assert str(caught.value) == (
        "serpapi-lens: the search failed: Couldn't fetch the image from the given URL."
    )


def test_invalid_key(mock_client, secret) -> None:
    rec = Recorder(respond("serpapi", "invalid_key_401.json", 401))
    with pytest.raises(ProviderError) as caught:
        lens(secret).search(mock_client(rec), image=None, image_url=IMAGE_URL)
    assert str(caught.value).startswith(
        "serpapi-lens: the API key was refused (HTTP 401): Invalid API key."
    )
    assert KEY not in str(caught.value)


def test_out_of_searches_is_quota_and_not_retried(mock_client, secret, sleeps: Sleeps) -> None:
    rec = Recorder(respond("serpapi", "out_of_searches_429.json", 429))
    with pytest.raises(ProviderError) as caught:
        lens(secret, sleeps).search(mock_client(rec), image=None, image_url=IMAGE_URL)
    assert str(caught.value) == (
        "serpapi-lens: quota exhausted (HTTP 429): Your account has run out of searches."
    )
    assert caught.value.kind == "quota"
    assert len(rec.requests) == 1 and sleeps.delays == []


def test_throughput_limit_is_retried(mock_client, secret, sleeps: Sleeps) -> None:
    rec = Recorder(
        respond("serpapi", "throughput_429.json", 429), respond("serpapi", "lens_exact.json")
    )
    matches = lens(secret, sleeps).search(mock_client(rec), image=None, image_url=IMAGE_URL)
    assert len(matches) == 2 and len(rec.requests) == 2 and len(sleeps.delays) == 1


def test_server_error_after_retries(mock_client, secret) -> None:
    rec = Recorder(respond("serpapi", "server_503.json", 503))
    with pytest.raises(ProviderError) as caught:
        lens(secret).search(mock_client(rec), image=None, image_url=IMAGE_URL)
    assert str(caught.value).startswith("serpapi-lens: server error (HTTP 503) after 3 tries")


def test_connection_error_message_never_carries_the_url_or_key(mock_client, secret) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}", request=request)

    with pytest.raises(ProviderError) as caught:
        lens(secret).search(mock_client(refuse), image=None, image_url=IMAGE_URL)
    message = str(caught.value)
    assert message.startswith("serpapi-lens: could not connect to serpapi.com")
    assert KEY not in message
    assert caught.value.__cause__ is None and caught.value.__context__ is None


def test_bing_uses_source_as_the_page(mock_client, secret) -> None:
    rec = Recorder(respond("serpapi", "bing_ok.json"))
    matches = SerpApiBing(secret, None, fast_options()).search(
        mock_client(rec), image=None, image_url=IMAGE_URL
    )
    params = rec.requests[0].url.params
    assert params["engine"] == "bing_reverse_image" and params["image_url"] == IMAGE_URL
    assert [(m.kind, m.page_url, m.image_url, m.domain) for m in matches] == [
        (
            "exact",
            "https://stock.example.com/photo/smiling-woman-1234",
            "https://stock.example.com/photos/smiling-woman-1234.jpg",
            "stock.example.com",
        ),
        (
            "similar",
            "https://photos.example.net/p/881",
            "https://photos.example.net/img/881.jpg",
            "photos.example.net",
        ),
    ]


def test_yandex_reads_the_known_keys_and_ignores_others(mock_client, secret) -> None:
    rec = Recorder(respond("serpapi", "yandex_ok.json"))
    provider = SerpApiYandex(secret, None, fast_options())
    assert provider.experimental is True
    matches = provider.search(mock_client(rec), image=None, image_url=IMAGE_URL)
    params = rec.requests[0].url.params
    assert params["engine"] == "yandex_images" and params["url"] == IMAGE_URL
    assert [(m.kind, m.page_url) for m in matches] == [
        ("exact", "https://stock.example.com/photo/smiling-woman-1234"),
        ("similar", "https://photos.example.net/p/881"),
    ]


@pytest.mark.parametrize("cls", [SerpApiBing, SerpApiYandex])
def test_url_only_engines_refuse_bytes_without_a_request(mock_client, secret, jpeg, cls) -> None:
    rec = Recorder(respond("serpapi", "bing_ok.json"))
    provider = cls(secret, None, fast_options())
    assert provider.supports_upload is False and provider.supports_url is True
    with pytest.raises(ProviderError, match="needs a public image URL"):
        provider.search(mock_client(rec), image=jpeg, image_url=None)
    assert rec.requests == []
