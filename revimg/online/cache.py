"""On-disk cache of normalised online results, so re-checking a photo costs no paid search.

One JSON file per (provider, base URL, what was sent) under ``$REVIMG_HOME/cache/online/``
(:func:`revimg.config.home`), named by a SHA-256 so that neither the photo's hash nor its URL
is readable from the file name. A file holds the normalised matches (``WebMatch.to_dict``)
and when they were fetched; never a raw response and never a key. Files are written
atomically (temporary file, then rename); an unreadable, corrupt or expired file is a miss.
Errors are never cached. Caching is best-effort: a folder that cannot be written is ignored.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from revimg.files import replacing
from revimg.online.providers import WebMatch

FORMAT = 1
SECONDS_PER_DAY = 86_400.0


def default_folder() -> Path:
    """``$REVIMG_HOME/cache/online`` (or the per-user data folder's)."""
    from revimg.config import home

    return home() / "cache" / "online"


def cache_key(provider: str, base_url: str, sent: Literal["bytes", "url"], digest: str) -> str:
    """A file-name-safe key for one search (``digest``: the photo's SHA-256 or the URL's)."""
    text = f"{FORMAT}\n{provider}\n{base_url.rstrip('/')}\n{sent}\n{digest}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def url_digest(image_url: str) -> str:
    """The SHA-256 hex digest of an image URL."""
    return hashlib.sha256(image_url.encode("utf-8")).hexdigest()


class ResultCache:
    """Matches per provider and key, valid for ``ttl_days`` (0 or less: never valid)."""

    def __init__(
        self,
        folder: Path | None = None,
        *,
        ttl_days: float = 7.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.folder = folder or default_folder()
        self.ttl = ttl_days * SECONDS_PER_DAY
        self.clock = clock

    def _path(self, provider: str, key: str) -> Path:
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in provider)
        return self.folder / safe / f"{key}.json"

    def get(self, provider: str, key: str) -> list[WebMatch] | None:
        """The cached matches, or None on a miss (absent, expired, corrupt, unreadable)."""
        if self.ttl <= 0:
            return None
        try:
            data = json.loads(self._path(provider, key).read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("format") != FORMAT:
                return None
            if data.get("provider") != provider:
                return None
            stored = data["stored_at"]
            if not isinstance(stored, int | float) or isinstance(stored, bool):
                return None
            age = self.clock() - stored
            if age < 0 or age > self.ttl:
                return None
            return [WebMatch.from_dict(m) for m in data["matches"]]
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, provider: str, key: str, matches: list[WebMatch]) -> bool:
        """Store matches atomically; False when the cache folder cannot be written."""
        if self.ttl <= 0:
            return False
        path = self._path(provider, key)
        record = {
            "format": FORMAT,
            "provider": provider,
            "stored_at": self.clock(),
            "matches": [m.to_dict() for m in matches],
        }
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with replacing(path, durable=False) as tmp, open(tmp, "w", encoding="utf-8") as out:
                json.dump(record, out, ensure_ascii=False)
        except OSError:
            return False
        return True

    def clear(self) -> int:
        """Delete every cached file; returns how many were removed."""
        removed = 0
        if not self.folder.is_dir():
            return 0
        for path in self.folder.glob("*/*.json"):
            try:
                path.unlink()
                removed += 1
            except OSError:
                pass
        return removed
