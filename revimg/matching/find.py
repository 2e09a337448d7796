"""Decide whether a photo is a copy of an indexed one, and explain why.

A query is hashed in all eight dihedral variants (so mirrored and rotated copies are
found) and compared with every searchable row of the index: each photo's whole-image
PDQ hash and the hashes of its stored crops (views). The best row per photo becomes a
``Match`` with its evidence.

Score: ``1 - distance / 128`` clipped to [0, 1], where distance is the PDQ Hamming distance
(256 bits). Unrelated photos sit around 128 bits apart (score about 0); re-encoded or
resized copies are within a few bits (score near 1). A match is reported when its score
reaches the threshold: 0.75 by default (distance <= 32, near Meta's advice of 31).

Entries imported from other tools' 64-bit hash lists (imagehash pHash; ``revimg.imaging.foreign``)
have no PDQ: they are compared with the query's hash of their kind, and their matches
carry that kind as ``method``, the distance in bits of 64 and a score on the same scale.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from revimg.errors import IndexUnusable, UsageError
from revimg.imaging import foreign
from revimg.imaging.hashing import MIN_QUALITY, PDQ_BITS, VARIANTS, QueryHashes, hamming
from revimg.index.backend import VIEW_NAMES, Entry, IndexBackend
from revimg.matching.result import Match

#: Named thresholds: stricter finds fewer copies and accuses fewer innocent photos.
PRESETS: dict[str, float] = {"strict": 0.85, "default": 0.75, "loose": 0.65}
DEFAULT_THRESHOLD = PRESETS["default"]
DEFAULT_TOP = 5


def score_of(distance: int) -> float:
    """Similarity in [0, 1] from a PDQ distance; see the module docstring."""
    return max(0.0, min(1.0, 1.0 - distance / (PDQ_BITS / 2)))


def max_distance_for(threshold: float) -> int:
    """The largest PDQ distance whose score still reaches ``threshold``."""
    if not 0.0 <= threshold <= 1.0:
        raise UsageError(f"threshold must be a score between 0 and 1, got {threshold}")
    return int((1.0 - threshold) * (PDQ_BITS / 2) + 1e-9)


def _variant_label(variant: int, view: str, query_view: str = "full") -> str:
    """What was done to the known photo: the dihedral edit, a crop (the match is a stored
    crop of it), and where the query shows it (framed in a screenshot, a round avatar)."""
    parts = [] if VARIANTS[variant] == "original" else [VARIANTS[variant]]
    if query_view == "avatar":  # an avatar is the centre square by definition
        parts.append("avatar")
    else:
        if view != "full":
            parts.append("cropped")
        if query_view in ("content", "framed"):
            parts.append("framed")
    return "+".join(parts) or "original"


def find_matches(
    index: IndexBackend,
    query: QueryHashes,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    top: int = DEFAULT_TOP,
) -> tuple[list[Match], list[str]]:
    """Likely matches for one hashed query, best first, plus warnings for the user."""
    if top < 1:
        raise UsageError(f"top must be at least 1, got {top}")
    limit = max_distance_for(threshold)
    warnings: list[str] = []
    # image id -> (distance, index view code, query variant row)
    best: dict[int, tuple[int, int, int]] = {}
    entries: dict[int, Entry] = {}
    exact_ids = {e.id for e in index.by_sha256(query.hashes.sha256)}
    for image_id in exact_ids:
        best[image_id] = (0, 0, 0)
    views = query.searchable_views()
    if not views:
        warnings.append(
            f"the photo has little detail (PDQ quality {query.quality} < {MIN_QUALITY}): "
            "only exact copies can be recognised"
        )
    else:
        for attempt in (1, 2):
            found = _pdq_hits(index, query, limit)
            entries = index.get(found)
            if all(_agrees(query, entries.get(i), hit) for i, hit in found.items()):
                break
            # the search files disagree with the database (copied from another index, or
            # damaged): rebuild them from it once, and search again
            if attempt == 2:
                raise IndexUnusable(
                    f"{index.location}: the index's search files disagree with its database "
                    "even after a rebuild; nothing was changed"
                )
            index.rebuild_search_files()
        for image_id, key in found.items():
            if image_id not in best or key < best[image_id]:
                best[image_id] = key
    ranked = sorted(best.items(), key=lambda kv: (kv[1], kv[0]))[:top]
    entries.update(index.get(i for i, _ in ranked if i not in entries))  # exact copies only
    matches = []
    for image_id, (distance, view_code, row) in ranked:
        entry = entries.get(image_id)
        if entry is None:  # removed between search and fetch
            continue
        view = VIEW_NAMES[view_code]
        box = next((v.box for v in entry.views if v.name == view), None) if view != "full" else None
        query_view = views[row // len(VARIANTS)] if views else None
        label = _variant_label(
            row % len(VARIANTS), view, query_view.name if query_view is not None else "full"
        )
        matches.append(
            Match(
                entry=entry,
                distance=distance,
                score=score_of(distance),
                variant=label,
                view=view,
                box=box,
                exact=image_id in exact_ids,
                query_box=None if query_view is None else query_view.box,
            )
        )
    # Local features can only add evidence: an entry keeps whichever of its matches scores best.
    sure = {m.entry.id for m in matches if m.score >= FEATURES_SKIP_SCORE}
    by_entry = {m.entry.id: m for m in matches}
    for m in _feature_matches(index, query, sure, threshold):
        if m.entry.id not in by_entry or m.score > by_entry[m.entry.id].score:
            by_entry[m.entry.id] = m
    for m in _foreign_matches(index, query, threshold):  # entries with no PDQ of their own
        if m.entry.id not in by_entry or m.score > by_entry[m.entry.id].score:
            by_entry[m.entry.id] = m
    ranked_matches = sorted(by_entry.values(), key=lambda m: (-m.score, m.distance, m.entry.id))
    return ranked_matches[:top], warnings


def _pdq_hits(
    index: IndexBackend, query: QueryHashes, limit: int
) -> dict[int, tuple[int, int, int]]:
    """image id -> (distance, index view code, query variant row) of its best PDQ hit."""
    best: dict[int, tuple[int, int, int]] = {}
    for hit in index.search(query.pdq_variants, limit):
        key = (hit.distance, hit.view, hit.variant)
        if hit.image_id not in best or key < best[hit.image_id]:
            best[hit.image_id] = key
    return best


def _agrees(query: QueryHashes, entry: Entry | None, hit: tuple[int, int, int]) -> bool:
    """The distance the search files report is the one between the query and the entry's
    hash in the database (an entry removed since the search agrees: it is skipped)."""
    if entry is None:
        return True
    distance, view_code, row = hit
    if not 0 <= view_code < len(VIEW_NAMES):
        return False
    name = VIEW_NAMES[view_code]
    stored = (
        entry.pdq if name == "full" else next((v.pdq for v in entry.views if v.name == name), None)
    )
    if stored is None or not 0 <= row < len(query.pdq_variants):
        return False
    return hamming(bytes(query.pdq_variants[row]), stored) == distance


def _foreign_matches(index: IndexBackend, query: QueryHashes, threshold: float) -> list[Match]:
    """Entries imported from other tools' hash lists (imagehash pHash, dHash, wHash), each
    compared only with the query's hash of the same kind, in all eight variants.

    A query with too little detail for PDQ matches none of them either: 64 bits of a flat
    picture are as unspecific as 256.
    """
    if not query.foreign or query.hashes.pdq_quality < MIN_QUALITY:
        return []
    for attempt in (1, 2):
        best: dict[int, tuple[float, int, str, int]] = {}  # id -> (-score, distance, kind, row)
        for kind, variants in sorted(query.foreign.items()):
            limit = foreign.max_distance_for(kind, threshold)
            for image_id, distance, row in index.foreign_search(kind, variants, limit):
                key = (-foreign.score_of(kind, distance), distance, kind, row)
                if image_id not in best or key < best[image_id]:
                    best[image_id] = key
        entries = index.get(best)
        if all(_foreign_agrees(query, entries.get(i), hit) for i, hit in best.items()):
            break
        if attempt == 2:  # the search file disagrees with the database even when rebuilt
            raise IndexUnusable(
                f"{index.location}: the index's search files disagree with its database "
                "even after a rebuild; nothing was changed"
            )
        index.rebuild_search_files()
    out = []
    for image_id, (_, distance, kind, row) in best.items():
        entry = entries.get(image_id)
        if entry is None:  # removed between search and fetch
            continue
        out.append(
            Match(
                entry=entry,
                distance=distance,
                score=foreign.score_of(kind, distance),
                variant=_variant_label(row, "full"),
                view="full",
                box=None,
                exact=False,
                method=kind,
            )
        )
    return out


def _foreign_agrees(
    query: QueryHashes, entry: Entry | None, hit: tuple[float, int, str, int]
) -> bool:
    """The search file's distance is the one between the query and the stored hash."""
    if entry is None:
        return True
    _, distance, kind, row = hit
    if entry.foreign is None or entry.foreign[0] != kind or not 0 <= row < len(VARIANTS):
        return False
    stored = int.from_bytes(entry.foreign[1], "big")
    return (stored ^ int(query.foreign[kind][row])).bit_count() == distance


