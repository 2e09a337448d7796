"""One HTTP request done carefully: timeouts, retries, a deadline, a size cap, no leaked keys.

:func:`fetch` sends a request through the caller's ``httpx.Client`` and retries connection
errors, timeouts, HTTP 429 and 5xx with exponential backoff and jitter, honouring
``Retry-After`` (seconds or an HTTP date, capped). It stops retrying when the overall
:class:`Deadline` leaves no time, streams the body and refuses more than
``RequestOptions.max_bytes``. Every failure comes out as :class:`ProviderError`, never as an
httpx exception, with API keys redacted: SerpApi carries its key in the query string, and
httpx exceptions (and httpx's own INFO log line) carry the request URL, so messages here
name only the host, and a logging filter scrubs the ``httpx`` logger.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from revimg.errors import ProviderError

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("revimg.online.search")

#: Default cap on a response body.
MAX_RESPONSE_BYTES = 5 * 1024 * 1024
#: Statuses worth retrying (providers.md §9: only 429 and 5xx).
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class Deadline:
    """A point in time (on a monotonic clock) after which no new attempt starts."""

    def __init__(self, seconds: float | None, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self._end = None if seconds is None else clock() + seconds

    def remaining(self) -> float | None:
        """Seconds left (never negative), or None for no deadline."""
        if self._end is None:
            return None
        return max(0.0, self._end - self.clock())

    def expired(self) -> bool:
        """True once no time is left."""
        left = self.remaining()
        return left is not None and left <= 0


@dataclass(frozen=True)
class RequestOptions:
    """How patient one provider's requests are; ``sleep``/``random``/``now`` are injectable."""

    timeout: float = 20.0
    tries: int = 3
    backoff: float = 0.5
    max_backoff: float = 8.0
    retry_after_cap: float = 30.0
    max_bytes: int = MAX_RESPONSE_BYTES
    deadline: Deadline | None = None
    sleep: Callable[[float], None] = time.sleep
    random: Callable[[], float] = random.random
    now: Callable[[], float] = time.time
    user_agent: str = field(default="")


@dataclass(frozen=True)
class Fetched:
    """A complete response: status, lower-case headers, body, and how many tries it took."""

    provider: str
    status: int
    headers: Mapping[str, str]
    body: bytes
    tries: int

    def json(self) -> Any:
        """The body as JSON (ProviderError "malformed JSON in the response" otherwise)."""
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise ProviderError(
                self.provider,
                f"malformed JSON in the response (HTTP {self.status})",
                kind="malformed",
                status=self.status,
            ) from None


# -- redaction -------------------------------------------------------------------------------

_KEY_PARAM = re.compile(r"(?i)\b((?:api_key|apikey|key)=)[^&\s\"',;]+")
_KEY_HEADER = re.compile(r"(?i)\b((?:x-api-key|x-goog-api-key):\s*)[^\s\"',;]+")
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s\"'<>]+", re.IGNORECASE)
#: Shorter "secrets" are not redacted everywhere: they would mangle ordinary words.
MIN_SECRET_LENGTH = 8
_SECRETS: set[str] = set()
_SECRETS_LOCK = threading.Lock()


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every known secret and every ``key=...`` value replaced by ``***``."""
    with _SECRETS_LOCK:
        values = {*_SECRETS, *secrets}
    for value in sorted((v for v in values if len(v) >= MIN_SECRET_LENGTH), key=len, reverse=True):
        # the key as it is, and as error messages quote it (escaped, bytes, URL-encoded)
        for form in _forms(value):
            text = text.replace(form, "***")
    text = _KEY_PARAM.sub(r"\1***", text)
    return _KEY_HEADER.sub(r"\1***", text)


def _forms(value: str) -> list[str]:
    from urllib.parse import quote

    forms = {
        value,
        repr(value)[1:-1],
        repr(value.encode("utf-8", "surrogateescape"))[2:-1],
        quote(value, safe=""),
    }
    return sorted(forms, key=len, reverse=True)


def clean_reason(text: str, secrets: Iterable[str] = ()) -> str:
    """A service's or library's message made safe to show: keys and URLs out, one line."""
    return _one_line(_URL.sub("[url]", redact(str(text), secrets)))


class _RedactingFilter(logging.Filter):
    """Scrubs keys from records of the ``httpx`` logger (it logs every request URL)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is logging's problem, not ours
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


