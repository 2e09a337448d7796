"""Hash a build's photos on a Dask cluster; ``revimg.index.builder.run`` writes them, in order.

The photos go out in chunks and their results come back in task order
(``revimg.cluster.ordered``), so the client writes the same batches as a build on one
machine. Faults are Dask's to handle: see ``ordered``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from revimg import holdpoints
from revimg.cluster.ordered import in_order
from revimg.errors import ImageError
from revimg.imaging import decoding
from revimg.index.builder import Hashed, Hasher, Task, hash_task

if TYPE_CHECKING:
    from distributed import Client

#: Photos per cluster task: fewer round trips to the scheduler, still a fine-grained spread.
CHUNK = 4
#: What a photo gets when it killed every worker that tried it.
CRASHED = "the decoder crashed on this file (every worker that read it died)"

Item = tuple[Task, bytes | None, str | None]


def hash_chunk(items: list[Item]) -> list[Hashed]:
    """Runs on a worker: hash each photo (from its bytes if sent, else from its path).

    Hold point ``cluster-hash`` (``revimg.holdpoints``): each chunk a worker starts.
    """
    holdpoints.reached("cluster-hash")
    return [(task, None, error) if error else hash_task(task, data) for task, data, error in items]


def hasher(client: Client, *, send_bytes: bool = False, chunk: int = CHUNK) -> Hasher:
    """A hasher for ``revimg.index.builder.run`` that hashes on ``client``'s workers.

    With ``send_bytes``, this process reads each photo and sends its bytes; otherwise the
    workers read them from the same paths (storage they all see).
    """

    def run(tasks: list[Task]) -> Iterator[Hashed]:
        items = (_item(task, send_bytes) for task in tasks)
        return in_order(client, items, chunk, hash_chunk, (), _crashed)

    return run


def _item(task: Task, send_bytes: bool) -> Item:
    if not send_bytes:
        return task, None, None
    try:
        return task, decoding.read_bytes(Path(task.path), task.path), None
    except ImageError as exc:
        return task, None, exc.reason


def _crashed(item: Item) -> Hashed:
    return item[0], None, CRASHED
