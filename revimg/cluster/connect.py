"""Reach a Dask scheduler (or start a local cluster) and check its workers can hash for us."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from revimg.errors import ClusterEngineMissing, ClusterError

if TYPE_CHECKING:
    from distributed import Client

#: The address that starts a ``LocalCluster`` of one single-threaded process per core.
LOCAL = "local"
#: Bound (seconds) on reaching the scheduler, and on waiting for its first worker.
CONNECT_TIMEOUT_S = 10.0


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ClusterEngineMissing(
            "the cluster engine is not installed (the dask[distributed] packages)"
        ) from None
    return distributed


@contextmanager
def connect(
    address: str, *, timeout: float = CONNECT_TIMEOUT_S, workers: int | None = None
) -> Iterator[Client]:
    """A Dask client of the scheduler at ``address`` (``tcp://host:port``), or of a
    ``LocalCluster`` of ``workers`` processes (default: one per core) when ``address`` is
    ``local``; everything started here is stopped on exit.

    Raises:
        ClusterEngineMissing: dask is not installed.
        ClusterError: no scheduler answers within ``timeout``, no worker joins it, or its
            workers cannot hash as this process does (no revimg, other library versions).
    """
    distributed = _distributed()
    if address == LOCAL:
        from revimg.config import default_jobs

        with _keep_malloc():
            cluster = distributed.LocalCluster(
                n_workers=workers or default_jobs(),
                threads_per_worker=1,
                processes=True,
                # a free port here, not Dask's 8787: with None, distributed 2026.8 still
                # binds 8787 and fails to start when another program holds it
                dashboard_address="127.0.0.1:0",
                silence_logs=logging.ERROR,
            )
        try:
            with distributed.Client(cluster) as client:
                yield client
        finally:
            cluster.close()
        return
    _probe(address, timeout)
    try:
        client = distributed.Client(address, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"{address}: no Dask scheduler answered ({_reason(exc)})") from None
    with client:
        try:
            client.wait_for_workers(1, timeout=timeout)
        except (OSError, TimeoutError):
            raise ClusterError(
                f"{address}: no worker joined the scheduler within {timeout:g} s"
            ) from None
        _check_workers(client, address)
        yield client


def _keep_malloc() -> Any:
    """Dask config for the workers started here: without Dask's ``MALLOC_TRIM_THRESHOLD_``.

    Dask sets it to 64 KiB in its workers to give memory back sooner; with it, hashing
    (many large, short-lived arrays) took 40% longer a photo here (1.7 s against 2.4 s for
    40 photos on one worker).
    """
    import dask

    environ = dask.config.get("distributed.nanny.pre-spawn-environ", {})
    kept = {k: v for k, v in environ.items() if k != "MALLOC_TRIM_THRESHOLD_"}
    return dask.config.set({"distributed.nanny.pre-spawn-environ": kept})


def _probe(address: str, timeout: float) -> None:
    """Fail at once on a refused connection (Dask itself retries until its timeout)."""
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme != "tcp":
        return  # tls://, ucx://...: Dask's own connection says what is wrong
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        port = None
    if not host or port is None:
        raise ClusterError(f"{address}: not a scheduler address (tcp://HOST:PORT, or local)")
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        raise ClusterError(f"{address}: no Dask scheduler answered ({_reason(exc)})") from None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, socket.gaierror):
        return "unknown host"
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _worker_versions() -> dict[str, str]:
    """Runs on each worker: the versions its hashes depend on."""
    from revimg.index.versions import library_versions

    return library_versions()


def _check_workers(client: Client, address: str) -> None:
    """Every worker must hash as this process does, or the index would mix two hashings."""
    from revimg.index.versions import library_versions

    try:
        found = client.run(_worker_versions)
    except ImportError:
        raise ClusterError(
            f"{address}: the workers cannot import revimg (install revimg-cli on every worker)"
        ) from None
    ours = library_versions()
    for worker, theirs in sorted(found.items()):
        if theirs != ours:
            differ = ", ".join(
                f"{k} {theirs.get(k)} there, {v} here"
                for k, v in ours.items()
                if theirs.get(k) != v
            )
            raise ClusterError(
                f"{address}: worker {worker} hashes with other versions ({differ}); "
                "install the same versions on every worker"
            )
