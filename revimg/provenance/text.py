"""Turning raw metadata values into short, safe, one-line text.

Values come from untrusted files: :func:`clean` removes control characters (terminal escapes
too), joins lines and cuts at ``MAX_TEXT``; :func:`short` cuts a value quoted in a finding;
:func:`reason` turns an exception into a one-line problem description.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from revimg.provenance.limits import MAX_TEXT, SHORT_TEXT


@functools.cache
def _control() -> re.Pattern[str]:
    """C0 and C1 control characters (terminal escapes among them)."""
    return re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def clean(value: object) -> str | None:
    """Text fit to show: control characters (terminal escapes too) removed, one line."""
    if value is None:
        return None
    if isinstance(value, bytes):
        raw = value
        try:
            value = raw.decode("utf-8")
        except UnicodeDecodeError:
            value = raw.decode("cp1252", "replace")
    elif isinstance(value, (tuple, list)):
        value = " ".join(str(v) for v in value)
    # split() knows the same whitespace as \s: runs become one space, the ends go
    text = " ".join(_control().sub(" ", str(value)).split())
    return text[:MAX_TEXT] or None


def short(text: str) -> str:
    """The text, cut to ``SHORT_TEXT`` characters with "..." when longer."""
    return text if len(text) <= SHORT_TEXT else text[: SHORT_TEXT - 3] + "..."


def unique(values: Iterable[str]) -> tuple[str, ...]:
    """The values without case-insensitive repeats, first spelling and order kept."""
    seen: dict[str, str] = {}
    for value in values:
        seen.setdefault(value.casefold(), value)
    return tuple(seen.values())


def reason(exc: object) -> str:
    """The first line of an exception's message (or its type name), shortened."""
    text = str(exc).strip()
    first = text.splitlines()[0].strip() if text else type(exc).__name__
    return short(" ".join(first.split()))


def ascii_tag(tag: bytes) -> str:
    """A chunk type such as b"tEXt" as text."""
    return tag.decode("ascii", "replace").strip()


def looks_like_url(text: str) -> bool:
    """An http(s) or www. address with no spaces."""
    return bool(re.match(r"^(?:https?://|www\.)\S+$", text.strip(), re.I))
