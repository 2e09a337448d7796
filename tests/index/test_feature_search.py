"""Candidate retrieval over local features and its search file (revimg.index.feature_search)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageOps

from revimg.imaging import features as F
from revimg.index import feature_search
from tests.conftest import STOCK
from tests.imaging.test_features import (
    PERSON,
    PHOTO,
    crop,
    feats,
    photo,
    roundtrip_jpeg,
)


def test_searcher_ranks_the_source_first() -> None:
    names = sorted(p.name for p in STOCK.glob("*.jpg"))
    searcher = feature_search.FeatureSearcher((100 + i, feats(n)) for i, n in enumerate(names))
    assert len(searcher) == len(names)
    for name, box in ((PHOTO, (0.2, 0.2, 0.8, 0.8)), (PERSON, (0.3, 0.0, 1.0, 0.8))):
        q, qm = F.extract_with_mirror(roundtrip_jpeg(ImageOps.mirror(crop(photo(name), box))))
        found = searcher.candidates(q, 5, mirrored_query=qm)
        assert found[0][0] == 100 + names.index(name)
        assert all(a[1] >= b[1] for a, b in zip(found, found[1:], strict=False))
        assert 0 < found[0][1] <= 1
    flat = F.extract(Image.new("RGB", (640, 480), (0, 0, 0)))
    assert searcher.candidates(flat) == []
    assert feature_search.FeatureSearcher([]).candidates(feats(PHOTO)) == []


def test_searcher_saves_and_maps_back(tmp_path: Path) -> None:
    names = [PHOTO, PERSON, "kphotoalbum__jesper.jpg", "tuxpaint__mudstone.jpg"]
    items = [(i, feats(n)) for i, n in enumerate(names, 1)]
    searcher = feature_search.FeatureSearcher(items)
    path = tmp_path / "features.bin"
    searcher.save(path, "idx:3")
    loaded = feature_search.FeatureSearcher.load(path)
    assert loaded is not None and loaded[0] == "idx:3"
    query = feats(PERSON)
    assert loaded[1].candidates(query, top=3) == searcher.candidates(query, top=3)
    assert loaded[1].candidates(query, top=1)[0][0] == 2
    path.write_bytes(path.read_bytes()[:-8])
    assert feature_search.FeatureSearcher.load(path) is None
    assert feature_search.FeatureSearcher.load(tmp_path / "missing.bin") is None


class _Untouchable:
    """An array stand-in that knows its length and fails when its elements are read."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, item: object) -> None:
        raise AssertionError("a whole-table array was read")


def test_a_saved_searcher_reads_only_the_words_it_needs(tmp_path: Path) -> None:
    """A check maps none of the big arrays: it reads the blocks of words, the offsets
    and the postings of its own words (a mapped table put every page it touched, and
    those around it, into the check's memory: 110 MB more at 1e4 photos)."""
    names = sorted(p.name for p in STOCK.glob("*.jpg"))
    searcher = feature_search.FeatureSearcher((i, feats(n)) for i, n in enumerate(names))
    assert len(searcher._words) > 4 * feature_search.FENCE  # several blocks of words
    path = tmp_path / "features.bin"
    searcher.save(path, "idx:1")
    loaded = feature_search.FeatureSearcher.load(path)
    assert loaded is not None
    found = loaded[1]
    for name in ("_words", "_offsets", "_postings"):
        setattr(found, name, _Untouchable(len(getattr(found, name))))
    for name in (PHOTO, PERSON):
        q, qm = F.extract_with_mirror(roundtrip_jpeg(crop(photo(name), (0.2, 0.2, 0.8, 0.8))))
        expected = searcher.candidates(q, 5, mirrored_query=qm)
        assert found.candidates(q, 5, mirrored_query=qm) == expected
        assert expected[0][0] == names.index(name)
