"""The benchmark scripts run (a bounded version of each; the full runs are by hand)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.conftest import REPO, STOCK

sys.path.insert(0, str(REPO / "benchmarks"))


def test_accuracy_benchmark_runs_on_the_examples(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    import accuracy

    out = tmp_path / "acc.json"
    code = accuracy.main(
        ["--photos", str(STOCK), "--edits", "mirror,crop-60,screenshot", "--json", str(out)]
    )
    assert code == 0
    figures = json.loads(out.read_text())
    rows = {r["edit"]: r for r in figures["rows"]}
    assert set(rows) == {"mirror", "crop-60", "screenshot"}
    # the gap this project exists for: edits that defeat the naive baseline are found
    assert rows["mirror"]["recall_at_1"] >= 0.9 > rows["mirror"]["naive_recall_at_1"]
    assert rows["crop-60"]["recall_at_1"] >= 0.9
    assert figures["false_positive_rate"] == 0.0
    assert "recall" not in capsys.readouterr().err


def test_accuracy_foreign_hash_measurements_run() -> None:
    """The --foreign figures: pHash finds mirrored copies; distinct pictures stay apart."""
    import accuracy

    photos = sorted(STOCK.glob("*.jpg"))[:3]
    rows = accuracy.foreign_run(
        photos, photos[:2], {"mirror": accuracy.EDITS["mirror"]}, 0.75, set()
    )
    assert rows["phash"]["recall_by_edit"]["mirror"] == 1.0
    assert rows["phash"]["false_positives"] == 0 and rows["phash"]["false_positive_queries"] == 1
    assert set(rows) == {"phash", "dhash", "ahash"}  # wHash (0.5 s a query) only on pairs
    pairs = accuracy.foreign_pairs(photos[:2], most=6)
    assert pairs["pictures"] == 28 and pairs["pairs"] > 0
    assert pairs["kinds"]["phash"]["within"][6] == 0
    assert set(pairs["kinds"]) == {"phash", "dhash", "whash", "ahash"}


def test_screenshot_benchmark_runs_on_the_examples(tmp_path: Path) -> None:
    import screenshots

    out = tmp_path / "shots.json"
    code = screenshots.main(
        [
            "--photos",
            str(STOCK),
            "--layouts",
            "messenger-fullscreen,dating-card",
            "--per-photo",
            "1",
            "--deliveries",
            "png",
            "--no-faces",
            "--json",
            str(out),
        ]
    )
    assert code == 0
    rows = {r["layout"]: r for r in json.loads(out.read_text())["rows"]}
    assert {"messenger-fullscreen", "dating-card"} <= set(rows)
    for name in ("messenger-fullscreen", "dating-card"):
        assert rows[name]["n"] > 0
        assert 0.0 <= rows[name]["recall_at_1"] <= 1.0


def test_screenshot_layouts_are_well_formed_and_deterministic() -> None:
    import random

    import numpy as np
    from layouts import LAYOUTS
    from PIL import Image

    rng = np.random.default_rng(0)
    photos = [
        Image.open(STOCK / "kphotoalbum__bar55.jpg").convert("RGB"),
        Image.fromarray(rng.integers(0, 256, (500, 180, 3), dtype=np.uint8)),  # tall
        Image.fromarray(rng.integers(0, 256, (90, 400, 3), dtype=np.uint8)),  # wide, small
    ]
    for name, layout in LAYOUTS.items():
        size = (1920, 1080) if name == "web-page" else (1080, 2340)
        for i, photo in enumerate(photos):
            shot, box = layout(photo, random.Random(i))
            assert shot.mode == "RGB" and shot.size == size, name
            left, top, right, bottom = box
            assert 0 <= left < right <= 1 and 0 <= top < bottom <= 1, (name, box)
            again, box_again = layout(photo, random.Random(i))
            assert box_again == box and again.tobytes() == shot.tobytes(), name


def test_screenshot_benchmark_forwarded_and_same_person_rows(tmp_path: Path) -> None:
    """The forwarded delivery and the same-person rows, on the one stock pair of shots."""
    import shutil

    import screenshots

    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("kphotoalbum__bar55.jpg", "kphotoalbum__bar55_2.jpg", "kphotoalbum__spiff.jpg"):
        shutil.copy(STOCK / name, photos / name)
    out = tmp_path / "shots.json"
    code = screenshots.main(
        [
            "--photos",
            str(photos),
            "--layouts",
            "chat-bubble",
            "--per-photo",
            "1",
            "--json",
            str(out),
        ]
    )
    assert code == 0
    figures = json.loads(out.read_text())
    rows = {r["layout"]: r for r in figures["rows"]}
    assert rows["chat-bubble"]["delivery"] == "png"
    assert rows["chat-bubble/forwarded"]["delivery"] == "forwarded"
    for name in ("chat-bubble", "chat-bubble/forwarded"):
        assert rows[name]["n"] == 2 and rows[name]["distractor_checks"] == 1
        assert rows[name]["target"] == screenshots.TARGETS["chat-bubble"]
    # bar55 is indexed, bar55_2 is not: two faces, each in every framing
    assert figures["same_person"]["faces"] == ["bar55#0 vs bar55_2#0", "bar55#1 vs bar55_2#1"]
    framings = figures["same_person"]["framings"]
    assert rows["same-person (aligned faces)"]["n"] == 2 * framings
    other = [r for name, r in rows.items() if name.startswith("same-person/other: ")]
    assert len(other) == 5  # crop; chat bubble and profile avatar, png and forwarded
    assert all(r["n"] == 2 * framings and r["recall_at_1"] is None for r in other)
    assert figures["same_person"]["checks"] == 5 * 2 * framings
    assert screenshots.main(["--photos", str(photos), "--deliveries", "gif"]) == 2


def test_forwarded_delivery_is_seeded() -> None:
    import io

    from PIL import Image
    from screenshots import deliver

    shot = Image.open(STOCK / "kphotoalbum__bar55.jpg").convert("RGB").resize((1080, 2340))
    data, how = deliver(shot, "forwarded", "chat-bubble:x.jpg:0")
    again, how_again = deliver(shot, "forwarded", "chat-bubble:x.jpg:0")
    assert data == again and how == how_again
    width, quality = how.split("w-q")
    assert int(width) in (720, 864) and 60 <= int(quality) <= 85
    im = Image.open(io.BytesIO(data))
    assert im.format == "JPEG" and im.width == int(width)
    assert im.height == round(2340 * int(width) / 1080)
    seen = {deliver(shot, "forwarded", f"s{i}")[1] for i in range(12)}
    assert len(seen) > 1  # the width and quality vary with the seed
    assert deliver(shot, "png", "s")[0][:8] == b"\x89PNG\r\n\x1a\n"


def test_library_benchmark_runs_on_the_examples(tmp_path: Path) -> None:
    """A bounded run of the large-library benchmark: a few real photos, one synthetic size."""
    import library

    out = tmp_path / "library.json"
    code = library.main(
        [
            "--quick",
            "--photos",
            str(STOCK),
            "--real",
            "4",
            "--sizes",
            "400",
            "--batch",
            "3",
            "--runs",
            "1",
            "--json",
            str(out),
        ]
    )
    assert code == 0
    figures = json.loads(out.read_text())
    sizes = [r["photos"] for r in figures["results"]]
    assert sizes == [4, 400]
    for result in figures["results"]:
        assert result["check_matches"] >= 1  # the crop of a real photo is found
        assert result["check_warm_s"] > 0 and result["check_rss_mb"] > 0
    by_name = {f["figure"]: f for f in figures["figures"]}
    assert {"check_warm_s", "check_rss_mb", "batch_s", "add_s", "bytes"} <= set(by_name)
    assert figures["build"]["photos"] == 4


def test_cluster_benchmark_runs_on_the_examples(tmp_path: Path) -> None:
    """A bounded run of the cluster build benchmark (8 photos; the targets are not checked)."""
    import pytest

    pytest.importorskip("distributed")
    import importlib.util

    # by path: the name "cluster" is also the tests/cluster package
    spec = importlib.util.spec_from_file_location(
        "bench_cluster", Path(__file__).resolve().parent.parent / "benchmarks" / "cluster.py"
    )
    assert spec is not None and spec.loader is not None
    cluster = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cluster)

    out = tmp_path / "cluster.json"
    assert cluster.main(["--quick", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert figures["photos"] == 8 and figures["same_rows"] is True
    for name in ("plain", "cluster1", "cluster2"):
        assert figures[f"{name}_photos_per_s"] > 0
    assert figures["bytes_per_entry"] > 0


def test_shards_benchmark_runs_quick(tmp_path: Path) -> None:
    import pytest

    pytest.importorskip("distributed")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    import shards

    out = tmp_path / "shards.json"
    assert shards.main(["--quick", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert figures["matched_1"] == figures["matched_2"] == figures["photos"] == 24
    assert figures["ratio_2_over_1"] > 0 and figures["bytes_per_entry_2"] > 0