#: Photos whose local features are verified per query (the best by shared-word votes).
FEATURE_CANDIDATES = 10
#: Hash matches this good need no second opinion from local features.
FEATURES_SKIP_SCORE = 0.95


def feature_score(inliers: int) -> float:
    """Score of a local-feature match: 0.75 at the acceptance minimum, 0.99 from 4x that.

    1.0 is kept for identical fingerprints, so that it never suggests more than it shows.
    """
    from revimg.matching import verify

    low = verify.MIN_INLIERS
    return min(0.99, 0.75 + 0.25 * (inliers - low) / (3 * low))


def _quarter_turn(rotation: float) -> str | None:
    for angle, name in ((90, "rotated-90-ccw"), (-90, "rotated-90-cw"), (180, "rotated-180")):
        if abs((rotation - angle + 180) % 360 - 180) <= 3:
            return name
    return None


def _feature_variant(v: Any, query_view: str = "full") -> str:
    parts = ["mirrored"] if v.mirrored else []
    turn = _quarter_turn(v.rotation_deg)
    if turn is not None:
        parts.append(turn)
    elif abs(v.rotation_deg) >= 2:
        parts.append("rotated")
    if query_view == "avatar":
        parts.append("avatar")
    else:
        if v.box_area < 0.9:
            parts.append("cropped")
        if query_view == "framed":
            parts.append("framed")
    return "+".join(parts) or "original"


