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
