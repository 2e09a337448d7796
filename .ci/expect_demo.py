"""Check that a revimg command finds the example suspects (`make demo`, `make package-check`).

Usage: python .ci/expect_demo.py REVIMG INDEX

Runs ``REVIMG check`` on every photo in examples/suspects against the index folder INDEX
(offline, JSON lines, from a temporary folder, so that an installed revimg cannot import
this clone's sources by accident). Prints nothing and exits 0 when the exit code is 1 (a
likely match) and each suspect's verdict and best match are the ones
examples/suspects/README.md gives; otherwise one line per difference, exit code 1.
Standard library only: it runs with any Python 3.11.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUSPECTS = ROOT / "examples" / "suspects"
#: suspect -> the stock photo it copies, None: it must match nothing
EXPECTED: dict[str, str | None] = {
    "resized.jpg": "kphotoalbum__bar55.jpg",
    "recompressed.webp": "tuxpaint__mudstone.jpg",
    "mirrored.jpg": "kphotoalbum__cold_water.jpg",
    "profile-square.jpg": "kphotoalbum__jesper.jpg",
    "unrelated.jpg": None,
}


def problems(revimg: str, index: Path) -> list[str]:
    """What differs from EXPECTED when ``revimg`` checks the suspects against ``index``."""
    found = shutil.which(revimg)
    if found is None:
        return [f"{revimg}: no such command"]
    command = [
        str(Path(found).resolve()),
        "check",
        *(str(SUSPECTS / name) for name in EXPECTED),
        "--index",
        str(index.resolve()),
        "--no-online",
        "--format",
        "jsonl",
    ]
    with tempfile.TemporaryDirectory() as away:
        done = subprocess.run(
            command, cwd=away, capture_output=True, text=True, timeout=300, check=False
        )
    if done.returncode != 1:
        why = done.stderr.strip().splitlines()[-1:] or ["no message"]
        return [f"revimg check exited with {done.returncode}, expected 1 (a match): {why[0]}"]
    seen: dict[str, dict] = {}
    for line in done.stdout.splitlines():
        result = json.loads(line)
        seen[Path(result["query"]).name] = result
    out = []
    for name, stock in EXPECTED.items():
        result = seen.get(name)
        if result is None:
            out.append(f"{name}: no result")
            continue
        matches = result.get("matches") or []
        best = Path(matches[0]["path"]).name if matches else None
        if stock is None and (result["verdict"] != "no_match" or matches):
            out.append(f"{name}: expected no match, got {result['verdict']} ({best})")
        elif stock is not None and (result["verdict"] != "match" or best != stock):
            out.append(f"{name}: expected a match with {stock}, got {result['verdict']} ({best})")
    return out


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    found = problems(sys.argv[1], Path(sys.argv[2]))
    for line in found:
        print(f"demo check failed: {line}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
