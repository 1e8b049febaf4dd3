"""training.retarget_report on one clip of each dataset: both direction metrics are reported."""

from __future__ import annotations

import json
from pathlib import Path

from training import retarget_report

from .conftest import shared_dataset


def test_report_has_both_direction_metrics(tmp_path: Path) -> None:
    data = {shared_dataset(name).parent for name in ("bandai", "deepmimic", "cmu8")}
    assert len(data) == 1
    retarget_report.main(["--data", str(data.pop()), "--out", str(tmp_path), "--limit", "1"])
    summaries = json.loads((tmp_path / "retarget_report.json").read_text())
    assert set(summaries) == {"bandai", "deepmimic", "cmu8"}
    for summary in summaries.values():
        assert summary["clips_imported"] == 1 and summary["failures"] == 0
        alignable, shared = summary["alignable_bones_deg"], summary["all_shared_bones_deg"]
        # The shared bones add the offsets and neck-to-head, tens of degrees off by design.
        assert alignable["mean"] < 5.0 < shared["mean"]
    text = (tmp_path / "retarget_report.md").read_text()
    assert "Alignable bones" in text and "All shared bones" in text
