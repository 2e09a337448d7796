"""Check the revimg that the running Python has installed (`make package-check`).

Usage: VENV/bin/python .ci/check_installed.py

revimg must come from this Python's environment (not from a clone on the path), its
distribution (named in pyproject.toml) must have revimg's version, and every module of
revimg must import with only the runtime dependencies installed. Prints one summary line,
or the problem and exit code 1.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    import revimg

    name = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["name"]
    where = Path(revimg.__file__).resolve()
    if not where.is_relative_to(Path(sys.prefix).resolve()):
        print(f"package check failed: revimg imported from {where}, not {sys.prefix}")
        return 1
    if version(name) != revimg.__version__:
        print(f"package check failed: {name} {version(name)} holds revimg {revimg.__version__}")
        return 1
    modules = [
        m.name
        for m in pkgutil.walk_packages(revimg.__path__, "revimg.")
        if m.name != "revimg.__main__"
    ]
    for module in modules:
        importlib.import_module(module)
    print(f"{name} {version(name)}: all {len(modules)} modules of revimg import from {sys.prefix}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
