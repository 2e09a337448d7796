"""revimg: is this profile photo really theirs? Private reverse image search.

The library a script uses (the ``revimg`` command is a thin layer over it)::

    import revimg

    with revimg.open_index("~/revimg-index") as index:
        for result in revimg.check(index, ["profile.jpg"]):
            print(result.verdict, [m.entry.name for m in result.matches])

Everything listed in ``__all__`` is the public surface: it is imported on first use (a
``revimg --version`` loads none of it), and ``tests/test_exported_members.py`` fails when it
changes by accident.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_EXPORTS = {
    "open_index": "revimg.index.store",
    "check": "revimg.matching.checker",
    "check_paths": "revimg.matching.checker",
    "CheckResult": "revimg.matching.result",
    "Match": "revimg.matching.result",
    "NotRun": "revimg.matching.result",
    "PRESETS": "revimg.matching.find",
    "RevimgError": "revimg.errors",
    "ImageError": "revimg.errors",
    "IndexMissing": "revimg.errors",
    "IndexUnusable": "revimg.errors",
    "BankError": "revimg.errors",
    "FetchError": "revimg.errors",
    "UsageError": "revimg.errors",
    "ProviderError": "revimg.errors",
}

__all__ = [
    "__version__",
    "open_index",
    "check",
    "check_paths",
    "CheckResult",
    "Match",
    "NotRun",
    "PRESETS",
    "RevimgError",
    "ImageError",
    "IndexMissing",
    "IndexUnusable",
    "BankError",
    "FetchError",
    "UsageError",
    "ProviderError",
]

if TYPE_CHECKING:
    from revimg.errors import (
        BankError,
        FetchError,
        ImageError,
        IndexMissing,
        IndexUnusable,
        ProviderError,
        RevimgError,
        UsageError,
    )
    from revimg.index.store import open_index
    from revimg.matching.checker import check, check_paths
    from revimg.matching.find import PRESETS
    from revimg.matching.result import CheckResult, Match, NotRun


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'revimg' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
