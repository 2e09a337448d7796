"""Check results as one self-contained HTML page for people: verdict, photos side by side, advice.

One card per photo: the verdict (likely known, warning signs, not fully checked, no match,
could not be checked), the checked photo beside the known photo it matches with the matched
parts boxed, the facts, web results and metadata. Several photos open with a compact table
of all of them (one row each, linked to its card); what to do next is said once per page.

The page opens offline in any browser and makes no request of any kind: photos are embedded
as small JPEG thumbnails (``data:`` URIs, never the full-size photo), the CSS is inline,
there is no JavaScript, and a Content-Security-Policy meta tag forbids everything else.

Every value that comes from a result (file names, metadata, web results, provenance) is
treated as untrusted: it is HTML-escaped, attribute values are always quoted, and only
``http``/``https`` URLs become links (anything else is shown as plain text). Values of the
wrong type are skipped instead of raising.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import io
import math
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from PIL import Image

from revimg import __version__
from revimg.errors import ImageError
from revimg.imaging.decoding import decode, read_bytes
from revimg.provenance import AgencyHit, C2paInfo, Provenance
from revimg.report.words import describe_variant

#: Longest side of an embedded thumbnail, in pixels: large enough to see what matched.
THUMB_SIZE = 480
#: JPEG quality of the thumbnails.
THUMB_QUALITY = 80
#: The page may show data: images and its own inline CSS, and nothing else.
CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'"
)
#: A box covering more than this share of the known photo is not drawn (the whole photo).
_FULL_BOX_AREA = 0.97
#: Text placeholder for a hash-bank match, which has fingerprints but no picture.
BANK_PLACEHOLDER = "hash-bank entry: no picture stored"
MISSING_PLACEHOLDER = "picture not available: the file is no longer on this computer"

Level = Literal["known", "warning", "incomplete", "clear", "error"]

_HEADLINES: dict[Level, str] = {
    "known": "Likely a known photo",
    "warning": "Warning signs found",
    "incomplete": "Not fully checked",
    "clear": "No match found",
    "error": "Could not be checked",
}
#: The verdict in the overview table (one or two words).
_BADGES: dict[Level, str] = {
    "known": "Likely known",
    "warning": "Warning signs",
    "incomplete": "Not fully checked",
    "clear": "No match",
    "error": "Could not be checked",
}
_KIND_WORDS = {
    "exact": "exact copy",
    "partial": "partial copy (cropped or edited)",
    "similar": "look-alike only (not proof)",
}
_SENT_WORDS = {
    "bytes": "the photo itself was sent to",
    "url": "only the photo's web address was sent to",
}
#: Size in bits of each fingerprint whose distance a match can carry; a method not named
#: here (``features``: points that line up) has no distance worth showing.
_HASH_BITS = {"pdq": 256, "phash": 64, "dhash": 64, "ahash": 64, "whash": 64}
_HASH_NAMES = {
    "pdq": "PDQ hash",
    "phash": "imagehash pHash from a hash list",
    "dhash": "dHash",
    "whash": "wHash",
    "ahash": "aHash",
}


@dataclass(frozen=True)
class ReportItem:
    """One checked photo: its result, the verdict sentence and the pictures to show.

    ``result`` is shaped like ``CheckResult.as_dict()``, optionally with ``"provenance"``
    (``Provenance.to_dict()``, possibly with a ``"findings"`` list) and ``"online"`` (a list of
    ``ProviderResult.to_dict()``); ``"verdict": "incomplete"`` and a ``"not_run"`` list
    (``{"part", "kind", "reason"}``) say which part of the check did not run.
    ``match_files[i]`` is the local file of match ``i`` when it exists on disk, else None (a
    hash-bank entry or a moved file). ``findings`` are plain sentences about the photo's
    metadata; when None they are taken from the result.
    """

    result: Mapping[str, Any]
    sentence: str = ""
    query_image: bytes | None = None
    match_files: Sequence[str | Path | None] = ()
    findings: Sequence[str] | None = None

    @classmethod
    def from_result(
        cls,
        result: Mapping[str, Any],
        sentence: str,
        query_image: bytes | None = None,
        *,
        findings: Sequence[str] | None = None,
    ) -> ReportItem:
        """An item whose ``match_files`` are the matches' indexed files that exist on disk.

        Only for results of an index whose entries of origin ``file`` were all indexed from
        files here (revimg refuses that origin for banks); with the ``Match`` objects at
        hand, pass ``match_files`` from ``m.entry.path`` instead, as ``revimg check`` does.
        """
        files: list[str | Path | None] = []
        for m in _dicts(result.get("matches")):
            path = m.get("path")
            ok = m.get("origin") == "file" and isinstance(path, str) and Path(path).is_file()
            files.append(path if ok else None)
        return cls(result, sentence, query_image, tuple(files), findings)


def render_report(items: Iterable[ReportItem], *, now: datetime | None = None) -> str:
    """The whole report as one HTML document (a string).

    One photo: its card, then what to do next. Several: a one-line summary, a table of
    every photo (verdict, best match, score, a link to its card), what to do next once,
    then the cards.
    """
    items = list(items)
    when = (now or datetime.now().astimezone()).strftime("%Y-%m-%d %H:%M")
    levels = [_level(item) for item in items]
    thumbs: dict[str, _Picture | None] = {}  # known photos' thumbnails, made once per file
    parts = [
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
        f'<meta http-equiv="Content-Security-Policy" content="{_e(CSP)}">\n',
        '<meta name="referrer" content="no-referrer">\n',
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
        f"<title>{_e(_title(items, levels))}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n",
        '<header class="top"><div class="wrap">',
        "<h1>Is this profile photo really theirs?</h1>",
        f'<p class="meta">revimg report, made {_e(when)} with revimg {_e(__version__)}</p>',
        '<p class="privacy">This report was made on this computer; it contains thumbnails of '
        f"the photos. {_network_line(items)}</p>",
    ]
    several = len(items) > 1
    if several:
        parts.append(f'<p class="summary">{_e(_summary(levels))}</p>')
    parts.append('</div></header>\n<main class="wrap">\n')
    if not items:
        parts.append('<p class="empty">No photos were checked.</p>')
    # a tip the check gives for several photos (no index yet) is said once, with the advice
    shared = _shared_hints(items) if several else []
    if several:
        parts.append(_overview(items, levels))
        parts.append(_advice(levels, shared))
    for number, (item, level) in enumerate(zip(items, levels, strict=True), 1):
        parts.append(_section(item, level, number, len(items), thumbs, set(shared)))
    if len(items) == 1:
        parts.append(_advice(levels, shared))
    parts.append(_HOW_TO_READ)
    parts.append("</main>\n</body>\n</html>\n")
    return "".join(parts)


def write_report(
    path: str | Path, items: Iterable[ReportItem], *, now: datetime | None = None
) -> Path:
    """Render the report and write it to ``path`` atomically, as UTF-8.

    The file is readable by its owner only: it holds thumbnails of private photos.

    Raises:
        OutputError: the folder does not exist or cannot be written, or ``path`` is a
            folder, a socket or a named pipe that nothing reads (a device is written in
            place, never replaced: see :mod:`revimg.files`).
        OSError: writing failed part way (a full disk).
    """
    from revimg.files import output_text

    target = Path(path)
    text = render_report(items, now=now)
    with output_text(target, private=True) as out:
        out.write(text)
    return target


def thumbnail_uri(data: bytes, name: str = "photo", *, size: int = THUMB_SIZE) -> str | None:
    """A small upright JPEG of the photo as a ``data:`` URI, or None if it cannot be read."""
    thumb = _picture(data, name, size)
    return None if thumb is None else thumb.uri


@dataclass(frozen=True)
class _Picture:
    """A thumbnail as a ``data:`` URI and its size (the page lays out before decoding it)."""

    uri: str
    width: int
    height: int


def _picture(data: bytes, name: str, size: int = THUMB_SIZE) -> _Picture | None:
    thumb = _thumbnail(data, name, size)
    if thumb is None:
        return None
    uri = "data:image/jpeg;base64," + base64.b64encode(thumb[0]).decode("ascii")
    return _Picture(uri, *thumb[1])


# ---------------------------------------------------------------------------
# Verdict
# ---------------------------------------------------------------------------


def _level(item: ReportItem) -> Level:
    """How worried to be: a local match, other evidence, a check that did not fully run,
    nothing found, or an error.
    """
    result = item.result
    if result.get("error") is not None or not isinstance(result.get("query", ""), str):
        return "error"
    if _dicts(result.get("matches")):
        return "known"
    verdict = result.get("verdict")
    # "match" without local matches: evidence from the metadata or the web.
    if _reasons(result) or verdict == "match":
        return "warning"
    # "incomplete", or a verdict this version does not know: never "no match".
    if verdict is not None and verdict != "no_match":
        return "incomplete"
    return "clear"


def _summary(levels: Sequence[Level]) -> str:
    n = len(levels)
    parts = [f"{n} photos checked", f"{levels.count('known')} likely known"]
    for level, words in (
        ("warning", "with warning signs"),
        ("incomplete", "not fully checked"),
        ("clear", "with no match"),
        ("error", "could not be checked"),
    ):
        if levels.count(level):
            parts.append(f"{levels.count(level)} {words}")
    return ", ".join(parts) + "."


def _title(items: Sequence[ReportItem], levels: Sequence[Level]) -> str:
    if len(items) == 1:
        return f"revimg report: {_HEADLINES[levels[0]]}"
    return f"revimg report: {_summary(levels)}"


def _network_line(items: Sequence[ReportItem]) -> str:
    """What left the computer: nothing, unless online searches were asked for."""
    sent = any(
        p.get("sent") in _SENT_WORDS for item in items for p in _dicts(item.result.get("online"))
    )
    if sent:
        return (
            "The online searches shown below sent the photo, or its web address, "
            "to the services named there."
        )
    return "Nothing was sent over the internet."


def _sentence(item: ReportItem, query: str, level: Level) -> str:
    """The verdict sentence, minus what the page already shows (the query, the headline)."""
    text = _text(item.sentence) or ""
    if query and text.startswith(f"{query}: "):
        text = text[len(query) + 2 :]
    # The headline says "Likely a known photo" or "Not fully checked"; the caveat of a no
    # match has its own line.
    text = text.removeprefix("LIKELY A KNOWN PHOTO: ").removeprefix("NOT FULLY CHECKED: ")
    if level in ("clear", "warning", "incomplete"):
        text = text.replace(" That does not prove the photo is genuine.", "")
    if level == "error":
        # the headline says "Could not be checked": the reason is what is left to say
        error = _text(item.result.get("error"))
        text = f"Reason: {error}." if error else text or "Reason unknown."
    if not text:
        text = _FALLBACK_SENTENCES[level]
    return text[0].upper() + text[1:]


_FALLBACK_SENTENCES: dict[Level, str] = {
    "known": "It looks like a copy of a photo in the index: someone may be using a photo "
    "that is not theirs.",
    "warning": "It matches no photo in the index, but there are other warning signs.",
    "incomplete": "Part of the check did not run, and the parts that ran found nothing: "
    "this is not a result yet.",
    "clear": "No match among the known photos in this index.",
    "error": "Reason unknown.",
}


def _reasons(result: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Evidence besides the index, as (a few words, a sentence): stock agencies and AI in
    the metadata, copies online.
    """
    reasons = []
    prov = result.get("provenance")
    if isinstance(prov, Mapping):
        agencies = _texts([h.get("agency") for h in _dicts(prov.get("stock_agencies"))])
        if agencies:
            names = ", ".join(dict.fromkeys(agencies))
            reasons.append(
                (
                    f"stock agency: {names}",
                    f"Its hidden information names a stock-photo agency: {names}.",
                )
            )
        if _texts(prov.get("ai_signals")):
            reasons.append(
                ("marked as AI", "Its hidden information says it was made or edited by AI.")
            )
    pages = set()
    stock = set()
    for p in _dicts(result.get("online")):
        for w in _dicts(p.get("matches")):
            if w.get("kind") in ("exact", "partial"):
                pages.add(_text(w.get("page_url")) or _text(w.get("image_url")) or id(w))
                if w.get("stock") is True and _text(w.get("domain")):
                    stock.add(_text(w.get("domain")))
    if pages:
        where = f", including stock-photo sites ({', '.join(sorted(stock))})" if stock else ""
        count = "1 web page" if len(pages) == 1 else f"{len(pages)} web pages"
        reasons.append((f"online on {count}", f"Copies were found online on {count}{where}."))
    # The result's own evidence kinds, when the details above are missing.
    kinds = set(_texts(result.get("evidence")))
    for kind, short, sentence in _EVIDENCE_FALLBACKS:
        if kind in kinds and not any(s.startswith(short) for s, _ in reasons):
            reasons.append((short, sentence))
    return reasons


