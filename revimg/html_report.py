"""Check results as one self-contained HTML page for people: verdict, photos side by side, advice.

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
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from PIL import Image

from revimg import __version__
from revimg.errors import ImageError
from revimg.imaging import decode, read_bytes
from revimg.provenance import AgencyHit, C2paInfo, Provenance
from revimg.report import describe_variant

#: Longest side of an embedded thumbnail, in pixels.
THUMB_SIZE = 320
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

Level = Literal["known", "warning", "clear", "error"]

_HEADLINES: dict[Level, str] = {
    "known": "Likely a known photo",
    "warning": "Warning signs found",
    "clear": "No match found",
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


@dataclass(frozen=True)
class ReportItem:
    """One checked photo: its result, the verdict sentence and the pictures to show.

    ``result`` is shaped like ``CheckResult.as_dict()``, optionally with ``"provenance"``
    (``Provenance.to_dict()``, possibly with a ``"findings"`` list) and ``"online"`` (a list of
    ``ProviderResult.to_dict()``). ``match_files[i]`` is the local file of match ``i`` when it
    exists on disk, else None (a hash-bank entry or a moved file). ``findings`` are plain
    sentences about the photo's metadata; when None they are taken from the result.
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
    """The whole report as one HTML document (a string)."""
    items = list(items)
    when = (now or datetime.now().astimezone()).strftime("%Y-%m-%d %H:%M")
    levels = [_level(item) for item in items]
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
    if len(items) > 1:
        parts.append(f'<p class="summary">{_e(_summary(levels))}</p>')
    parts.append('</div></header>\n<main class="wrap">\n')
    if not items:
        parts.append('<p class="empty">No photos were checked.</p>')
    for number, (item, level) in enumerate(zip(items, levels, strict=True), 1):
        parts.append(_section(item, level, number, len(items)))
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
    thumb = _thumbnail(data, name, size)
    if thumb is None:
        return None
    return "data:image/jpeg;base64," + base64.b64encode(thumb[0]).decode("ascii")


# ---------------------------------------------------------------------------
# Verdict
# ---------------------------------------------------------------------------


def _level(item: ReportItem) -> Level:
    """How worried to be: a local match, other evidence, nothing found, or an error."""
    result = item.result
    if result.get("error") is not None or not isinstance(result.get("query", ""), str):
        return "error"
    if _dicts(result.get("matches")):
        return "known"
    # "match" without local matches: evidence from the metadata or the web.
    if _reasons(result) or result.get("verdict") == "match":
        return "warning"
    return "clear"


def _summary(levels: Sequence[Level]) -> str:
    n = len(levels)
    parts = [f"{n} photos checked", f"{levels.count('known')} likely known"]
    if levels.count("warning"):
        parts.append(f"{levels.count('warning')} with warning signs")
    if levels.count("error"):
        parts.append(f"{levels.count('error')} could not be checked")
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
    # The headline says "Likely a known photo"; the caveat of a no match has its own line.
    text = text.removeprefix("LIKELY A KNOWN PHOTO: ")
    if level in ("clear", "warning"):
        text = text.replace(" That does not prove the photo is genuine.", "")
    if not text:
        text = _FALLBACK_SENTENCES[level]
        if level == "error":
            text += f" ({_text(item.result.get('error')) or 'unknown error'})."
    return text[0].upper() + text[1:]


_FALLBACK_SENTENCES: dict[Level, str] = {
    "known": "It looks like a copy of a photo in the index: someone may be using a photo "
    "that is not theirs.",
    "warning": "It matches no photo in the index, but there are other warning signs.",
    "clear": "No match among the known photos in this index.",
    "error": "It could not be checked",
}


def _reasons(result: Mapping[str, Any]) -> list[str]:
    """Evidence besides the index: stock agencies and AI in the metadata, copies online."""
    reasons = []
    prov = result.get("provenance")
    if isinstance(prov, Mapping):
        agencies = _texts([h.get("agency") for h in _dicts(prov.get("stock_agencies"))])
        if agencies:
            names = ", ".join(dict.fromkeys(agencies))
            reasons.append(f"Its hidden information names a stock-photo agency: {names}.")
        if _texts(prov.get("ai_signals")):
            reasons.append("Its hidden information says it was made or edited by AI.")
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
        reasons.append(f"Copies were found online on {count}{where}.")
    # The result's own evidence kinds, when the details above are missing.
    kinds = set(_texts(result.get("evidence")))
    for kind, start, fallback in _EVIDENCE_FALLBACKS:
        if kind in kinds and not any(r.startswith(start) for r in reasons):
            reasons.append(fallback)
    return reasons


