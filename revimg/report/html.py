"""Check results as one self-contained HTML page for people: verdict, photos side by side, advice.

One card per photo: the verdict (likely known, warning signs, not fully checked, no match,
could not be checked), the checked photo beside the known photo it matches with the matched
parts boxed, the facts, web results and metadata. Several photos open with a compact table
of all of them (one row each, linked to its card); what to do next is said once per page.

The page opens offline in any browser and makes no request of any kind: photos are embedded
as small JPEG thumbnails (``data:`` URIs, never the full-size photo), the CSS is inline,
there is no JavaScript, and a Content-Security-Policy meta tag forbids everything else.

It renders :class:`~revimg.matching.result.CheckResult` objects: the verdict, evidence and
what did not run are the result's own, and their words come from :mod:`revimg.report.words`;
this module only escapes and lays them out. Every value that comes from a result (file
names, metadata, web results, provenance) is treated as untrusted: it is HTML-escaped,
attribute values are always quoted, and only ``http``/``https`` URLs become links (anything
else is shown as plain text). A known photo's metadata (any JSON in a hash bank) is shown
only where it is text.
"""

from __future__ import annotations

import base64
import io
import math
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from PIL import Image

from revimg import __version__
from revimg.errors import ImageError
from revimg.imaging.decoding import decode, read_bytes
from revimg.matching.result import CheckResult, Match, NotRun
from revimg.report.words import (
    describe_variant,
    evidence_reasons,
    hints,
    measured,
    not_run_names,
    verdict_words,
)
from revimg.text import html_text as _e

if TYPE_CHECKING:
    from revimg.online.providers import WebMatch
    from revimg.online.search import ProviderResult
    from revimg.provenance import Provenance

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
#: How a match was found, by ``Match.method`` (other than ``features``).
_HASH_NAMES = {
    "pdq": "PDQ hash",
    "phash": "imagehash pHash from a hash list",
    "dhash": "dHash",
    "whash": "wHash",
    "ahash": "aHash",
}


@dataclass(frozen=True)
class ReportItem:
    """One checked photo: its result and the pictures to show.

    ``query_image`` is the photo's bytes (None when they cannot be read again);
    ``match_files[i]`` is the local file of match ``i`` when it exists on disk, else None (a
    hash-bank entry or a moved file): :meth:`of` finds them.
    """

    result: CheckResult
    query_image: bytes | None = None
    match_files: Sequence[str | Path | None] = ()

    @classmethod
    def of(cls, result: CheckResult, query_image: bytes | None = None) -> ReportItem:
        """An item whose ``match_files`` are the matches' indexed files that exist on disk.

        Only entries indexed from a file here have a path: a bank's names are labels, never
        opened, whatever the bank calls itself.
        """
        files = tuple(
            m.entry.path if m.entry.path is not None and Path(m.entry.path).is_file() else None
            for m in result.matches
        )
        return cls(result, query_image, files)


def render_report(items: Iterable[ReportItem], *, now: datetime | None = None) -> str:
    """The whole report as one HTML document (a string).

    One photo: its card, then what to do next. Several: a one-line summary, a table of
    every photo (verdict, best match, score, a link to its card), what to do next once,
    then the cards.
    """
    items = list(items)
    when = (now or datetime.now().astimezone()).strftime("%Y-%m-%d %H:%M")
    levels = [_level(item.result) for item in items]
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


def _level(result: CheckResult) -> Level:
    """How worried to be: the verdict, with a match split into a known photo (a match in the
    index) and other warning signs (metadata, the web).
    """
    verdict = result.verdict
    if verdict is None:
        return "error"
    if verdict == "match":
        return "known" if result.matches else "warning"
    return "incomplete" if verdict == "incomplete" else "clear"


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
    if any(r.sent in _SENT_WORDS for item in items for r in item.result.online):
        return (
            "The online searches shown below sent the photo, or its web address, "
            "to the services named there."
        )
    return "Nothing was sent over the internet."


def _sentence(result: CheckResult, level: Level) -> str:
    """The verdict sentence under the headline: the query and the headline's own words are
    shown already, and the caveat of a no match has its own line.
    """
    if level == "error":
        # the headline says "Could not be checked": the reason is what is left to say
        return f"Reason: {result.error}."
    words = verdict_words(result)
    text = words.text
    if words.label and level not in ("known", "incomplete"):
        text = f"{words.label}: {text}"
    return text[0].upper() + text[1:]


def _not_run_list(parts: Sequence[NotRun]) -> str:
    lis = "".join(
        f"<li><strong>{_e(not_run_names(n)[1])}:</strong> {_e(n.reason)}</li>" for n in parts
    )
    return f'<ul class="not-run">{lis}</ul>'


# ---------------------------------------------------------------------------
# The overview of several photos
# ---------------------------------------------------------------------------


def _overview(items: Sequence[ReportItem], levels: Sequence[Level]) -> str:
    """One compact row per photo: its name (a link to its card), verdict, best match, score."""
    queries = [item.result.query or "(unnamed photo)" for item in items]
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


