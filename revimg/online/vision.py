"""Google Cloud Vision ``WEB_DETECTION`` (providers.md §3): ``POST /v1/images:annotate``.

The key goes in the ``X-Goog-Api-Key`` header, never in the URL. Errors come at two levels:
a non-200 status with Google's ``{"error": {code, message, status}}`` body, or HTTP 200 with
``responses[0].error`` for this one image (e.g. code 3 "Bad image data."). Matches: one
per page in ``pagesWithMatchingImages`` (``exact`` when the page holds a full match, else
``partial``), then full and partial matching images that no page lists, then
``visuallySimilarImages`` as ``similar``. Vision gives no scores, dates or domains.
"""

from __future__ import annotations

import base64
import html
import re
from typing import TYPE_CHECKING, Any

from revimg.errors import ProviderError
from revimg.online.http import Fetched, fetch, redact, status_error
from revimg.online.imageprep import prepare_upload
from revimg.online.providers import BaseProvider, Kind, WebMatch, as_text

if TYPE_CHECKING:
    import httpx

ANNOTATE_PATH = "/v1/images:annotate"
MAX_RESULTS = 50
#: Raw bytes before base64 (+37%) so the JSON body stays well under Vision's 10 MB.
UPLOAD_MAX_BYTES = 6 * 1024 * 1024
#: gRPC codes Vision uses when it could not fetch an ``imageUri``.
_FETCH_CODES = {4, 7, 14}
_IMAGE_LISTS: tuple[tuple[str, Kind], ...] = (
    ("fullMatchingImages", "exact"),
    ("partialMatchingImages", "partial"),
    ("visuallySimilarImages", "similar"),
)


class Vision(BaseProvider):
    """Google Cloud Vision web detection: full and partial matches and the pages holding them."""

    name = "vision"
    key_names = ("REVIMG_VISION_KEY",)
    url_env = "REVIMG_VISION_URL"
    default_url = "https://vision.googleapis.com"
    sends = "the photo (re-encoded JPEG, no metadata, base64) or only its URL"
    supports_upload = True
    supports_url = True
    retention = (
        "Google says online requests are processed in memory and not written to disk, not "
        "used for training and not shared; some request metadata (time, size) is logged "
        "temporarily."
    )

    def search(
        self, client: httpx.Client, *, image: bytes | None, image_url: str | None
    ) -> list[WebMatch]:
        """Annotate one image (bytes as ``content``, or a URL as ``source.imageUri``)."""
        key = self._require_key()
        if image_url is not None:
            source: dict[str, Any] = {"source": {"imageUri": image_url}}
        elif image is not None:
            upload = prepare_upload(image, provider=self.name, max_bytes=UPLOAD_MAX_BYTES)
            source = {"content": base64.b64encode(upload).decode("ascii")}
        else:
            raise ProviderError(self.name, "nothing to search: no photo and no URL")
        body = {
            "requests": [
                {
                    "image": source,
                    "features": [{"type": "WEB_DETECTION", "maxResults": MAX_RESULTS}],
                    "imageContext": {"webDetectionParams": {"includeGeoResults": False}},
                }
            ]
        }
        fetched = fetch(
            client,
            "POST",
            self._url(ANNOTATE_PATH),
            provider=self.name,
            options=self._opts(),
            secrets=self._secrets,
            headers={"X-Goog-Api-Key": key},
            json_body=body,
        )
        return parse_response(fetched, by_url=image_url is not None)


def parse_response(fetched: Fetched, *, by_url: bool = False) -> list[WebMatch]:
    """Normalise an ``images:annotate`` response, or raise the ProviderError it describes."""
    provider = fetched.provider
    if fetched.status != 200:
        raise _request_error(fetched)
    data = fetched.json()
    responses = data.get("responses") if isinstance(data, dict) else None
    if not isinstance(responses, list):
        raise ProviderError(provider, "unexpected response (no 'responses' list)", kind="malformed")
    if not responses or not isinstance(responses[0], dict):
        return []
    first = responses[0]
    error = first.get("error")
    if isinstance(error, dict):
        code = error.get("code")
        message = redact(as_text(error.get("message")) or "no reason given")
        reason = f"the image was refused (code {code}): {message}"
        if by_url and code in _FETCH_CODES:
            reason = (
                f"Google could not fetch the image URL (code {code}: {message}); "
                "sending the photo itself instead of its address would work"
            )
        raise ProviderError(provider, reason, kind="refused")
    web = first.get("webDetection")
    return _matches(provider, web) if isinstance(web, dict) else []


def _request_error(fetched: Fetched) -> ProviderError:
    """Map Google's error body; a bad API key comes back as 400 INVALID_ARGUMENT."""
    message = reason = None
    try:
        data = fetched.json()
    except ProviderError:
        data = None
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        message = as_text(error.get("message"))
        details = error.get("details")
        items = details if isinstance(details, list) else []
        reasons = [d.get("reason") for d in items if isinstance(d, dict)]
        reason = next((r for r in reasons if isinstance(r, str)), None)
    if fetched.status == 400 and (
        reason == "API_KEY_INVALID" or (message and "api key" in message.lower())
    ):
        text = f"the API key was refused (HTTP 400): {message or reason}"
        return ProviderError(fetched.provider, text, kind="auth", status=400)
    return status_error(fetched.provider, fetched.status, fetched.tries, message)


def _matches(provider: str, web: dict[str, Any]) -> list[WebMatch]:
    out: list[WebMatch] = []
    listed: set[str] = set()
    for page in _items(web, "pagesWithMatchingImages"):
        page_url = as_text(page.get("url"))
        if not page_url:
            continue
        full = _urls(page, "fullMatchingImages")
        partial = _urls(page, "partialMatchingImages")
        listed.update(full, partial)
        kind: Kind = "exact" if full else "partial"
        image_urls = full or partial
        out.append(
            WebMatch.make(
                provider,
                page_url=page_url,
                image_url=image_urls[0] if image_urls else None,
                title=_plain(page.get("pageTitle")),
                kind=kind,
            )
        )
    for key, image_kind in _IMAGE_LISTS:
        for url in _urls(web, key):
            if url not in listed:
                listed.add(url)
                out.append(WebMatch.make(provider, page_url=None, image_url=url, kind=image_kind))
    return out


def _items(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = data.get(key)
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _urls(data: dict[str, Any], key: str) -> list[str]:
    return [u for u in (as_text(i.get("url")) for i in _items(data, key)) if u]


def _plain(title: Any) -> str | None:
    """A page title without the HTML markup Vision may leave in it."""
    text = as_text(title)
    if text is None:
        return None
    return as_text(" ".join(html.unescape(re.sub(r"<[^>]+>", "", text)).split()))
