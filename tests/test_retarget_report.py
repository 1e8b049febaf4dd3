"""training.retarget_report on one clip of each dataset: both direction metrics are reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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


def test_bad_arguments_are_refused_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    (data / "cmu8" / "train" / "walking").mkdir(parents=True)
    (data / "cmu8" / "train" / "walking" / "walking_1.txt").write_text("1 2 3\n")
    monkeypatch.setattr(retarget_report, "measure", lambda files: pytest.fail("measured"))
    out = tmp_path / "report"
    a_file = tmp_path / "a file"
    a_file.write_text("")
    cases = [
        (["--data", str(tmp_path / "absent")], f"--data {tmp_path / 'absent'}: no such folder"),
        (["--data", str(tmp_path / "report")], "no such folder"),
        (["--data", str(a_file)], "no such folder"),
        (["--data", str(data / "cmu8")], "no clips under bandai/, deepmimic/motions/ or cmu8/"),
        (["--data", str(data), "--limit", "-1"], "--limit must be 1 or more, got -1"),
        (["--data", str(data), "--limit", "0"], "--limit must be 1 or more, got 0"),
        (["--data", str(data), "--out", str(a_file)], f"{a_file} is a file, not a folder"),
        (["--data", str(data), "--out", str(a_file / "r")], f"{a_file} is a file"),
    ]
    for arguments, message in cases:
        arguments = ["--out", str(out), *arguments]
        assert retarget_report.main(arguments) == 2, arguments
        error = capsys.readouterr().err
        assert error.startswith("training.retarget_report: error: ") and message in error
        assert error.count("\n") == 1 and not out.exists()


def test_help_names_the_module_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        retarget_report.main(["--help"])
    assert capsys.readouterr().out.startswith("usage: python -m training.retarget_report")
