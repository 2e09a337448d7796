"""revimg: is this profile photo really theirs? Private reverse image search.

The library a script uses (the ``revimg`` command is a thin layer over it)::

    import revimg

    with revimg.open_index("~/revimg-index") as index:
        for result in revimg.check(index, ["profile.jpg"]):
            print(result.verdict, [m.entry.name for m in result.matches])

Everything listed in ``__all__`` is the public surface: it is imported on first use (a
``revimg --version`` loads none of it), and ``tests/test_exported_members.py`` fails when it
changes by accident.

The parts, and the one way their arrows run (``tests/test_layers.py`` holds them)::

    cli.py       the command line: parses, calls the parts, renders (only it uses typer, rich)
    matching/    a check: the pipeline, candidates, verification, CheckResult
    imaging/     a photo as values: read once, decoded, hashed (PDQ, pHash, features)
    index/       the store, hash banks, builds, search files, shard sets
    online/      web reverse-search providers, HTTP, cache (asked only when the user asks)
    provenance/  what a photo's own metadata says (EXIF, IPTC, XMP, C2PA)
    report/      renderers of a CheckResult: sentences, JSON/CSV, HTML
    cluster/     the same build and check on a Dask cluster (optional extra)
    errors, config, files (atomic writes), text (a sanitiser per output), holdpoints

    cli -> matching, index, report, cluster;  cluster -> matching, index, imaging
    matching -> imaging, index, online, provenance;  index -> imaging
    online -> imaging (an upload is prepared);  report -> the result types
    imaging, provenance -> the shared modules only
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
