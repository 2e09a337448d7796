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


def test_screenshot_benchmark_runs_on_the_examples(tmp_path: Path) -> None:
    import screenshots

    out = tmp_path / "shots.json"
    code = screenshots.main(
        [
            "--photos",
            str(STOCK),
            "--layouts",
            "messenger-fullscreen,dating-card",
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