def _row_details(result: CheckResult, level: Level) -> tuple[str, str]:
    """The "best match or reason" cell (HTML) and the score of one photo's row."""
    score = ""
    if level == "error":
        best = _e(_clip(result.error or "unknown error", 60))
    elif result.matches:
        m = result.matches[0]
        best = _e(_clip(_title_of(m), 60))
        if len(result.matches) > 1:
            best += f' <span class="muted">+{len(result.matches) - 1}</span>'
        score = f"{m.score:.2f}"
    else:
        best = _e("; ".join(short for short, _ in evidence_reasons(result)))
    missing = [not_run_names(n)[0] for n in result.not_run]
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
        for hint in dict.fromkeys(hints(item.result)):
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
    query = result.query or "(unnamed photo)"
    sid = f"q{number}"
    label = f"Photo {number} of {total}: {query}" if total > 1 else f"Photo: {query}"
    out = [
        f'<section class="query" id="{sid}" aria-labelledby="{sid}-h">',
        f'<div class="verdict v-{level}">',
        f'<p class="which">{_e(label)}</p>',
        f'<h2 id="{sid}-h">{_e(_HEADLINES[level])}</h2>',
        f'<p class="sentence">{_e(_sentence(result, level))}</p>',
    ]
    reasons = evidence_reasons(result) if level in ("known", "warning") else []
    if reasons:
        out.append('<ul class="reasons">')
        out.extend(f"<li>{_e(sentence)}</li>" for _, sentence in reasons)
        out.append("</ul>")
    not_run = result.not_run
    if level == "incomplete":
        out.append('<p class="lead">What did not run:</p>')
        out.append(_not_run_list(not_run))
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
    if level != "error":
        for warning in result.warnings:
            out.append(f'<p class="note">Note: {_e(warning)}</p>')
        for hint in hints(result):
            if hint not in shared:
                out.append(f'<p class="tip">Tip: {_e(hint)}</p>')
    files = list(item.match_files)
    for i, m in enumerate(result.matches):
        file = files[i] if i < len(files) else None
        if i == 0:
            out.append("<h3>The photo and the known photo it matches</h3>")
            out.append(_best_match(m, file, query, query_pic, thumbs))
        else:
            if i == 1:
                out.append("<h3>Other known photos it matches</h3>")
            out.append(_other_match(m, file, i + 1, thumbs))
    if not result.matches and (level != "error" or query_pic):
        out.append('<h3>The photo you checked</h3><div class="pair">')
        out.append(_figure(query_pic, f"The photo you checked: {query}", "The photo you checked"))
        out.append("</div>")
    out.append(_online(result.online))
    out.append(_provenance_block(result.provenance))
    if total > 1:
        out.append('<p class="back"><a href="#overview">Back to the list of photos</a></p>')
    out.append("</section>\n")
    return "".join(out)


def _next_step(result: CheckResult) -> str:
    """The honest next step after no match (HTML: fixed text and escaped provider names)."""
    searched = [r.provider for r in result.online if r.ok]
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
    m: Match,
    file: str | Path | None,
    query: str,
    query_pic: _Picture | None,
    thumbs: dict[str, _Picture | None],
) -> str:
    """The checked photo (the part recognised boxed) beside the best match, then its facts."""
    query_box = _box(m.query_box)
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
    m: Match, file: str | Path | None, rank: int, thumbs: dict[str, _Picture | None]
) -> str:
    """A further match: the known photo and its facts side by side."""
    facts = "".join(_match_facts(m, query_box=None))
    figure = _known_figure(m, file, rank, thumbs)
    return f'<div class="pair more">{figure}<dl class="facts">{facts}</dl></div>'


def _known_figure(
    m: Match, file: str | Path | None, rank: int, thumbs: dict[str, _Picture | None]
) -> str:
    """The known photo of a match, its matched region boxed; a placeholder without a file."""
    title = _title_of(m)
    pic = None
    if file is not None and str(file) != "":
        key = str(file)
        if key not in thumbs:
            try:
                thumbs[key] = _picture(read_bytes(Path(key)), key)
            except ImageError:
                thumbs[key] = None
        pic = thumbs[key]
        placeholder = "picture could not be shown"
    else:
        placeholder = BANK_PLACEHOLDER if m.entry.origin != "file" else MISSING_PLACEHOLDER
    return _figure(
        pic,
        f"Known photo {rank}: {title}",
        f"Known photo: {title}",
        box=_box(m.box),
        placeholder=placeholder,
    )


def _name_of(m: Match) -> str:
    return m.entry.name or m.entry.path or "(unnamed)"


def _title_of(m: Match) -> str:
    """The known photo's title from its metadata (a bank's: any JSON), else its name."""
    return _text(m.entry.meta.get("title")) or _name_of(m)


