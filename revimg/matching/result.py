"""What a check found, as one object every renderer reads: :class:`CheckResult`.

A result holds the matches in the index (:class:`Match`, best first), the photo's own
metadata (``revimg.provenance.Provenance``), the web searches the user asked for
(``revimg.online.search.ProviderResult``) and the parts that did not run (:class:`NotRun`).
Its verdict, evidence and next steps are computed here, once; the terminal table, JSON,
JSONL, CSV and HTML (``revimg.report``) only render them; the JSON shape is
``revimg.report.data.result_dict``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from revimg.index.backend import Entry

if TYPE_CHECKING:
    from revimg.online.search import OnlineSummary, ProviderResult
    from revimg.provenance import Provenance


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
    provenance: Provenance | None = None
    online: list[ProviderResult] = field(default_factory=list)
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
    def next_steps(self) -> list[str]:
        """What the person can try next when nothing was found, as kinds: ``"screenshot"``
        (crop the photo out of the screenshot or page), ``"no_index"`` (there was no index to
        compare with: search the web, get an index). Worded by ``revimg.report.words.hints``.
        """
        if self.verdict not in ("no_match", "incomplete"):
            return []
        steps = ["screenshot"] if self.screenshot_like else []
        if any(n.part == "index" for n in self.skipped):
            steps.append("no_index")
        return steps

    @property
    def web(self) -> OnlineSummary | None:
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
