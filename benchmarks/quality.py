"""How good the benchmarked model is, read beside how fast it is: the test-split metrics that
`python -m training.evaluate --split test --store` writes into the checkpoint (`test_*` keys)."""

from __future__ import annotations

from typing import Any

from motionclip_blender.core.checkpoint import Checkpoint

SPLIT = "test"
# Targets of the bundled model on the test split (issue 6): metric -> (comparison, bound).
QUALITY_TARGETS = {
    "mpjpe_mm": ("<=", 35.0),
    "content_top1": (">=", 0.85),
    "content_top5": (">=", 0.98),
    "style_top1": (">=", 0.50),
    "generated_classifier_accuracy": (">=", 0.85),
}
# Reported without a target, each generated figure beside the same figure for real motions.
QUALITY_CONTEXT = (
    "mpjpe_local_mm",  # the same error with the pelvis fixed: the paper's in-place setting
    "rotation_error_deg",
    "frechet_distance",
    "frechet_distance_matched",  # the generated motions repeated to the split's label counts
    "frechet_distance_real",  # real test motions against real training ones: the reference
    "diversity_generated",
    "diversity_real",
    "real_classifier_accuracy",
    "real_classifier_label_accuracy",  # mean over labels, as generated_classifier_accuracy
    "foot_skating_generated_m_s",
    "foot_skating_real_m_s",
    "unseen_prompt_accuracy",
    "paraphrase_prompt_accuracy",  # 27 freely worded prompts (training/evaluate.py)
    "paraphrase_understood",  # of them, those whose closest caption has an accepted label
)


def checkpoint_quality(checkpoint: Checkpoint) -> dict[str, Any]:
    """The checkpoint's test-split metrics (prefix removed), or why there are none."""
    prefix = f"{SPLIT}_"
    metrics = {
        name.removeprefix(prefix): value
        for name, value in checkpoint.metrics.items()
        if name.startswith(prefix)
    }
    if not metrics:
        return {
            "split": SPLIT,
            "metrics": {},
            "missing": (
                f"the checkpoint carries no {SPLIT}-split metrics (its metrics: "
                f"{', '.join(sorted(checkpoint.metrics)) or 'none'}); store them with "
                f"`python -m training.evaluate --checkpoint PATH --config CONFIG --split {SPLIT} "
                "--store`"
            ),
        }
    return {"split": SPLIT, "metrics": metrics}
