"""Hash banks published at a URL: download one into the index, and update it later.

A download streams to a temporary file next to the index (memory stays flat, and the file
is removed on every way out but SIGKILL), refused past a size cap, over https only unless
plain http is allowed, with a few redirects (never from https down to http unless allowed)
and timeouts. An expected SHA-256 is checked before anything is merged. The file is then
imported with the ordinary bank reader (:func:`revimg.index.bank.batches`) by
:meth:`revimg.index.store.SQLiteIndex.replace_bank`, in one transaction that also records the
URL, what its server said (ETag, Last-Modified), the SHA-256, the time and the count.

An update asks each recorded URL again with a conditional request: 304 leaves the bank as
it is; a new body replaces that bank's entries (see ``replace_bank`` for what leaves the
index and what stays). A bank whose update fails is left as it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from revimg.errors import FetchError, IndexMissing, RevimgError, UsageError
from revimg.index import bank
from revimg.index.backend import DB_NAME, BankSource
from revimg.index.store import SQLiteIndex, open_index, opened_or_removed

if TYPE_CHECKING:
    import httpx

#: Largest bank body accepted unless the caller says otherwise (2 GB).
DEFAULT_MAX_BYTES = 2 * 1024**3
#: Redirects followed before giving up.
MAX_REDIRECTS = 5
#: Seconds to connect, and to wait for each piece of the body.
CONNECT_TIMEOUT = 15.0
READ_TIMEOUT = 60.0
#: Prefix of the temporary download files in the index folder.
PART_PREFIX = ".bank-download-"
#: A temporary download untouched this long was left by a killed revimg (seconds).
STALE_PART_S = 86_400
_CHUNK = 1 << 16
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_SHA = re.compile(r"^[0-9a-fA-F]{64}$")
_REDIRECTS = frozenset({301, 302, 303, 307, 308})

#: ``on_progress(bytes_received, bytes_expected_or_None)``.
Progress = Callable[[int, int | None], None]


def is_url(text: str) -> bool:
    """True for text that names a URL (``scheme://...``) rather than a file."""
    return bool(_SCHEME.match(text))


def shown(url: str) -> str:
    """A URL as messages and ``index info`` show it: no user name or password."""
    try:
        parts = urlsplit(url)
    except ValueError:  # an unbalanced IPv6 bracket, say: shown without any user part
        scheme, _, rest = url.partition("://")
        return f"{scheme}://{rest.rpartition('@')[2]}"
    host = parts.netloc.rpartition("@")[2]
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme}://{host}{parts.path}{query}"


