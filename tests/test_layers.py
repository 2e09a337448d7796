"""The arrows between revimg's parts run one way (README "How it works").

Every import in revimg/ is read from the source (lazy imports inside functions included):
a part that reaches into one it must not (imaging into the index, the web into the index,
the core into the command line) fails here, naming the module and the import.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "revimg"

#: Part -> the parts it must never import. Shared modules (errors, files, text, config,
#: holdpoints) sit below every part.
FORBIDDEN: dict[str, set[str]] = {
    "imaging": {"index", "matching", "online", "report", "cluster", "cli", "provenance"},
    "provenance": {"imaging", "index", "matching", "online", "report", "cluster", "cli"},
    "online": {"index", "matching", "report", "cluster", "cli"},
    "index": {"matching", "online", "report", "cluster", "cli", "provenance"},
    "matching": {"report", "cluster", "cli"},
    "report": {"index", "cluster", "cli"},  # it renders results: matching's and online's types
    "cluster": {"report", "online", "cli"},
    "shared": {"imaging", "index", "matching", "online", "report", "cluster", "cli", "provenance"},
}
SHARED = {"errors", "files", "text", "config", "holdpoints"}
#: Only the command line draws on a terminal or parses arguments.
UI_LIBRARIES = {"typer", "rich", "click"}


def _part(module: str) -> str:
    """``revimg.index.store`` -> ``index``; ``revimg.errors`` -> ``shared``."""
    if "." not in module:
        return "surface"  # revimg/__init__.py: the public names, imported on first use
    name = module.split(".")[1]
    return "shared" if name in SHARED else name


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in a file, the names of ``from revimg import x`` too."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "revimg":
                found += [(node.lineno, f"revimg.{a.name}") for a in node.names]
            else:
                found.append((node.lineno, node.module))
    return found


def _modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        out.append((".".join(rel.parts).removesuffix(".__init__"), path))
    return out


@pytest.mark.parametrize(("module", "path"), _modules(), ids=[m for m, _ in _modules()])
def test_each_module_imports_only_down_the_arrows(module: str, path: Path) -> None:
    part = _part(module)
    bad = []
    for line, imported in _imports(path):
        top = imported.split(".")[0]
        if top in UI_LIBRARIES and part != "cli":
            bad.append(f"{module}:{line} imports {imported} (only revimg.cli draws or parses)")
        if top == "revimg" and imported != "revimg" and _part(imported) in FORBIDDEN.get(part, ()):
            bad.append(f"{module}:{line} imports {imported} ({part} -/-> {_part(imported)})")
    assert not bad, "\n".join(bad)


def test_the_rules_see_every_part() -> None:
    """A new part (a folder or module) must be placed in the rules, not slip past them."""
    parts = {_part(m) for m, _ in _modules()}
    known = {*FORBIDDEN, "cli", "__main__", "surface"}
    assert parts <= known, parts - known


def test_the_checker_catches_a_wrong_arrow(tmp_path: Path) -> None:
    """The reading itself: a lazy import inside a function is seen."""
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from revimg.index import store\n    import rich\n")
    assert (2, "revimg.index") in _imports(sample) and (3, "rich") in _imports(sample)


#: Parts whose text is the command line's own (they word it for people).
_WORDING = {"cli", "report"}
_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]+|'revimg [a-z]")


def _strings(path: Path) -> list[tuple[int, str]]:
    """(line, text) of the string constants in a file that are not docstrings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
    ]


def test_core_messages_state_facts_and_name_no_command_line_option() -> None:
    """The core's messages name no option or command of the CLI: a script calling the
    library has no --skip-bad; the CLI adds its own words (``RevimgError.remedy``)."""
    bad = [
        f"{module}:{line}: {text[:80]!r}"
        for module, path in _modules()
        if _part(module) not in _WORDING
        for line, text in _strings(path)
        if _FLAG.search(text)
    ]
    assert not bad, "\n".join(bad)
