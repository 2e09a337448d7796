"""Keyless "open in browser" search links for an image that is already at a public URL.

The templates are those of providers.md §6 (from dessant/search-by-image and other public
code). They lead to result pages for people, not to an API: nothing here is fetched, and
opening one sends only the image URL, from the user's browser, to that engine.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit, urlunsplit

from revimg.errors import UsageError

#: (engine id, template); ``{u}`` is the percent-encoded image URL, ``{raw}`` the URL as is.
TEMPLATES: tuple[tuple[str, str], ...] = (
    ("google-lens", "https://lens.google.com/uploadbyurl?url={u}"),
    (
        "bing",
        "https://www.bing.com/images/search?q=imgurl:{u}&view=detailv2&iss=sbi&FORM=IRSBIQ",
    ),
    ("yandex", "https://yandex.com/images/search?url={u}&rpt=imageview"),
    ("tineye", "https://www.tineye.com/search/?&url={u}"),
    ("sogou", "https://pic.sogou.com/ris?query={u}&flag=1&drag=0"),
    ("iqdb-3d", "https://3d.iqdb.org/?url={u}"),
    ("ascii2d", "https://ascii2d.net/search/url/{raw}"),
    ("lenso", "https://lenso.ai/en/search-by-url?url={u}"),
    ("saucenao", "https://saucenao.com/search.php?url={u}"),
)

#: (engine id, page) where a person uploads a photo file themselves: the file goes to that
#: site from the browser, never from revimg.
UPLOAD_PAGES: tuple[tuple[str, str], ...] = (
    ("google-lens", "https://images.google.com/"),
    ("bing", "https://www.bing.com/visualsearch"),
    ("yandex", "https://yandex.com/images/"),
    ("tineye", "https://tineye.com/"),
)

#: Characters that may stay as they are in the raw URL that ascii2d takes in its path.
_RAW_SAFE = ":/?&=%+,;@!$'()*~[]"


def check_image_url(image_url: str) -> str:
    """The URL, validated: absolute http(s) with a host, no credentials; fragment dropped.

    Raises:
        UsageError: anything else (a file path, ``ftp:``, ``data:``, spaces, credentials).
    """
    value = image_url.strip()
    if not value or any(ord(c) < 33 or ord(c) == 127 for c in value):
        raise UsageError(f"not a usable image URL (empty or contains spaces): {image_url!r}")
    try:
        parts = urlsplit(value)
        host = parts.hostname
        _ = parts.port  # raises on a malformed port
    except ValueError:
        raise UsageError(f"not a valid URL: {image_url!r}") from None
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise UsageError(
            f"the image URL must start with http:// or https:// and name a host: {image_url!r}"
        )
    if parts.username is not None or parts.password is not None:
        raise UsageError("the image URL must not contain a user name or password")
    return urlunsplit((parts.scheme.lower(), parts.netloc, parts.path, parts.query, ""))


def links(image_url: str) -> list[tuple[str, str]]:
    """``(engine, url)`` pairs that search for ``image_url`` in a browser.

    Raises:
        UsageError: ``image_url`` is not an http(s) URL (see :func:`check_image_url`).
    """
    url = check_image_url(image_url)
    encoded = quote(url, safe="")
    raw = quote(url, safe=_RAW_SAFE)  # only non-ASCII is escaped, as browsers do
    return [(engine, t.format(u=encoded, raw=raw)) for engine, t in TEMPLATES]