_EVIDENCE_FALLBACKS = (
    ("stock", "Its hidden information names", "Its hidden information names a stock agency."),
    ("ai", "Its hidden information says", "Its hidden information says it was made by AI."),
    ("web", "Copies were found online", "Copies were found online."),
)


# ---------------------------------------------------------------------------
# One query
# ---------------------------------------------------------------------------


def _section(item: ReportItem, level: Level, number: int, total: int) -> str:
    result = item.result
    query = _text(result.get("query")) or "(unnamed photo)"
    sid = f"q{number}"
    label = f"Photo {number} of {total}: {query}" if total > 1 else f"Photo: {query}"
    out = [
        f'<section class="query" aria-labelledby="{sid}-h">',
        f'<div class="verdict v-{level}">',
        f'<p class="which">{_e(label)}</p>',
        f'<h2 id="{sid}-h">{_e(_HEADLINES[level])}</h2>',
        f'<p class="sentence">{_e(_sentence(item, query, level))}</p>',
    ]
    reasons = _reasons(result) if level in ("known", "warning") else []
    if reasons:
        out.append('<ul class="reasons">')
        out.extend(f"<li>{_e(r)}</li>" for r in reasons)
        out.append("</ul>")
    if level == "clear":
        out.append(
            '<p class="caveat">No match does not prove that the photo is genuine: it only '
            "means that it is not among the photos this index knows.</p>"
        )
    out.append("</div>")
    query_uri = thumbnail_uri(item.query_image, query) if item.query_image else None
    matches = _dicts(result.get("matches"))
    if level != "error":
        for warning in _texts(result.get("warnings")):
            out.append(f'<p class="note">Note: {_e(warning)}</p>')
        for hint in _texts(result.get("hints")):
            out.append(f'<p class="note">Tip: {_e(hint)}</p>')
    if matches:
        heading = "The photo and the known photo" + ("s" if len(matches) > 1 else "")
        out.append(f"<h3>{heading}</h3>")
        files = list(item.match_files)
        for i, m in enumerate(matches):
            file = files[i] if i < len(files) else None
            out.append(_match(m, file, query, query_uri, i + 1))
    elif level != "error" or query_uri:
        out.append('<h3>The photo you checked</h3><div class="pair">')
        out.append(_figure(query_uri, f"The photo you checked: {query}", "The photo you checked"))
        out.append("</div>")
    out.append(_online(result.get("online")))
    out.append(_provenance_block(item))
    out.append(_advice(level))
    out.append("</section>\n")
    return "".join(out)


def _figure(
    uri: str | None,
    alt: str,
    caption: str,
    *,
    box: tuple[float, float, float, float] | None = None,
    placeholder: str = "picture could not be shown",
) -> str:
    """A thumbnail (or a labelled placeholder) with a caption and an optional region box."""
    if uri is None:
        pic = f'<div class="placeholder" role="img" aria-label="{_e(alt)}">{_e(placeholder)}</div>'
    else:
        overlay = ""
        if box is not None:
            x0, y0, x1, y1 = (round(v * 100, 2) for v in box)
            overlay = (
                f'<div class="box" style="left:{x0}%;top:{y0}%;'
                f'width:{round(x1 - x0, 2)}%;height:{round(y1 - y0, 2)}%"></div>'
            )
        pic = f'<div class="pic"><img src="{_e(uri)}" alt="{_e(alt)}">{overlay}</div>'
    return f"<figure>{pic}<figcaption>{_e(caption)}</figcaption></figure>"


