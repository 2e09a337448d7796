"""Optional online reverse image search: run the chosen providers on one photo, concurrently.

Privacy rule, enforced here and nowhere bypassed: when an image URL is given, providers
receive only that URL (a provider that cannot search by URL gets nothing); the photo's
bytes are sent only when no URL was given, and only to providers that accept uploads. A
URL-only provider never receives bytes. Every :class:`ProviderResult` says what was sent,
to which host, and what that service says it keeps.

Failures are per provider (``ProviderResult.error``, one line naming the provider); only
unusable arguments (an unknown provider name, no photo and no URL, a bad URL) raise
:class:`revimg.errors.UsageError`. API keys never appear in results, errors or logs.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any, Literal, NamedTuple
from urllib.parse import urlsplit

from revimg.errors import ProviderError, UsageError
from revimg.online.cache import ResultCache, cache_key, url_digest
from revimg.online.http import Deadline, RequestOptions, redact, register_secret
from revimg.online.links import check_image_url
from revimg.online.providers import WebMatch, registry
from revimg.online.settings import OnlineSettings, load_settings

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("revimg.online.search")

Sent = Literal["bytes", "url", "nothing"]
#: Extra seconds allowed after the deadline for in-flight requests to report their own error.
GRACE = 0.5
#: Failure kinds that mean no byte of the request left this machine.
_NOTHING_SENT = {"config", "prepare", "unsupported", "connect"}


@dataclass(frozen=True)
class ProviderResult:
    """What one provider did with the photo and what it found."""

    provider: str
    sent: Sent
    host: str
    retention: str
    cached: bool
    matches: tuple[WebMatch, ...]
    error: str | None
    #: ProviderError.kind for a failure (``auth``, ``quota``, ``timeout``, ...), else None.
    error_kind: str | None = None

    @property
    def ok(self) -> bool:
        """True when the provider answered (possibly with no matches)."""
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: provider, sent, host, retention, cached, error, matches[]."""
        return {
            "provider": self.provider,
            "sent": self.sent,
            "host": self.host,
            "retention": self.retention,
            "cached": self.cached,
            "error": self.error,
            "matches": [m.to_dict() for m in self.matches],
        }


class OnlineSummary(NamedTuple):
    """Evidence for the verdict, from exact and partial matches only (never look-alikes)."""

    #: Distinct pages (or images) holding an exact copy.
    exact_count: int
    #: Distinct stock-photo domains holding a copy, sorted.
    stock_hits: tuple[str, ...]
    #: The earliest ISO date a copy was seen on the web, if any provider dates them.
    earliest_seen: str | None


def resolve_names(names: str | Iterable[str] | None, settings: OnlineSettings) -> list[str]:
    """The provider names to run: as given (comma lists allowed), "all" = every configured one.

    With no names, ``[online] providers`` from the config file is used.

    Raises:
        UsageError: an unknown name, "all" with no provider configured, or nothing chosen.
    """
    if isinstance(names, str):
        names = [names]
    wanted = [n.strip() for name in names or () for n in name.split(",") if n.strip()]
    if not wanted:
        wanted = list(settings.providers)
    if not wanted:
        raise UsageError(
            "no online provider chosen: name one or more of "
            f"{', '.join(settings.configs)} (or 'all'), or set providers = [...] under "
            f"[online] in {settings.config_file}"
        )
    known = list(settings.configs)
    chosen: list[str] = []
    for name in wanted:
        if name == "all":
            configured = settings.configured()
            if not configured:
                raise UsageError(_no_keys_message(settings), remedy="links")
            chosen.extend(configured)
        elif name in settings.configs:
            chosen.append(name)
        else:
            raise UsageError(f"unknown online provider {name!r} (known: all, {', '.join(known)})")
    return list(dict.fromkeys(chosen))


