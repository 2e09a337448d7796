"""The HTML report: structure, escaping of untrusted values, thumbnails, and a real browser."""

from __future__ import annotations

import base64
import html
import io
import json
import os
import re
import shutil
import subprocess
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from revimg import __version__
from revimg.index.store import Entry, open_index
from revimg.matching.checker import check_paths
from revimg.matching.result import CheckResult, Match, NotRun
from revimg.online.providers import WebMatch
from revimg.online.search import ProviderResult
from revimg.provenance import AgencyHit, Provenance, inspect
from revimg.report.html import (
    BANK_PLACEHOLDER,
    CSP,
    MISSING_PLACEHOLDER,
    THUMB_SIZE,
    ReportItem,
    render_report,
    thumbnail_uri,
    write_report,
)
from revimg.report.words import NO_INDEX_HINTS, SCREENSHOT_HINT
from tests.conftest import DATA, STOCK, SUSPECTS

#: Read at import: the autouse isolated_env fixture clears REVIMG_* before each test.
REQUIRE_CHROMIUM = os.environ.get("REVIMG_REQUIRE_CHROMIUM") == "1"
NOW = datetime(2024, 5, 6, 7, 8, tzinfo=UTC)
JPEG_URI = "data:image/jpeg;base64,"
RED = (180, 35, 24)  # the "Likely a known photo" banner, #b42318


class Page(HTMLParser):
    """Every start tag with its attributes, the text, and the contents of <style>."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.end_tags: list[str] = []
        self.chunks: list[str] = []
        self.styles: list[str] = []
        self._in_style = False
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        self._in_style = tag == "style"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        self.end_tags.append(tag)
        self._in_style = False

    def handle_data(self, data: str) -> None:
        (self.styles if self._in_style else self.chunks).append(data)

    @property
    def text(self) -> str:
        return " ".join("".join(self.chunks).split())

    @property
    def spaced(self) -> str:
        """The text with a space between elements (table cells, a term and its value)."""
        return " ".join(" ".join(self.chunks).split())

    def find(self, tag: str, **attrs: str) -> list[dict[str, str]]:
        """Attributes of every ``tag`` element that has all of ``attrs``."""
        return [
            have
            for name, have in self.tags
            if name == tag and all(have.get(k) == v for k, v in attrs.items())
        ]

    def with_class(self, word: str) -> list[tuple[str, dict[str, str]]]:
        return [(t, a) for t, a in self.tags if word in a.get("class", "").split()]


class _H2(HTMLParser):
    """The text of each verdict headline (h2 elements with an id)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._open = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "h2" and dict(attrs).get("id"):
            self._open = True
            self.found.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "h2":
            self._open = False

    def handle_data(self, data: str) -> None:
        if self._open:
            self.found[-1] += data


def headlines(html: str) -> list[str]:
    parser = _H2()
    parser.feed(html)
    parser.close()
    return [h.strip() for h in parser.found]


def web_links(page: Page) -> list[str]:
    """The page's links to the web (not to its own cards and parts)."""
    return [a["href"] for a in page.find("a") if not a["href"].startswith("#")]


def decode_uri(uri: str) -> Image.Image:
    assert uri.startswith(JPEG_URI), uri[:40]
    img = Image.open(io.BytesIO(base64.b64decode(uri[len(JPEG_URI) :], validate=True)))
    img.load()
    return img


def jpeg(
    size: tuple[int, int] = (640, 480), colour: tuple[int, int, int] = (200, 120, 40)
) -> bytes:
    buf = io.BytesIO()
    with Image.new("RGB", size, colour) as img:
        img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


JESPER = str(STOCK / "kphotoalbum__jesper.jpg")


def match(
    *,
    name: str = "kphotoalbum__jesper.jpg",
    path: str | None = JESPER,
    origin: str = "file",
    meta: dict[str, Any] | None = None,
    **overrides: Any,
) -> Match:
    """A match of the indexed photo ``name``: by default the cropped Jesper, found by features."""
    if meta is None:
        meta = {
            "title": "Jesper",
            "credit": "KPhotoAlbum demo album",
            "licence": "GPL-2+",
            "source_url": "https://packages.debian.org/bookworm/kphotoalbum",
            "tags": ["people"],
        }
    entry = Entry(6, name, path, origin, None, None, None, b"", 100, None, meta)
    fields: dict[str, Any] = {
        "distance": 10,
        "score": 0.99,
        "variant": "cropped",
        "view": "features",
        "box": (0.1663, 0.0, 0.8324, 0.9994),
        "exact": False,
        "method": "features",
        "inliers": 119,
        "rotation": 0.0,
    }
    fields.update(overrides)
    return Match(entry, **fields)


def result(*matches: Match, query: str = "suspect.jpg", **extra: Any) -> CheckResult:
    """A check result; ``extra`` sets its other fields (provenance, online, skipped, ...)."""
    return CheckResult(query, list(matches), sha256="0" * 64, quality=100, **extra)


def failed(query: str, error: str) -> CheckResult:
    """The result for a photo that could not be checked."""
    return CheckResult(query, error=error)


def web(
    *matches: WebMatch,
    provider: str = "tineye",
    sent: str = "bytes",
    host: str = "api.tineye.com",
    retention: str = "",
    cached: bool = False,
    error: str | None = None,
) -> ProviderResult:
    """What one online provider did and found."""
    kind = "config" if error else None
    return ProviderResult(provider, sent, host, retention, cached, matches, error, kind)  # type: ignore[arg-type]


def found(page_url: str | None, kind: str = "exact", **fields: Any) -> WebMatch:
    """One copy on the web."""
    base: dict[str, Any] = {"image_url": None, "title": None, "domain": None}
    base.update(fields)
    return WebMatch("tineye", page_url, kind=kind, **base)  # type: ignore[arg-type]