def _shown_at(v: Any, query: Any, candidate: Any) -> tuple[float, float, float, float] | None:
    """Where the matched photo lies in the query (fractions), from the fitted transform;
    None when it fills about the whole query."""
    from revimg.imaging import features

    if v.transform is None:
        return None
    m = np.array(v.transform, np.float64)
    a, t = m[:, :2], m[:, 2]
    try:
        inverse = np.linalg.inv(a)
    except np.linalg.LinAlgError:
        return None
    cw, ch = features.work_size(candidate.width, candidate.height)
    x0, y0, x1, y1 = v.box
    corners = np.array(
        [[x0 * cw, y0 * ch], [x1 * cw, y0 * ch], [x1 * cw, y1 * ch], [x0 * cw, y1 * ch]]
    )
    shown = (corners - t) @ inverse.T
    qw, qh = features.work_size(query.width, query.height)
    shown /= (qw, qh)
    if v.mirrored:
        shown[:, 0] = 1.0 - shown[:, 0]
    lo = shown.min(axis=0).clip(0.0, 1.0)
    hi = shown.max(axis=0).clip(0.0, 1.0)
    if (hi[0] - lo[0]) * (hi[1] - lo[1]) >= 0.9:
        return None
    return (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))


def _best_distance(query: QueryHashes, entry: Entry) -> int:
    hashes = [entry.pdq, *(v.pdq for v in entry.views)]
    variants = [bytes(row) for row in query.pdq_variants] or [query.hashes.pdq]
    return min(hamming(q, h) for q in variants for h in hashes)


