"""Every command the README shows works as written (run in a copy of the examples)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, REPO

README = (REPO / "README.md").read_text()


def _commands() -> list[str]:
    blocks = re.findall(r"```console\n(.*?)```", README, flags=re.S)
    lines = [
        ln[2:].split("  #")[0].strip()
        for b in blocks
        for ln in b.splitlines()
        if ln.startswith("$ ")
    ]
    return [ln for ln in lines if ln and not ln.startswith("make ")]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("readme")
    shutil.copytree(EXAMPLES, work / "examples")
    return work


def _run(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_readme_has_commands() -> None:
    commands = _commands()
    assert any(c.startswith("revimg check") for c in commands)
    assert any(c.startswith("revimg index build") for c in commands)


def test_every_readme_command_runs(workdir: Path) -> None:
    commands = _commands()
    build = next(c for c in commands if c.startswith("revimg index build"))
    first = _run(build, workdir)  # the demo index the other examples use
    assert first.returncode == 0, first.stderr
    for command in commands:
        result = _run(command, workdir)
        allowed = (0, 1) if " check " in f" {command} " else (0,)
        assert result.returncode in allowed, f"{command}\n{result.stderr}"
        assert "Traceback" not in result.stderr, command


def test_readme_python_snippet_runs(workdir: Path) -> None:
    snippet = re.search(r"```python\n(.*?)```", README, flags=re.S)
    assert snippet is not None
    _run("revimg index build examples/stock --index demo-index", workdir)
    result = subprocess.run(
        [sys.executable, "-c", snippet.group(1)],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("match")