def ai_label(label: str = "AI label") -> Provenance:
    """Metadata that marks the photo as made by AI."""
    return Provenance("photo.jpg", ai_signals=(label,))


def render(*items: ReportItem) -> tuple[str, Page]:
    text = render_report(items, now=NOW)
    return text, Page(text)


def assert_inert(page: Page) -> None:
    """Nothing in the page can run code or fetch anything."""
    forbidden = {"script", "iframe", "object", "embed", "link", "base", "form", "frame", "svg"}
    for tag, attrs in page.tags:
        assert tag not in forbidden, (tag, attrs)
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name, value)
            lowered = value.strip().lower()
            assert not lowered.startswith(("javascript:", "vbscript:")), (tag, name, value)
            if "http" in lowered:
                assert (tag, name) == ("a", "href") or name in ("alt", "aria-label"), (tag, name)
            if name == "href":
                # a link to a card or a part of this page, or to a web page
                internal = re.fullmatch(r"#(q[0-9]+|overview|next)", value)
                assert internal or lowered.startswith(("http://", "https://")), value
            if name == "src":
                assert value.startswith(JPEG_URI), value[:60]
        if tag == "meta" and "http-equiv" in attrs:
            assert attrs["http-equiv"] == "Content-Security-Policy"
    assert page.end_tags.count("style") == 1
    css = "".join(page.styles).lower()
    assert "url(" not in css and "@import" not in css and "http" not in css


# ---------------------------------------------------------------------------
# Real check results
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_items(built_index: Path) -> list[ReportItem]:
    """Report items for three real suspects, checked against the shared index."""
    names = ["profile-square.jpg", "mirrored.jpg", "unrelated.jpg"]
    with open_index(built_index) as index:
        results = list(check_paths(index, [SUSPECTS / n for n in names]))
    return [ReportItem.of(r, Path(r.query).read_bytes()) for r in results]


def test_real_results_show_verdicts_photos_and_boxes(real_items: list[ReportItem]) -> None:
    text, page = render(*real_items)
    assert text.startswith("<!DOCTYPE html>")
    assert page.find("meta", **{"http-equiv": "Content-Security-Policy"})[0]["content"] == CSP
    assert page.find("html")[0]["lang"] == "en"
    assert headlines(text) == ["Likely a known photo", "Likely a known photo", "No match found"]
    assert [a["class"] for _, a in page.with_class("verdict")] == [
        "verdict v-known",
        "verdict v-known",
        "verdict v-clear",
    ]
    assert "3 photos checked, 2 likely known, 1 with no match." in page.text
    # The known photos are shown with their metadata; the crop's region is drawn.
    assert "Known photo: kphotoalbum__jesper.jpg" in page.text
    assert "Known photo: kphotoalbum__cold_water.jpg" in page.text
    assert "matching details" in page.text or "photo fingerprint" in page.text
    assert "mirrored" in page.text
    boxes = page.with_class("box")
    assert len(boxes) == 1
    assert "left:16." in boxes[0][1]["style"] and "top:0.0%" in boxes[0][1]["style"]
    # One thumbnail per query, one per known photo, each with a text alternative.
    images = page.find("img")
    expected = sum(1 + len(item.result.matches) for item in real_items)
    assert len(images) == expected == 5
    sides = []
    for attrs in images:
        assert attrs["alt"].strip()
        with decode_uri(attrs["src"]) as img:
            assert img.format == "JPEG"
            sides.append(max(img.size))
        assert len(attrs["src"]) < 80_000  # a thumbnail, not the photo
    # profile-square.jpg is 400 px wide: never enlarged; the others are scaled down
    assert sides == [400, THUMB_SIZE, THUMB_SIZE, THUMB_SIZE, THUMB_SIZE]
    assert_inert(page)


def test_crop_box_is_drawn_only_for_part_of_the_photo() -> None:
    shown = [
        ((0.1663, 0.0, 0.8324, 0.9994), "left:16.63%;top:0.0%;width:66.61%;height:99.94%"),
        ((-1, 0, 0.5, 2), "left:0.0%;top:0.0%;width:50.0%;height:100.0%"),
    ]
    for box, style in shown:
        item = ReportItem(result(match(box=box)), jpeg(), [JESPER])
        _, page = render(item)
        assert [a["style"] for _, a in page.with_class("box")] == [style]
    for box in (
        (0.0, 0.0001, 1.0, 1.0),
        (float("nan"), 0, 1, 1),
        (0.5, 0.5, 0.2, 0.9),
        None,
    ):
        item = ReportItem(result(match(box=box)), jpeg(), [JESPER])
        _, page = render(item)
        assert page.with_class("box") == [], box


def test_query_box_is_drawn_on_the_checked_image() -> None:
    """A photo found inside a screenshot: the box marks where, on the image checked."""
    full = (0.0, 0.0, 1.0, 1.0)
    m = match(box=full, query_box=(0.3134, 0.274, 0.9701, 0.4795), variant="framed")
    item = ReportItem(result(m), jpeg(), [JESPER])
    _, page = render(item)
    boxes = page.with_class("box")
    assert [a["style"] for _, a in boxes] == ["left:31.34%;top:27.4%;width:65.67%;height:20.55%"]
    assert "the part recognised" in page.text and "Where it was found" in page.text
    assert "inside a screenshot, page or border" in page.text
    for bad in (None, (0, 0, 1, 1), (float("inf"), 0, 1, 1)):
        m = match(box=full, query_box=bad, variant="framed")
        _, page = render(ReportItem(result(m), jpeg(), [JESPER]))
        assert page.with_class("box") == [], bad


def test_screenshot_hint_is_shown() -> None:
    item = ReportItem(result(screenshot_like=True), jpeg())
    _, page = render(item)
    assert f"Tip: {SCREENSHOT_HINT}" in page.text
    assert "crop it to the photo alone and check again" in page.text
    # a screenshot in which a known photo was found needs no tip
    _, page = render(ReportItem(result(match(), screenshot_like=True), jpeg(), [None]))
    assert "Tip:" not in page.text


