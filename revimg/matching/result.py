"""What a check found, as one object every renderer reads: :class:`CheckResult`.

A result holds the matches in the index (:class:`Match`, best first), the photo's own
metadata (``revimg.provenance.Provenance``), the web searches the user asked for
(``revimg.online.search.ProviderResult``) and the parts that did not run (:class:`NotRun`).
Its verdict, evidence and next steps are computed here, once; the terminal table, JSON,
JSONL, CSV and HTML (``revimg.report``) only render them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from revimg.index.backend import Entry


@dataclass(frozen=True)
class Match:
    """An indexed photo that the query is likely a copy of, with the evidence.

    ``method`` says which stage found it: ``"pdq"`` (whole-image or stored-crop hashes),
    ``"features"`` (local keypoints that line up under one rotation, scale and shift;
    ``inliers`` counts them and ``rotation`` gives the angle in degrees), or the kind of an
    imported 64-bit hash such as ``"phash"`` (``distance`` then counts bits of 64).
    """

    entry: Entry
    distance: int
    score: float
    variant: str
    view: str
    box: tuple[float, float, float, float] | None
    exact: bool
    method: str = "pdq"
    inliers: int | None = None
    rotation: float | None = None
    #: The part of the QUERY that matched (a photo inside a screenshot, a round avatar), in
    #: fractions of its width and height; None when the whole query matched.
    query_box: tuple[float, float, float, float] | None = None

    def as_dict(self) -> dict[str, Any]:
        """The stable JSON shape of a match."""
        e = self.entry
        return {
            "path": e.path if e.path is not None else e.name,
            "id": e.id,
            "name": e.name,
            "distance": self.distance,
            "score": round(self.score, 4),
            "variant": self.variant,
            "region": None
            if self.box is None
            else {"view": self.view, "box": [round(b, 4) for b in self.box]},
            "exact": self.exact,
            "method": self.method,
            "inliers": self.inliers,
            "rotation": None if self.rotation is None else round(self.rotation, 1),
            "query_box": None if self.query_box is None else [round(b, 4) for b in self.query_box],
            "origin": e.origin,
            "meta": e.meta,
        }


@dataclass(frozen=True)
class NotRun:
    """A part of the check the user asked for that did not run, and why.

    ``part`` is ``"index"`` (no local index to compare with) or ``"online:<provider>"``;
    ``kind`` is a short machine-readable reason (``missing``, ``config``, ``auth``,
    ``quota``, ``timeout``, ``network``, ...); ``reason`` is one plain sentence.
    """

    part: str
    kind: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        """The stable JSON shape: part, kind, reason."""
        return {"part": self.part, "kind": self.kind, "reason": self.reason}


@dataclass
class CheckResult:
    """The outcome for one query: matches (best first) or an error, plus other evidence.

    ``provenance`` is what the photo's own metadata says (``revimg.provenance.Provenance``);
    ``online`` holds web search results (``revimg.online.search.ProviderResult``), only when the
    user asked for them.
    """

    query: str
    matches: list[Match] = field(default_factory=list)
    error: str | None = None
    quality: int | None = None
    sha256: str | None = None
    warnings: list[str] = field(default_factory=list)
    provenance: Any = None
    online: list[Any] = field(default_factory=list)
    #: The query looks like a screenshot or page (``QueryHashes.screenshot_like``).
    screenshot_like: bool = False
    #: Parts of the check that were asked for but did not run (no index, a failed provider).
    skipped: list[NotRun] = field(default_factory=list)

    @property
    def not_run(self) -> list[NotRun]:
        """What did not run: the parts given as skipped, then every provider that failed."""
        failed = [
            NotRun(f"online:{r.provider}", r.error_kind or "failed", r.error)
            for r in self.online
            if r.error is not None
        ]
        return [*self.skipped, *failed]

    @property
    def complete(self) -> bool:
        """True when every part of the check that was asked for ran."""
        return self.error is None and not self.not_run

    @property
    def hints(self) -> list[str]:
        """What the person can try next when nothing was found (plain sentences)."""
        if self.verdict not in ("no_match", "incomplete"):
            return []
        hints = [SCREENSHOT_HINT] if self.screenshot_like else []
        if any(n.part == "index" for n in self.skipped):
            hints.extend(NO_INDEX_HINTS)
        return hints

    @property
    def web(self) -> Any:
        """Summary of the web copies found (``revimg.online.search.OnlineSummary``), or None."""
        if not self.online:
            return None
        from revimg.online.search import online_summary

        return online_summary(self.online)

    @property
    def evidence(self) -> list[str]:
        """Why the photo is likely not the sender's own: one kind per item, strongest first.

        ``"local"`` (a known photo in the index), ``"web"`` (copies on other web pages),
        ``"stock"`` (a stock agency in its metadata), ``"ai"`` (marked as AI-generated).
        """
        kinds = []
        if self.matches:
            kinds.append("local")
        web = self.web
        if web is not None and (web.exact_count or web.stock_hits):
            kinds.append("web")
        if self.provenance is not None:
            if self.provenance.stock_evidence:
                kinds.append("stock")
            if self.provenance.ai_evidence:
                kinds.append("ai")
        return kinds

    @property
    def verdict(self) -> str | None:
        """``"match"`` (any part found evidence), ``"incomplete"`` (no evidence, but a part
        that was asked for did not run: see :attr:`not_run`), ``"no_match"`` (everything ran,
        nothing found), or None for a photo that could not be read.
        """
        if self.error is not None:
            return None
        if self.evidence:
            return "match"
        return "incomplete" if self.not_run else "no_match"

    def as_dict(self) -> dict[str, Any]:
        """The stable JSON shape of a result."""
        if self.error is not None:
            out: dict[str, Any] = {"query": self.query, "error": self.error}
            if self.online:
                out["online"] = [r.to_dict() for r in self.online]
            return out
        return {
            "query": self.query,
            "verdict": self.verdict,
            "evidence": self.evidence,
            "matches": [m.as_dict() for m in self.matches],
            "sha256": self.sha256,
            "pdq_quality": self.quality,
            "warnings": list(self.warnings),
            "provenance": None if self.provenance is None else self.provenance.to_dict(),
            "findings": [] if self.provenance is None else list(self.provenance.findings()),
            "online": [r.to_dict() for r in self.online],
            "web": None if (web := self.web) is None else web_dict(web),
            "hints": self.hints,
            "not_run": [n.as_dict() for n in self.not_run],
        }


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


def web_dict(web: Any) -> dict[str, Any]:
    """The JSON shape of an ``OnlineSummary``."""
    return {
        "exact_pages": web.exact_count,
        "stock_sites": list(web.stock_hits),
        "earliest_seen": web.earliest_seen,
    }