def _match(
    m: Mapping[str, Any],
    file: str | Path | None,
    query: str,
    query_uri: str | None,
    rank: int,
) -> str:
    raw_meta = m.get("meta")
    meta: Mapping[str, Any] = raw_meta if isinstance(raw_meta, Mapping) else {}
    name = _text(m.get("name")) or _text(m.get("path")) or "(unnamed)"
    title = _text(meta.get("title")) or name
    origin = _text(m.get("origin")) or "file"
    box = _box(m.get("region"))
    uri = None
    has_file = isinstance(file, str | Path) and str(file) != ""
    if has_file:
        try:
            uri = thumbnail_uri(read_bytes(Path(str(file))), str(file))
        except ImageError:
            uri = None
    if has_file:
        placeholder = "picture could not be shown"
    else:
        placeholder = BANK_PLACEHOLDER if origin != "file" else MISSING_PLACEHOLDER
    caption = f"Known photo: {title}"
    query_box = _box({"box": m.get("query_box")})
    out = ['<div class="pair">']
    out.append(
        _figure(
            query_uri,
            f"The photo you checked: {query}",
            "The photo you checked" + (" (red box: the part recognised)" if query_box else ""),
            box=query_box,
        )
    )
    out.append('<div class="arrow" aria-hidden="true">&#8776;</div>')
    out.append(
        _figure(uri, f"Known photo {rank}: {title}", caption, box=box, placeholder=placeholder)
    )
    out.append(f'<dl class="facts">{"".join(_match_facts(m, meta, name, origin, box))}</dl>')
    out.append("</div>")
    return "".join(out)


def _match_facts(
    m: Mapping[str, Any],
    meta: Mapping[str, Any],
    name: str,
    origin: str,
    box: tuple[float, float, float, float] | None,
) -> Iterator[str]:
    score, distance = _num(m.get("score")), _int(m.get("distance"))
    if score is not None:
        bits = 256 if m.get("method") in ("pdq", "features") else 64  # an imported pHash
        detail = (
            f" (fingerprint distance {distance} of {bits} bits)" if distance is not None else ""
        )
        yield _fact("Score", f"{score:.2f} out of 1{detail}")
    variant = _text(m.get("variant"))
    if m.get("exact") is True:
        yield _fact("What was changed", "nothing: the very same file")
    elif variant:
        yield _fact("What was changed", describe_variant(variant))
    if m.get("method") == "features":
        inliers = _int(m.get("inliers"))
        rotation = _num(m.get("rotation"))
        how = f"matching details: {inliers} points line up" if inliers else "matching details"
        if rotation is not None and abs(rotation) >= 2:
            how += f", turned {rotation:.0f} degrees"
        yield _fact("How it was found", how)
    elif m.get("method") == "pdq":
        yield _fact("How it was found", "photo fingerprint (PDQ hash)")
    elif m.get("method") == "phash":
        yield _fact("How it was found", "photo fingerprint (imagehash pHash from a hash list)")
    if box is not None:
        yield _fact("Matched part", "the red box on the known photo")
    if _box({"box": m.get("query_box")}) is not None:
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


def _advice(level: Level) -> str:
    if level == "error":
        return (
            '<div class="advice"><h3>What to do next</h3><ul>'
            "<li>Check that the file is a photo (JPEG, PNG, WebP, GIF, ...) and try again, "
            "or save the profile photo again from the app or web page.</li></ul></div>"
        )
    if level in ("known", "warning"):
        items = _ADVICE_FOUND
        intro = (
            "The person behind this profile is probably not who the photos show. "
            "Police and consumer-protection advice for romance scams:"
        )
    else:
        items = _ADVICE_CLEAR
        intro = "Still be careful:"
    lis = "".join(f"<li>{text}</li>" for text in items)
    return f'<div class="advice"><h3>What to do next</h3><p>{intro}</p><ul>{lis}</ul></div>'


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
    "Try revimg's online search, or the browser search links for a photo that is on the "
    "web (<code>revimg links URL</code>).",
    "Ask for a live video call. Be wary of someone who always has an excuse not to, who "
    "moves fast to talk about love, or who wants to leave the dating app.",
    "<strong>Never send money</strong>, gift cards or intimate photos to someone you have "
    "not met in person.",
)

