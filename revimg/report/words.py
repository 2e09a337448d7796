"""Results as data: JSON, JSON Lines and CSV on a text stream, and plain verdict sentences.

Field names here are a contract that scripts rely on; add fields, never rename them.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import Any, TextIO

from revimg.matching.result import CheckResult, Match, NotRun
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
    """CSV rows of one check result: one per match, or one row for no match / an error."""
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


def describe_variant(variant: str) -> str:
    """Plain words for a variant name."""
    words = {
        "original": "resized or re-saved copy",
        "mirrored": "mirrored",
        "cropped": "cropped",
        "rotated-180": "turned upside down",
        "rotated-90-cw": "rotated a quarter turn clockwise",
        "rotated-90-ccw": "rotated a quarter turn anticlockwise",
        "flipped-upside-down": "flipped upside down",
        "framed": "inside a screenshot, page or border",
        "avatar": "shown as a round profile picture",
        "rotated": "rotated",
    }
    parts = [words.get(p, p.replace("-", " ")) for p in variant.split("+")]
    return ", ".join(parts)


def describe_match(m: Match) -> tuple[str, list[str]]:
    """A headline and detail lines for one match, for the terminal view."""
    meta = m.entry.meta
    title = meta.get("title") or m.entry.name
    how = "exact same file" if m.exact else describe_variant(m.variant)
    head = f"score {m.score:.2f} ({measured(m)}), {how}: {title}"
    details = []
    where = m.entry.path or f"{m.entry.name} (from hash bank {m.entry.origin})"
    details.append(f"known photo: {where}")
    if m.box is not None:
        x0, y0, x1, y1 = m.box
        what = "the part of the known photo" if m.view == "features" else f"the {m.view}"
        details.append(
            f"matched region: {what} at x {x0:.0%}-{x1:.0%}, y {y0:.0%}-{y1:.0%} of the known photo"
        )
    if m.query_box is not None:
        x0, y0, x1, y1 = m.query_box
        details.append(
            f"found in: x {x0:.0%}-{x1:.0%}, y {y0:.0%}-{y1:.0%} of the image you checked"
        )
    if m.method not in ("pdq", "features"):
        details.append(f"evidence: its {m.method} (imagehash) in the hash list {m.entry.origin}")
    if m.method == "features" and m.rotation and abs(m.rotation) >= 2:
        details.append(f"turned {m.rotation:.0f} degrees")
    for label, key in (("credit", "credit"), ("licence", "licence"), ("source", "source_url")):
        if meta.get(key):
            details.append(f"{label}: {meta[key]}")
    return head, details


def measured(m: Match) -> str:
    """What the score of a match rests on, in words: bits apart, or details that line up."""
    if m.method == "features":
        return f"{m.inliers} matching details line up"
    bits = 256 if m.method == "pdq" else 64  # an imported imagehash pHash: bits of 64
    return f"distance {m.distance} of {bits} bits"


#: Plain words for why a part of a check did not run, by ``NotRun.kind``.
_NOT_RUN_WORDS = {
    "missing": "no index on this machine yet",
    "config": "no API key",
    "auth": "the key was refused",
    "quota": "out of searches",
    "timeout": "it timed out",
    "deadline": "it timed out",
    "connect": "could not connect",
    "network": "the connection failed",
    "unsupported": "it cannot search this way",
    "too_large": "its answer was too large",
    "malformed": "its answer could not be read",
    "prepare": "the request could not be made",
}


def describe_not_run(item: NotRun) -> str:
    """Short words for a part that did not run: ``the web search on tineye (no API key)``."""
    why = _NOT_RUN_WORDS.get(item.kind, "it failed")
    if item.part == "index":
        return f"the comparison with known photos ({why})"
    provider = item.part.removeprefix("online:")
    return f"the web search on {provider} ({why})"


def _what_ran(result: CheckResult) -> str:
    parts = ["its own metadata"]
    if not any(n.part == "index" for n in result.skipped):
        parts.insert(0, "the known photos in this index")
    searched = [r.provider for r in result.online if r.ok]
    if searched:
        parts.append(f"the web ({', '.join(searched)})")
    return ", ".join(parts)


def verdict_sentence(result: CheckResult) -> str:
    """One plain sentence a worried person can act on."""
    if result.error is not None:
        return f"{result.query}: could not be checked ({result.error})"
    evidence = result.evidence
    not_theirs = "Someone may be using a photo that is not theirs."
    if "local" in evidence:
        best: Match = result.matches[0]
        meta = best.entry.meta
        source = meta.get("title") or best.entry.name
        credit = f" by {meta['credit']}" if meta.get("credit") else ""
        how = "an exact copy" if best.exact else f"a copy ({describe_variant(best.variant)})"
        if best.variant == "original" and not best.exact:
            how = "a resized or re-saved copy"
        return (
            f'{result.query}: LIKELY A KNOWN PHOTO: {how} of "{source}"{credit}, '
            f"score {best.score:.2f}. {not_theirs}{_also(evidence[1:], result)}"
        )
    if "web" in evidence:
        web = result.web
        pages = f"{web.exact_count} web page{'s' if web.exact_count != 1 else ''}"
        stock = (
            f", including stock photo sites ({', '.join(web.stock_hits[:3])})"
            if web.stock_hits
            else ""
        )
        return (
            f"{result.query}: FOUND ON THE WEB: {pages} show this photo{stock}. "
            f"Check whether they belong to the person you are talking to. "
            f"{not_theirs}{_also(evidence[1:], result)}"
        )
    if "stock" in evidence:
        agencies = ", ".join(dict.fromkeys(h.agency for h in result.provenance.stock_agencies))
        return (
            f"{result.query}: LIKELY A STOCK PHOTO: its own metadata names {agencies}. "
            f"{not_theirs}{_also(evidence[1:], result)}"
        )
    if "ai" in evidence:
        return (
            f"{result.query}: LIKELY NOT A REAL PHOTO: its metadata marks it as made by AI "
            f"({result.provenance.ai_signals[0]}). Nobody real may be behind this profile."
        )
    if result.not_run:
        missing = "; ".join(describe_not_run(n) for n in result.not_run)
        return (
            f"{result.query}: NOT FULLY CHECKED: {missing} did not run. What did run "
            f"({_what_ran(result)}) found nothing, but the check is not complete."
        )
    extra = " (it has too little detail to compare)" if result.warnings else ""
    searched = [r.provider for r in result.online if r.ok]
    web = f", nor on the web ({', '.join(searched)})" if searched else ""
    return (
        f"{result.query}: no match among the known photos in this index{extra}{web}. "
        "That does not prove the photo is genuine."
    )


def _also(kinds: list[str], result: CheckResult) -> str:
    words = {
        "web": "copies on other web pages",
        "stock": "a stock agency named in its metadata",
        "ai": "metadata marking it as AI-generated",
    }
    more = [words[k] for k in kinds if k in words]
    return f" Also: {', '.join(more)}." if more else ""


def describe_online(result: CheckResult, top: int = 5) -> list[str]:
    """Lines for the terminal: per provider that answered, what it found (a provider that
    failed is in ``result.not_run``, shown with the verdict).
    """
    lines = []
    for r in result.online:
        if r.error is not None:
            continue
        found = [m for m in r.matches if m.kind != "similar"]
        cached = " (from the cache)" if r.cached else ""
        if not found:
            lines.append(f"web, {r.provider}: no copies found{cached}")
            continue
        lines.append(
            f"web, {r.provider}: {len(found)} cop{'ies' if len(found) != 1 else 'y'}{cached}"
        )
        for m in found[:top]:
            bits = [m.kind]
            if m.stock:
                bits.append("stock photo site")
            if m.score is not None:
                bits.append(f"score {m.score:.2f}")
            if m.first_seen:
                bits.append(f"seen {m.first_seen}")
            title = f" {m.title!r}" if m.title else ""
            lines.append(f"  {m.page_url or m.image_url}{title} ({', '.join(bits)})")
    return lines


def privacy_lines(result: CheckResult) -> list[str]:
    """What left the machine for this photo, and where (empty when nothing did)."""
    lines = []
    for r in result.online:
        if r.sent == "nothing":
            if r.cached:
                why = "answered from the cache"
            else:
                why = f"not searched: {_NOT_RUN_WORDS.get(r.error_kind or '', 'it failed')}"
            lines.append(f"sent: nothing to {r.provider} ({why})")
        else:
            what = "the photo" if r.sent == "bytes" else "only the image address"
            lines.append(f"sent: {what} to {r.host} ({r.provider}); {r.retention}")
    return lines