# ---------------------------------------------------------------------------
# Escaping
# ---------------------------------------------------------------------------

EVIL = {
    "script": "<script>alert(1)</script>",
    "js_url": "javascript:alert(1)",
    "attr": '" onerror="alert(1)',
    "style": "</style><script>alert(2)</script>",
}


def test_malicious_values_cannot_inject_anything() -> None:
    meta = {
        "title": EVIL["script"],
        "credit": EVIL["attr"],
        "licence": "<img src=x onerror=alert(3)>",
        "source_url": EVIL["js_url"],
        "tags": [EVIL["style"], 5, None],
    }
    online = web(
        found(
            EVIL["js_url"],
            kind=EVIL["attr"],
            image_url="data:text/html,<script>alert(4)</script>",
            title=EVIL["attr"],
            domain=EVIL["style"],
            score=0.5,
            first_seen=EVIL["script"],
            stock=True,
        ),
        found('https://example.com/"onmouseover="alert(5)', title="<b>bold</b>"),
        found(" JavaScript:alert(6)", kind="partial"),
        provider=EVIL["script"],
        host=EVIL["attr"],
        retention=EVIL["style"],
    )
    prov = Provenance(
        EVIL["attr"],
        title=EVIL["style"],
        stock_agencies=(AgencyHit(EVIL["script"], "credit", EVIL["attr"], "iptc"),),
    )
    evil = result(
        match(name=EVIL["style"], path=EVIL["attr"], origin=EVIL["script"], meta=meta),
        match(name=EVIL["attr"], variant=EVIL["script"], meta={"source_url": "vbscript:x"}),
        query=EVIL["style"] + EVIL["attr"],
        warnings=[EVIL["script"]],
        online=[online],
        provenance=prov,
        skipped=[NotRun(f"online:{EVIL['attr']}", "failed", EVIL["style"])],
    )
    item = ReportItem(evil, jpeg(), [EVIL["attr"], None])
    error = ReportItem(failed(EVIL["attr"], EVIL["style"]))
    text, page = render(item, error)
    assert_inert(page)
    assert not page.find("a", href=EVIL["js_url"])
    # The values are shown as text, exactly as they were.
    for value in (*EVIL.values(), "<img src=x onerror=alert(3)>", "<b>bold</b>"):
        assert value in page.text, value
    assert "<script" not in text and "<img src=x" not in text
    # The https link with a quote in it stays one attribute value.
    hrefs = web_links(page)
    assert hrefs == ['https://example.com/"onmouseover="alert(5)']


def test_only_http_and_https_urls_become_links() -> None:
    urls = {
        "https://example.com/a?b=1&c=2": True,
        "http://example.com/": True,
        "HTTPS://EXAMPLE.COM/": True,
        "javascript:alert(1)": False,
        "data:text/html;base64,PHNjcmlwdD4=": False,
        "file:///etc/passwd": False,
        "//example.com/x": False,
        "https:///no-host": False,
        "https://exa mple.com/": False,
        "https://example.com/\nx": False,
    }
    for url, linked in urls.items():
        _, page = render(ReportItem(result(match(meta={"source_url": url})), None, [None]))
        hrefs = web_links(page)
        assert hrefs == ([url] if linked else []), url
        assert " ".join(url.split()) in page.text


# ---------------------------------------------------------------------------
# Thumbnails
# ---------------------------------------------------------------------------


