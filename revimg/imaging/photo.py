"""One photo to check, read once: its label, its bytes and its decoded image.

A check hashes the photo, reads what its metadata says, may send it to a web search and may
show it in a report. All of them take the same :class:`Photo`: the file is read on first
use and decoded on first use, once, whatever asks first (the web search runs in another
thread). ``release()`` lets the bytes and the image go once the photo's result is out.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from revimg.errors import ImageError
from revimg.imaging import decoding


@dataclass(eq=False)
class Photo:
    """A photo given as a file (``path``) or as bytes (``data``: standard input, a script).

    ``label`` is how the user named it (the argument as given): results and errors carry it.
    """

    label: str
    path: Path | None = None
    data: bytes | None = field(default=None, repr=False)
    _decoded: decoding.Decoded | None = field(default=None, init=False, repr=False)
    _reading: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _decoding: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def read(self) -> bytes:
        """The photo's bytes, read from its file on first use.

        Raises:
            ImageError: the file cannot be read (or standard input gave nothing).
        """
        with self._reading:
            if self.data is None:
                if self.path is None:
                    raise ImageError(self.label, "no image data")
                self.data = decoding.read_bytes(self.path, self.label)
            elif not self.data and self.path is None:
                raise ImageError(self.label, "no image data on standard input")
            return self.data

    def decoded(self) -> decoding.Decoded:
        """The upright RGB image, decoded from :meth:`read`'s bytes on first use.

        Raises:
            ImageError: the bytes are not an image revimg can decode.
        """
        data = self.read()
        with self._decoding:
            if self._decoded is None:
                self._decoded = decoding.decode(data, self.label)
            return self._decoded

    def release(self) -> None:
        """Forget the decoded image, and the bytes if they can be read again from the file."""
        with self._reading, self._decoding:
            self._decoded = None
            if self.path is not None:
                self.data = None

    def __getstate__(self) -> dict[str, Any]:
        """Sent to another process: the label, the path and any bytes read (not the image)."""
        return {"label": self.label, "path": self.path, "data": self.data}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.label, self.path, self.data = state["label"], state["path"], state["data"]
        self._decoded = None
        self._reading, self._decoding = threading.Lock(), threading.Lock()