def default_origin(url: str) -> str:
    """A bank's label when none is given: the last part of the URL's path (else its host)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return shown(url)
    name = unquote(parts.path.rstrip("/").rsplit("/", 1)[-1])
    return name or parts.hostname or shown(url)


def check_url(url: str, *, allow_http: bool) -> None:
    """Refuse a URL that is not https (or http when allowed) with one line.

    Raises:
        FetchError: another scheme, plain http without ``allow_http``, or no host.
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as exc:
        raise FetchError(shown(url), f"not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme == "http" and not allow_http:
        raise FetchError(
            shown(url),
            "refusing plain http (anyone on the way could change the bank)",
            remedy="allow_http",
        )
    if scheme not in ("https", "http"):
        raise FetchError(shown(url), "only https URLs are read", remedy="allow_http")
    if not parts.hostname:
        raise FetchError(shown(url), "the URL names no host")


def check_sha256(value: str) -> str:
    """An expected SHA-256 given by a user, lower-cased; ``UsageError`` if malformed."""
    if not _SHA.fullmatch(value.strip()):
        raise UsageError(f"SHA-256 {value!r}: expected 64 hex digits (as sha256sum prints)")
    return value.strip().lower()


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """Bytes from a size a user typed: ``500000``, ``500K``, ``20MB``, ``2G``, ``1.5GB``
    (powers of 1024); ``UsageError`` if it is not one."""
    found = _SIZE.match(text)
    if found is None or float(found.group(1)) <= 0:
        raise UsageError(f"size {text!r}: expected a size such as 500MB or 2GB")
    power = " kmgt".index(found.group(2).lower() or " ")
    return int(float(found.group(1)) * 1024**power)


@dataclass(frozen=True)
class Download:
    """A bank body on disk, or ``path=None`` when the server said it has not changed."""

    url: str
    path: Path | None
    etag: str | None = None
    last_modified: str | None = None
    sha256: str | None = None
    size: int = 0


@dataclass
class BankResult:
    """What one URL bank import or update did."""

    url: str
    status: str  # "imported" (the first time), "updated", "unchanged" or "failed"
    added: int = 0
    merged: int = 0
    changed: int = 0
    removed: int = 0
    entries: int = 0
    reason: str = ""
    #: A failure's ``RevimgError.remedy``: the setting that would change it.
    remedy: str | None = None
    skipped_lines: list[tuple[int, str]] = field(default_factory=list)

    def summary(self) -> str:
        """One line for people."""
        where = shown(self.url)
        if self.status == "unchanged":
            return f"{where}: unchanged"
        if self.status == "failed":
            return f"{where}: failed ({self.reason})"
        text = f"{where}: {self.status} (+{self.added}, -{self.removed}), {self.entries} entries"
        if self.changed:
            text += f", {self.changed} changed"
        if self.skipped_lines:
            text += f", skipped {len(self.skipped_lines)} bad lines"
        return text


def _client() -> httpx.Client:
    import httpx

    import revimg

    return httpx.Client(
        timeout=httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT),
        headers={"User-Agent": f"revimg/{revimg.__version__}"},
        follow_redirects=False,
    )


def download(
    url: str,
    folder: Path,
    *,
    client: httpx.Client | None = None,
    allow_http: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
    expected_sha256: str | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
    on_progress: Progress | None = None,
) -> Download:
    """Download the bank at ``url`` into a temporary file in ``folder``.

    With ``etag`` or ``last_modified`` the request is conditional: a 304 answer gives a
    ``Download`` without a path. The caller removes the file (see :func:`_downloaded`).

    Raises:
        FetchError: a refused URL or redirect, a network failure, an HTTP error status, a
            body over ``max_bytes`` or a SHA-256 other than ``expected_sha256``.
    """
    import httpx

    check_url(url, allow_http=allow_http)
    own = client is None
    http = _client() if client is None else client
    try:
        return _download(
            http, url, folder, allow_http, max_bytes, expected_sha256, etag, last_modified,
            on_progress,
        )  # fmt: skip
    except httpx.TimeoutException:
        raise FetchError(shown(url), "timed out (the server stopped answering)") from None
    except httpx.HTTPError as exc:
        raise FetchError(shown(url), _network_reason(exc)) from None
    except httpx.InvalidURL as exc:
        raise FetchError(shown(url), f"not a valid URL ({exc})") from None
    finally:
        if own:
            http.close()


def _network_reason(exc: Exception) -> str:
    import httpx

    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect ({text[:200]})"
    return f"network error ({text[:200]})"