_EVIDENCE_FALLBACKS = (
    ("stock", "stock agency", "Its hidden information names a stock agency."),
    ("ai", "marked as AI", "Its hidden information says it was made by AI."),
    ("web", "online", "Copies were found online."),
)


def _not_run(result: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """The parts of the check that did not run: (short name, name, reason)."""
    out = []
    for entry in _dicts(result.get("not_run")):
        part = _text(entry.get("part")) or "part of the check"
        reason = _text(entry.get("reason")) or _text(entry.get("kind")) or "it did not run"
        if part == "index":
            out.append(("local index", "Local index", reason))
        elif part.startswith("online:"):
            name = part.removeprefix("online:").strip() or "a provider"
            out.append((name, f"Online search ({name})", reason))
        else:
            out.append((part, part, reason))
    return out


def _not_run_list(parts: Sequence[tuple[str, str, str]]) -> str:
    lis = "".join(f"<li><strong>{_e(name)}:</strong> {_e(why)}</li>" for _, name, why in parts)
    return f'<ul class="not-run">{lis}</ul>'


# ---------------------------------------------------------------------------
# The overview of several photos
# ---------------------------------------------------------------------------


def _overview(items: Sequence[ReportItem], levels: Sequence[Level]) -> str:
    """One compact row per photo: its name (a link to its card), verdict, best match, score."""
    queries = [_text(item.result.get("query")) or "(unnamed photo)" for item in items]
    folder = _common_folder(queries)
    caption = f"Photos in {folder}" if folder else "All photos"
    out = [
        '<section class="overview" id="overview" aria-label="All photos">',
        f'<div class="table-box"><table class="list"><caption>{_e(caption)}</caption>',
        '<thead><tr><th scope="col" class="n">#</th><th scope="col">Photo</th>'
        '<th scope="col">Verdict</th><th scope="col">Best match or reason</th>'
        '<th scope="col" class="score">Score</th></tr></thead><tbody>',
    ]
    for number, (item, level, query) in enumerate(zip(items, levels, queries, strict=True), 1):
        name = query[len(folder) :] or query
        best, score = _row_details(item.result, level)
        out.append(
            f'<tr class="r-{level}"><td class="n">{number}</td>'
            f'<td class="photo"><a href="#q{number}">{_e(name)}</a></td>'
            f'<td class="v"><span class="badge b-{level}">{_e(_BADGES[level])}</span></td>'
            f'<td class="best">{best}</td><td class="score">{_e(score)}</td></tr>'
        )
    out.append("</tbody></table></div></section>\n")
    return "".join(out)


def _row_details(result: Mapping[str, Any], level: Level) -> tuple[str, str]:
    """The "best match or reason" cell (HTML) and the score of one photo's row."""
    matches = _dicts(result.get("matches"))
    score = ""
    if level == "error":
        best = _e(_clip(_text(result.get("error")) or "unknown error", 60))
    elif matches:
        m = matches[0]
        meta = _meta(m)
        title = _text(meta.get("title")) or _text(m.get("name")) or "(unnamed)"
        best = _e(_clip(title, 60))
        if len(matches) > 1:
            best += f' <span class="muted">+{len(matches) - 1}</span>'
        value = _num(m.get("score"))
        score = f"{value:.2f}" if value is not None else ""
    else:
        best = _e("; ".join(short for short, _ in _reasons(result)))
    missing = [short for short, _, _ in _not_run(result)]
    if missing:
        sep = "<br>" if best else ""
        best += f'{sep}<span class="nr">not run: {_e(_clip(", ".join(missing), 60))}</span>'
    return best, score


def _common_folder(queries: Sequence[str]) -> str:
    """The folder all the queries share (ending in a separator), or ""."""
    prefix = os.path.commonprefix(list(queries))
    cut = max(prefix.rfind("/"), prefix.rfind("\\"))
    return prefix[: cut + 1] if cut > 0 else ""


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "\u2026"


# ---------------------------------------------------------------------------
# One query
# ---------------------------------------------------------------------------


def _shared_hints(items: Sequence[ReportItem]) -> list[str]:
    """The tips that more than one photo's result gives, in the order first given."""
    counts: dict[str, int] = {}
    for item in items:
        for hint in dict.fromkeys(_texts(item.result.get("hints"))):
            counts[hint] = counts.get(hint, 0) + 1
    return [hint for hint, n in counts.items() if n > 1]


def _section(
    item: ReportItem,
    level: Level,
    number: int,
    total: int,
    thumbs: dict[str, _Picture | None],
    shared: set[str],
) -> str:
    result = item.result
    query = _text(result.get("query")) or "(unnamed photo)"
    sid = f"q{number}"
    label = f"Photo {number} of {total}: {query}" if total > 1 else f"Photo: {query}"
    out = [
        f'<section class="query" id="{sid}" aria-labelledby="{sid}-h">',
        f'<div class="verdict v-{level}">',
        f'<p class="which">{_e(label)}</p>',
        f'<h2 id="{sid}-h">{_e(_HEADLINES[level])}</h2>',
        f'<p class="sentence">{_e(_sentence(item, query, level))}</p>',
    ]
    reasons = _reasons(result) if level in ("known", "warning") else []
    if reasons:
        out.append('<ul class="reasons">')
        out.extend(f"<li>{_e(sentence)}</li>" for _, sentence in reasons)
        out.append("</ul>")
    not_run = _not_run(result)
    if level == "incomplete":
        out.append('<p class="lead">What did not run:</p>')
        if not_run:
            out.append(_not_run_list(not_run))
        else:
            out.append('<ul class="not-run"><li>Part of the check (no reason given).</li></ul>')
        out.append(
            '<p class="caveat">Nothing found so far proves nothing: run the missing part and '
            'check again (<a href="#next">what to do next</a>).</p>'
        )
    if level == "clear":
        out.append(_next_step(result))
    out.append("</div>")
    if not_run and level != "incomplete":
        out.append('<div class="not-run-note"><p>Not every part of the check ran:</p>')
        out.append(_not_run_list(not_run) + "</div>")
    query_pic = _picture(item.query_image, query) if item.query_image else None
    matches = _dicts(result.get("matches"))
    if level != "error":
        for warning in _texts(result.get("warnings")):
            out.append(f'<p class="note">Note: {_e(warning)}</p>')
        for hint in _texts(result.get("hints")):
            if hint not in shared:
                out.append(f'<p class="tip">Tip: {_e(hint)}</p>')
    files = list(item.match_files)
    for i, m in enumerate(matches):
        file = files[i] if i < len(files) else None
        if i == 0:
            out.append("<h3>The photo and the known photo it matches</h3>")
            out.append(_best_match(m, file, query, query_pic, thumbs))
        else:
            if i == 1:
                out.append("<h3>Other known photos it matches</h3>")
            out.append(_other_match(m, file, i + 1, thumbs))
    if not matches and (level != "error" or query_pic):
        out.append('<h3>The photo you checked</h3><div class="pair">')
        out.append(_figure(query_pic, f"The photo you checked: {query}", "The photo you checked"))
        out.append("</div>")
    out.append(_online(result.get("online")))
    out.append(_provenance_block(item))
    if total > 1:
        out.append('<p class="back"><a href="#overview">Back to the list of photos</a></p>')
    out.append("</section>\n")
    return "".join(out)


def _next_step(result: Mapping[str, Any]) -> str:
    """The honest next step after no match (HTML: fixed text and escaped provider names)."""
    searched = [
        _text(p.get("provider")) or "online search"
        for p in _dicts(result.get("online"))
        if not _text(p.get("error"))
    ]
    caveat = (
        "No match among the known photos does not prove that the photo is genuine: it is "
        "only not among the photos this index knows."
    )
    if searched:
        names = _e(", ".join(dict.fromkeys(searched)))
        step = (
            f"Nor does finding no copies with {names}: no search engine sees every photo. "
            "Try the others: for a photo that is online, <code>revimg links URL</code> "
            "gives the search pages of Google Lens, Bing, Yandex and TinEye."
        )
    else:
        step = (
            "Search the web for it: <code>revimg check PHOTO --online all</code> (with a "
            "provider's key), or, for a photo that is online, <code>revimg links URL</code> "
            "(Google Lens, Bing, Yandex, TinEye)."
        )
    return f'<p class="caveat">{caveat}</p><p class="next">{step}</p>'


def _figure(
    pic: _Picture | None,
    alt: str,
    caption: str,
    *,
    box: tuple[float, float, float, float] | None = None,
    placeholder: str = "picture could not be shown",
) -> str:
    """A thumbnail (or a labelled placeholder) with a caption and an optional region box."""
    if pic is None:
        shown = (
            f'<div class="placeholder" role="img" aria-label="{_e(alt)}">{_e(placeholder)}</div>'
        )
    else:
        overlay = ""
        if box is not None:
            x0, y0, x1, y1 = (round(v * 100, 2) for v in box)
            overlay = (
                f'<div class="box" style="left:{x0}%;top:{y0}%;'
                f'width:{round(x1 - x0, 2)}%;height:{round(y1 - y0, 2)}%"></div>'
            )
        shown = (
            f'<div class="pic"><img src="{_e(pic.uri)}" width="{pic.width}" '
            f'height="{pic.height}" alt="{_e(alt)}">{overlay}</div>'
        )
    return f"<figure>{shown}<figcaption>{_e(caption)}</figcaption></figure>"


def _best_match(
    m: Mapping[str, Any],
    file: str | Path | None,
    query: str,
    query_pic: _Picture | None,
    thumbs: dict[str, _Picture | None],
) -> str:
    """The checked photo (the part recognised boxed) beside the best match, then its facts."""
    query_box = _box({"box": m.get("query_box")})
    caption = "The photo you checked" + (" (red box: the part recognised)" if query_box else "")
    return "".join(
        [
            '<div class="pair">',
            _figure(query_pic, f"The photo you checked: {query}", caption, box=query_box),
            '<div class="arrow" aria-hidden="true">&#8776;</div>',
            _known_figure(m, file, 1, thumbs),
            "</div>",
            f'<dl class="facts">{"".join(_match_facts(m, query_box=query_box))}</dl>',
        ]
    )


def _other_match(
    m: Mapping[str, Any], file: str | Path | None, rank: int, thumbs: dict[str, _Picture | None]
) -> str:
    """A further match: the known photo and its facts side by side."""
    facts = "".join(_match_facts(m, query_box=None))
    figure = _known_figure(m, file, rank, thumbs)
    return f'<div class="pair more">{figure}<dl class="facts">{facts}</dl></div>'


def _known_figure(
    m: Mapping[str, Any], file: str | Path | None, rank: int, thumbs: dict[str, _Picture | None]
) -> str:
    """The known photo of a match, its matched region boxed; a placeholder without a file."""
    meta = _meta(m)
    name = _text(m.get("name")) or _text(m.get("path")) or "(unnamed)"
    title = _text(meta.get("title")) or name
    origin = _text(m.get("origin")) or "file"
    pic = None
    has_file = isinstance(file, str | Path) and str(file) != ""
    if has_file:
        key = str(file)
        if key not in thumbs:
            try:
                thumbs[key] = _picture(read_bytes(Path(key)), key)
            except ImageError:
                thumbs[key] = None
        pic = thumbs[key]
        placeholder = "picture could not be shown"
    else:
        placeholder = BANK_PLACEHOLDER if origin != "file" else MISSING_PLACEHOLDER
    return _figure(
        pic,
        f"Known photo {rank}: {title}",
        f"Known photo: {title}",
        box=_box(m.get("region")),
        placeholder=placeholder,
    )


def _meta(m: Mapping[str, Any]) -> Mapping[str, Any]:
    raw = m.get("meta")
    return raw if isinstance(raw, Mapping) else {}


def _match_facts(
    m: Mapping[str, Any], *, query_box: tuple[float, float, float, float] | None
) -> Iterator[str]:
    """The facts of one match; the method decides how its score is explained."""
    meta = _meta(m)
    name = _text(m.get("name")) or _text(m.get("path")) or "(unnamed)"
    origin = _text(m.get("origin")) or "file"
    method = _text(m.get("method"))
    score, distance, inliers = _num(m.get("score")), _int(m.get("distance")), _int(m.get("inliers"))
    detail = ""
    if method == "features":
        # points that line up: a fingerprint distance would contradict the score
        if inliers is not None and inliers > 0:
            detail = f": {inliers} matching details line up"
    elif method in _HASH_BITS and distance is not None:
        detail = f" (distance {distance} of {_HASH_BITS[method]} bits)"
    if score is not None:
        yield _fact("Score", f"{score:.2f} out of 1{detail}")
    variant = _text(m.get("variant"))
    if m.get("exact") is True:
        yield _fact("What was changed", "nothing: the very same file")
    elif variant:
        yield _fact("What was changed", describe_variant(variant))
    if method == "features":
        how = "matching details (points that line up between the two photos)"
        rotation = _num(m.get("rotation"))
        if rotation is not None and abs(rotation) >= 2:
            how += f", turned {rotation:.0f} degrees"
        if score is None and detail:
            how += detail
        yield _fact("How it was found", how)
    elif method in _HASH_BITS:
        yield _fact("How it was found", f"photo fingerprint ({_HASH_NAMES.get(method, method)})")
    if _box(m.get("region")) is not None:
        yield _fact("Matched part", "the red box on the known photo")
    if query_box is not None:
        yield _fact("Where it was found", "the red box on the photo you checked")
    for label, key in (("Title", "title"), ("Credit", "credit"), ("Licence", "licence")):
        value = _text(meta.get(key))
        if value:
            yield _fact(label, value)
    source = _text(meta.get("source_url"))
    if source:
        yield f"<dt>Source</dt><dd>{_link(source)}</dd>"
    tags = _texts(meta.get("tags"))
    if tags:
        yield _fact("Tags", ", ".join(tags))
    where = name if origin == "file" else f"{name} (from the hash bank {origin})"
    yield _fact("Known photo", where)


def _fact(label: str, value: str) -> str:
    return f"<dt>{_e(label)}</dt><dd>{_e(value)}</dd>"


# ---------------------------------------------------------------------------
# Online results
# ---------------------------------------------------------------------------


def _online(value: Any) -> str:
    providers = _dicts(value)
    if not providers:
        return ""
    out = ["<h3>Online search</h3>"]
    for p in providers:
        name = _text(p.get("provider")) or "online search"
        host = _text(p.get("host")) or "the service"
        sent = p.get("sent")
        what = (
            f"{_SENT_WORDS[sent]} {host}"
            if isinstance(sent, str) and sent in _SENT_WORDS
            else "nothing was sent"
        )
        head = [f"<strong>{_e(name)}</strong>: {_e(what)}."]
        retention = _text(p.get("retention"))
        if retention:
            head.append(f" What it says it keeps: {_e(retention)}")
        if p.get("cached") is True:
            head.append(" (result from the local cache)")
        out.append(f'<div class="provider"><p>{"".join(head)}</p>')
        error = _text(p.get("error"))
        matches = _dicts(p.get("matches"))
        if error:
            out.append(f'<p class="note">Could not search: {_e(error)}</p>')
        elif not matches:
            out.append("<p>No copies found.</p>")
        else:
            out.append('<ul class="web">')
            out.extend(_web_match(w) for w in matches)
            out.append("</ul>")
        out.append("</div>")
    return "".join(out)


def _web_match(w: Mapping[str, Any]) -> str:
    kind = _text(w.get("kind"))
    kind_class = kind if kind in _KIND_WORDS else "similar"
    label = _KIND_WORDS.get(kind, kind or "found")
    domain = _text(w.get("domain"))
    title = _text(w.get("title")) or domain or "web page"
    page = _text(w.get("page_url"))
    line = [f'<li><span class="kind k-{kind_class}">{_e(label)}</span> ']
    line.append(_link(page, title) if page else _e(title))
    details = []
    if domain:
        details.append(domain)
    if w.get("stock") is True:
        details.append("stock photo site")
    seen = _text(w.get("first_seen")) or _text(w.get("seen_text"))
    if seen:
        details.append(f"first seen {seen}")
    score = _num(w.get("score"))
    if score is not None:
        details.append(f"score {score:.2f}")
    if details:
        line.append(f' <span class="muted">({_e(", ".join(details))})</span>')
    image = _text(w.get("image_url"))
    if image:
        line.append(f" {_link(image, 'image')}" if _safe_url(image) else "")
    line.append("</li>")
    return "".join(line)


# ---------------------------------------------------------------------------
# Provenance
# ---------------------------------------------------------------------------


def _provenance_block(item: ReportItem) -> str:
    raw = item.result.get("provenance")
    prov = _rebuild_provenance(raw) if isinstance(raw, Mapping) else None
    given = item.findings
    if given is None and isinstance(raw, Mapping) and isinstance(raw.get("findings"), list):
        given = raw["findings"]
    if given is None and isinstance(item.result.get("findings"), list):
        given = item.result["findings"]
    lines = _texts(given) if given is not None else list(prov.findings()) if prov else []
    if not lines and not isinstance(raw, Mapping):
        return ""  # not inspected: say nothing rather than "no metadata"
    strong = set(prov.evidence()) if prov else set()
    out = ["<h3>What the photo's hidden information says</h3>"]
    if not lines:
        out.append(
            "<p>The photo carries no camera, credit or AI information. Most apps remove it, "
            "so this proves nothing either way.</p>"
        )
        return "".join(out)
    out.append('<ul class="findings">')
    for line in lines:
        if line in strong:
            out.append(f'<li class="strong"><strong>Warning:</strong> {_e(line)}</li>')
        else:
            out.append(f"<li>{_e(line)}</li>")
    out.append("</ul>")
    return "".join(out)


def _rebuild_provenance(raw: Mapping[str, Any]) -> Provenance | None:
    """A Provenance from its ``to_dict()`` form, keeping only values of the right type."""
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(Provenance):
        value = raw.get(f.name)
        kind = str(f.type)
        if f.name == "file":
            kwargs["file"] = _text(value) or ""
        elif f.name == "gps":
            gps = value if isinstance(value, Mapping) else {}
            lat, lon = _num(gps.get("latitude")), _num(gps.get("longitude"))
            kwargs["gps"] = (lat, lon) if lat is not None and lon is not None else None
        elif f.name == "stock_agencies":
            kwargs[f.name] = tuple(
                AgencyHit(*(_text(h.get(k)) or "" for k in ("agency", "field", "value", "block")))
                for h in _dicts(value)
                if _text(h.get("agency"))
            )
        elif f.name == "c2pa":
            c = value if isinstance(value, Mapping) else {}
            kwargs["c2pa"] = C2paInfo(
                present=c.get("present") is True,
                generator=_text(c.get("generator")),
                signer=_text(c.get("signer")),
                validation=_text(c.get("validation")),
                issues=tuple(_texts(c.get("issues"))),
                remote_url=_text(c.get("remote_url")),
            )
        elif kind.startswith("tuple[str"):
            kwargs[f.name] = tuple(_texts(value))
        elif kind == "bool":
            kwargs[f.name] = value is True
        elif kind == "int | None":
            kwargs[f.name] = _int(value)
        elif kind == "str | None":
            kwargs[f.name] = _text(value)
    try:
        prov = Provenance(**kwargs)
        prov.findings()
    except (TypeError, ValueError, KeyError, AttributeError, IndexError):
        return None
    return prov


# ---------------------------------------------------------------------------
# Advice
# ---------------------------------------------------------------------------


def _advice(levels: Sequence[Level], tips: Sequence[str] = ()) -> str:
    """What to do next, once for the whole page: one part per kind of verdict present, and
    the check's ``tips`` that several photos share.
    """
    present = set(levels)
    several = len(levels) > 1
    found = bool(present & {"known", "warning"})
    parts: list[tuple[str, str, Sequence[str]]] = []
    if found:
        parts.append(
            (
                "For the photos that are likely known or show warning signs",
                "The person behind this profile is probably not who the photos show. "
                "Police and consumer-protection advice for romance scams:",
                _ADVICE_FOUND,
            )
        )
    # the general caution goes with the last part about photos where nothing was found
    careful = _ADVICE_CAREFUL[:1] if found else _ADVICE_CAREFUL
    if "incomplete" in present:
        extra = careful if "clear" not in present else ()
        parts.append(
            (
                "For the photos not fully checked",
                "Nothing found so far does not mean anything yet:",
                (*_ADVICE_INCOMPLETE, *extra),
            )
        )
    if "clear" in present:
        parts.append(
            ("For the photos with no match", "Still be careful:", (*_ADVICE_CLEAR, *careful))
        )
    if "error" in present:
        parts.append(("For the photos that could not be checked", "", _ADVICE_ERROR))
    if tips:
        lines = [_e(tip[0].upper() + tip[1:]) for tip in tips]
        parts.append(("Tips from the check, for several of the photos", "", lines))
    if not parts:
        return ""
    tag = "h2" if several else "h3"
    out = [f'<div class="advice" id="next"><{tag}>What to do next</{tag}>']
    for heading, intro, items in parts:
        if several:
            out.append(f"<h4>{heading}</h4>")
        if intro:
            out.append(f"<p>{intro}</p>")
        out.append("<ul>" + "".join(f"<li>{text}</li>" for text in items) + "</ul>")
    out.append("</div>\n")
    return "".join(out)


# Fixed text (no untrusted values), already HTML.
_ADVICE_FOUND = (
    "<strong>Do not send money</strong>, gift cards, cryptocurrency or bank details, "
    "however urgent or sad the story is.",
    "<strong>Do not share intimate photos or videos.</strong> If someone threatens to "
    "publish pictures of you, do not pay: report it to the police.",
    "<strong>Keep the evidence:</strong> take screenshots of the profile, the messages and "
    "any payment requests, note the user name, and keep this report.",
    "<strong>Stop contact.</strong> You do not owe them an explanation.",
    "<strong>Report the profile</strong> to the app or website, and report it to the police "
    "or your national fraud reporting service (for example Action Fraud in the UK, "
    "ReportFraud.ftc.gov in the US, Scamwatch in Australia).",
    "If you have already sent money, <strong>call your bank</strong> straight away.",
)
_ADVICE_CLEAR = (
    "A reverse search <strong>cannot prove that a photo is genuine</strong>: this one may "
    "simply not be among the photos that this index knows.",
    "Search the web for it: revimg's online search (<code>--online</code>, with a "
    "provider's key), or the browser search links for a photo that is on the web "
    "(<code>revimg links URL</code>); for a file on this computer, <code>revimg links "
    "photo.jpg</code> lists the pages where you upload it yourself.",
)
_ADVICE_INCOMPLETE = (
    "<strong>Make the missing part run, then check again</strong>: what did not run, and "
    "why, is listed with the photo.",
    "No local index: import a hash bank that a team or a victims' organisation publishes "
    "(<code>revimg index import URL</code>), build one from a folder of photos "
    "(<code>revimg index build FOLDER</code>), or name yours with <code>--index</code>.",
    "An online search without a key: set the key (<code>revimg providers</code> lists "
    "them); one that failed: try again later.",
)
_ADVICE_CAREFUL = (
    "Ask for a live video call. Be wary of someone who always has an excuse not to, who "
    "moves fast to talk about love, or who wants to leave the dating app.",
    "<strong>Never send money</strong>, gift cards or intimate photos to someone you have "
    "not met in person.",
)
_ADVICE_ERROR = (
    "Check that the file is a photo (JPEG, PNG, WebP, GIF, ...) and try again, "
    "or save the profile photo again from the app or web page.",
)

_HOW_TO_READ = (
    '<footer class="help"><h2>How to read this report</h2><ul>'
    "<li><strong>Score</strong>: how alike the photo and the known photo are, from 0 to 1. "
    "Scores from 0.75 up are reported; near 1 means almost certainly a copy.</li>"
    "<li><strong>Matching details</strong>: small details of the two photos that line up "
    "once one is cropped, resized or turned to fit the other; more is stronger. "
    "<strong>Distance</strong>: how many bits of the two photos' fingerprints differ; "
    "0 is the same picture.</li>"
    "<li><strong>What was changed</strong>: how the copy differs from the known photo "
    "(mirrored, cropped, resized...). Scammers change photos so that searches miss them.</li>"
    "<li><strong>Red box</strong>: on the known photo, the part that the checked photo "
    "shows, when it was cropped; on the photo you checked, the part that was recognised "
    "(a photo inside a screenshot).</li>"
    "<li><strong>No match</strong> only means the photo is not among the known photos "
    "checked; it does not prove that the photo is genuine.</li>"
    "<li><strong>Not fully checked</strong>: a part of the check that was asked for (the "
    "local index, an online search) did not run; each photo says which and why.</li>"
    "<li>Made by revimg, which compares photos on this computer with a local index of "
    "known photos.</li></ul></footer>\n"
)


# ---------------------------------------------------------------------------
# Thumbnails
# ---------------------------------------------------------------------------


def _thumbnail(data: bytes, name: str, size: int) -> tuple[bytes, tuple[int, int]] | None:
    """Upright JPEG bytes of the photo scaled to at most ``size`` px, and its size."""
    try:
        decoded = decode(data, name)
    except ImageError:
        return None
    img = decoded.image
    try:
        img.thumbnail((size, size), Image.Resampling.LANCZOS)
        # pixels only: Pillow would carry the photo's JPEG comment, ICC profile, EXIF and
        # XMP into the thumbnail (a comment can hold an address)
        bare = Image.frombytes(img.mode, img.size, img.tobytes())
        buf = io.BytesIO()
        bare.save(buf, "JPEG", quality=THUMB_QUALITY, optimize=True)
        return buf.getvalue(), bare.size
    finally:
        img.close()


# ---------------------------------------------------------------------------
# Untrusted values
# ---------------------------------------------------------------------------


def _e(value: object) -> str:
    """HTML-escape text for element content and quoted attribute values."""
    return html.escape(str(value), quote=True)


def _text(value: Any) -> str | None:
    """A non-empty string, stripped of control characters, or None."""
    if not isinstance(value, str):
        return None
    cleaned = "".join(c if c.isprintable() else " " for c in value).strip()
    return cleaned or None


def _texts(value: Any) -> list[str]:
    if not isinstance(value, list | tuple):
        return []
    return [t for t in (_text(v) for v in value) if t]


def _dicts(value: Any) -> list[Mapping[str, Any]]:
    if not isinstance(value, list | tuple):
        return []
    return [v for v in value if isinstance(v, Mapping)]


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _box(region: Any) -> tuple[float, float, float, float] | None:
    """The matched region as fractions (x0, y0, x1, y1), or None when absent or whole."""
    if not isinstance(region, Mapping):
        return None
    raw = region.get("box")
    if not isinstance(raw, list | tuple) or len(raw) != 4:
        return None
    nums = [_num(v) for v in raw]
    if any(v is None for v in nums):
        return None
    x0, y0, x1, y1 = (min(1.0, max(0.0, v)) for v in nums if v is not None)
    if x1 <= x0 or y1 <= y0 or (x1 - x0) * (y1 - y0) > _FULL_BOX_AREA:
        return None
    return (x0, y0, x1, y1)


def _safe_url(url: str) -> bool:
    """True for an absolute http(s) URL with a host and no spaces or control characters."""
    if any(c.isspace() or not c.isprintable() for c in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def _link(url: str, text: str | None = None) -> str:
    """A link for an http(s) URL; any other URL is shown as plain text, never linked."""
    label = _e(text if text is not None else url)
    if not _safe_url(url):
        return label if text is None else f'{label} <span class="muted">({_e(url)})</span>'
    return f'<a href="{_e(url)}" rel="noopener noreferrer">{label}</a>'


# ---------------------------------------------------------------------------
# Style
# ---------------------------------------------------------------------------

_CSS = """
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:#f3f4f6;color:#1f2328;
font:17px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
.wrap{max-width:1120px;margin:0 auto;padding:0 16px}
.top{background:#fff;border-bottom:1px solid #d0d7de;padding:18px 0 12px;margin-bottom:20px}
h1{font-size:1.6rem;margin:0 0 4px}
.meta,.privacy{margin:2px 0;color:#4b5563;font-size:.95rem}
.summary{margin:10px 0 4px;font-size:1.15rem;font-weight:600}
.overview{margin:0 0 24px}
.table-box{max-width:100%;overflow-x:auto;background:#fff;border:1px solid #d0d7de;
border-radius:10px}
.list{width:100%;border-collapse:collapse;font-size:.9rem;line-height:1.3}
.list caption{caption-side:top;text-align:left;font-weight:600;padding:8px 10px 6px;
overflow-wrap:anywhere}
.list th{text-align:left;font-size:.8rem;color:#374151;background:#f6f8fa;padding:5px 8px;
border-top:1px solid #d0d7de;border-bottom:1px solid #d0d7de}
.list td{padding:4px 8px;border-top:1px solid #eef0f3;vertical-align:top}
.list tbody tr:nth-child(even){background:#f9fafb}
.list .photo{min-width:7em;overflow-wrap:anywhere}
.list .best{overflow-wrap:anywhere;color:#374151}
.list .n,.list .score{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
.list .n{color:#6b7280}
.badge{display:inline-block;white-space:nowrap;font-size:.78rem;font-weight:700;
padding:1px 7px;border-radius:9px;border:1px solid transparent}
.b-known{background:#b42318;color:#fff}
.b-warning{background:#c2410c;color:#fff}
.b-incomplete{background:#fde68a;color:#451a03;border-color:#d97706}
.b-clear{background:#dbe7f6;color:#1e3a5f}
.b-error{background:#fff;color:#374151;border:1px dashed #4b5563}
.nr{color:#92400e;font-size:.85em}
.query{background:#fff;border:1px solid #d0d7de;border-radius:10px;margin:0 0 28px;
padding:0 0 16px;overflow:hidden}
.query>h3,.query>p,.query>ul,.query>.provider,.query>.pair,.query>.facts,
.query>.not-run-note{margin-left:20px;margin-right:20px}
.verdict{padding:18px 20px 14px;border-left:12px solid;margin-bottom:8px}
.verdict h2{font-size:2.2rem;line-height:1.15;margin:2px 0 8px}
.verdict .which{margin:0;font-size:.95rem;overflow-wrap:anywhere}
.verdict .sentence{margin:0;font-size:1.15rem;overflow-wrap:anywhere}
.verdict .caveat{margin:8px 0 0;font-weight:600}
.verdict .lead{margin:8px 0 0;font-weight:600}
.verdict .next{margin:4px 0 0}
.reasons{margin:8px 0 0;padding-left:22px;font-weight:600}
.not-run{margin:4px 0 0;padding-left:22px}
.not-run li{overflow-wrap:anywhere}
.v-known{background:#b42318;border-color:#7a1209;color:#fff}
.v-warning{background:#fdf0e1;border-color:#c2410c;color:#3b1a05}
.v-warning h2{color:#9a3412}
.v-incomplete{background:#fef6dc;border-color:#d97706;color:#3b2a05}
.v-incomplete h2{color:#92400e}
.v-clear{background:#eaf1fb;border-color:#3b6ea5;color:#172b45}
.v-clear h2{color:#1e4a7a}
.v-error{background:#eceef1;border-color:#4b5563;border-left-style:dashed;color:#1f2328}
.not-run-note{font-size:.9rem;background:#fffbeb;border-left:4px solid #d97706;
padding:6px 12px;margin-bottom:8px}
.not-run-note p{margin:0;font-weight:600}
.not-run-note .not-run{margin:2px 0 0}
h3{font-size:1.2rem;margin:20px 0 8px}
.pair{display:flex;flex-wrap:wrap;align-items:flex-start;gap:12px 16px;padding:14px 0;
border-top:1px solid #e5e7eb}
.pair figure{flex:1 1 260px;max-width:480px;min-width:0}
figure{margin:0;max-width:100%}
.pic{position:relative;display:inline-block;max-width:100%;line-height:0;overflow:hidden}
.pic img{display:block;max-width:100%;height:auto;border:1px solid #9ca3af;
border-radius:4px}
.box{position:absolute;border:3px solid #e11d48;outline:2px solid #fff;
box-shadow:0 0 0 9999px rgba(0,0,0,.25)}
figcaption{font-size:.9rem;color:#374151;margin-top:6px;overflow-wrap:anywhere}
.placeholder{width:100%;aspect-ratio:4/3;display:flex;align-items:center;
justify-content:center;text-align:center;padding:12px;border:2px dashed #9ca3af;
border-radius:4px;background:#f9fafb;color:#374151;font-size:.95rem}
.arrow{align-self:center;flex:0 0 auto;font-size:2.4rem;color:#6b7280}
.facts{margin-top:0;margin-bottom:8px;display:grid;grid-template-columns:max-content 1fr;
gap:4px 12px;font-size:.97rem}
.pair .facts{flex:1 1 300px;margin:0}
.facts dt{font-weight:600;color:#374151}
.facts dd{margin:0;overflow-wrap:anywhere;min-width:0}
a{color:#0b57d0}
.note{color:#7c2d12;background:#fff7ed;border-left:4px solid #ea580c;padding:6px 10px;
overflow-wrap:anywhere}
.tip{background:#f1f5f9;border-left:4px solid #64748b;padding:6px 10px;overflow-wrap:anywhere}
.provider p{margin:4px 0}
.web{margin:6px 0 12px;padding-left:20px}
.web li{margin:4px 0;overflow-wrap:anywhere}
.kind{display:inline-block;font-size:.8rem;font-weight:700;padding:1px 7px;border-radius:9px;
background:#e5e7eb;color:#1f2328}
.k-exact{background:#b42318;color:#fff}
.k-partial{background:#c2410c;color:#fff}
.muted{color:#4b5563}
.findings li{margin:3px 0;overflow-wrap:anywhere}
.findings .strong{color:#7a1209}
.back{font-size:.9rem;margin-top:14px}
.advice{background:#fff;border:1px solid #cbd5e1;border-left:6px solid #475569;
border-radius:10px;padding:4px 20px 10px;margin:0 0 28px}
.advice h2,.advice h3{font-size:1.35rem;margin:12px 0 6px}
.advice h4{font-size:1rem;margin:14px 0 2px}
.advice p{margin:4px 0}
.advice ul{margin:4px 0;padding-left:22px}
.advice li{margin:5px 0}
code{font-size:.95em;background:#eef2f7;padding:1px 4px;border-radius:3px;
overflow-wrap:anywhere}
.help{font-size:.95rem;color:#374151;margin:0 0 40px}
.help h2{font-size:1.2rem}
.empty{font-size:1.2rem}
@media (max-width:600px){body{font-size:16px}.verdict h2{font-size:1.7rem}
.verdict{padding:14px 14px 12px;border-left-width:8px}
.query>h3,.query>p,.query>ul,.query>.provider,.query>.pair,.query>.facts,
.query>.not-run-note{margin-left:14px;margin-right:14px}
.arrow{display:none}.pair figure{flex-basis:100%}.pic{display:block}
.pic img{width:100%}
.facts{grid-template-columns:1fr}.facts dd{margin-bottom:6px}
.advice{padding:4px 14px 10px}
.list,.list tbody,.list caption{display:block}.list thead{display:none}
.list tr{display:grid;grid-template-columns:2.2em auto minmax(0,1fr) auto;gap:2px 8px;
padding:5px 8px;border-top:1px solid #eef0f3}
.list td{display:block;padding:0;border:0;min-width:0}
.list .n{grid-column:1;grid-row:1/span 2;text-align:left}
.list .photo{grid-column:2/4;grid-row:1}.list .score{grid-column:4;grid-row:1}
.list .v{grid-column:2;grid-row:2}.list .best{grid-column:3/5;grid-row:2}}
@media print{body{background:#fff;font-size:12pt}.top{border:0;margin:0}
.query{border:1px solid #999}
.pair,.verdict,.advice{break-inside:avoid}
.verdict,.kind,.badge,.box{-webkit-print-color-adjust:exact;print-color-adjust:exact}
a{color:#000}a[rel]::after{content:" <" attr(href) ">";font-size:.85em;color:#333;
overflow-wrap:anywhere}}
"""
