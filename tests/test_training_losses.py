"""Joint-position loss terms: global (`joints`) and without the root translation (`in_place`)."""

from __future__ import annotations

import torch

from motionclip_blender.core import skeleton
from motionclip_blender.core.motion import Motion
from motionclip_blender.core.pose_features import FeatureStatistics, motion_to_features
from training.losses import reconstruction_losses

from .motions import smooth_motion


def losses_of(predicted: Motion, target: Motion) -> dict[str, torch.Tensor]:
    """reconstruction_losses of one motion decoded as `predicted` against `target`."""
    wanted = motion_to_features(target, target.fps)[None]
    statistics = FeatureStatistics.of(wanted)
    moved = motion_to_features(predicted, target.fps)[None]
    mask = torch.ones(wanted.shape[:2], dtype=torch.bool)
    return reconstruction_losses(
        statistics.normalize(moved), statistics.normalize(wanted), mask, statistics, target.fps
    )


def test_drift_counts_only_globally_and_a_pose_error_counts_in_both() -> None:
    motion = smooth_motion(1.0, fps=10.0, seed=2)
    # Drift grows from zero at the first frame, which the pose features put over the origin.
    ramp = torch.linspace(0, 1, motion.num_frames)[:, None]
    drifted = Motion(
        motion.rotations, motion.translation + ramp * torch.tensor([0.3, -0.2, 0.1]), motion.fps
    )
    drift = losses_of(drifted, motion)
    assert float(drift["joints"]) > 0.01 and float(drift["in_place"]) < 1e-10

    rotations = motion.rotations.clone()
    rotations[:, skeleton.JOINT_INDEX["left_knee"], 0] += 0.5
    pose = losses_of(Motion(rotations, motion.translation, motion.fps), motion)
    assert float(pose["in_place"]) > 1e-4
    torch.testing.assert_close(pose["in_place"], pose["joints"])

    turned = motion.rotations.clone()
    turned[:, 0, 0] += 0.3 * ramp[:, 0]  # a growing lean: the body swings about the pelvis
    lean = losses_of(Motion(turned, motion.translation, motion.fps), motion)
    assert float(lean["in_place"]) > 1e-3
