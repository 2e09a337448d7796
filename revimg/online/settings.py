"""Online provider settings: API keys, base URLs, timeouts, from the environment and a TOML file.

Precedence: built-in defaults < the config file < environment variables (< CLI flags, which
the caller applies). The config file is ``$REVIMG_CONFIG`` if set, else
``$REVIMG_HOME/config.toml`` if ``REVIMG_HOME`` is set, else ``config.toml`` in the
per-user config folder (platformdirs, e.g. ``~/.config/revimg/config.toml`` on Linux)::

    [online]
    providers = ["tineye"]      # used when no provider is named; "all" = every configured one
    timeout = 20                # seconds per HTTP request
    deadline = 60               # seconds for the whole online search
    tries = 3                   # attempts per request (retries on timeouts, 429, 5xx)
    cache_ttl_days = 7          # 0 disables the cache

    [providers.tineye]
    key = "..."
    url = "https://api.tineye.com"

Keys from the environment: ``REVIMG_TINEYE_KEY`` (or ``TINEYE_API_KEY``),
``REVIMG_VISION_KEY``, ``REVIMG_SERPAPI_KEY`` (or ``SERPAPI_API_KEY``, ``SERPAPI_KEY``; one
key serves the three SerpApi providers, whose file tables may also say ``[providers.serpapi]``).
Base URLs: ``REVIMG_TINEYE_URL``, ``REVIMG_VISION_URL``, ``REVIMG_SERPAPI_URL``.
``GOOGLE_API_KEY`` is deliberately not read: other Google tools use it, and picking it up
would quietly send photos to Google Vision under ``--online all``.

Keys are held in :class:`Secret`, whose ``repr`` and ``str`` are ``***``.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from revimg.errors import UsageError

#: Defaults for ``[online]``.
DEFAULT_TIMEOUT = 20.0
DEFAULT_DEADLINE = 60.0
DEFAULT_TRIES = 3
DEFAULT_CACHE_TTL_DAYS = 7.0

#: File tables that configure several providers at once.
_SHARED_TABLES = {"serpapi": ("serpapi-lens", "serpapi-bing", "serpapi-yandex")}
_ONLINE_KEYS = {"providers", "timeout", "deadline", "tries", "cache_ttl_days"}
_PROVIDER_KEYS = {"key", "url"}


class Secret:
    """A string that never shows itself in ``repr``, ``str`` or f-strings."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret value, for the one place that sends it."""
        return self._value

    def __repr__(self) -> str:
        return "***"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return "***"

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> Any:
        raise TypeError("a Secret cannot be pickled")


@dataclass(frozen=True)
class ProviderConfig:
    """One provider's key and base URL, and where each came from (never the key itself)."""

    name: str
    key: Secret | None
    key_source: str | None
    base_url: str
    url_source: str

    @property
    def configured(self) -> bool:
        """True when a key is set."""
        return bool(self.key)


@dataclass(frozen=True)
class OnlineSettings:
    """Everything an online search needs besides the photo."""

    providers: tuple[str, ...] = ()
    timeout: float = DEFAULT_TIMEOUT
    deadline: float = DEFAULT_DEADLINE
    tries: int = DEFAULT_TRIES
    cache_ttl_days: float = DEFAULT_CACHE_TTL_DAYS
    configs: Mapping[str, ProviderConfig] = field(default_factory=dict)
    config_file: Path | None = None

    def config(self, name: str) -> ProviderConfig:
        """The configuration of provider ``name`` (UsageError when unknown)."""
        try:
            return self.configs[name]
        except KeyError:
            known = ", ".join(sorted(self.configs))
            raise UsageError(f"unknown online provider {name!r} (known: {known})") from None

    def configured(self) -> list[str]:
        """Names of the providers that have a key, in registry order."""
        return [name for name, cfg in self.configs.items() if cfg.configured]


@dataclass(frozen=True)
class ProviderInfo:
    """What ``revimg providers`` shows for one provider."""

    name: str
    configured: bool
    key_names: tuple[str, ...]
    key_source: str | None
    sends: str
    host: str
    supports_upload: bool
    supports_url: bool
    retention: str
    experimental: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with stable field names."""
        return {
            "name": self.name,
            "configured": self.configured,
            "key_names": list(self.key_names),
            "key_source": self.key_source,
            "sends": self.sends,
            "host": self.host,
            "supports_upload": self.supports_upload,
            "supports_url": self.supports_url,
            "retention": self.retention,
            "experimental": self.experimental,
        }


def config_file_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where the config file is (or would be), by the precedence in the module docstring."""
    from revimg.config import config_file

    return config_file(environ)