def search_online(
    names: str | Iterable[str] | None,
    *,
    image_bytes: bytes | None = None,
    image_url: str | None = None,
    sha256: str | None = None,
    settings: OnlineSettings | None = None,
    client: httpx.Client | None = None,
    use_cache: bool = True,
    deadline: float | None = None,
    timeout: float | None = None,
    cache: ResultCache | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[ProviderResult]:
    """Search the photo (or its URL) with each chosen provider, concurrently.

    Args:
        names: provider names, a comma list, "all", or None for ``[online] providers``.
        image_bytes: the photo; sent only when ``image_url`` is None, only to uploaders.
        image_url: a public http(s) URL of the photo; when given, only it is sent.
        sha256: the photo's SHA-256 hex (the cache key; computed when missing).
        settings: from :func:`load_settings` when None.
        client: the ``httpx.Client`` to use (one is made, and closed, when None).
        use_cache: False for ``--no-cache``: neither read nor write the result cache.
        deadline: seconds for the whole search (default: ``settings.deadline``).
        timeout: seconds per HTTP request (default: ``settings.timeout``).

    Returns:
        One :class:`ProviderResult` per provider, in the order of ``names``.

    Raises:
        UsageError: unknown provider, nothing to search, or an image URL that is not http(s).
    """
    settings = settings or load_settings()
    chosen = resolve_names(names, settings)
    if image_url is not None:
        image_url = check_image_url(image_url)
    elif not image_bytes:
        raise UsageError("nothing to search online: no photo and no image URL")
    if image_url is None and image_bytes is not None and sha256 is None:
        sha256 = hashlib.sha256(image_bytes).hexdigest()

    limit = Deadline(settings.deadline if deadline is None else deadline, clock=clock)
    options = RequestOptions(
        timeout=settings.timeout if timeout is None else timeout,
        tries=settings.tries,
        deadline=limit,
        sleep=sleep,
        user_agent=_user_agent(),
    )
    store = (cache or ResultCache(ttl_days=settings.cache_ttl_days)) if use_cache else None
    secrets = [c.key.reveal() for c in settings.configs.values() if c.key]
    for secret in secrets:
        register_secret(secret)
    classes = registry()

    own_client = client is None
    if client is None:
        import httpx

        client = httpx.Client(timeout=options.timeout, headers={"User-Agent": options.user_agent})
    pool = ThreadPoolExecutor(max_workers=max(1, len(chosen)), thread_name_prefix="revimg-online")
    try:
        jobs = {
            name: pool.submit(
                _run_one,
                classes[name],
                settings,
                name,
                client,
                options,
                store,
                image_bytes,
                image_url,
                sha256,
                secrets,
            )
            for name in chosen
        }
        left = limit.remaining()
        wait_for(list(jobs.values()), timeout=None if left is None else left + GRACE)
        results = []
        for name, job in jobs.items():
            if job.done():
                result = job.result()  # _run_one catches ProviderError; anything else is a bug
            else:
                job.cancel()
                result = _late(classes[name], settings, name, image_url, limit)
            results.append(_scrub(result, secrets))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        if own_client:
            client.close()
    return results


def online_summary(results: Iterable[ProviderResult]) -> OnlineSummary:
    """Count exact copies, stock-site domains and the earliest sighting across providers."""
    exact: set[str] = set()
    stock: set[str] = set()
    dates: list[str] = []
    for result in results:
        for match in result.matches:
            if match.kind == "similar":
                continue
            if match.kind == "exact":
                exact.add(_place(match))
            if match.stock and match.domain:
                stock.add(match.domain)
            if match.first_seen:
                dates.append(match.first_seen)
    exact.discard("")
    return OnlineSummary(len(exact), tuple(sorted(stock)), min(dates) if dates else None)


def _run_one(
    cls: Any,
    settings: OnlineSettings,
    name: str,
    client: httpx.Client,
    options: RequestOptions,
    store: ResultCache | None,
    image_bytes: bytes | None,
    image_url: str | None,
    sha256: str | None,
    secrets: list[str],
) -> ProviderResult:
    """One provider, start to finish; every ProviderError becomes the result's error."""
    config = settings.config(name)
    provider = cls(config.key, config.base_url, options)

    def make(
        sent: Sent,
        matches: Iterable[WebMatch] = (),
        error: str | None = None,
        kind: str | None = None,
        cached: bool = False,
    ) -> ProviderResult:
        return ProviderResult(
            provider=name,
            sent=sent,
            host=provider.host,
            retention=cls.retention,
            cached=cached,
            matches=tuple(matches),
            error=error,
            error_kind=kind,
        )

    def failed(sent: Sent, message: str, kind: str) -> ProviderResult:
        return make(sent, error=message, kind=kind)

    if image_url is not None and not cls.supports_url:
        return failed(
            "nothing",
            f"{name}: cannot search by image URL, and the photo is not sent when a URL is given",
            "unsupported",
        )
    if image_url is None and not cls.supports_upload:
        return failed(
            "nothing",
            f"{name}: searches only by a public image URL (give one); "
            "the photo itself is never sent to it",
            "unsupported",
        )
    if not config.configured:
        return failed("nothing", _no_key_message(cls, name, settings), "config")

    send: Literal["bytes", "url"] = "url" if image_url is not None else "bytes"
    key = None
    if store is not None:
        digest = url_digest(image_url) if image_url is not None else str(sha256)
        key = cache_key(name, config.base_url, send, digest)
        hit = store.get(name, key)
        if hit is not None:
            return make("nothing", hit, cached=True)

    started = time.monotonic()
    try:
        matches = provider.search(
            client,
            image=image_bytes if send == "bytes" else None,
            image_url=image_url if send == "url" else None,
        )
    except ProviderError as exc:
        sent: Sent = "nothing" if exc.kind in _NOTHING_SENT else send
        message = redact(str(exc))  # every key was registered with the redactor up front
        log.info("%s failed after %.2f s: %s", name, time.monotonic() - started, message)
        return failed(sent, message, exc.kind)
    except Exception as exc:  # noqa: BLE001 - an answer no parser foresaw never ends the check
        # (nested 200,000 deep, a 400-digit score, a field of the wrong type): the provider
        # failed, the local search and the other providers go on
        log.info("%s: unreadable answer: %s", name, type(exc).__name__)
        return failed(
            send, f"{name}: the answer could not be read ({type(exc).__name__})", "malformed"
        )
    log.info("%s: %d matches in %.2f s", name, len(matches), time.monotonic() - started)
    # keys out before anything is written to disk (an answer can echo the request)
    matches = tuple(_scrub_match(m, secrets) for m in matches) if secrets else matches
    if store is not None and key is not None:
        store.put(name, key, matches)
    return make(send, matches)


def _late(
    cls: Any, settings: OnlineSettings, name: str, image_url: str | None, limit: Deadline
) -> ProviderResult:
    """The result of a provider that had not answered by the deadline."""
    seconds = limit.seconds if limit.seconds is not None else 0
    return ProviderResult(
        provider=name,
        sent="url" if image_url is not None else "bytes",
        host=urlsplit(settings.config(name).base_url).netloc,
        retention=cls.retention,
        cached=False,
        matches=(),
        error=f"{name}: timed out: the overall deadline of {seconds:g} s was reached",
        error_kind="deadline",
    )


def _scrub(result: ProviderResult, secrets: list[str]) -> ProviderResult:
    """Defence in depth: no key may survive in an error or an echoed URL."""
    if not secrets:
        return result
    error = redact(result.error, secrets) if result.error else None
    matches = tuple(_scrub_match(m, secrets) for m in result.matches)
    return replace(result, error=error, matches=matches)


def _scrub_match(match: WebMatch, secrets: list[str]) -> WebMatch:
    changes: dict[str, Any] = {}
    for f in fields(match):
        value = getattr(match, f.name)
        if isinstance(value, str) and any(s in value for s in secrets):
            changes[f.name] = redact(value, secrets)
    return replace(match, **changes) if changes else match


def _place(match: WebMatch) -> str:
    url = match.page_url or match.image_url or ""
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.")
    return f"{host}{parts.path.rstrip('/')}?{parts.query}" if host else url


def _no_key_message(cls: Any, name: str, settings: OnlineSettings) -> str:
    names = " or ".join(cls.key_names)
    table = "serpapi" if name.startswith("serpapi-") else name
    return (
        f'{name}: no API key: set {names}, or add key = "..." under '
        f"[providers.{table}] in {settings.config_file}"
    )


def _no_keys_message(settings: OnlineSettings) -> str:
    classes = registry()
    variables = dict.fromkeys(classes[n].key_names[0] for n in settings.configs)
    return (
        "no online provider has an API key: set "
        f"{', '.join(variables)}, or add keys to {settings.config_file}"
    )


def _user_agent() -> str:
    from revimg import __version__

    return f"revimg/{__version__}"
