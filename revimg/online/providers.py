"""Online reverse-image-search providers: the protocol, the match record and the registry.

A provider is a class with descriptive class attributes (what it sends, where, and what
the service keeps) and one method, ``search(client, *, image, image_url)``, which returns
normalised :class:`WebMatch` records or raises :class:`revimg.errors.ProviderError`.
Built-ins are registered the same way third-party ones are: third parties declare the
entry-point group ``revimg.providers`` pointing at their provider class.

Nothing here imports httpx: the HTTP code is imported only when a search runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import httpx

    from revimg.online.http import RequestOptions
    from revimg.online.settings import Secret

__all__ = [
    "STOCK_DOMAINS",
    "BaseProvider",
    "Kind",
    "Provider",
    "as_text",
    "ProviderFactory",
    "WebMatch",
    "host_of",
    "is_stock_host",
    "register",
    "registry",
    "unregister",
]

log = logging.getLogger(__name__)

Kind = Literal["exact", "partial", "similar"]
KINDS: tuple[Kind, ...] = ("exact", "partial", "similar")

#: Stock-photo and free-photo libraries: a copy there means the photo is not the sender's.
#: Matched against the host and every parent domain (``media.gettyimages.com`` matches
#: ``gettyimages.com``); ``gettyimages`` and ``istockphoto`` also match any country domain.
STOCK_DOMAINS: frozenset[str] = frozenset(
    {
        "gettyimages.com",
        "istockphoto.com",
        "shutterstock.com",
        "stock.adobe.com",
        "adobestock.com",
        "alamy.com",
        "dreamstime.com",
        "depositphotos.com",
        "123rf.com",
        "unsplash.com",
        "pexels.com",
        "pixabay.com",
        "freepik.com",
        "stocksy.com",
        "bigstockphoto.com",
        "canstockphoto.com",
        "fotolia.com",
        "agefotostock.com",
        "pond5.com",
        "storyblocks.com",
        "vecteezy.com",
        "rawpixel.com",
        "stockphotos.com",
        "photodune.net",
        "megapixl.com",
        "colourbox.com",
        "masterfile.com",
        "superstock.com",
        "eyeem.com",
        "burst.shopify.com",
        "kaboompics.com",
        "picjumbo.com",
        "stocksnap.io",
        "gratisography.com",
        "wirestock.io",
        "photos.com",
        "thinkstockphotos.com",
        "corbisimages.com",
        "westend61.de",
        "offset.com",
    }
)
#: Brands with many country domains (gettyimages.co.uk, istockphoto.de, ...).
_STOCK_BRANDS = ("gettyimages", "istockphoto", "shutterstock", "depositphotos", "dreamstime")


def host_of(url: str | None) -> str | None:
    """The lower-case host of a URL without ``www.``; None when there is none."""
    if not url:
        return None
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    if not host:
        return None
    host = host.lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host


def as_text(value: Any) -> str | None:
    """A non-empty stripped string, or None for anything else (defensive parsing)."""
    if isinstance(value, str):
        return value.strip() or None
    return None


def is_stock_host(host: str | None) -> bool:
    """True when ``host`` (or a parent domain of it) is a known stock-photo library."""
    if not host:
        return False
    host = host.lower().rstrip(".")
    labels = host.split(".")
    for i in range(len(labels) - 1):
        if ".".join(labels[i:]) in STOCK_DOMAINS:
            return True
    return any(label in _STOCK_BRANDS for label in labels[:-1])


@dataclass(frozen=True)
class WebMatch:
    """One place on the web where a provider found the photo (or a look-alike).

    ``score`` is on 0..1 when the provider gives one (TinEye's 0-100 score divided by 100),
    else None. ``first_seen`` is an ISO date (``YYYY-MM-DD``) when the provider states one;
    ``seen_text`` keeps a provider's relative wording ("8 years ago", SerpApi) as written.
    ``stock`` is true when the provider tags the match as stock or its domain is a known
    stock-photo library.
    """

    provider: str
    page_url: str | None
    image_url: str | None
    title: str | None
    domain: str | None
    score: float | None = None
    first_seen: str | None = None
    seen_text: str | None = None
    kind: Kind = "exact"
    tags: tuple[str, ...] = ()
    stock: bool = False

    FIELDS: ClassVar[tuple[str, ...]] = (
        "provider",
        "page_url",
        "image_url",
        "title",
        "domain",
        "score",
        "first_seen",
        "seen_text",
        "kind",
        "tags",
        "stock",
    )

    @classmethod
    def make(
        cls,
        provider: str,
        *,
        page_url: str | None,
        image_url: str | None = None,
        title: str | None = None,
        domain: str | None = None,
        score: float | None = None,
        first_seen: str | None = None,
        seen_text: str | None = None,
        kind: Kind = "exact",
        tags: tuple[str, ...] = (),
    ) -> WebMatch:
        """Build a match, deriving ``domain`` from the URLs and ``stock`` from tags/domain."""
        domain = (domain or host_of(page_url) or host_of(image_url) or "").lower() or None
        if domain and domain.startswith("www."):
            domain = domain[4:]
        stock = "stock" in tags or is_stock_host(domain) or is_stock_host(host_of(page_url))
        return cls(
            provider=provider,
            page_url=page_url or None,
            image_url=image_url or None,
            title=title or None,
            domain=domain,
            score=score,
            first_seen=first_seen,
            seen_text=seen_text,
            kind=kind,
            tags=tuple(tags),
            stock=stock,
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with the field names of :attr:`FIELDS`, in that order."""
        data = asdict(self)
        data["tags"] = list(self.tags)
        return {name: data[name] for name in self.FIELDS}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WebMatch:
        """Rebuild a match from :meth:`to_dict` output (ValueError if it does not fit)."""
        if not isinstance(data, dict) or set(data) != set(cls.FIELDS):
            raise ValueError("not a WebMatch dict")
        kind = data["kind"]
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}")
        for name in ("provider",):
            if not isinstance(data[name], str):
                raise ValueError(f"{name} must be a string")
        for name in ("page_url", "image_url", "title", "domain", "first_seen", "seen_text"):
            if data[name] is not None and not isinstance(data[name], str):
                raise ValueError(f"{name} must be a string or null")
        score = data["score"]
        if score is not None and (isinstance(score, bool) or not isinstance(score, int | float)):
            raise ValueError("score must be a number or null")
        tags = data["tags"]
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise ValueError("tags must be a list of strings")
        return cls(
            provider=data["provider"],
            page_url=data["page_url"],
            image_url=data["image_url"],
            title=data["title"],
            domain=data["domain"],
            score=None if score is None else float(score),
            first_seen=data["first_seen"],
            seen_text=data["seen_text"],
            kind=kind,
            tags=tuple(tags),
            stock=bool(data["stock"]),
        )


