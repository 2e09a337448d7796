"""Errors raised by the revimg core; every message is ready to show a user.

Exception tree::

    RevimgError
    ├── ImageError            an image could not be read or hashed
    ├── IndexMissing          no index at the given location
    ├── IndexUnusable         the index is unusable (corrupt, locked, newer schema, read-only)
    ├── BankError             a hash bank or metadata file is malformed
    ├── FetchError            a hash bank could not be downloaded (host and reason)
    ├── UsageError            arguments that cannot work together
    ├── ProviderError         an online search provider failed (reported per provider)
    └── ClusterError          a Dask cluster cannot be reached or used (revimg.cluster)
        └── ClusterEngineMissing  the optional Dask engine is not installed
"""

from __future__ import annotations


class RevimgError(Exception):
    """Base class: a problem the user can act on (exit code 2 at the CLI).

    The message states the fact. ``remedy``, when set, names the setting that would change
    the outcome, as the keyword of the core function that takes it (``skip_bad``,
    ``origin``, ``allow_http``, ``max_bytes``) or a next step (``rebuild``, ``reshard``,
    ``links``); the command line words it with its own options.
    """

    def __init__(self, *args: object, remedy: str | None = None) -> None:
        super().__init__(*args)
        self.remedy = remedy


class ImageError(RevimgError):
    """An image could not be opened, decoded or hashed."""

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"{source}: {reason}")


class IndexMissing(RevimgError):
    """No index exists at the given location."""

    def __init__(self, location: str) -> None:
        self.location = location
        super().__init__(f"no index at {location}")


class IndexUnusable(RevimgError):
    """The index exists but cannot be used."""


class BankError(RevimgError):
    """A hash bank or metadata file is malformed."""


class FetchError(RevimgError):
    """A hash bank could not be downloaded; the message names the address and the reason."""

    def __init__(self, where: str, reason: str, *, remedy: str | None = None) -> None:
        self.where = where
        self.reason = reason
        super().__init__(f"{where}: {reason}", remedy=remedy)


class UsageError(RevimgError):
    """Arguments that cannot work together."""


class ProviderError(RevimgError):
    """An online search provider failed; the message names the provider and the reason."""

    def __init__(
        self, provider: str, reason: str, *, kind: str = "failed", status: int | None = None
    ) -> None:
        self.provider = provider
        self.reason = reason
        #: One of: config, prepare (nothing sent yet), auth, quota, rate_limited, server,
        #: timeout, deadline, network, too_large, malformed, refused, failed.
        self.kind = kind
        self.status = status
        super().__init__(f"{provider}: {reason}")


class ClusterError(RevimgError):
    """A Dask cluster cannot be reached or used; the message names the address and why."""


class ClusterEngineMissing(ClusterError):
    """The cluster engine (the optional ``dask[distributed]`` packages) is not installed."""