def test_thumbnails_are_small_upright_jpegs() -> None:
    # Stored 1200x600 with EXIF orientation 6: upright it is 600x1200 (portrait).
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    with Image.new("RGB", (1200, 600), (10, 200, 30)) as img:
        img.save(buf, "JPEG", exif=exif.tobytes())
    uri = thumbnail_uri(buf.getvalue(), "sideways.jpg")
    assert uri is not None
    with decode_uri(uri) as thumb:
        assert thumb.size == (THUMB_SIZE // 2, THUMB_SIZE)
        assert not thumb.getexif()
    # A transparent PNG and a tiny photo come out as JPEGs too, never as the original bytes.
    png = io.BytesIO()
    with Image.new("RGBA", (50, 40), (0, 0, 255, 128)) as img:
        img.save(png, "PNG")
    uri = thumbnail_uri(png.getvalue(), "small.png")
    assert uri is not None
    with decode_uri(uri) as thumb:
        assert thumb.size == (50, 40) and thumb.mode == "RGB"
    assert thumbnail_uri(b"not an image", "x.jpg") is None
    assert thumbnail_uri(b"", "x.jpg") is None


def test_unreadable_query_photo_gets_a_placeholder() -> None:
    _, page = render(ReportItem(result(), b"garbage"))
    assert page.find("img") == []
    assert "picture could not be shown" in page.text


# ---------------------------------------------------------------------------
# Kinds of results
# ---------------------------------------------------------------------------


def test_error_result_renders_grey_with_its_reason() -> None:
    item = ReportItem(failed("notes.txt", "not an image, or a format that cannot be read"))
    text, page = render(item)
    assert headlines(text) == ["Could not be checked"]
    assert page.with_class("v-error")
    assert "Reason: not an image, or a format that cannot be read." in page.text
    assert "notes.txt" in page.text
    assert page.find("img") == []
    assert "Do not send money" not in page.text
    assert_inert(page)


def test_bank_match_without_picture_shows_placeholder() -> None:
    bank = match(
        name="scam-photo-0042",
        path=None,
        origin="shared-bank.jsonl",
        variant="original",
        box=None,
        method="pdq",
        inliers=None,
        meta={"title": "Reported scam profile"},
    )
    item = ReportItem.of(result(bank), jpeg())
    assert item.match_files == (None,)
    text, page = render(item)
    assert headlines(text) == ["Likely a known photo"]
    placeholders = page.with_class("placeholder")
    assert len(placeholders) == 1
    assert placeholders[0][1]["role"] == "img"
    assert BANK_PLACEHOLDER in page.text
    assert "from the hash bank shared-bank.jsonl" in page.text
    assert "photo fingerprint (PDQ hash)" in page.text
    assert len(page.find("img")) == 1  # the query only


def test_of_keeps_existing_local_files_only(tmp_path: Path) -> None:
    gone = match(path=str(tmp_path / "deleted.jpg"))
    here = match()
    item = ReportItem.of(result(here, gone), jpeg())
    assert item.match_files == (JESPER, None)
    _, page = render(item)
    assert len(page.find("img")) == 2  # the query once, beside the best match; one known photo
    assert MISSING_PLACEHOLDER in page.text


def test_no_match_says_it_proves_nothing_and_what_to_try() -> None:
    text, page = render(ReportItem(result(query="a.jpg"), jpeg()))
    assert headlines(text) == ["No match found"]
    assert page.with_class("v-clear")
    assert "No match among the known photos in this index." in page.text
    assert "That does not prove the photo is genuine" not in page.text  # its own line instead
    assert "No match among the known photos does not prove that the photo is genuine" in page.text
    assert "Search the web for it" in page.text
    assert "cannot prove that a photo is genuine" in page.text
    assert "revimg links URL" in page.text
    assert "online search" in page.text
    assert "Stop contact" not in page.text
    assert page.with_class("summary") == []  # the summary line is for several photos


def test_match_gives_romance_scam_advice() -> None:
    _, page = render(ReportItem(result(match()), jpeg(), [JESPER]))
    assert (
        'A copy (cropped) of "Jesper" by KPhotoAlbum demo album, score 0.99. Someone may be '
        "using a photo that is not theirs." in page.text
    )
    assert "LIKELY A KNOWN PHOTO" not in page.text and "suspect.jpg: " not in page.text
    for advice in (
        "Do not send money",
        "gift cards",
        "Do not share intimate photos",
        "screenshots of the profile",
        "Stop contact",
        "Report the profile",
        "police",
        "national fraud reporting service",
    ):
        assert advice in page.text, advice


def test_stock_credit_without_a_match_is_a_warning() -> None:
    prov = inspect((DATA / "provenance" / "stock-full.jpg").read_bytes(), "stock-full.jpg")
    item = ReportItem(result(provenance=prov), jpeg())
    text, page = render(item)
    assert headlines(text) == ["Warning signs found"]
    assert "LIKELY A STOCK PHOTO: its own metadata names Getty Images" in page.text
    assert "names a stock-photo agency: Getty Images" in page.text
    strong = page.with_class("strong")
    assert len(strong) == len(prov.evidence()) > 0
    for line in prov.findings():
        assert line in page.text
    assert "Stop contact" in page.text


def test_ai_label_and_findings() -> None:
    prov = inspect((DATA / "provenance" / "ai-xmp-trained.jpg").read_bytes(), "ai.jpg")
    text, page = render(ReportItem(result(provenance=prov)))
    assert headlines(text) == ["Warning signs found"]
    assert "made or edited by AI" in page.text
    for line in prov.findings():
        assert line in page.text
    assert len(page.with_class("strong")) == len(prov.evidence())
    # A photo without metadata says so; one that was not inspected shows no such section.
    empty = inspect((DATA / "provenance" / "no-metadata.jpg").read_bytes(), "plain.jpg")
    assert empty.findings() == ()
    _, page = render(ReportItem(result(provenance=empty)))
    assert "carries no camera, credit or AI information" in page.text
    _, page = render(ReportItem(result()))
    assert "hidden information" not in page.text


def test_online_results_say_what_was_sent_where() -> None:
    copy = found(
        "https://www.istockphoto.com/photo/man-123",
        image_url="https://media.istockphoto.com/id/123.jpg",
        title="Smiling man",
        domain="istockphoto.com",
        score=0.93,
        first_seen="2016-03-02",
        tags=("stock",),
        stock=True,
    )
    online = [
        web(copy, retention="deleted after 72 hours", cached=True),
        web(provider="serpapi", sent="url", host="serpapi.com"),
        web(
            provider="vision",
            sent="nothing",
            host="vision.googleapis.com",
            error="vision: no API key (set GOOGLE_API_KEY)",
        ),
    ]
    text, page = render(ReportItem(result(online=online), jpeg()))
    assert headlines(text) == ["Warning signs found"]
    assert (
        "Copies were found online on 1 web page, including stock-photo sites (istockphoto.com)."
        in page.text
    )
    assert "the photo itself was sent to api.tineye.com" in page.text
    assert "The online searches shown below sent the photo" in page.text
    assert "deleted after 72 hours" in page.text and "local cache" in page.text
    assert "only the photo's web address was sent to serpapi.com" in page.text
    assert "vision: nothing was sent" in page.text
    assert "Could not search: vision: no API key" in page.text
    assert "first seen 2016-03-02" in page.text and "stock photo site" in page.text
    hrefs = web_links(page)
    assert hrefs == [
        "https://www.istockphoto.com/photo/man-123",
        "https://media.istockphoto.com/id/123.jpg",
    ]
    assert_inert(page)
    # Look-alikes alone are not evidence.
    similar = [web(found(copy.page_url, kind="similar", stock=True, domain="istockphoto.com"))]
    text, _ = render(ReportItem(result(online=similar), jpeg()))
    assert headlines(text) == ["No match found"]
    # A copy on a stock site that is only part of the photo is evidence too.
    partial = [web(found(copy.page_url, kind="partial", stock=True, domain="istockphoto.com"))]
    text, page = render(ReportItem(result(online=partial), jpeg()))
    assert headlines(text) == ["Warning signs found"]
    assert "Copies were found on stock-photo sites (istockphoto.com)." in page.text


def test_bank_metadata_of_any_json_type_is_shown_only_as_text() -> None:
    """A hash bank's metadata is any JSON: what is not text is left out, never an error."""
    meta = {"title": 5, "credit": ["x"], "licence": None, "source_url": {"a": 1}, "tags": "x"}
    odd = match(name="bank-7", path=None, origin="bank.jsonl", meta=meta, method="pdq")
    text, page = render(ReportItem(result(odd), None, [None]))
    assert headlines(text) == ["Likely a known photo"]
    assert "Known photo: bank-7" in page.text
    for label in ("Title", "Credit", "Licence", "Source", "Tags"):
        assert f"<dt>{label}</dt>" not in text, label
    assert_inert(page)


def test_header_summary_and_title() -> None:
    items = [
        ReportItem(result(match()), None, [None]),
        ReportItem(result()),
        ReportItem(failed("x", "broken")),
        ReportItem(result(provenance=ai_label())),
    ]
    _, page = render(*items)
    assert f"made 2024-05-06 07:08 with revimg {__version__}" in page.text
    assert (
        "This report was made on this computer; it contains thumbnails of the photos" in page.text
    )
    summary = (
        "4 photos checked, 1 likely known, 1 with warning signs, 1 with no match, "
        "1 could not be checked."
    )
    assert summary in page.text
    assert "Photo 2 of 4: suspect.jpg" in page.text
    _, page = render()
    assert "No photos were checked." in page.text


def test_write_report_is_atomic_utf8(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_text("old", encoding="utf-8")
    items = [ReportItem(result(match(meta={"title": "Café Ωmega"})), jpeg(), [None])]
    assert write_report(target, items, now=NOW) == target
    assert target.read_bytes().decode("utf-8") == render_report(items, now=NOW)
    assert "Café Ωmega" in target.read_text(encoding="utf-8")
    assert target.stat().st_mode & 0o077 == 0  # private: it holds thumbnails of photos
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
    from revimg.files import OutputError

    with pytest.raises(OutputError):
        write_report(tmp_path / "missing" / "report.html", items)
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


# ---------------------------------------------------------------------------
# Incomplete checks, the overview of several photos, advice once
# ---------------------------------------------------------------------------

NOT_RUN = [
    NotRun(
        "index",
        "missing",
        "There is no local index at ~/revimg-index, so no known photo was compared.",
    ),
    NotRun("online:tineye", "config", "TinEye has no key (set TINEYE_API_KEY)."),
]


def cards(text: str) -> list[str]:
    """The HTML of each photo's card, in order."""
    return re.findall(r'<section class="query".*?</section>', text, flags=re.DOTALL)


def test_incomplete_is_amber_and_lists_what_did_not_run() -> None:
    item = ReportItem(result(skipped=NOT_RUN), jpeg())
    text, page = render(item)
    assert headlines(text) == ["Not fully checked"]
    assert [a["class"] for _, a in page.with_class("verdict")] == ["verdict v-incomplete"]
    assert "Local index: There is no local index at ~/revimg-index" in page.text
    assert "Online search (tineye): TinEye has no key (set TINEYE_API_KEY)." in page.text
    assert "Nothing found so far proves nothing" in page.text
    assert "No match found" not in page.text and not page.with_class("v-clear")
    assert "Make the missing part run, then check again" in page.text
    assert "Stop contact" not in page.text and "Never send money" in page.text
    assert len(page.find("img")) == 1  # the photo that was checked
    # the verdict sentence of revimg.report.words, minus what the headline says already
    assert "NOT FULLY CHECKED" not in page.text
    assert (
        "The comparison with known photos (no index on this machine yet); the web search on "
        "tineye (no API key) did not run. What did run (its own metadata) found nothing"
    ) in page.text
    # the next steps without an index, on the card of a single photo
    for hint in NO_INDEX_HINTS:
        assert f"Tip: {hint}" in page.text


def test_not_run_values_are_untrusted() -> None:
    not_run = [
        NotRun(f"online:{EVIL['attr']}", "failed", EVIL["script"]),
        NotRun("index", EVIL["style"], EVIL["style"]),
    ]
    items = [
        ReportItem(result(skipped=not_run, query=EVIL["attr"])),
        ReportItem(result(match(), skipped=not_run), None, [None]),
    ]
    text, page = render(*items)
    assert_inert(page)
    assert "<script" not in text
    assert f"Online search ({EVIL['attr']}): {EVIL['script']}" in page.text
    assert f"Local index: {EVIL['style']}" in page.text
    assert headlines(text) == ["Not fully checked", "Likely a known photo"]


def test_match_with_parts_not_run_lists_them_smaller() -> None:
    serp = [web(provider="serpapi-lens", host="serpapi.com", error="SerpApi timed out.")]
    item = ReportItem(result(match(), online=serp), jpeg(), [JESPER])
    text, page = render(item)
    assert headlines(text) == ["Likely a known photo"]
    assert page.with_class("v-known") and not page.with_class("v-incomplete")
    note = page.with_class("not-run-note")
    assert len(note) == 1
    assert "Not every part of the check ran: Online search (serpapi-lens): SerpApi timed out." in (
        page.spaced
    )
    # ... and the overview row of a report of several photos says so too
    _, page = render(item, ReportItem(result()))
    assert "not run: serpapi-lens" in page.text
    # a match where everything ran says nothing of the kind
    _, page = render(ReportItem(result(match()), jpeg(), [None]))
    assert not page.with_class("not-run-note") and "part of the check ran" not in page.text


def test_error_does_not_look_like_no_match() -> None:
    error = ReportItem(failed("notes.txt", "not an image"))
    clear = ReportItem(result(query="a.jpg"), jpeg())
    text, page = render(error, clear)
    assert headlines(text) == ["Could not be checked", "No match found"]
    assert [a["class"] for _, a in page.with_class("verdict")] == [
        "verdict v-error",
        "verdict v-clear",
    ]
    assert [a["class"] for _, a in page.with_class("badge")] == ["badge b-error", "badge b-clear"]
    error_card, clear_card = cards(text)
    assert "No match" not in error_card and "Reason: not an image." in error_card
    assert "No match among the known photos does not prove" in clear_card


def _rgb(css: str, selector: str, prop: str) -> tuple[int, int, int]:
    found = re.search(re.escape(selector) + r"\{[^}]*?" + prop + r":#([0-9a-f]{6})", css)
    assert found, (selector, prop)
    value = found.group(1)
    return int(value[:2], 16), int(value[2:4], 16), int(value[4:], 16)


def test_no_match_is_neutral_and_incomplete_is_amber() -> None:
    """No match is blue or grey, never a reassuring green; not fully checked is amber."""
    css = "".join(render(ReportItem(result()))[1].styles)
    for prop in ("background", "border-color"):
        r, g, b = _rgb(css, ".v-clear", prop)
        assert b > g >= r, (prop, r, g, b)  # blue
        r, g, b = _rgb(css, ".v-incomplete", prop)
        assert r > g > b, (prop, r, g, b)  # amber
    r, g, b = _rgb(css, ".b-clear", "background")
    assert b > g >= r


def test_score_wording_follows_the_method() -> None:
    cases = [
        (
            match(method="features", inliers=119, distance=116),
            "0.99 out of 1: 119 matching details line up",
            ["of 256 bits", "116", "fingerprint"],
        ),
        (
            match(method="features", inliers=None, distance=116),
            "Score 0.99 out of 1 What",
            ["of 256 bits", "116"],
        ),
        (
            match(method="pdq", inliers=None, distance=10, score=0.96),
            "0.96 out of 1 (distance 10 of 256 bits)",
            ["matching details line up"],
        ),
        (
            match(method="phash", inliers=None, distance=7, score=0.89),
            "0.89 out of 1 (distance 7 of 64 bits)",
            ["of 256 bits", "matching details line up"],
        ),
    ]
    for m, shown, hidden in cases:
        _, page = render(ReportItem(result(m), None, [None]))
        text = page.spaced
        facts = text[text.index("Score 0") : text.index("Known photo kphoto")]
        assert shown in facts, (m.method, facts)
        for words in hidden:
            assert words not in facts, (m.method, words, facts)
    m = match(method="phash", inliers=None, distance=5)
    _, page = render(ReportItem(result(m), None, [None]))
    assert "photo fingerprint (imagehash pHash from a hash list)" in page.text
    assert "(distance 5 of 64 bits)" in page.text


def test_only_the_best_match_box_is_drawn_on_the_checked_photo() -> None:
    full = (0.0, 0.0, 1.0, 1.0)
    first = match(box=full, query_box=(0.1, 0.2, 0.5, 0.6))
    second = match(box=full, query_box=(0.5, 0.5, 0.9, 0.9), name="other.jpg")
    text, page = render(ReportItem(result(first, second), jpeg(), [JESPER, JESPER]))
    assert [a["style"] for _, a in page.with_class("box")] == [
        "left:10.0%;top:20.0%;width:40.0%;height:40.0%"
    ]
    assert page.text.count("Where it was found") == 1
    assert "Other known photos it matches" in page.text
    # the checked photo once, each known photo once, all the same size at most
    images = page.find("img")
    assert [a["alt"].split(":")[0] for a in images] == [
        "The photo you checked",
        "Known photo 1",
        "Known photo 2",
    ]
    sizes = [(int(a["width"]), int(a["height"])) for a in images]
    assert max(sizes[0]) == max(sizes[1]) == max(sizes[2]) == THUMB_SIZE
    for attrs, size in zip(images, sizes, strict=True):
        with decode_uri(attrs["src"]) as img:
            assert img.size == size
    # the known photo's thumbnail is made once for the page, however often it matched
    assert images[1]["src"] == images[2]["src"]


def test_advice_is_given_once_for_the_whole_page() -> None:
    items = [
        ReportItem(result(match()), None, [None]),
        ReportItem(result()),
        ReportItem(result(skipped=NOT_RUN)),
        ReportItem(failed("x.txt", "broken")),
        ReportItem(result(provenance=ai_label())),
    ] * 3
    text, page = render(*items)
    assert page.text.count("What to do next") == 1
    assert page.text.count("Do not send money") == 1
    assert "Never send money" not in page.text  # said once already, more strongly
    for heading in (
        "For the photos that are likely known or show warning signs",
        "For the photos not fully checked",
        "For the photos with no match",
        "For the photos that could not be checked",
    ):
        assert page.text.count(heading) == 1, heading
    # after the overview, before the first card
    assert text.index('id="overview"') < text.index('id="next"') < text.index('id="q1"')
    # one photo: its card, then the advice, without the headings for several kinds
    text, page = render(items[1])
    assert text.index('id="q1"') < text.index('id="next"')
    assert "For the photos" not in page.text
    assert page.find("section", id="overview") == []


def test_tips_given_for_several_photos_are_said_once() -> None:
    items = [
        ReportItem(result(skipped=NOT_RUN)),
        ReportItem(result(skipped=NOT_RUN, screenshot_like=True)),
        ReportItem(result(match()), None, [None]),
    ]
    text, page = render(*items)
    advice = text[text.index('id="next"') : text.index('id="q1"')]
    assert "Search the web for it in your browser: &#x27;revimg links PHOTO&#x27;" in advice
    assert "Get an index of known photos" in advice
    assert page.text.count("revimg links PHOTO") == 1
    first, second, _ = cards(text)
    assert "Tip:" not in first and f"Tip: {SCREENSHOT_HINT}" in Page(second).text
    assert "Tip: search the web" not in second
    # one photo: its tips on its card
    text, page = render(items[1])
    tips = 1 + len(NO_INDEX_HINTS)
    assert page.text.count("Tip: ") == tips and "Tips from the check" not in page.text


def test_overview_lists_every_photo_with_a_link_to_its_card() -> None:
    items = [
        ReportItem(result(match(), query="/case/7/a.jpg"), None, [None]),
        ReportItem(result(query="/case/7/b.jpg")),
        ReportItem(result(skipped=NOT_RUN, query="/case/7/c.jpg")),
        ReportItem(failed("/case/7/d.txt", "not an image")),
        ReportItem(result(provenance=ai_label("x"), query="/case/7/sub/e.jpg")),
    ]
    text, page = render(*items)
    assert "Photos in /case/7/" in page.text
    links = [a["href"] for a in page.find("a") if a["href"].startswith("#q")]
    assert links == ["#q1", "#q2", "#q3", "#q4", "#q5"]
    assert [a["id"] for a in page.find("section", **{"class": "query"})] == [h[1:] for h in links]
    assert [a["class"] for _, a in page.with_class("badge")] == [
        f"badge b-{level}" for level in ("known", "clear", "incomplete", "error", "warning")
    ]
    table = text[text.index("<table") : text.index("</table>")]
    rows = Page(table)
    assert len(rows.find("tr")) == 1 + len(items)
    assert "a.jpg Likely known Jesper 0.99" in rows.spaced
    assert "b.jpg No match" in rows.spaced
    assert "c.jpg Not fully checked not run: local index, tineye" in rows.spaced
    assert "d.txt Could not be checked not an image" in rows.spaced
    assert "sub/e.jpg Warning signs marked as AI" in rows.spaced
    assert "/case/7/a.jpg" not in rows.text  # the folder is said once, in the caption
    assert page.text.count("Back to the list of photos") == len(items)
    # 200 photos: one short row each
    many = [ReportItem(result(query=f"p{i}.jpg")) for i in range(200)]
    text, _ = render(*many)
    table = text[text.index("<table") : text.index("</table>")]
    assert table.count("<tr") == 201 and len(table) < 200 * 250


# ---------------------------------------------------------------------------
# A real browser
# ---------------------------------------------------------------------------

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
)


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        reason = "chromium is not installed (Debian: apt-get install -y chromium)"
        if REQUIRE_CHROMIUM:
            pytest.fail(f"{reason}, and REVIMG_REQUIRE_CHROMIUM=1 requires it")
        pytest.skip(reason)
    return found


def _run_chromium(
    binary: str, tmp: Path, page: Path, *mode: str
) -> subprocess.CompletedProcess[str]:
    profile = tmp / "profile"
    env = {**os.environ, "HOME": str(tmp)}
    return subprocess.run(
        [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *mode, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def _console_lines(stderr: str) -> list[str]:
    """Messages of the page's console (CSP violations, errors), as Chromium logs them."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def test_report_renders_in_headless_chromium(real_items: list[ReportItem], tmp_path: Path) -> None:
    binary = _chromium()
    bank = match(
        path=None,
        name="abc123",
        origin="shared-bank.jsonl",
        box=None,
        variant="original",
        method="pdq",
        meta={"title": "Reported scam profile"},
    )
    items = [
        *real_items,
        ReportItem(result(bank, query="resized.jpg"), (SUSPECTS / "resized.jpg").read_bytes()),
        ReportItem(failed("notes.txt", "not an image")),
    ]
    report = write_report(tmp_path / "report.html", items)
    expected = Page(report.read_text(encoding="utf-8"))
    n_images = len(expected.find("img"))
    assert n_images == 6

    shot = tmp_path / "shot.png"
    run = _run_chromium(binary, tmp_path, report, f"--screenshot={shot}", "--window-size=1200,2000")
    assert run.returncode == 0, run.stderr[-2000:]
    assert _console_lines(run.stderr) == []
    with Image.open(shot) as img:
        assert img.format == "PNG" and img.size == (1200, 2000)
        colours = img.convert("RGB").getcolors(img.width * img.height)
    assert colours is not None
    counts = dict((c, n) for n, c in colours)
    assert len(counts) > 10_000, "the photos were not painted"  # about 1,800 without them
    assert counts.get(RED, 0) > 50_000, "the inline CSS was not applied"

    run = _run_chromium(binary, tmp_path, report, "--dump-dom")
    assert run.returncode == 0, run.stderr[-2000:]
    assert _console_lines(run.stderr) == []
    dom = Page(run.stdout)
    images = dom.find("img")
    assert len(images) == n_images
    assert [a["src"] for a in images] == [a["src"] for a in expected.find("img")]
    assert headlines(run.stdout) == headlines(report.read_text(encoding="utf-8"))

    # The console check sees what the page's CSP blocks (so an empty list above means something).
    bad = tmp_path / "bad.html"
    bad.write_text(
        f'<!DOCTYPE html><meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<img src="http://127.0.0.1:9/x.png"><script>document.title="ran"</script>',
        encoding="utf-8",
    )
    run = _run_chromium(binary, tmp_path, bad, "--dump-dom")
    assert len(_console_lines(run.stderr)) >= 2, run.stderr[-2000:]


#: Measures the laid-out report and writes the figures as JSON into the page that frames it
#: (for --dump-dom). Only for these tests: the report itself has no script, and its CSP
#: would block this one.
LAYOUT_PROBE = """<script>
(() => {
  const width = document.documentElement.clientWidth;
  const out = {width, page: document.documentElement.scrollWidth, overflow: [], clipped: []};
  for (const el of document.body.querySelectorAll("*")) {
    if (el.parentElement.closest(".table-box")) continue;  // the table may scroll in its box
    const r = el.getBoundingClientRect();
    const name = el.tagName + "." + el.className;
    if (r.width && (r.right > width + 0.5 || r.left < -0.5)) {
      out.overflow.push(name + " " + r.left + ".." + r.right);
    }
    // text wider than its box (a card hides what sticks out, so the page would not show it)
    if (el.clientWidth && el.scrollWidth > el.clientWidth + 1) out.clipped.push(name);
  }
  const box = document.querySelector(".table-box");
  out.table = box ? [box.scrollWidth, box.clientWidth] : null;
  out.rows = [...document.querySelectorAll(".list tbody tr")].map(
    (r) => Math.round(r.getBoundingClientRect().height));
  const card = document.querySelector("section.query");
  out.pair = card.querySelector(".pair").clientWidth;
  out.images = [...card.querySelectorAll("img")].map((i) => {
    const r = i.getBoundingClientRect();
    return [Math.round(r.width), Math.round(r.height)];
  });
  const pre = document.createElement("pre");
  pre.id = "layout";
  pre.textContent = JSON.stringify(out);
  parent.document.body.append(pre);
})();
</script>"""


def _layout(binary: str, tmp: Path, text: str, width: int) -> dict[str, Any]:
    """The report laid out by Chromium ``width`` px wide, as LAYOUT_PROBE measures it.

    Headless Chromium lays a page out at least 500 px wide before --dump-dom, whatever the
    window size, so the report is shown in a frame of that width (its own viewport: media
    queries and the viewport units follow the frame).
    """
    probed = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", text, count=1)
    assert probed != text
    probed = probed.replace("</body>", LAYOUT_PROBE + "</body>")
    page = tmp / f"probe-{width}.html"
    page.write_text(
        '<!DOCTYPE html><html><body style="margin:0">'
        f'<iframe width="{width}" height="900" style="border:0;display:block" '
        f'srcdoc="{html.escape(probed, quote=True)}"></iframe></body></html>',
        encoding="utf-8",
    )
    window = f"--window-size={max(width, 500) + 100},1000"
    run = _run_chromium(binary, tmp, page, "--dump-dom", "--hide-scrollbars", window)
    assert run.returncode == 0, run.stderr[-2000:]
    found = re.search(r'<pre id="layout">(.*?)</pre>', run.stdout, flags=re.DOTALL)
    assert found, run.stdout[-2000:]
    return json.loads(html.unescape(found.group(1)))


def _mixed_items(n: int) -> list[ReportItem]:
    """``n`` photos: matches with pictures, no match, not fully checked, errors, long names."""
    known = STOCK / "kphotoalbum__jesper.jpg"
    long_name = "x" * 150 + ".jpg"  # no place to break a line
    online = web(found("https://example.com/" + "a" * 200))
    kinds = [
        ReportItem(result(match(), query="case/a.jpg"), jpeg(), [known]),
        ReportItem(result(query="case/" + long_name), jpeg((300, 900))),
        ReportItem(result(skipped=NOT_RUN, query="case/c.jpg"), jpeg()),
        ReportItem(failed("case/" + long_name, "y" * 200)),
        ReportItem(result(online=[online], query="case/e.jpg"), jpeg()),
        ReportItem(
            result(match(method="pdq", box=None, meta={"title": long_name}), query="case/f.jpg"),
            jpeg(),
            [None],
        ),
    ]
    return [kinds[i % len(kinds)] for i in range(n)]


def test_layout_fits_a_phone_and_a_desktop(tmp_path: Path) -> None:
    """At 390 px nothing is wider than the window (the table collapses its columns) and the
    photos fill the card; at 1280 px the photos are shown large and the table is compact.
    """
    binary = _chromium()
    text = render_report(_mixed_items(30), now=NOW)
    phone = _layout(binary, tmp_path, text, 390)
    assert phone["width"] == 390 and phone["page"] <= 390, phone
    assert phone["overflow"] == [] and phone["clipped"] == []
    scroll, visible = phone["table"]
    assert scroll <= visible  # collapsed: no need to scroll the table sideways
    rows = sorted(phone["rows"])
    assert len(rows) == 30 and rows[len(rows) // 2] <= 90 and rows[-1] < 250, rows
    (query_w, _), (known_w, _) = phone["images"]
    assert query_w == known_w >= phone["pair"] - 2  # both as wide as the card

    desktop = _layout(binary, tmp_path, text, 1280)
    assert desktop["width"] == 1280 and desktop["page"] <= 1280, desktop
    assert desktop["overflow"] == [] and desktop["clipped"] == []
    (query_w, query_h), (known_w, known_h) = desktop["images"]
    assert query_w == 480  # jpeg() is 640 x 480: shown 480 px wide
    assert max(known_w, known_h) >= max(query_w, query_h)
    rows = desktop["rows"]
    # a match and a web find: one line each; names of 150 letters: 3 lines at most
    assert all(rows[i] <= 32 for i in range(30) if i % 6 in (0, 4)), rows
    assert max(rows) <= 70, rows


def test_thumbnails_carry_no_metadata_of_the_photo() -> None:
    """A JPEG comment (it can hold an address), EXIF and XMP stay out of the report."""
    img = Image.new("RGB", (800, 600), (120, 60, 30))
    buf = io.BytesIO()
    exif = Image.Exif()
    exif[0x010E] = "taken at 12 Secret Street"  # ImageDescription
    img.save(buf, "JPEG", comment=b"home: 12 Secret Street", exif=exif.tobytes())
    uri = thumbnail_uri(buf.getvalue(), "photo.jpg")
    assert uri is not None
    raw = base64.b64decode(uri.split(",", 1)[1])
    assert b"Secret" not in raw
    with Image.open(io.BytesIO(raw)) as thumb:
        assert "comment" not in thumb.info and "exif" not in thumb.info
