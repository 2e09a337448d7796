"""Google Cloud Vision WEB_DETECTION client against recorded responses (providers.md §3)."""

from __future__ import annotations

import base64
import json

import pytest

from revimg.errors import ProviderError
from revimg.online.vision import Vision

from .helpers import EXIF_MARKER, IMAGE_URL, KEY, Recorder, fast_options, respond


def make(secret, sleeps=None) -> Vision:
    return Vision(secret, None, fast_options(sleeps))


def test_upload_sends_base64_content_and_key_in_header(mock_client, secret, jpeg) -> None:
    rec = Recorder(respond("vision", "no_match.json"))
    assert make(secret).search(mock_client(rec), image=jpeg, image_url=None) == []

    (request,) = rec.requests
    assert request.method == "POST"
    assert str(request.url) == "https://vision.googleapis.com/v1/images:annotate"
    assert request.headers["x-goog-api-key"] == KEY
    assert "key" not in request.url.params
    sent = json.loads(request.content)
    (item,) = sent["requests"]
    assert item["features"] == [{"type": "WEB_DETECTION", "maxResults": 50}]
    assert item["imageContext"] == {"webDetectionParams": {"includeGeoResults": False}}
    photo = base64.b64decode(item["image"]["content"])
    assert photo.startswith(b"\xff\xd8\xff")
    assert EXIF_MARKER.encode() not in photo
    assert "source" not in item["image"]


def test_url_search_sends_only_the_url(mock_client, secret) -> None:
    rec = Recorder(respond("vision", "no_match.json"))
    make(secret).search(mock_client(rec), image=None, image_url=IMAGE_URL)
    item = json.loads(rec.requests[0].content)["requests"][0]
    assert item["image"] == {"source": {"imageUri": IMAGE_URL}}


def test_web_detection_is_normalised(mock_client, secret) -> None:
    rec = Recorder(respond("vision", "web_ok.json"))
    matches = make(secret).search(mock_client(rec), image=None, image_url=IMAGE_URL)
    assert [(m.kind, m.page_url, m.image_url) for m in matches] == [
        (
            "exact",
            "https://stock.example.com/photo/smiling-woman-1234",
            "https://stock.example.com/photos/smiling-woman-1234.jpg",
        ),
        (
            "partial",
            "https://blog.example.org/2019/05/spring",
            "https://blog.example.org/img/header.jpg",
        ),
        # Listed by no page, so reported on their own; the full match above is not repeated.
        ("partial", None, "https://cdn.example.org/thumbs/smiling-woman-crop.jpg"),
        ("similar", None, "https://photos.example.net/a/similar-portrait.jpg"),
    ]
    first = matches[0]
    assert first.title == "Smiling woman in park – Example Stock"  # markup removed
    assert first.domain == "stock.example.com"
    assert first.score is None and first.first_seen is None
    assert matches[2].domain == "cdn.example.org"


def test_no_match(mock_client, secret) -> None:
    rec = Recorder(respond("vision", "no_match.json"))
    assert make(secret).search(mock_client(rec), image=None, image_url=IMAGE_URL) == []


def test_per_image_error_on_http_200(mock_client, secret, jpeg) -> None:
    rec = Recorder(respond("vision", "bad_image.json"))
    with pytest.raises(ProviderError) as caught:
        make(secret).search(mock_client(rec), image=jpeg, image_url=None)
    assert str(caught.value) == "vision: the image was refused (code 3): Bad image data."
    assert caught.value.kind == "refused"


def test_url_that_google_cannot_fetch(mock_client, secret) -> None:
    rec = Recorder(respond("vision", "url_unreachable.json"))
    with pytest.raises(ProviderError) as caught:
        make(secret).search(mock_client(rec), image=None, image_url=IMAGE_URL)
    message = str(caught.value)
    assert message.startswith("vision: Google could not fetch the image URL (code 14: We can not")
    assert "sending the photo itself" in message


@pytest.mark.parametrize(
    ("name", "status", "kind", "message"),
    [
        (
            "bad_key_400.json",
            400,
            "auth",
            "vision: the API key was refused (HTTP 400): "
            "API key not valid. Please pass a valid API key.",
        ),
        (
            "billing_403.json",
            403,
            "auth",
            "vision: access denied (HTTP 403): This API method requires billing to be enabled.",
        ),
        (
            "quota_429.json",
            429,
            "rate_limited",
            "vision: rate limited (HTTP 429) after 3 tries: Quota exceeded for quota metric",
        ),
        (
            "server_500.json",
            500,
            "server",
            "vision: server error (HTTP 500) after 3 tries: Internal error encountered.",
        ),
    ],
)
def test_request_errors(mock_client, secret, name, status, kind, message) -> None:
    rec = Recorder(respond("vision", name, status))
    with pytest.raises(ProviderError) as caught:
        make(secret).search(mock_client(rec), image=None, image_url=IMAGE_URL)
    assert str(caught.value).startswith(message)
    assert caught.value.kind == kind and caught.value.status == status


def test_malformed_json(mock_client, secret) -> None:
    rec = Recorder(respond("vision", "malformed.txt"))
    with pytest.raises(ProviderError, match=r"^vision: malformed JSON in the response"):
        make(secret).search(mock_client(rec), image=None, image_url=IMAGE_URL)