def _looks_the_same(grey: np.ndarray | None, v: Any, candidate: Any) -> bool:
    """The appearance check (:mod:`revimg.imaging.appearance`) after the geometric one: False only
    when the aligned pictures were compared and disagree. A photo indexed without a
    signature (an older index), or too flat to compare, rests on geometry alone."""
    if grey is None or candidate.appearance is None or v.transform is None:
        return True
    from PIL import Image

    from revimg.imaging import appearance

    try:
        seen = appearance.similarity(
            Image.fromarray(grey), candidate.appearance, v.transform, mirrored=v.mirrored
        )
    except ValueError:  # a damaged signature: no second opinion
        return True
    return seen.agrees or not seen.conclusive


def _feature_matches(
    index: IndexBackend, query: QueryHashes, found: set[int], threshold: float
) -> list[Match]:
    """The crop-robust stage: candidates by shared keypoint words, then geometric checks,
    for the whole query and for each photo-like region of it (a photo in a screenshot)."""
    looks = [("full", None, query.features, query.mirrored_features, query.grey)]
    looks += [(r.kind, r.box, r.features, r.mirrored_features, r.grey) for r in query.regions]
    looks = [look for look in looks if look[2] is not None and len(look[2])]
    if not looks or not index.has_features():
        return []
    from revimg.matching import verify

    searcher = index.feature_searcher()
    # image id -> (verification, query view kind, query box); the most inliers wins
    verified: dict[int, tuple[Any, str, tuple[float, float, float, float] | None]] = {}
    for kind, box, found_features, mirrored, grey in looks:
        try:
            ranked = searcher.candidates(
                found_features, top=FEATURE_CANDIDATES, mirrored_query=mirrored
            )
        except (ValueError, IndexError, MemoryError):  # a damaged features file: rebuild it
            index.rebuild_search_files()
            searcher = index.feature_searcher()
            ranked = searcher.candidates(
                found_features, top=FEATURE_CANDIDATES, mirrored_query=mirrored
            )
        wanted = [image_id for image_id, _ in ranked if image_id not in found]
        stored = index.features_of(wanted) if wanted else {}
        for image_id in wanted:
            if image_id not in stored:
                continue
            v = verify.verify(found_features, stored[image_id], mirrored_query=mirrored)
            if v is None or feature_score(v.inliers) < threshold:
                continue
            if not _looks_the_same(grey, v, stored[image_id]):
                continue  # details line up, pictures differ: another photo of the same face
            if image_id not in verified or v.inliers > verified[image_id][0].inliers:
                where = box if box is not None else _shown_at(v, found_features, stored[image_id])
                verified[image_id] = (v, kind, where)
    entries = index.get(verified)
    out = []
    for image_id, (v, kind, where) in verified.items():
        entry = entries.get(image_id)
        if entry is None:
            continue
        out.append(
            Match(
                entry=entry,
                distance=_best_distance(query, entry),
                score=feature_score(v.inliers),
                variant=_feature_variant(v, kind),
                view="features",
                box=tuple(float(b) for b in v.box),  # type: ignore[arg-type]
                exact=False,
                method="features",
                inliers=v.inliers,
                rotation=v.rotation_deg,
                query_box=where,
            )
        )
    return out
