"""The words of a check result, for people: verdict sentences, matches, evidence, what did
not run, web results and next steps.

One home for the wording: the terminal table prints these lines, the JSON ``hints`` are
:func:`hints`, and the HTML report (:mod:`revimg.report.html`) escapes and lays them out.
"""

from __future__ import annotations

from typing import NamedTuple

from revimg.matching.result import CheckResult, Match, NotRun


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


class VerdictWords(NamedTuple):
    """The verdict of one photo in words: ``label`` (``"LIKELY A KNOWN PHOTO"``, or "" for a
    no match or an error), ``text`` (what was found) and ``caveat`` (what it does not prove).
    """

    label: str
    text: str
    caveat: str = ""


def verdict_sentence(result: CheckResult) -> str:
    """One plain sentence a worried person can act on, starting with the query."""
    words = verdict_words(result)
    label = f"{words.label}: " if words.label else ""
    caveat = f" {words.caveat}" if words.caveat else ""
    return f"{result.query}: {label}{words.text}{caveat}"


def verdict_words(result: CheckResult) -> VerdictWords:
    """The parts of :func:`verdict_sentence`, for a page that shows the query and a headline."""
    if result.error is not None:
        return VerdictWords("", f"could not be checked ({result.error})")
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
        return VerdictWords(
            "LIKELY A KNOWN PHOTO",
            f'{how} of "{source}"{credit}, score {best.score:.2f}. '
            f"{not_theirs}{_also(evidence[1:], result)}",
        )
    if "web" in evidence:
        web = result.web
        assert web is not None
        pages = f"{web.exact_count} web page{'s' if web.exact_count != 1 else ''}"
        stock = (
            f", including stock photo sites ({', '.join(web.stock_hits[:3])})"
            if web.stock_hits
            else ""
        )
        return VerdictWords(
            "FOUND ON THE WEB",
            f"{pages} show this photo{stock}. "
            f"Check whether they belong to the person you are talking to. "
            f"{not_theirs}{_also(evidence[1:], result)}",
        )
    prov = result.provenance
    if "stock" in evidence and prov is not None:
        agencies = ", ".join(dict.fromkeys(h.agency for h in prov.stock_agencies))
        return VerdictWords(
            "LIKELY A STOCK PHOTO",
            f"its own metadata names {agencies}. {not_theirs}{_also(evidence[1:], result)}",
        )
    if "ai" in evidence and prov is not None:
        return VerdictWords(
            "LIKELY NOT A REAL PHOTO",
            f"its metadata marks it as made by AI ({prov.ai_signals[0]}). "
            "Nobody real may be behind this profile.",
        )
    if result.not_run:
        missing = "; ".join(describe_not_run(n) for n in result.not_run)
        return VerdictWords(
            "NOT FULLY CHECKED",
            f"{missing} did not run. What did run ({_what_ran(result)}) found nothing, but "
            "the check is not complete.",
        )
    extra = " (it has too little detail to compare)" if result.warnings else ""
    searched = [r.provider for r in result.online if r.ok]
    web_part = f", nor on the web ({', '.join(searched)})" if searched else ""
    return VerdictWords(
        "",
        f"no match among the known photos in this index{extra}{web_part}.",
        "That does not prove the photo is genuine.",
    )


def _also(kinds: list[str], result: CheckResult) -> str:
    words = {
        "web": "copies on other web pages",
        "stock": "a stock agency named in its metadata",
        "ai": "metadata marking it as AI-generated",
    }
    more = [words[k] for k in kinds if k in words]
    return f" Also: {', '.join(more)}." if more else ""


def evidence_reasons(result: CheckResult) -> list[tuple[str, str]]:
    """The evidence besides the index, strongest first, as (a few words, a sentence): a
    stock agency or an AI label in the photo's metadata, copies on the web.
    """
    reasons = []
    prov = result.provenance
    for kind in result.evidence:
        if kind == "stock" and prov is not None:
            names = ", ".join(dict.fromkeys(h.agency for h in prov.stock_agencies))
            reasons.append(
                (
                    f"stock agency: {names}",
                    f"Its hidden information names a stock-photo agency: {names}.",
                )
            )
        elif kind == "ai":
            reasons.append(
                ("marked as AI", "Its hidden information says it was made or edited by AI.")
            )
        elif kind == "web" and (web := result.web) is not None:
            sites = ", ".join(web.stock_hits)
            if web.exact_count:
                n = web.exact_count
                count = "1 web page" if n == 1 else f"{n} web pages"
                where = f", including stock-photo sites ({sites})" if sites else ""
                reasons.append(
                    (f"online on {count}", f"Copies were found online on {count}{where}.")
                )
            else:
                reasons.append(
                    (
                        "online on stock-photo sites",
                        f"Copies were found on stock-photo sites ({sites}).",
                    )
                )
    return reasons


def not_run_names(item: NotRun) -> tuple[str, str]:
    """A few words and a name for a part that did not run: ``("local index", "Local index")``,
    ``("tineye", "Online search (tineye)")``.
    """
    if item.part == "index":
        return "local index", "Local index"
    provider = item.part.removeprefix("online:")
    return provider, f"Online search ({provider})"


SCREENSHOT_HINT = (
    "this looks like a screenshot or a page, and no photo in it was recognised: crop it to "
    "the photo alone and check again, or search the web for the photo (revimg links URL "
    "for a photo that is online, or --online with a provider key)"
)
#: Next steps for a check that had no index to compare with (the same for every photo).
NO_INDEX_HINTS = (
    "search the web for it in your browser: 'revimg links PHOTO' lists the search pages "
    "(for a file on this computer you upload it there yourself; for a photo's web address "
    "only the address is sent)",
    "or search from here: add --online tineye (a TinEye API key in TINEYE_API_KEY) or "
    "--online serpapi-lens (SERPAPI_KEY); the photo is then sent to that service "
    "('revimg providers' lists them all)",
    "get an index of known photos: import a hash bank a team or a victims' organisation "
    "publishes ('revimg index import URL'), or build one from a folder of photos "
    "('revimg index build FOLDER')",
)
#: The sentences for each kind of ``CheckResult.next_steps``.
_NEXT_STEP_WORDS: dict[str, tuple[str, ...]] = {
    "screenshot": (SCREENSHOT_HINT,),
    "no_index": NO_INDEX_HINTS,
}


def hints(result: CheckResult) -> list[str]:
    """What the person can try next when nothing was found, as plain sentences (the JSON
    ``hints``): the words for each of ``result.next_steps``.
    """
    return [line for step in result.next_steps for line in _NEXT_STEP_WORDS[step]]


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