class Provider(Protocol):
    """What revimg needs from an online provider (class attributes describe it)."""

    #: Registry name, e.g. ``"tineye"``.
    name: ClassVar[str]
    #: Environment variables that may hold the API key, in order of preference.
    key_names: ClassVar[tuple[str, ...]]
    #: Environment variable that replaces ``default_url`` (tests, proxies, mirrors).
    url_env: ClassVar[str]
    #: The service's base URL, before the documented paths.
    default_url: ClassVar[str]
    #: What leaves the machine, in words.
    sends: ClassVar[str]
    supports_upload: ClassVar[bool]
    supports_url: ClassVar[bool]
    #: What the service says it keeps (providers.md §8).
    retention: ClassVar[str]
    #: Response shape not verified against the real service.
    experimental: ClassVar[bool]

    @property
    def host(self) -> str:
        """The host requests go to."""
        ...

    def search(
        self, client: httpx.Client, *, image: bytes | None, image_url: str | None
    ) -> list[WebMatch]:
        """Search by image bytes or by image URL (exactly one is given)."""
        ...


#: ``factory(key, base_url, options)`` builds a provider ready to search.
ProviderFactory = Callable[["Secret | None", "str | None", "RequestOptions | None"], Provider]


@dataclass
class BaseProvider:
    """Shared constructor and helpers for the built-in providers."""

    key: Secret | None = None
    base_url: str | None = None
    options: RequestOptions | None = None
    _secrets: tuple[str, ...] = field(default=(), init=False, repr=False)

    name: ClassVar[str] = ""
    key_names: ClassVar[tuple[str, ...]] = ()
    url_env: ClassVar[str] = ""
    default_url: ClassVar[str] = ""
    sends: ClassVar[str] = ""
    supports_upload: ClassVar[bool] = False
    supports_url: ClassVar[bool] = False
    retention: ClassVar[str] = ""
    experimental: ClassVar[bool] = False

    def __post_init__(self) -> None:
        self.base_url = (self.base_url or self.default_url).rstrip("/")
        self._secrets = (self.key.reveal(),) if self.key else ()

    @property
    def host(self) -> str:
        """The host requests go to (with the port when it is not the default)."""
        parts = urlsplit(self.base_url or self.default_url)
        return parts.netloc.rsplit("@", 1)[-1] or (self.base_url or "")

    def _url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def _require_key(self) -> str:
        from revimg.errors import ProviderError

        if not self.key:
            names = " or ".join(self.key_names)
            raise ProviderError(self.name, f"no API key: set {names}", kind="config")
        return self.key.reveal()

    def _opts(self) -> RequestOptions:
        from revimg.online.http import RequestOptions

        return self.options or RequestOptions()


_BUILTINS: tuple[tuple[str, str], ...] = (
    ("revimg.online.tineye", "TinEye"),
    ("revimg.online.vision", "Vision"),
    ("revimg.online.serpapi", "SerpApiLens"),
    ("revimg.online.serpapi", "SerpApiBing"),
    ("revimg.online.serpapi", "SerpApiYandex"),
)
_REGISTRY: dict[str, Any] = {}
_LOADED = False


def register(provider_class: Any) -> Any:
    """Register a provider class under its ``name`` (usable as a class decorator)."""
    name = getattr(provider_class, "name", "")
    if not isinstance(name, str) or not name or name == "all":
        raise ValueError(f"a provider needs a name other than 'all', got {name!r}")
    _REGISTRY[name] = provider_class
    return provider_class


def unregister(name: str) -> None:
    """Remove a provider (tests register fakes and remove them in ``finally``)."""
    _REGISTRY.pop(name, None)


def registry() -> dict[str, Any]:
    """Every provider class by name: the built-ins, then ``revimg.providers`` entry points."""
    global _LOADED
    if not _LOADED:
        _LOADED = True
        import importlib

        for module, attr in _BUILTINS:
            register(getattr(importlib.import_module(module), attr))
        _load_entry_points()
    return dict(_REGISTRY)


def _load_entry_points() -> None:
    from importlib.metadata import entry_points

    for ep in entry_points(group="revimg.providers"):
        try:
            register(ep.load())
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not break the built-ins
            log.warning("provider plugin %s could not be loaded: %s", ep.name, exc)