_HOW_TO_READ = (
    '<footer class="help"><h2>How to read this report</h2><ul>'
    "<li><strong>Score</strong>: how alike the photo and the known photo are, from 0 to 1. "
    "Scores from 0.75 up are reported; near 1 means almost certainly a copy.</li>"
    "<li><strong>What was changed</strong>: how the copy differs from the known photo "
    "(mirrored, cropped, resized...). Scammers change photos so that searches miss them.</li>"
    "<li><strong>Red box</strong>: the part of the known photo that the checked photo shows, "
    "when it was cropped.</li>"
    "<li><strong>No match</strong> only means the photo is not among the known photos "
    "checked; it does not prove that the photo is genuine.</li>"
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
.wrap{max-width:1080px;margin:0 auto;padding:0 16px}
.top{background:#fff;border-bottom:1px solid #d0d7de;padding:18px 0 12px;margin-bottom:20px}
h1{font-size:1.6rem;margin:0 0 4px}
.meta,.privacy{margin:2px 0;color:#4b5563;font-size:.95rem}
.summary{margin:10px 0 4px;font-size:1.15rem;font-weight:600}
.query{background:#fff;border:1px solid #d0d7de;border-radius:10px;margin:0 0 28px;
padding:0 0 16px;overflow:hidden}
.query>h3,.query>p,.query>ul,.query>.provider,.query>.pair,.query>.advice{margin-left:20px;
margin-right:20px}
.verdict{padding:18px 20px 14px;border-left:12px solid;margin-bottom:8px}
.verdict h2{font-size:2.2rem;line-height:1.15;margin:2px 0 8px}
.verdict .which{margin:0;font-size:.95rem;overflow-wrap:anywhere}
.verdict .sentence{margin:0;font-size:1.15rem;overflow-wrap:anywhere}
.verdict .caveat{margin:8px 0 0;font-weight:600}
.reasons{margin:8px 0 0;padding-left:22px;font-weight:600}
.v-known{background:#b42318;border-color:#7a1209;color:#fff}
.v-warning{background:#fdf0e1;border-color:#c2410c;color:#3b1a05}
.v-warning h2{color:#9a3412}
.v-clear{background:#eaf4ee;border-color:#2f7a4a;color:#14301f}
.v-clear h2{color:#1f5c36}
.v-error{background:#e5e7eb;border-color:#6b7280;color:#1f2328}
h3{font-size:1.2rem;margin:20px 0 8px}
.pair{display:flex;flex-wrap:wrap;align-items:flex-start;gap:12px 18px;padding:14px 0;
border-top:1px solid #e5e7eb}
figure{margin:0;max-width:100%}
.pic{position:relative;display:inline-block;max-width:100%;line-height:0}
.pic img{display:block;max-width:100%;height:auto;border:1px solid #9ca3af;border-radius:4px}
.box{position:absolute;border:3px solid #e11d48;outline:2px solid #fff;
box-shadow:0 0 0 9999px rgba(0,0,0,.25)}
.pic{overflow:hidden}
figcaption{font-size:.9rem;color:#374151;margin-top:6px;max-width:320px;
overflow-wrap:anywhere}
.placeholder{width:240px;max-width:100%;height:180px;display:flex;align-items:center;
justify-content:center;text-align:center;padding:12px;border:2px dashed #9ca3af;
border-radius:4px;background:#f9fafb;color:#374151;font-size:.95rem}
.arrow{align-self:center;font-size:2.4rem;color:#6b7280}
.facts{flex:1 1 380px;margin:0;display:grid;grid-template-columns:max-content 1fr;
gap:4px 12px;font-size:.97rem}
.facts dt{font-weight:600;color:#374151}
.facts dd{margin:0;overflow-wrap:anywhere}
a{color:#0b57d0}
.note{color:#7c2d12;background:#fff7ed;border-left:4px solid #ea580c;padding:6px 10px}
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
.advice{background:#f8fafc;border:1px solid #cbd5e1;border-radius:8px;padding:4px 16px 8px}
.advice h3{margin-top:10px}
.advice li{margin:5px 0}
code{font-size:.95em;background:#eef2f7;padding:1px 4px;border-radius:3px}
.help{font-size:.95rem;color:#374151;margin:0 0 40px}
.help h2{font-size:1.2rem}
.empty{font-size:1.2rem}
@media (max-width:600px){body{font-size:16px}.verdict h2{font-size:1.7rem}
.arrow{display:none}.facts{grid-template-columns:1fr}.facts dd{margin-bottom:6px}}
@media print{body{background:#fff;font-size:12pt}.top{border:0;margin:0}
.query{border:1px solid #999}
.pair,.verdict,.advice{break-inside:avoid}
.verdict,.kind,.box{-webkit-print-color-adjust:exact;print-color-adjust:exact}
a{color:#000}a[href]::after{content:" <" attr(href) ">";font-size:.85em;color:#333;
overflow-wrap:anywhere}}
"""
