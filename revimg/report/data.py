"""Results as data: the JSON shape of a check result, and JSON, JSON Lines and CSV writers.

:func:`result_dict` is the stable JSON shape of a :class:`~revimg.matching.result.CheckResult`
(``revimg check --format json`` prints one per photo); :func:`check_rows` flattens it into
CSV rows. Field names here are a contract that scripts rely on: add fields, never rename them.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import Any, TextIO

from revimg.matching.result import CheckResult, Match, NotRun
from revimg.report.words import hints
from revimg.text import csv_cell

CHECK_CSV_FIELDS = (
    "query",
    "verdict",
    "error",
    "rank",
    "match_path",
    "match_id",
    "match_name",
    "distance",
    "score",
    "variant",
    "region_view",
    "region_box",
    "exact",
    "title",
    "credit",
    "licence",
    "source_url",
    "tags",
    "method",
    "inliers",
    "evidence",
    "web_exact_pages",
    "web_stock_sites",
    "findings",
    "query_box",
    "hints",
    "not_run",
)
HASH_FIELDS = ("path", "sha256", "width", "height", "pdq", "pdq_quality", "phash", "error")


def result_dict(result: CheckResult) -> dict[str, Any]:
    """The stable JSON shape of a check result (``revimg check --format json``)."""
    if result.error is not None:
        out: dict[str, Any] = {"query": result.query, "error": result.error}
        if result.online:
            out["online"] = [r.to_dict() for r in result.online]
        return out
    return {
        "query": result.query,
        "verdict": result.verdict,
        "evidence": result.evidence,
        "matches": [match_dict(m) for m in result.matches],
        "sha256": result.sha256,
        "pdq_quality": result.quality,
        "warnings": list(result.warnings),
        "provenance": None if result.provenance is None else result.provenance.to_dict(),
        "findings": [] if result.provenance is None else list(result.provenance.findings()),
        "online": [r.to_dict() for r in result.online],
        "web": None if (web := result.web) is None else web_dict(web),
        "hints": hints(result),
        "not_run": [not_run_dict(n) for n in result.not_run],
    }


def match_dict(m: Match) -> dict[str, Any]:
    """The stable JSON shape of a match."""
    e = m.entry
    return {
        "path": e.path if e.path is not None else e.name,
        "id": e.id,
        "name": e.name,
        "distance": m.distance,
        "score": round(m.score, 4),
        "variant": m.variant,
        "region": None if m.box is None else {"view": m.view, "box": [round(b, 4) for b in m.box]},
        "exact": m.exact,
        "method": m.method,
        "inliers": m.inliers,
        "rotation": None if m.rotation is None else round(m.rotation, 1),
        "query_box": None if m.query_box is None else [round(b, 4) for b in m.query_box],
        "origin": e.origin,
        "meta": e.meta,
    }


def not_run_dict(item: NotRun) -> dict[str, str]:
    """The stable JSON shape of a part that did not run: part, kind, reason."""
    return {"part": item.part, "kind": item.kind, "reason": item.reason}


def web_dict(web: Any) -> dict[str, Any]:
    """The JSON shape of an ``OnlineSummary`` (``CheckResult.web``)."""
    return {
        "exact_pages": web.exact_count,
        "stock_sites": list(web.stock_hits),
        "earliest_seen": web.earliest_seen,
    }


class JsonArrayWriter:
    """Stream objects as one JSON array, so a batch prints as it goes and ``[]`` when empty."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._first = True

    def write(self, obj: dict[str, Any]) -> None:
        self._out.write("[\n  " if self._first else ",\n  ")
        self._out.write(json.dumps(obj, ensure_ascii=False, sort_keys=False))
        self._out.flush()
        self._first = False

    def close(self) -> None:
        self._out.write("[]\n" if self._first else "\n]\n")
        self._out.flush()


class Writer:
    """Writes records in one of the data formats (json, jsonl, csv) as they arrive."""

    def __init__(
        self, out: TextIO, fmt: str, csv_fields: tuple[str, ...], to_rows: Any = None
    ) -> None:
        self._out = out
        self._fmt = fmt
        self._array = JsonArrayWriter(out) if fmt == "json" else None
        self._csv = (
            csv.DictWriter(out, fieldnames=csv_fields, extrasaction="ignore")
            if fmt == "csv"
            else None
        )
        if self._csv is not None:
            self._csv.writeheader()
        self._to_rows = to_rows or (lambda obj: [obj])

    def write(self, obj: dict[str, Any]) -> None:
        if self._array is not None:
            self._array.write(obj)
        elif self._csv is not None:
            for row in self._to_rows(obj):
                self._csv.writerow({k: _cell(v) for k, v in row.items()})
            self._out.flush()
        else:
            self._out.write(json.dumps(obj, ensure_ascii=False) + "\n")
            self._out.flush()

    def close(self) -> None:
        if self._array is not None:
            self._array.close()


def _cell(value: Any) -> Any:
    """One CSV cell: numbers as they are, text that no spreadsheet evaluates."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    if isinstance(value, list):
        value = ";".join(str(v) for v in value)
    elif isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return csv_cell(str(value))


def check_rows(result: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """CSV rows of one check result (its :func:`result_dict`): one per match, or one row for
    no match / an error.
    """
    web = result.get("web") or {}
    base = {
        "query": result["query"],
        "verdict": result.get("verdict"),
        "error": result.get("error"),
        "evidence": result.get("evidence"),
        "web_exact_pages": web.get("exact_pages"),
        "web_stock_sites": web.get("stock_sites"),
        "findings": result.get("findings"),
        "hints": result.get("hints"),
        "not_run": [f"{n['part']}: {n['kind']}" for n in result.get("not_run") or []],
    }
    matches = result.get("matches") or []
    if not matches:
        yield base
        return
    for rank, m in enumerate(matches, 1):
        meta = m.get("meta") or {}
        region = m.get("region") or {}
        yield {
            **base,
            "rank": rank,
            "match_path": m["path"],
            "match_id": m["id"],
            "match_name": m["name"],
            "distance": m["distance"],
            "score": m["score"],
            "variant": m["variant"],
            "region_view": region.get("view"),
            "region_box": " ".join(str(b) for b in region.get("box", [])) or None,
            "exact": m["exact"],
            "title": meta.get("title"),
            "credit": meta.get("credit"),
            "licence": meta.get("licence"),
            "source_url": meta.get("source_url"),
            "tags": meta.get("tags"),
            "method": m.get("method"),
            "inliers": m.get("inliers"),
            "query_box": " ".join(str(b) for b in m.get("query_box") or []) or None,
        }
