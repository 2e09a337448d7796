"""Per-photo metadata files (``--meta``): CSV or JSONL keyed by file path or name.

Recognised fields, with the spellings people use for them:
``title``; ``credit`` (photographer, creator, author, byline); ``licence`` (license);
``source_url`` (url, source); ``tags`` (a list, or text split on ``;`` or ``,``).
Other columns are kept as they are.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any

from revimg.errors import BankError

_KEY_COLUMNS = ("path", "file", "filename", "name")
_ALIASES = {
    "photographer": "credit",
    "creator": "credit",
    "author": "credit",
    "byline": "credit",
    "license": "licence",
    "url": "source_url",
    "source": "source_url",
}


def normalise(record: dict[str, Any]) -> dict[str, Any]:
    """Map alias field names to revimg's, split tags, drop empty values."""
    out: dict[str, Any] = {}
    for raw_key, value in record.items():
        if raw_key is None:
            continue
        key = _ALIASES.get(raw_key.strip().lower(), raw_key.strip().lower())
        if value is None or value == "" or key in _KEY_COLUMNS:
            continue
        if key == "tags" and isinstance(value, str):
            sep = ";" if ";" in value else ","
            value = [t.strip() for t in value.split(sep) if t.strip()]
        out.setdefault(key, value)
    return out


class MetaTable:
    """Metadata rows looked up by absolute path, relative path or file name."""

    def __init__(self, rows: dict[str, dict[str, Any]], base: Path | None = None) -> None:
        self._rows = rows

    def __len__(self) -> int:
        return len(self._rows)

    def lookup(self, path: Path, relative: str | None = None) -> dict[str, Any] | None:
        """The metadata of one photo, or None."""
        candidates = [os.path.abspath(path)]
        if relative:
            candidates.append(relative)
        candidates.append(path.name)
        for key in candidates:
            if key in self._rows:
                return self._rows[key]
        return None


def _key(record: dict[str, Any], where: str, base: Path) -> str:
    for column in _KEY_COLUMNS:
        for k, v in record.items():
            if k is not None and k.strip().lower() == column and v:
                text = str(v).strip()
                if os.path.isabs(text):
                    return os.path.abspath(text)
                return text.replace("\\", "/")
    raise BankError(f"{where}: no path, file or name column to say which photo this is")


def load(path: Path) -> MetaTable:
    """Read a metadata file (CSV, or JSON Lines when it ends in .jsonl/.ndjson or starts with '{').

    Raises:
        BankError: unreadable file, malformed line, or a row that names no photo.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise BankError(f"{path}: no such metadata file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BankError(f"{path}: cannot read metadata file ({exc})") from None
    rows: dict[str, dict[str, Any]] = {}
    is_jsonl = path.suffix.lower() in (".jsonl", ".ndjson") or text.lstrip().startswith("{")
    if is_jsonl:
        for number, line in enumerate(text.split("\n"), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise BankError(f"{path}, line {number}: not valid JSON ({exc.msg})") from None
            except (ValueError, RecursionError):
                raise BankError(f"{path}, line {number}: not valid JSON (too large)") from None
            if not isinstance(record, dict):
                raise BankError(f"{path}, line {number}: expected a JSON object")
            rows[_key(record, f"{path}, line {number}", path.parent)] = normalise(record)
    else:
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames:
            raise BankError(f"{path}: the metadata file is empty")
        try:
            for number, record in enumerate(reader, 2):
                rows[_key(record, f"{path}, line {number}", path.parent)] = normalise(record)
        except csv.Error as exc:
            raise BankError(f"{path}: malformed CSV ({exc})") from None
    return MetaTable(rows, path.parent)