_FILTER = _RedactingFilter()


def register_secret(value: str) -> None:
    """Remember a key so that logs and messages from now on never show it."""
    with _SECRETS_LOCK:
        if len(value) >= MIN_SECRET_LENGTH:
            _SECRETS.add(value)
        for name in ("httpx", "httpcore"):
            logger = logging.getLogger(name)
            if _FILTER not in logger.filters:
                logger.addFilter(_FILTER)


# -- errors ----------------------------------------------------------------------------------


def status_error(
    provider: str, status: int, tries: int, detail: str | None = None
) -> ProviderError:
    """A user-facing ProviderError for an HTTP status (detail: the service's own message)."""
    after = f" after {tries} {'try' if tries == 1 else 'tries'}"
    if status == 401:
        kind, reason = "auth", f"the API key was refused (HTTP {status})"
    elif status == 402:
        kind, reason = "quota", f"quota exhausted (HTTP {status})"
    elif status == 403:
        kind, reason = "auth", f"access denied (HTTP {status})"
    elif status == 429:
        kind, reason = "rate_limited", f"rate limited (HTTP {status}){after}"
    elif status >= 500:
        kind, reason = "server", f"server error (HTTP {status}){after}"
    elif 400 <= status < 500:
        kind, reason = "refused", f"request refused (HTTP {status})"
    else:
        kind, reason = "failed", f"unexpected HTTP status {status}"
    if detail:
        reason = f"{reason}: {_one_line(redact(detail))}"
    return ProviderError(provider, reason, kind=kind, status=status)


def _one_line(text: str, limit: int = 200) -> str:
    text = re.sub(r"<[^>]+>", "", str(text))  # some services put HTML in messages
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def _seconds(value: float) -> str:
    return f"{value:g} s" if value < 10 else f"{value:.0f} s"


# -- the request -----------------------------------------------------------------------------


def retry_after(value: str | None, now: float, cap: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), capped."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), cap)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT
        from datetime import UTC

        when = when.replace(tzinfo=UTC)
    return min(max(0.0, when.timestamp() - now), cap)


def backoff_delay(attempt: int, options: RequestOptions) -> float:
    """Exponential backoff with "equal jitter": between half and all of base * 2**(n-1)."""
    ceiling = min(options.max_backoff, options.backoff * (2.0 ** (attempt - 1)))
    return ceiling / 2 + ceiling / 2 * options.random()


