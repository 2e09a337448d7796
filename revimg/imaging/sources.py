"""Turn command-line arguments into photos (files, or ``-`` for stdin) and walk folders."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from revimg.imaging.decoding import KNOWN_EXTENSIONS, image_extensions
from revimg.imaging.photo import Photo

STDIN = "-"


def from_args(args: list[str], read_stdin: Callable[[], bytes]) -> list[Photo]:
    """One photo per argument; ``-`` reads one image from ``read_stdin`` (once)."""
    sources = []
    stdin_used = False
    for arg in args:
        if arg == STDIN:
            data = b"" if stdin_used else read_stdin()
            stdin_used = True
            sources.append(Photo(STDIN, data=data))
        else:
            sources.append(Photo(arg, path=Path(arg)))
    return sources


@dataclass(frozen=True)
class WalkProblem:
    """A path the folder walk could not enter."""

    path: str
    reason: str


def walk_images(
    folder: Path, on_problem: Callable[[WalkProblem], None] | None = None
) -> Iterator[Path]:
    """Image files below ``folder``, sorted, not following symlinked folders (no loops).

    HEIC files come too when their plugin is missing, so that a build reports them as
    unreadable (naming the extra to install) instead of leaving them out silently.
    """
    extensions = image_extensions() | KNOWN_EXTENSIONS

    def onerror(exc: OSError) -> None:
        if on_problem is not None:
            on_problem(WalkProblem(str(exc.filename), exc.strerror or str(exc)))

    for root, dirs, files in os.walk(folder, onerror=onerror, followlinks=False):
        dirs.sort()
        for name in sorted(files):
            if os.path.splitext(name)[1].lower() in extensions:
                yield Path(root) / name
