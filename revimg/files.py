"""Writing files: every file revimg writes replaces the old one atomically.

:func:`replacing` is the one way revimg's own files (search files, the features file,
the online cache) are written: into a temporary file beside the target, made durable,
then renamed over it, so a reader (or a crash) never sees half a file.

:func:`output_text` writes an output file the user named: atomically when it is a file, in
place when not.

``--report FILE`` and ``index export -o FILE`` replace a regular file atomically (a
temporary file beside it, then a rename), so a reader never sees half a file. A path that
is not a regular file is never replaced by one (as root, renaming onto ``/dev/null`` would
replace the system's ``/dev/null``): a character device (``/dev/null``, a terminal) and a
FIFO with a reader are written in place; anything else (a directory, a socket, a FIFO that
nobody reads, a block device) is refused with a one-line reason.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from revimg.errors import RevimgError


class OutputError(RevimgError):
    """An output file cannot be written where the user asked."""


#: Suffix of the temporary files of :func:`replacing` (a crash can leave one behind).
TMP_SUFFIX = ".revimg-tmp"


@contextlib.contextmanager
def replacing(path: Path, *, durable: bool = True) -> Iterator[Path]:
    """A temporary path beside ``path`` to write in any way (open it, map it); when the
    block ends without an error it is flushed to disk (``durable``) and renamed over
    ``path``. It is removed however the block ends; OSError passes through."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}{TMP_SUFFIX}")
    try:
        yield tmp
        if durable:
            with open(tmp, "rb+") as written:
                os.fsync(written.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_sections(path: Path, header: bytes, sections: list[tuple[int, Any]], end: int) -> None:
    """Write a header and sections (bytes, or numpy arrays written without a copy) at their
    offsets, ``end`` bytes in all, replacing ``path`` atomically (:func:`replacing`)."""
    import numpy as np

    with replacing(path) as tmp, open(tmp, "wb") as fh:
        fh.write(header)
        for at, data in sections:
            fh.seek(at)
            if isinstance(data, np.ndarray):
                if data.size == 0:
                    continue
                data = memoryview(np.ascontiguousarray(data)).cast("B")
            fh.write(data)
        fh.truncate(end)


@contextlib.contextmanager
def output_text(path: str | Path, *, private: bool = False) -> Iterator[TextIO]:
    """A UTF-8 text stream to ``path`` (see the module docstring); ``private``: readable by
    the owner only. Nothing is left behind if the body raises."""
    target = Path(path)
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise OutputError(f"{target}: cannot write ({exc.strerror})") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        with _in_place(target, st.st_mode) as out:
            yield out
        return
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise OutputError(f"{target}: cannot write ({exc.strerror})") from None
    try:
        if not private:
            os.fchmod(fd, 0o644 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def _in_place(target: Path, mode: int) -> Iterator[TextIO]:
    if stat.S_ISCHR(mode):
        flags = os.O_WRONLY
    elif stat.S_ISFIFO(mode):
        flags = os.O_WRONLY | os.O_NONBLOCK  # never wait for a reader that may not come
    else:
        kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
        raise OutputError(f"{target}: is {kind}; give a file name")
    try:
        fd = os.open(target, flags)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise OutputError(f"{target}: a named pipe that nothing reads") from None
        raise OutputError(f"{target}: cannot write ({exc.strerror})") from None
    os.set_blocking(fd, True)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
        yield out


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
