from __future__ import annotations

import torch

from motionclip_blender.core import rotations as rot
from motionclip_blender.core import skeleton
from motionclip_blender.core.kinematics import bone_lengths, forward_kinematics


def test_skeleton_tables_agree() -> None:
    assert len(skeleton.JOINT_NAMES) == len(skeleton.PARENTS) == len(skeleton.REST_JOINTS_YUP) == 24
    assert skeleton.PARENTS[0] == -1
    assert all(parent < child for child, parent in enumerate(skeleton.PARENTS) if child)
    assert skeleton.JOINT_NAMES[skeleton.JOINT_INDEX["left_wrist"]] == "left_wrist"
    assert skeleton.REST_JOINTS_YUP[skeleton.JOINT_INDEX["left_wrist"]][0] > 0.5  # +x is left


def test_zero_pose_gives_the_rest_joints() -> None:
    identity = torch.eye(3).expand(4, 24, 3, 3)
    joints = forward_kinematics(identity, torch.zeros(4, 3))
    torch.testing.assert_close(joints, skeleton.rest_joints().expand(4, 24, 3))


def test_translation_moves_every_joint() -> None:
    identity = torch.eye(3).expand(1, 24, 3, 3)
    shift = torch.tensor([[0.5, -1.0, 2.0]])
    joints = forward_kinematics(identity, shift)
    torch.testing.assert_close(joints, skeleton.rest_joints()[None] + shift[:, None])


def test_bone_lengths_are_kept_under_random_poses() -> None:
    generator = torch.Generator().manual_seed(1)
    rotvecs = 3.0 * torch.randn(2, 50, 24, 3, generator=generator, dtype=torch.float64)
    joints = forward_kinematics(
        rot.axis_angle_to_matrix(rotvecs), torch.randn(2, 50, 3, dtype=torch.float64)
    )
    rest = bone_lengths(skeleton.rest_joints(torch.float64))
    torch.testing.assert_close(bone_lengths(joints), rest.expand(2, 50, 23))


def test_root_rotates_about_its_rest_location() -> None:
    rotvecs = torch.zeros(1, 24, 3)
    rotvecs[0, 0] = torch.tensor([0.0, 1.0, 0.0])
    joints = forward_kinematics(rot.axis_angle_to_matrix(rotvecs), torch.zeros(1, 3))
    torch.testing.assert_close(joints[0, 0], skeleton.rest_joints()[0])


def test_a_joint_rotation_moves_only_its_descendants() -> None:
    elbow = skeleton.JOINT_INDEX["left_elbow"]
    rotvecs = torch.zeros(1, 24, 3)
    rotvecs[0, elbow] = torch.tensor([0.0, 0.0, 1.5])
    joints = forward_kinematics(rot.axis_angle_to_matrix(rotvecs), torch.zeros(1, 3))[0]
    rest = skeleton.rest_joints()
    moved = {i for i in range(24) if not torch.allclose(joints[i], rest[i], atol=1e-6)}
    assert moved == {skeleton.JOINT_INDEX[n] for n in ("left_wrist", "left_hand")}
