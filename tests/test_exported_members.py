"""The public surface of ``import revimg``: a change to it must be deliberate (as httpx's
tests/test_exported_members.py does it)."""

from __future__ import annotations

import subprocess
import sys

import revimg

EXPECTED = [
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


def test_all_is_the_public_surface() -> None:
    assert revimg.__all__ == EXPECTED
    assert ["__version__", *revimg._EXPORTS] == EXPECTED  # each name knows its module


def test_every_exported_name_resolves() -> None:
    for name in revimg.__all__:
        value = getattr(revimg, name)
        assert value is not None, name
        if name[0].isupper() and name != "PRESETS":
            assert getattr(value, "__module__", "").startswith("revimg."), name
    assert issubclass(revimg.IndexMissing, revimg.RevimgError)


def test_unknown_names_are_attribute_errors() -> None:
    try:
        revimg.not_a_thing  # noqa: B018
    except AttributeError as exc:
        assert "not_a_thing" in str(exc)
    else:
        raise AssertionError("an unknown name resolved")


def test_importing_revimg_loads_no_part_of_it() -> None:
    """``revimg --version`` and ``import revimg`` stay quick: the parts load on first use."""
    code = "import sys, revimg; print(sorted(m for m in sys.modules if m.startswith('revimg.')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_check_from_python(built_index, tmp_path) -> None:
    from tests.conftest import SUSPECTS

    with revimg.open_index(built_index) as index:
        photo = SUSPECTS / "mirrored.jpg"
        found, from_bytes, bad = revimg.check(
            index, [photo, photo.read_bytes(), tmp_path / "missing.jpg"]
        )
    assert found.verdict == "match" and found.matches[0].variant == "mirrored"
    assert from_bytes.verdict == "match" and from_bytes.query == "<photo 2 (bytes)>"
    assert bad.verdict is None and bad.error == "no such file"
    (alone,) = revimg.check(None, [SUSPECTS / "unrelated.jpg"])
    assert alone.verdict == "incomplete" and alone.not_run[0].part == "index"
