"""The model-size comparison's pieces that run without training: candidates and the report."""

from __future__ import annotations

import dataclasses

from motionclip_blender.core.model import MotionClipModel, small_config
from training.ablations.model_size import CANDIDATES, METRICS, report, size_overrides


def test_candidates_span_the_package_budget_from_small_to_large() -> None:
    sizes = []
    for name, (width, layers, feedforward) in CANDIDATES.items():
        assert size_overrides(name)[0] == f"model.width={width}"
        config = dataclasses.replace(
            small_config(), width=width, layers=layers, feedforward=feedforward
        )
        sizes.append(sum(p.numel() for p in MotionClipModel(config).parameters()) * 4 / 1e6)
    assert sizes == sorted(sizes)
    assert sizes[0] < 5 and 25 < sizes[-1] < 30  # float32 MB: 3 MB up to just under 30 MB


def test_report_has_a_column_per_candidate_and_marks_missing_metrics() -> None:
    rows = {
        "w128-l2": {"parameters": 799379, "steps": 2422, "validation_content_top1": 0.25},
        "w256-l4": {"parameters": 5544723, "steps": 700},
    }
    table = report(rows, 20)
    assert "| | w128-l2 | w256-l4 |" in table
    assert "| parameters | 799,379 | 5,544,723 |" in table
    assert f"| {METRICS['content_top1']} | 0.25 | - |" in table