def read_config_file(path: Path) -> dict[str, Any]:
    """The parsed TOML file, or ``{}`` when it does not exist (UsageError when malformed)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the config file ({exc.strerror})") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise UsageError(f"{path}: the config file is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from None


def load_settings(
    environ: Mapping[str, str] | None = None, config_path: Path | None = None
) -> OnlineSettings:
    """Read the config file and the environment into :class:`OnlineSettings`.

    Raises:
        UsageError: a malformed config file or an invalid value (named with the file).
    """
    from revimg.online.providers import registry

    env = os.environ if environ is None else environ
    path = config_path or config_file_path(env)
    data = read_config_file(path)
    classes = registry()

    unknown_top = set(data) - {"online", "providers"}
    if unknown_top:
        raise UsageError(
            f"{path}: unknown table [{sorted(unknown_top)[0]}] (known: online, providers)"
        )
    online = _table(data, "online", path)
    unknown = set(online) - _ONLINE_KEYS
    if unknown:
        raise UsageError(
            f"{path}: unknown setting {sorted(unknown)[0]!r} in [online] "
            f"(known: {', '.join(sorted(_ONLINE_KEYS))})"
        )
    file_providers = _table(data, "providers", path)

    tables: dict[str, dict[str, Any]] = {}
    for table_name, table in file_providers.items():
        targets = _SHARED_TABLES.get(table_name, (table_name,))
        if not all(t in classes for t in targets):
            known = ", ".join(sorted([*classes, *_SHARED_TABLES]))
            raise UsageError(f"{path}: unknown provider [providers.{table_name}] (known: {known})")
        if not isinstance(table, dict):
            raise UsageError(f"{path}: [providers.{table_name}] must be a table")
        bad = set(table) - _PROVIDER_KEYS
        if bad:
            raise UsageError(
                f"{path}: unknown setting {sorted(bad)[0]!r} in [providers.{table_name}] "
                "(known: key, url)"
            )
        for target in targets:
            # A provider's own table beats the shared one, whatever their order in the file.
            merged = tables.setdefault(target, {})
            for k, v in table.items():
                if table_name == target or k not in merged:
                    merged[k] = v

    configs: dict[str, ProviderConfig] = {}
    for name, cls in classes.items():
        configs[name] = _provider_config(name, cls, tables.get(name, {}), env, path)

    selected = online.get("providers", [])
    if not isinstance(selected, list) or not all(isinstance(s, str) for s in selected):
        raise UsageError(f"{path}: [online] providers must be a list of provider names")
    for s in selected:
        if s != "all" and s not in classes:
            known = ", ".join(["all", *classes])
            raise UsageError(
                f"{path}: unknown provider {s!r} in [online] providers (known: {known})"
            )

    return OnlineSettings(
        providers=tuple(selected),
        timeout=_number(online, "timeout", DEFAULT_TIMEOUT, path, positive=True, most=3600),
        deadline=_number(online, "deadline", DEFAULT_DEADLINE, path, positive=True, most=86400),
        tries=int(
            _number(online, "tries", DEFAULT_TRIES, path, positive=True, integer=True, most=10)
        ),
        cache_ttl_days=_number(online, "cache_ttl_days", DEFAULT_CACHE_TTL_DAYS, path, most=3650),
        configs=configs,
        config_file=path,
    )


def describe(settings: OnlineSettings) -> list[ProviderInfo]:
    """One :class:`ProviderInfo` per registered provider, in registry order."""
    from revimg.online.providers import registry

    classes = registry()
    infos = []
    for name, cfg in settings.configs.items():
        cls = classes[name]
        infos.append(
            ProviderInfo(
                name=name,
                configured=cfg.configured,
                key_names=tuple(cls.key_names),
                key_source=cfg.key_source,
                sends=cls.sends,
                host=urlsplit(cfg.base_url).netloc,
                supports_upload=cls.supports_upload,
                supports_url=cls.supports_url,
                retention=cls.retention,
                experimental=cls.experimental,
            )
        )
    return infos


def _provider_config(
    name: str, cls: Any, table: dict[str, Any], env: Mapping[str, str], path: Path
) -> ProviderConfig:
    key: Secret | None = None
    key_source: str | None = None
    for var in cls.key_names:
        value = env.get(var, "").strip()
        if value:
            key, key_source = Secret(_valid_key(value, var)), var
            break
    if key is None and "key" in table:
        value = table["key"]
        where = f"{path}: [providers.{name}] key"
        if not isinstance(value, str):
            raise UsageError(f"{where} must be a string")
        if value.strip():
            key, key_source = Secret(_valid_key(value.strip(), where)), str(path)

    base_url, url_source = cls.default_url, "default"
    if "url" in table:
        base_url, url_source = (
            _valid_url(table["url"], f"{path}: [providers.{name}] url"),
            str(path),
        )
    env_url = env.get(cls.url_env, "").strip() if cls.url_env else ""
    if env_url:
        base_url, url_source = _valid_url(env_url, cls.url_env), cls.url_env
    return ProviderConfig(name, key, key_source, base_url.rstrip("/"), url_source)


def _valid_key(value: str, where: str) -> str:
    """An API key as services issue them: printable ASCII, no spaces (the key itself is never
    shown: a newline or NUL in it would otherwise end up in an HTTP error message)."""
    if not all(33 <= ord(c) <= 126 for c in value) or len(value) > 4096:
        raise UsageError(
            f"{where}: the API key has characters an API key cannot have (spaces, control "
            "characters or non-ASCII letters): copy it again from the service's page"
        )
    return value


def _valid_url(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise UsageError(f"{where} must be a string")
    try:
        parts = urlsplit(value.strip())
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:  # "http://[::1": not a URL at all
        raise UsageError(
            f"{where} must be an http(s) URL such as https://api.example.com"
        ) from None
    if parts.scheme not in ("http", "https") or not host:
        raise UsageError(f"{where} must be an http(s) URL such as https://api.example.com")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise UsageError(f"{where} must be a plain base URL (no credentials, query or fragment)")
    return value.strip()


def _table(data: dict[str, Any], name: str, path: Path) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise UsageError(f"{path}: [{name}] must be a table")
    return value


def _number(
    table: dict[str, Any],
    name: str,
    default: float,
    path: Path,
    *,
    positive: bool = False,
    integer: bool = False,
    most: float,
) -> float:
    value = table.get(name, default)
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    ok = ok and math.isfinite(value) and value <= most
    if ok and integer:
        ok = float(value).is_integer()
    if ok:
        ok = value > 0 if positive else value >= 0
    if not ok:
        kind = "a whole number" if integer else "a number"
        sign = "above 0" if positive else "of 0 or more"
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:40] + "..."
        raise UsageError(
            f"{path}: [online] {name} must be {kind} {sign}, at most {most:g}, got {shown}"
        )
    return float(value)
