"""Joint-position loss terms: global (`joints`), without the root translation (`in_place`), and
the planted feet's sliding (`foot_contact`)."""

from __future__ import annotations

import torch

from motionclip_blender.core import skeleton
from motionclip_blender.core.motion import Motion
from motionclip_blender.core.pose_features import FeatureStatistics, motion_to_features
from motionclip_blender.core.reconstruction import (
    FOOT_CONTACT_HEIGHT,
    foot_contact_loss,
    reconstruction_losses,
)

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


def test_a_planted_foot_that_slides_counts_and_a_lifted_or_rising_one_does_not() -> None:
    fps, frames = 20.0, 6
    target = torch.zeros(1, frames, 24, 3)
    target[..., 2] = 0.5  # every joint well above the floor ...
    left_foot, right_ankle = skeleton.JOINT_INDEX["left_foot"], skeleton.JOINT_INDEX["right_ankle"]
    target[:, :, left_foot, 2] = 0.01  # ... but the left foot, planted
    assert 0.01 < FOOT_CONTACT_HEIGHT < 0.5
    mask = torch.ones(1, frames, dtype=torch.bool)
    assert float(foot_contact_loss(target, target, mask, fps)) == 0.0

    sliding = target.clone()
    sliding[:, :, left_foot, 0] += torch.arange(frames) * 0.01  # 0.2 m/s along x
    # the same slide of a lifted joint, a non-foot joint and the planted foot's rise are ignored
    sliding[:, :, right_ankle, 0] += torch.arange(frames) * 0.01
    sliding[:, :, 0, 1] += torch.arange(frames) * 0.01
    sliding[:, :, left_foot, 2] += torch.arange(frames) * 0.01
    # the other three feet joints are never planted, so the mean is over the left foot's frames
    torch.testing.assert_close(foot_contact_loss(sliding, target, mask, fps), torch.tensor(0.04))

    # frames past the mask's end are padding
    sliding[:, 3:, left_foot, 0] += 5.0
    mask[:, 3:] = False
    torch.testing.assert_close(foot_contact_loss(sliding, target, mask, fps), torch.tensor(0.04))


def test_the_reconstruction_terms_count_feet_that_skate_when_the_body_slides() -> None:
    motion = smooth_motion(1.0, fps=10.0, seed=3).on_floor()
    # the whole body slides sideways: planted feet now skate
    ramp = torch.linspace(0, 1, motion.num_frames)[:, None]
    slid = Motion(motion.rotations, motion.translation + ramp * torch.tensor([0.4, 0.0, 0.0]), 10.0)
    assert float(losses_of(motion, motion)["foot_contact"]) < 1e-10
    assert float(losses_of(slid, motion)["foot_contact"]) > 0.1
