"""Check the sdist and wheel that `make package-check` built.

Usage: python .ci/check_dist.py DIST

DIST must hold one wheel and one sdist of the distribution named in pyproject.toml. The
wheel must hold every file of revimg/ that git tracks (py.typed included), nothing outside
revimg/ but its .dist-info, and the ``revimg`` command; the sdist must hold every tracked
file a build and the tests need. Prints one summary line, or one line per problem and
exit code 1. Standard library only.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: what the sdist must carry: the build's inputs, and the tests with the data they read
SDIST_NEEDS = (
    "pyproject.toml",
    "README.md",
    "LICENSE",
    "revimg",
    "tests",
    "examples",
    "benchmarks",
)


def tracked(*paths: str) -> set[str]:
    """The files git tracks under ``paths`` (relative, POSIX)."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--", *paths], cwd=ROOT, capture_output=True, check=True
    )
    return {name for name in out.stdout.decode().split("\0") if name}


def normalized(name: str) -> str:
    """A distribution name as PyPI compares it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def check_wheel(wheel: Path, name: str) -> list[str]:
    """Problems with ``wheel``; ``name`` is the distribution name."""
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = next((n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA")), "")
        metadata = archive.read(f"{info}/METADATA").decode() if info else ""
        scripts = archive.read(f"{info}/entry_points.txt").decode() if info else ""
    out = [f"wheel lacks {path}" for path in sorted(tracked("revimg") - names)]
    out += [
        f"wheel holds {n}, outside revimg/"
        for n in sorted(names)
        if n.split("/")[0] not in ("revimg", info)
    ]
    if f"\nName: {name}\n" not in metadata:
        out.append(f"wheel METADATA does not say Name: {name}")
    if "revimg = revimg.cli:main" not in scripts:
        out.append("wheel has no `revimg` command (entry_points.txt)")
    return out


def check_sdist(sdist: Path) -> tuple[list[str], int]:
    """Problems with ``sdist``, and how many files it holds."""
    with tarfile.open(sdist) as archive:
        names = {
            m.name.split("/", 1)[1] for m in archive.getmembers() if m.isfile() and "/" in m.name
        }
    return [f"sdist lacks {path}" for path in sorted(tracked(*SDIST_NEEDS) - names)], len(names)


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    dist = Path(sys.argv[1])
    name = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["name"]
    wheels, sdists = sorted(dist.glob("*.whl")), sorted(dist.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        print(f"{dist}: expected one wheel and one sdist, found {len(wheels)} and {len(sdists)}")
        return 1
    wheel, sdist = wheels[0], sdists[0]
    found = []
    if not wheel.name.startswith(f"{normalized(name).replace('-', '_')}-"):
        found.append(f"{wheel.name}: not named after the distribution {name}")
    found += check_wheel(wheel, name)
    sdist_problems, count = check_sdist(sdist)
    found += sdist_problems
    for line in found:
        print(f"package check failed: {line}", file=sys.stderr)
    if not found:
        print(f"{wheel.name} (py.typed, command revimg) and {sdist.name} ({count} files): complete")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