def _match_facts(m: Match, *, query_box: tuple[float, float, float, float] | None) -> Iterator[str]:
    """The facts of one match; the method decides how its score is explained."""
    meta = m.entry.meta
    if m.method == "features":
        # points that line up: a fingerprint distance would contradict the score
        detail = f": {measured(m)}" if m.inliers else ""
    else:
        detail = f" ({measured(m)})"
    yield _fact("Score", f"{m.score:.2f} out of 1{detail}")
    if m.exact:
        yield _fact("What was changed", "nothing: the very same file")
    elif m.variant:
        yield _fact("What was changed", describe_variant(m.variant))
    if m.method == "features":
        how = "matching details (points that line up between the two photos)"
        if m.rotation is not None and abs(m.rotation) >= 2:
            how += f", turned {m.rotation:.0f} degrees"
        yield _fact("How it was found", how)
    else:
        yield _fact(
            "How it was found", f"photo fingerprint ({_HASH_NAMES.get(m.method, m.method)})"
        )
    if _box(m.box) is not None:
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
    origin = m.entry.origin
    name = _name_of(m)
    where = name if origin == "file" else f"{name} (from the hash bank {origin})"
    yield _fact("Known photo", where)


def _fact(label: str, value: str) -> str:
    return f"<dt>{_e(label)}</dt><dd>{_e(value)}</dd>"


# ---------------------------------------------------------------------------
# Online results
# ---------------------------------------------------------------------------


def _online(results: Sequence[ProviderResult]) -> str:
    if not results:
        return ""
    out = ["<h3>Online search</h3>"]
    for p in results:
        host = p.host or "the service"
        what = f"{_SENT_WORDS[p.sent]} {host}" if p.sent in _SENT_WORDS else "nothing was sent"
        head = [f"<strong>{_e(p.provider)}</strong>: {_e(what)}."]
        if p.retention:
            head.append(f" What it says it keeps: {_e(p.retention)}")
        if p.cached:
            head.append(" (result from the local cache)")
        out.append(f'<div class="provider"><p>{"".join(head)}</p>')
        if p.error is not None:
            out.append(f'<p class="note">Could not search: {_e(p.error)}</p>')
        elif not p.matches:
            out.append("<p>No copies found.</p>")
        else:
            out.append('<ul class="web">')
            out.extend(_web_match(w) for w in p.matches)
            out.append("</ul>")
        out.append("</div>")
    return "".join(out)


def _web_match(w: WebMatch) -> str:
    kind_class = w.kind if w.kind in _KIND_WORDS else "similar"
    label = _KIND_WORDS.get(w.kind, w.kind or "found")
    title = w.title or w.domain or "web page"
    line = [f'<li><span class="kind k-{kind_class}">{_e(label)}</span> ']
    line.append(_link(w.page_url, title) if w.page_url else _e(title))
    details = []
    if w.domain:
        details.append(w.domain)
    if w.stock:
        details.append("stock photo site")
    seen = w.first_seen or w.seen_text
    if seen:
        details.append(f"first seen {seen}")
    if w.score is not None:
        details.append(f"score {w.score:.2f}")
    if details:
        line.append(f' <span class="muted">({_e(", ".join(details))})</span>')
    if w.image_url and _safe_url(w.image_url):
        line.append(f" {_link(w.image_url, 'image')}")
    line.append("</li>")
    return "".join(line)


# ---------------------------------------------------------------------------
# Provenance
# ---------------------------------------------------------------------------


def _provenance_block(prov: Provenance | None) -> str:
    if prov is None:
        return ""  # not inspected: say nothing rather than "no metadata"
    lines = prov.findings()
    out = ["<h3>What the photo's hidden information says</h3>"]
    if not lines:
        out.append(
            "<p>The photo carries no camera, credit or AI information. Most apps remove it, "
            "so this proves nothing either way.</p>"
        )
        return "".join(out)
    strong = set(prov.evidence())
    out.append('<ul class="findings">')
    for line in lines:
        if line in strong:
            out.append(f'<li class="strong"><strong>Warning:</strong> {_e(line)}</li>')
        else:
            out.append(f"<li>{_e(line)}</li>")
    out.append("</ul>")
    return "".join(out)


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


def _text(value: Any) -> str | None:
    """A metadata value (any JSON in a bank's entry) as non-empty text, or None."""
    if not isinstance(value, str):
        return None
    cleaned = "".join(c if c.isprintable() else " " for c in value).strip()
    return cleaned or None


def _texts(value: Any) -> list[str]:
    """A metadata list (such as tags) as its non-empty texts."""
    if not isinstance(value, list | tuple):
        return []
    return [t for t in (_text(v) for v in value) if t]


def _box(box: tuple[float, float, float, float] | None) -> tuple[float, float, float, float] | None:
    """A region (fractions x0, y0, x1, y1) to draw, clamped to the photo; None when absent or
    (nearly) the whole photo.
    """
    if box is None or not all(math.isfinite(v) for v in box):
        return None
    x0, y0, x1, y1 = (min(1.0, max(0.0, v)) for v in box)
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
