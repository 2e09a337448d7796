"""Versions of the libraries whose output the stored hashes depend on."""

from __future__ import annotations

from functools import cache
from importlib import metadata

import revimg

_LIBRARIES = ("pillow", "imagehash", "numpy", "opencv-python-headless")


@cache
def library_versions() -> dict[str, str]:
    """``{"revimg": ..., "pillow": ...}`` for the running process."""
    out = {"revimg": revimg.__version__}
    for name in _LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out
