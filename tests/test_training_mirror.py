"""Left-right mirroring of training windows: the motion is reflected, its sides trade places and
its caption says the other side."""

from __future__ import annotations

import math

import pytest
import torch

from motionclip_blender.core import rotations as rot
from motionclip_blender.core import skeleton
from motionclip_blender.core.kinematics import forward_kinematics
from motionclip_blender.core.pose_features import FEATURE_DIM, features_to_pose
from training.mirror import mirror_features, mirror_text, mirrored_joint_order


def random_motion(frames: int = 12) -> torch.Tensor:
    """(frames, 147) pose vectors of random rotations (within 1 rad) and translations."""
    generator = torch.Generator().manual_seed(3)
    rotvecs = torch.rand(frames, skeleton.NUM_JOINTS, 3, generator=generator) * 2 - 1
    sixd = rot.axis_angle_to_6d(rotvecs).reshape(frames, -1)
    return torch.cat([sixd, torch.randn(frames, 3, generator=generator)], dim=-1)


def joints(features: torch.Tensor) -> torch.Tensor:
    return forward_kinematics(*features_to_pose(features))


def test_joint_order_pairs_every_left_joint_with_its_right_one() -> None:
    order = mirrored_joint_order()
    names = skeleton.JOINT_NAMES
    assert names[order[names.index("left_wrist")]] == "right_wrist"
    assert names[order[names.index("right_hip")]] == "left_hip"
    assert names[order[names.index("head")]] == "head"
    assert sorted(order) == list(range(skeleton.NUM_JOINTS))


def test_mirrored_motion_is_the_reflection_of_the_joints() -> None:
    motion = random_motion()
    mirrored = mirror_features(motion)
    assert mirrored.shape == (12, FEATURE_DIM)
    reflected = joints(motion)[:, mirrored_joint_order()] * torch.tensor([-1.0, 1.0, 1.0])
    error = (joints(mirrored) - reflected).norm(dim=-1)
    assert error[:, 0].max() < 1e-5  # the pelvis exactly
    # the rest of the body up to SMPL's own asymmetry (its joints are 1 to 5 mm off symmetric)
    assert error.max() < 0.03
    assert torch.allclose(mirror_features(mirrored), motion, atol=1e-5)  # twice is the identity


def test_a_raised_left_hand_becomes_a_raised_right_hand() -> None:
    pose = torch.zeros(1, skeleton.NUM_JOINTS, 3)
    # SMPL's frame: +x the subject's left, +y up; turning the left shoulder about +z lifts the arm
    pose[0, skeleton.JOINT_INDEX["left_shoulder"]] = torch.tensor([0.0, 0.0, math.pi / 2])
    motion = torch.cat([rot.axis_angle_to_6d(pose).reshape(1, -1), torch.zeros(1, 3)], dim=-1)
    before, after = joints(motion)[0], joints(mirror_features(motion))[0]
    left, right = skeleton.JOINT_INDEX["left_wrist"], skeleton.JOINT_INDEX["right_wrist"]
    assert before[left, 1] > before[right, 1] + 0.3
    assert after[right, 1] > after[left, 1] + 0.3
    assert after[right, 1] == pytest.approx(float(before[left, 1]), abs=0.01)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a person raises the left hand", "a person raises the right hand"),
        ("walks and turns right, then left", "walks and turns left, then right"),
        ("Left hand up", "Right hand up"),
        ("a person bows", "a person bows"),
        ("the leftover bright light", "the leftover bright light"),  # only whole words
    ],
)
def test_captions_trade_left_and_right(text: str, expected: str) -> None:
    assert mirror_text(text) == expected
