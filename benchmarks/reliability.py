"""Reliability figures: hostile inputs, fuzzing and SIGKILL trials, at full size.

Runs the reliability tests (``tests/test_hostile_inputs.py``, ``tests/test_fuzz.py``,
``tests/test_crash_safety.py``) with their opt-in sizes, collects the figures they record
and prints them for the README's "Reliability" section:

- every hostile input through its own ``revimg hash`` process (CI runs a sample),
- ``--fuzz`` fresh (not derandomized) cases per fuzzing property (CI: 200 fixed ones),
- ``--kill-trials`` SIGKILLs of ``revimg index build`` on ``--kill-photos`` photos
  (CI: 20 on 200), with every other crash-safety test on that folder too.

    python benchmarks/reliability.py                  # 5000 fuzz cases, 30 kills on 3000 photos
    python benchmarks/reliability.py --quick          # the CI sizes, about 1.5 minutes
    python benchmarks/reliability.py --json reliability.json

It exits with pytest's code: 0 when every test passed (known bugs are strict xfails).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TESTS = ("tests/test_hostile_inputs.py", "tests/test_fuzz.py", "tests/test_crash_safety.py")


def run(fuzz: int, trials: int, photos: int, quick: bool) -> tuple[int, list[dict[str, Any]], str]:
    """Run the tests; returns pytest's exit code, the recorded figures and its summary line."""
    with tempfile.NamedTemporaryFile("r", suffix=".jsonl", delete=False) as fh:
        figures_file = Path(fh.name)
    env = dict(os.environ)
    env["REVIMG_FIGURES"] = str(figures_file)
    if not quick:
        env.update(
            REVIMG_HOSTILE_ALL="1",
            REVIMG_FUZZ_EXAMPLES=str(fuzz),
            REVIMG_KILL_TRIALS=str(trials),
            REVIMG_KILL_PHOTOS=str(photos),
        )
    try:
        done = subprocess.run(
            # pyproject's addopts already has -q: one more would drop the summary line
            [sys.executable, "-m", "pytest", *TESTS, "-p", "no:cacheprovider", "-rfxXs"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        records = [json.loads(line) for line in figures_file.read_text().splitlines() if line]
    finally:
        figures_file.unlink(missing_ok=True)
    outcome = [line for line in done.stdout.splitlines() if re.search(r"\d+ (passed|failed)", line)]
    if done.returncode != 0:
        print(done.stdout[-6000:], file=sys.stderr)
        print(done.stderr[-3000:], file=sys.stderr)
    return done.returncode, records, outcome[-1].strip("= ") if outcome else ""


def figures(records: list[dict[str, Any]], outcome: str) -> dict[str, Any]:
    """The README's figures from the tests' records."""
    by = {r["name"]: r for r in records}
    kills = by.get("kill_trials", {})
    fuzz = by.get("fuzz", {})
    hostile = by.get("hostile_inputs", {})
    alone = by.get("hostile_cli_hash", {})
    counts = {
        k: int(v) for v, k in re.findall(r"(\d+) (passed|failed|xfailed|xpassed|skipped)", outcome)
    }
    return {
        "hostile_inputs": hostile.get("generated", 0) + hostile.get("kept_crashers", 0),
        "hostile_generated": hostile.get("generated", 0),
        "hostile_kept_crashers": hostile.get("kept_crashers", 0),
        "hostile_alone_runs": alone.get("inputs", 0),
        "hostile_slowest_s": alone.get("slowest_s"),
        "hostile_slowest_input": alone.get("slowest_input"),
        "hostile_peak_rss_mb": alone.get("peak_rss_mb"),
        "hostile_peak_rss_input": alone.get("peak_rss_input"),
        "fuzz_examples_per_property": fuzz.get("examples_per_property", 0),
        "fuzz_photo_cases": fuzz.get("photo_cases", 0),
        "fuzz_photo_cases_decoded": fuzz.get("photo_cases_decoded", 0),
        "fuzz_bank_cases": fuzz.get("bank_cases", 0),
        "fuzz_bank_cases_imported": fuzz.get("bank_cases_imported", 0),
        "kill_photos": kills.get("photos", 0),
        "kill_trials": kills.get("kills", 0),
        "kill_parent_only": kills.get("parent_only_kills", 0),
        "kill_builds_finished_between": kills.get("builds_finished_between_kills", 0),
        "entries_lost": kills.get("entries_lost"),
        "entries_redone": kills.get("entries_redone"),
        "stray_workers": kills.get("stray_workers"),
        "leftover_temp_files": kills.get("leftover_temp_files"),
        "check_while_build_checks": by.get("check_while_build", {}).get("cli_checks", 0)
        + by.get("check_while_build", {}).get("library_checks", 0),
        "bank_import_kills": by.get("kill_bank_import", {}).get("kills", 0),
        "tests": counts,
        "records": records,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fuzz", type=int, default=5000, help="cases per fuzzing property")
    parser.add_argument("--kill-trials", type=int, default=30, help="SIGKILLs of a build")
    parser.add_argument("--kill-photos", type=int, default=3000, help="photos to build from")
    parser.add_argument("--quick", action="store_true", help="the CI sizes")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    code, records, outcome = run(args.fuzz, args.kill_trials, args.kill_photos, args.quick)
    found = figures(records, outcome)
    found["seconds"] = round(time.perf_counter() - started)
    print(f"tests: {outcome or '(no summary line)'}; pytest exit code {code}")
    print(
        f"hostile inputs tried: {found['hostile_inputs']} ({found['hostile_generated']} generated, "
        f"{found['hostile_kept_crashers']} kept crashers); {found['hostile_alone_runs']} of them "
        f"each in its own CLI process: slowest {found['hostile_slowest_s']} s "
        f"({found['hostile_slowest_input']}), peak memory {found['hostile_peak_rss_mb']} MB "
        f"({found['hostile_peak_rss_input']})"
    )
    print(
        f"fuzz cases: {found['fuzz_photo_cases']} mutated photos "
        f"({found['fuzz_photo_cases_decoded']} still decodable), "
        f"{found['fuzz_bank_cases']} "
        f"mutated banks ({found['fuzz_bank_cases_imported']} imported)"
    )
    print(
        f"kill trials: {found['kill_trials']} SIGKILLs of `revimg index build` on "
        f"{found['kill_photos']} photos ({found['kill_parent_only']} of the build process "
        f"alone), {found['kill_builds_finished_between']} reruns finished between them; "
        f"entries lost: {found['entries_lost']}, redone: {found['entries_redone']}, "
        f"stray workers: {found['stray_workers']}"
    )
    print(
        f"checks while a build wrote: {found['check_while_build_checks']}; "
        f"SIGKILLs of a bank import: {found['bank_import_kills']} (index unchanged)"
    )
    print(f"in {found['seconds']} s")
    if args.json is not None:
        args.json.write_text(json.dumps(found, indent=2) + "\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