def fetch(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    provider: str,
    options: RequestOptions,
    secrets: Iterable[str] = (),
    params: Mapping[str, str | int] | None = None,
    headers: Mapping[str, str] | None = None,
    data: Mapping[str, str | int] | None = None,
    files: Mapping[str, tuple[str, bytes, str]] | None = None,
    json_body: Any = None,
    final: Callable[[int, bytes], bool] | None = None,
) -> Fetched:
    """Send one request with retries; returns the last response, whatever its status.

    A 429 or 5xx is retried while tries and time remain (``final(status, body)`` returning
    True stops that, e.g. SerpApi's "out of searches"); the caller turns a non-2xx
    :class:`Fetched` into an error with :func:`status_error`.

    Raises:
        ProviderError: timeouts or connection failures on every try, the deadline reached,
            or a response over ``options.max_bytes``.
    """
    import httpx

    secrets = tuple(s for s in secrets if s)
    for value in secrets:
        register_secret(value)
    host = httpx.URL(url).host
    deadline = options.deadline
    tries = max(1, options.tries)
    attempt = 0
    reached = False  # some try got an answer or at least a connection
    while True:
        attempt += 1
        left = deadline.remaining() if deadline else None
        if left is not None and left <= 0:
            raise _deadline_error(provider, deadline, attempt - 1)
        timeout = options.timeout if left is None else min(options.timeout, left)
        capped = left is not None and left < options.timeout
        problem: str
        error: ProviderError | None
        wait: float | None = None
        try:
            response = _send(
                client,
                method,
                url,
                provider=provider,
                timeout=timeout,
                options=options,
                params=params,
                headers=headers,
                data=data,
                files=files,
                json_body=json_body,
            )
        except (httpx.LocalProtocolError, httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            # refused before a byte left: an illegal header value, an unusable URL
            reason = clean_reason(str(exc) or type(exc).__name__, secrets)
            raise ProviderError(
                provider, f"could not make the request ({reason}); nothing was sent", kind="prepare"
            ) from None
        except httpx.TimeoutException as exc:
            if capped:
                raise _deadline_error(provider, deadline, attempt) from None
            connecting = isinstance(exc, httpx.ConnectTimeout)
            problem = f"timed out after {_seconds(options.timeout)}"
            if connecting:
                problem = f"could not connect to {host} ({problem})"
            # "connect": no try ever reached the server, so nothing was sent
            kind = "connect" if connecting and not reached else "timeout"
            error = ProviderError(provider, problem, kind=kind)
            reached = reached or not connecting
        except httpx.TransportError as exc:
            reason = clean_reason(str(exc) or type(exc).__name__, secrets)
            connecting = isinstance(exc, httpx.ConnectError)
            problem = f"could not connect to {host} ({reason})"
            kind = "connect" if connecting and not reached else "network"
            error = ProviderError(provider, problem, kind=kind)
            reached = reached or not connecting
        except httpx.RequestError as exc:  # e.g. a body that cannot be decompressed
            reason = clean_reason(str(exc) or type(exc).__name__, secrets)
            raise ProviderError(
                provider, f"could not read the response from {host} ({reason})", kind="network"
            ) from None
        else:
            reached = True
            response = replace(response, tries=attempt)
            if response.status not in RETRY_STATUSES or (
                final is not None and final(response.status, response.body)
            ):
                return response
            problem = f"HTTP {response.status}"
            wait = retry_after(
                response.headers.get("retry-after"), options.now(), options.retry_after_cap
            )
            error = None  # the caller words the final status
        if attempt >= tries:
            if error is not None:
                if attempt > 1:
                    error = ProviderError(
                        provider, f"{error.reason} ({attempt} tries)", kind=error.kind
                    )
                raise error
            return response
        delay = backoff_delay(attempt, options) if wait is None else wait
        left = deadline.remaining() if deadline else None
        if left is not None and delay >= left:
            if error is None:
                return response  # no time for another try: report this status
            raise _deadline_error(provider, deadline, attempt, last=problem)
        log.info(
            "%s: %s, retrying in %.2f s (try %d of %d)",
            provider,
            problem,
            delay,
            attempt + 1,
            tries,
        )
        options.sleep(delay)


def _deadline_error(
    provider: str, deadline: Deadline | None, tries: int, last: str | None = None
) -> ProviderError:
    total = _seconds(deadline.seconds) if deadline and deadline.seconds is not None else "?"
    reason = f"timed out: the overall deadline of {total} was reached"
    if tries:
        reason += f" after {tries} {'try' if tries == 1 else 'tries'}"
    if last:
        reason += f" (last: {last})"
    return ProviderError(provider, reason, kind="deadline")


def _send(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    provider: str,
    timeout: float,
    options: RequestOptions,
    params: Mapping[str, str | int] | None,
    headers: Mapping[str, str] | None,
    data: Mapping[str, str | int] | None,
    files: Mapping[str, tuple[str, bytes, str]] | None,
    json_body: Any,
) -> Fetched:
    """One attempt: stream the body, enforcing the size cap and the per-request timeout."""
    import httpx

    all_headers = dict(headers or {})
    if options.user_agent:
        all_headers.setdefault("User-Agent", options.user_agent)
    request = client.build_request(
        method,
        url,
        params=params,
        headers=all_headers,
        data=data,
        files=files,
        json=json_body,
        timeout=httpx.Timeout(timeout),
    )
    started = time.monotonic()
    response = client.send(request, stream=True)
    try:
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > options.max_bytes:
            raise _too_large(provider, options.max_bytes)
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > options.max_bytes:
                raise _too_large(provider, options.max_bytes)
            chunks.append(chunk)
            if time.monotonic() - started > timeout:  # a slow drip beats httpx's read timeout
                raise httpx.ReadTimeout("response took too long", request=request)
    finally:
        response.close()
    return Fetched(
        provider=provider,
        status=response.status_code,
        headers={k.lower(): v for k, v in response.headers.items()},
        body=b"".join(chunks),
        tries=0,
    )


def _too_large(provider: str, limit: int) -> ProviderError:
    return ProviderError(
        provider, f"response too large (over {limit / 1024 / 1024:g} MB)", kind="too_large"
    )
