"""Run chunks of work on a cluster, a bounded number at a time, results in input order.

Dask retries a task whose worker died (``distributed.scheduler.allowed-failures``) and
a task that raised (``retries``); a chunk that still fails (``KilledWorker``: it killed
every worker it met) is run again item by item, so that only the item that does it fails.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import CancelledError
from typing import TYPE_CHECKING, Any, TypeVar

from revimg.errors import ClusterError

if TYPE_CHECKING:
    from distributed import Client, Future

I = TypeVar("I")  # noqa: E741 - an item of work
R = TypeVar("R")  # its result

#: Chunks in flight per worker thread: every worker stays busy while the client writes.
IN_FLIGHT_PER_THREAD = 3
#: Retries of a task that raised (per-item errors are caught inside the tasks: this is for
#: the rest, such as a worker's network file system going away for a moment).
RETRIES = 2


def in_order(
    client: Client,
    items: Iterable[I],
    chunk: int,
    work: Callable[..., list[R]],
    args: tuple[Any, ...],
    crashed: Callable[[I], R],
) -> Iterator[R]:
    """``work(chunk_of_items, *args)`` on the workers; one result per item, in order.

    ``crashed(item)`` stands for the result of an item that killed every worker it met.
    """
    threads = max(1, sum(client.nthreads().values()))
    window = max(2, IN_FLIGHT_PER_THREAD * threads)
    pending: deque[tuple[list[I], Future]] = deque()

    def submit(part: list[I]) -> Future:
        return client.submit(work, part, *args, retries=RETRIES, pure=False)

    def finish(part: list[I], future: Future) -> list[R]:
        from distributed import KilledWorker

        try:
            return _result(client, future)
        except KilledWorker:
            pass
        found: list[R] = []
        for item in part:  # one by one: only the item that kills its workers fails
            try:
                found.extend(_result(client, submit([item])))
            except KilledWorker:
                found.append(crashed(item))
        return found

    try:
        part: list[I] = []
        for item in items:
            part.append(item)
            if len(part) == chunk:
                pending.append((part, submit(part)))
                part = []
                while len(pending) >= window:
                    yield from finish(*pending.popleft())
        if part:
            pending.append((part, submit(part)))
        while pending:
            yield from finish(*pending.popleft())
    finally:
        # on any exit (a write error, an interrupt): queued chunks are dropped, not run
        for _, future in pending:
            future.cancel()


def _result(client: Client, future: Future) -> list[Any]:
    """A chunk's results; the cluster going away is an error naming the scheduler."""
    try:
        found: list[Any] = future.result()
    except (OSError, TimeoutError, CancelledError) as exc:
        reason = str(exc).strip() or type(exc).__name__
        raise ClusterError(f"{client.scheduler.address}: lost the cluster ({reason})") from None
    return found
