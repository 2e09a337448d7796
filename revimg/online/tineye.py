"""TinEye API (providers.md §1): ``/rest/search/`` by image URL (GET) or upload (POST).

Auth is the ``x-api-key`` header. A response failed when the HTTP status is not 200 *or*
the body's ``code`` is not 200; ``messages`` then says why. Each TinEye match (one image,
possibly on several pages) becomes one :class:`WebMatch` of kind ``exact``: its page is the
earliest-crawled backlink, ``first_seen`` the oldest ``crawl_date``, ``score`` TinEye's
0-100 score divided by 100, and ``tags`` TinEye's (``"stock"`` marks a stock-photo site).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from revimg.errors import ProviderError
from revimg.online.http import Fetched, fetch, status_error
from revimg.online.imageprep import prepare_upload
from revimg.online.providers import BaseProvider, WebMatch, as_text

if TYPE_CHECKING:
    import httpx

SEARCH_PATH = "/rest/search/"
#: Matches per search, and pages listed per match.
LIMIT = 50
BACKLINK_LIMIT = 10
#: Uploads are re-encoded to stay under this (TinEye states no API cap; its site takes 20 MB).
UPLOAD_MAX_BYTES = 4 * 1024 * 1024

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


class TinEye(BaseProvider):
    """The TinEye commercial web index: exact copies, crawl dates, stock-site tags."""

    name = "tineye"
    key_names = ("REVIMG_TINEYE_KEY", "TINEYE_API_KEY")
    url_env = "REVIMG_TINEYE_URL"
    default_url = "https://api.tineye.com"
    sends = "the photo (re-encoded JPEG, no metadata) or only its URL"
    supports_upload = True
    supports_url = True
    retention = (
        "TinEye says searched images are never added to its index or shared; image data may "
        "be kept up to 24 hours, the URL text possibly longer."
    )

    def search(
        self, client: httpx.Client, *, image: bytes | None, image_url: str | None
    ) -> list[WebMatch]:
        """Search TinEye by URL (GET) or by the photo's bytes (multipart POST)."""
        key = self._require_key()
        options = self._opts()
        fields: dict[str, str | int] = {
            "limit": LIMIT,
            "sort": "score",
            "order": "desc",
            "backlink_limit": BACKLINK_LIMIT,
        }
        common: dict[str, Any] = {
            "provider": self.name,
            "options": options,
            "secrets": self._secrets,
            "headers": {"x-api-key": key},
        }
        url = self._url(SEARCH_PATH)
        if image_url is not None:
            fetched = fetch(client, "GET", url, params={**fields, "image_url": image_url}, **common)
        elif image is not None:
            upload = prepare_upload(image, provider=self.name, max_bytes=UPLOAD_MAX_BYTES)
            fetched = fetch(
                client,
                "POST",
                url,
                data=fields,
                files={"image_upload": ("photo.jpg", upload, "image/jpeg")},
                **common,
            )
        else:
            raise ProviderError(self.name, "nothing to search: no photo and no URL")
        return parse_response(fetched)


def parse_response(fetched: Fetched) -> list[WebMatch]:
    """Normalise a TinEye search response, or raise the ProviderError it describes."""
    provider = fetched.provider
    if fetched.status != 200:
        raise status_error(provider, fetched.status, fetched.tries, _messages(fetched))
    data = fetched.json()
    if not isinstance(data, dict):
        raise ProviderError(provider, "unexpected response (not a JSON object)", kind="malformed")
    code = data.get("code", 200)
    if isinstance(code, int) and code != 200:
        raise status_error(provider, code, fetched.tries, _messages(fetched))
    results = data.get("results")
    matches = results.get("matches") if isinstance(results, dict) else None
    if not isinstance(matches, list):
        return []
    return [m for m in (_match(provider, item) for item in matches) if m is not None]


def _match(provider: str, item: Any) -> WebMatch | None:
    if not isinstance(item, dict):
        return None
    backlinks = [b for b in item.get("backlinks") or [] if isinstance(b, dict)]
    dated = sorted(
        (b for b in backlinks if _iso_date(b.get("crawl_date"))),
        key=lambda b: str(b["crawl_date"]),
    )
    first = dated[0] if dated else (backlinks[0] if backlinks else {})
    tags = tuple(str(t) for t in item.get("tags") or [] if isinstance(t, str))
    score = item.get("score")
    page_url = as_text(first.get("backlink"))
    image_url = as_text(first.get("url")) or as_text(item.get("image_url"))
    if not page_url and not image_url:
        return None
    return WebMatch.make(
        provider,
        page_url=page_url,
        image_url=image_url,
        domain=as_text(item.get("domain")),
        score=_score(score),
        first_seen=_iso_date(first.get("crawl_date")),
        kind="exact",
        tags=tags,
    )


def _messages(fetched: Fetched) -> str | None:
    try:
        data = fetched.json()
    except ProviderError:
        return None
    messages = data.get("messages") if isinstance(data, dict) else None
    if isinstance(messages, list):
        text = " ".join(str(m) for m in messages if m)
        return text or None
    return None


def _score(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        score = float(value)
    except (TypeError, ValueError):
        return None
    return round(min(max(score / 100.0, 0.0), 1.0), 4)


def _iso_date(value: Any) -> str | None:
    if isinstance(value, str) and _DATE.match(value):
        return value[:10]
    return None
