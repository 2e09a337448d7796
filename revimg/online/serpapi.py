"""SerpApi engines (providers.md §4) as three providers sharing one key.

- ``serpapi-lens``: ``engine=google_lens`` (``type=exact_matches``) by image URL, or by the
  photo uploaded first through SerpApi's Image API (``POST /image``, at most 500 KB, so the
  photo is downscaled first; the returned ``image_id`` is searched right away).
- ``serpapi-bing``: ``engine=bing_reverse_image``, image URL only.
- ``serpapi-yandex``: ``engine=yandex_images``, image URL only; experimental, because the
  response shape is known only from third-party parsers.

Separate providers rather than one with engines, so that each is selected, billed (one
SerpApi search each), cached and reported on its own, and so that the URL-only engines can
never be handed the photo. The key travels as the ``api_key`` query parameter (SerpApi
documents no header), so no message here ever contains a request URL. HTTP 200 with a
top-level ``error`` means "no results" unless ``search_metadata.status`` is ``Error``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from revimg.errors import ProviderError
from revimg.online.http import Fetched, fetch, redact, status_error
from revimg.online.imageprep import prepare_upload
from revimg.online.providers import BaseProvider, Kind, WebMatch, as_text, host_of

if TYPE_CHECKING:
    import httpx

SEARCH_PATH = "/search.json"
IMAGE_PATH = "/image"
#: The Image API takes at most 500 KB; stay a little under.
UPLOAD_MAX_BYTES = 480 * 1024
_BING_LISTS: tuple[tuple[str, Kind], ...] = (
    ("pages_with_this_image", "exact"),
    ("related_content", "similar"),
)


class SerpApiBase(BaseProvider):
    """What the three SerpApi providers share: key, host, error handling."""

    key_names = ("REVIMG_SERPAPI_KEY", "SERPAPI_API_KEY", "SERPAPI_KEY")
    url_env = "REVIMG_SERPAPI_URL"
    default_url = "https://serpapi.com"
    sends = "only the image URL (SerpApi and the search engine fetch it)"
    supports_url = True
    retention = (
        "SerpApi keeps search results (JSON and raw HTML) for 31 days in its Search Archive "
        "and caches identical searches for 1 hour; an uploaded image id expires after 10 "
        "minutes (how long the bytes are kept is not stated); the search engine's own "
        "policy applies to the URL."
    )
    engine: ClassVar[str] = ""
    #: Name of the image URL parameter for this engine.
    url_param: ClassVar[str] = "image_url"

    def search(
        self, client: httpx.Client, *, image: bytes | None, image_url: str | None
    ) -> list[WebMatch]:
        """Run this engine on an image URL (the URL-only engines refuse bytes)."""
        if image_url is None:
            raise ProviderError(
                self.name, "needs a public image URL; the photo itself is never sent here"
            )
        return self.parse(self._search(client, {self.url_param: image_url}))

    def parse(self, fetched: Fetched) -> list[WebMatch]:
        """Normalise a response of this engine (or raise its error)."""
        data = _search_data(fetched)
        return [] if data is None else self._matches(data)

    def _matches(self, data: dict[str, Any]) -> list[WebMatch]:
        raise NotImplementedError

    def _search(self, client: httpx.Client, params: dict[str, str | int]) -> Fetched:
        key = self._require_key()
        return fetch(
            client,
            "GET",
            self._url(SEARCH_PATH),
            provider=self.name,
            options=self._opts(),
            secrets=self._secrets,
            params={"engine": self.engine, **params, "api_key": key},
            final=_out_of_searches,
        )


class SerpApiLens(SerpApiBase):
    """Google Lens through SerpApi: exact matches with page titles and relative dates."""

    name = "serpapi-lens"
    engine = "google_lens"
    url_param = "url"
    sends = (
        "only the image URL, or the photo (re-encoded JPEG under 500 KB, no metadata) "
        "through SerpApi's Image API"
    )
    supports_upload = True

    def search(
        self, client: httpx.Client, *, image: bytes | None, image_url: str | None
    ) -> list[WebMatch]:
        """Search Lens by URL, or upload the photo first and search its ``image_id``."""
        params: dict[str, str | int] = {"type": "exact_matches", "hl": "en"}
        if image_url is not None:
            params["url"] = image_url
        elif image is not None:
            params["image_id"] = self._upload(client, image)
        else:
            raise ProviderError(self.name, "nothing to search: no photo and no URL")
        return self.parse(self._search(client, params))

    def _upload(self, client: httpx.Client, image: bytes) -> str:
        key = self._require_key()
        upload = prepare_upload(image, provider=self.name, max_bytes=UPLOAD_MAX_BYTES)
        fetched = fetch(
            client,
            "POST",
            self._url(IMAGE_PATH),
            provider=self.name,
            options=self._opts(),
            secrets=self._secrets,
            data={"api_key": key},  # in the body, not the URL
            files={"image": ("photo.jpg", upload, "image/jpeg")},
        )
        if fetched.status != 200:
            raise _http_error(fetched, during="uploading the photo")
        data = fetched.json()
        image_id = as_text(data.get("image_id")) if isinstance(data, dict) else None
        if image_id is None:
            detail = as_text(data.get("error")) if isinstance(data, dict) else None
            raise ProviderError(
                self.name,
                f"the photo upload was refused: {redact(detail or 'no image_id in the answer')}",
                kind="refused",
            )
        return image_id

    def _matches(self, data: dict[str, Any]) -> list[WebMatch]:
        out = []
        for item in _items(data, "exact_matches"):
            link = as_text(item.get("link"))
            if link:
                out.append(
                    WebMatch.make(
                        self.name,
                        page_url=link,
                        image_url=as_text(item.get("image")),
                        title=as_text(item.get("title")),
                        seen_text=as_text(item.get("date")),
                        kind="exact",
                    )
                )
        out.extend(_similar(self.name, data, "visual_matches", image_key="image"))
        return out


class SerpApiBing(SerpApiBase):
    """Bing reverse image search through SerpApi (the retired Bing API's replacement)."""

    name = "serpapi-bing"
    engine = "bing_reverse_image"

    def _matches(self, data: dict[str, Any]) -> list[WebMatch]:
        # ``link`` is a bing.com viewer page; ``source`` is the page that holds the image.
        out = []
        for key, kind in _BING_LISTS:
            for item in _items(data, key):
                source = as_text(item.get("source"))
                original = as_text(item.get("original"))
                page = source if _is_url(source) else as_text(item.get("link"))
                if not page and not original:
                    continue
                out.append(
                    WebMatch.make(
                        self.name,
                        page_url=page,
                        image_url=original,
                        title=as_text(item.get("title")),
                        domain=host_of(source) if _is_url(source) else host_of(original),
                        kind=kind,
                    )
                )
        return out


class SerpApiYandex(SerpApiBase):
    """Yandex reverse image search through SerpApi (experimental: shape unverified)."""

    name = "serpapi-yandex"
    engine = "yandex_images"
    url_param = "url"
    experimental = True

    def _matches(self, data: dict[str, Any]) -> list[WebMatch]:
        out = _similar(self.name, data, "sites_with_image", image_key="original", kind="exact")
        for key in ("image_results", "images_results"):
            out.extend(_similar(self.name, data, key, image_key="original"))
        return out


def _search_data(fetched: Fetched) -> dict[str, Any] | None:
    """The JSON object of a search, None for "no results", or the ProviderError."""
    if fetched.status != 200:
        raise _http_error(fetched)
    data = fetched.json()
    if not isinstance(data, dict):
        raise ProviderError(
            fetched.provider, "unexpected response (not a JSON object)", kind="malformed"
        )
    if "error" in data:
        metadata = data.get("search_metadata")
        status = metadata.get("status") if isinstance(metadata, dict) else None
        if status == "Error":
            detail = redact(as_text(data.get("error")) or "no reason given")
            raise ProviderError(fetched.provider, f"the search failed: {detail}", kind="refused")
        return None  # SerpApi reports an empty result this way (HTTP 200)
    return data


def _http_error(fetched: Fetched, during: str | None = None) -> ProviderError:
    detail = None
    try:
        data = fetched.json()
        detail = as_text(data.get("error")) if isinstance(data, dict) else None
    except ProviderError:
        pass
    if _out_of_searches(fetched.status, fetched.body):
        error = ProviderError(
            fetched.provider,
            f"quota exhausted (HTTP {fetched.status})" + (f": {redact(detail)}" if detail else ""),
            kind="quota",
            status=fetched.status,
        )
    else:
        error = status_error(fetched.provider, fetched.status, fetched.tries, detail)
    if during:
        error = ProviderError(
            error.provider, f"{error.reason} ({during})", kind=error.kind, status=error.status
        )
    return error


def _out_of_searches(status: int, body: bytes) -> bool:
    """SerpApi's 429 means either "too fast" (retry) or "no searches left" (do not)."""
    return status == 429 and b"run out of searches" in body.lower()


def _similar(
    provider: str, data: dict[str, Any], key: str, *, image_key: str, kind: Kind = "similar"
) -> list[WebMatch]:
    out = []
    for item in _items(data, key):
        link = as_text(item.get("link"))
        image = as_text(item.get(image_key))
        if not link and not image:
            continue
        out.append(
            WebMatch.make(
                provider,
                page_url=link,
                image_url=image,
                title=as_text(item.get("title")),
                kind=kind,
            )
        )
    return out


def _items(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = data.get(key)
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _is_url(value: str | None) -> bool:
    return bool(value) and str(value).lower().startswith(("http://", "https://"))