def _download(
    http: httpx.Client,
    url: str,
    folder: Path,
    allow_http: bool,
    max_bytes: int,
    expected_sha256: str | None,
    etag: str | None,
    last_modified: str | None,
    on_progress: Progress | None,
) -> Download:
    headers = {"Accept-Encoding": "identity"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        request = http.build_request("GET", current, headers=headers)
        response = http.send(request, stream=True, follow_redirects=False)
        try:
            if response.status_code in _REDIRECTS and "location" in response.headers:
                target = str(response.url.join(response.headers["location"]))
                down = urlsplit(current).scheme == "https" and urlsplit(target).scheme == "http"
                if down and not allow_http:
                    raise FetchError(
                        shown(url),
                        f"redirected from https to {shown(target)}, which is not https; refused",
                        remedy="allow_http",
                    )
                check_url(target, allow_http=allow_http)
                current = target
                continue
            if response.status_code == 304 and (etag or last_modified):
                return Download(url, None, etag, last_modified)
            if response.status_code != 200:
                reason = response.reason_phrase or "error"
                raise FetchError(
                    shown(current), f"the server answered HTTP {response.status_code} {reason}"
                )
            return _save(response, url, folder, max_bytes, expected_sha256, on_progress)
        finally:
            response.close()
    raise FetchError(shown(url), f"more than {MAX_REDIRECTS} redirects; gave up")


def _save(
    response: httpx.Response,
    url: str,
    folder: Path,
    max_bytes: int,
    expected_sha256: str | None,
    on_progress: Progress | None,
) -> Download:
    """Stream a 200 answer's body to a temporary file in ``folder``, within ``max_bytes``."""
    total = _content_length(response)
    limit = f"over the size limit of {max_bytes} bytes; nothing was imported"
    if total is not None and total > max_bytes:
        raise FetchError(shown(url), f"the bank is {total} bytes, {limit}", remedy="max_bytes")
    digest = hashlib.sha256()
    received = 0
    _sweep(folder)
    handle, name = tempfile.mkstemp(prefix=PART_PREFIX, suffix=".part", dir=folder)
    path = Path(name)
    try:
        with os.fdopen(handle, "wb") as out:
            for chunk in response.iter_bytes(_CHUNK):  # decoded: the cap holds for gzip too
                received += len(chunk)
                if received > max_bytes:
                    raise FetchError(shown(url), f"the bank is {limit}", remedy="max_bytes")
                digest.update(chunk)
                out.write(chunk)
                if on_progress is not None:
                    on_progress(received, total)
        actual = digest.hexdigest()
        if expected_sha256 is not None and actual != expected_sha256:
            raise FetchError(
                shown(url),
                f"SHA-256 mismatch: expected {expected_sha256}, got {actual}; nothing was imported",
            )
    except OSError as exc:
        path.unlink(missing_ok=True)
        raise FetchError(
            shown(url), f"cannot save the download in {folder} ({exc.strerror})"
        ) from None
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Download(
        url,
        path,
        _validator(response.headers.get("etag")),
        _validator(response.headers.get("last-modified")),
        actual,
        received,
    )


def _validator(value: str | None) -> str | None:
    """An ETag or Last-Modified value worth sending back: short printable ASCII only."""
    if value is None or len(value) > 200 or not value.isascii() or not value.isprintable():
        return None
    return value


def _sweep(folder: Path) -> None:
    """Remove downloads a killed revimg left in ``folder`` (untouched for a day: a download
    under way writes all the time)."""
    too_old = time.time() - STALE_PART_S
    for part in folder.glob(f"{PART_PREFIX}*.part"):
        with contextlib.suppress(OSError):
            if part.stat().st_mtime < too_old:
                part.unlink()


def _content_length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length", "")
    return int(value) if value.isdigit() else None


@contextlib.contextmanager
def _downloaded(download_: Download) -> Iterator[Download]:
    """Remove the downloaded file however the block ends."""
    try:
        yield download_
    finally:
        if download_.path is not None:
            download_.path.unlink(missing_ok=True)


def _replace(
    index: SQLiteIndex, got: Download, origin: str, *, skip_bad: bool, fetched: float
) -> BankResult:
    """Replace a URL bank's entries with the downloaded body (one transaction)."""
    assert got.path is not None
    skipped: list[tuple[int, str]] = []
    source = BankSource(got.url, origin, got.etag, got.last_modified, got.sha256, fetched, 0)
    with got.path.open(encoding="utf-8-sig", newline="\n") as stream:
        counts = index.replace_bank(
            source,
            bank.batches(stream, origin, shown(got.url), skip_bad=skip_bad, skipped=skipped),
        )
    return BankResult(
        got.url,
        "updated",
        counts["added"],
        counts["merged"],
        counts["changed"],
        counts["removed"],
        counts["entries"],
        skipped_lines=skipped,
    )


def import_url(
    location: str | Path,
    url: str,
    *,
    origin: str | None = None,
    client: httpx.Client | None = None,
    allow_http: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
    expected_sha256: str | None = None,
    skip_bad: bool = False,
    on_progress: Progress | None = None,
) -> BankResult:
    """Download the bank at ``url`` and import it into the index at ``location`` (created
    if needed). A URL imported before is fetched again and its entries replaced.

    Raises:
        FetchError: see :func:`download`; the index is left as it was.
        BankError: a malformed line (unless ``skip_bad``); the index is left as it was.
    """
    label = bank.bank_origin(origin or default_origin(url))
    check_url(url, allow_http=allow_http)
    folder = Path(location).expanduser()
    # the index is opened (or made: open_index checks and creates the folder) first, since
    # the download goes into its folder; a failed first import leaves nothing behind
    with opened_or_removed(folder) as index:
        got = download(
            url,
            folder,
            client=client,
            allow_http=allow_http,
            max_bytes=max_bytes,
            expected_sha256=expected_sha256,
            on_progress=on_progress,
        )
        with _downloaded(got):
            known = any(s.url == url for s in index.bank_sources())
            result = _replace(index, got, label, skip_bad=skip_bad, fetched=time.time())
            index.refresh()
        result.status = "updated" if known else "imported"
        return result


def update(
    location: str | Path,
    *,
    client: httpx.Client | None = None,
    allow_http: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
    on_progress: Callable[[str], Progress | None] | None = None,
    on_result: Callable[[BankResult], None] | None = None,
) -> list[BankResult]:
    """Ask every URL bank of the index at ``location`` for a new body, conditionally.

    Each bank is unchanged (304, or the same SHA-256), updated (its entries replaced in one
    transaction) or failed (left as it was; the others are still tried). ``on_progress``
    gives a progress callback per URL; ``on_result`` hears each result as it comes.

    Raises:
        IndexMissing, IndexUnusable: no usable index at ``location``.
    """
    folder = Path(location).expanduser()
    if not (folder / DB_NAME).exists():
        raise IndexMissing(str(folder))
    own = client is None
    http = _client() if client is None else client
    results: list[BankResult] = []
    try:
        with open_index(folder) as index:
            for source in index.bank_sources():
                result = _update_one(
                    index, source, folder, http, allow_http, max_bytes,
                    on_progress(source.url) if on_progress is not None else None,
                )  # fmt: skip
                results.append(result)
                if on_result is not None:
                    on_result(result)
            if any(r.status == "updated" for r in results):
                index.refresh()
    finally:
        if own:
            http.close()
    return results


def _update_one(
    index: SQLiteIndex,
    source: BankSource,
    folder: Path,
    http: httpx.Client,
    allow_http: bool,
    max_bytes: int,
    on_progress: Progress | None,
) -> BankResult:
    """Update one URL bank; a failure is a result, not an exception."""
    try:
        got = download(
            source.url,
            folder,
            client=http,
            allow_http=allow_http,
            max_bytes=max_bytes,
            etag=source.etag,
            last_modified=source.last_modified,
            on_progress=on_progress,
        )
        with _downloaded(got):
            if got.path is None:
                return BankResult(source.url, "unchanged", entries=source.entries)
            if got.sha256 == source.sha256:  # a server without validators: same body
                index.note_bank_fetched(source.url, got.etag, got.last_modified, time.time())
                return BankResult(source.url, "unchanged", entries=source.entries)
            return _replace(index, got, source.origin, skip_bad=False, fetched=time.time())
    except RevimgError as exc:
        return BankResult(source.url, "failed", reason=_reason(exc, source.url), remedy=exc.remedy)


def _reason(exc: RevimgError, url: str) -> str:
    """An error's message without the address the result line already shows."""
    if isinstance(exc, FetchError):
        return exc.reason
    text = str(exc)
    prefix = f"{shown(url)}: "
    return text.removeprefix(prefix) if text.startswith(prefix) else text
