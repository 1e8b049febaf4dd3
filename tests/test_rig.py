"""The SMPL armature description and the motion <-> pose-channel conversion (no Blender)."""

from __future__ import annotations

import roma
import torch

from motionclip_blender.core import armature_pose, rig, rotations, skeleton
from motionclip_blender.core.mannequin import mannequin_mesh
from motionclip_blender.core.motion import rest_motion

from .motions import random_motion


def test_bone_frames_are_rotations_with_y_along_the_bone() -> None:
    armature = rig.smpl_armature()
    frames = armature.matrices
    identity = torch.eye(3, dtype=frames.dtype).expand(24, 3, 3)
    torch.testing.assert_close(frames.transpose(-1, -2) @ frames, identity)
    torch.testing.assert_close(torch.linalg.det(frames), torch.ones(24, dtype=frames.dtype))
    along = torch.nn.functional.normalize(armature.tails - armature.heads, dim=-1)
    torch.testing.assert_close(frames[:, :, 1], along)


def test_armature_stands_on_the_floor_facing_minus_y() -> None:
    armature = rig.smpl_armature()
    heads = armature.heads
    assert abs(float(heads[list(skeleton.FOOT_JOINTS), 2].min())) < 1e-9
    index = skeleton.JOINT_INDEX
    assert heads[index["head"], 2] > 1.4
    assert heads[index["left_wrist"], 0] > 0.6
    assert armature.tails[index["left_foot"], 1] < heads[index["left_foot"], 1]


def test_channels_round_trip_to_the_same_motion() -> None:
    armature = rig.smpl_armature()
    motion = random_motion(frames=40)
    back = rig.channels_to_motion(rig.motion_to_channels(motion, armature), armature)
    torch.testing.assert_close(back.joints(), motion.joints(), atol=1e-5, rtol=0)
    torch.testing.assert_close(back.translation, motion.translation, atol=1e-5, rtol=0)


def test_rest_pose_keys_identity_rotations() -> None:
    channels = rig.motion_to_channels(rest_motion(3), rig.smpl_armature())
    identity = torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=channels.quaternions.dtype)
    torch.testing.assert_close(channels.quaternions, identity.expand(3, 24, 4))


def test_quaternion_signs_are_continuous() -> None:
    channels = rig.motion_to_channels(random_motion(frames=60), rig.smpl_armature())
    dots = (channels.quaternions[1:] * channels.quaternions[:-1]).sum(-1)
    assert bool((dots >= 0).all())


def test_mannequin_has_a_part_on_every_bone() -> None:
    armature = rig.smpl_armature()
    mesh = mannequin_mesh(armature)
    bones = mesh.weights.argmax(dim=1)
    assert set(bones.tolist()) == set(range(24))
    torch.testing.assert_close(
        mesh.weights.sum(dim=1), torch.ones(len(mesh.vertices), dtype=mesh.weights.dtype)
    )
    assert all(max(face) < len(mesh.vertices) for face in mesh.faces)
    for bone in range(24):
        centre = mesh.vertices[bones == bone].mean(0)
        middle = (armature.heads[bone] + armature.tails[bone]) / 2
        torch.testing.assert_close(centre, middle, atol=1e-6, rtol=0)
    height = mesh.vertices[:, 2].max() - mesh.vertices[:, 2].min()
    assert 1.6 < float(height) < 1.85  # a person-sized body


def test_rotation_channels_of_every_mode_give_back_the_rotations_without_jumps() -> None:
    """What write_action keys for a bone in each rotation mode plays back the same rotations
    (armature_pose.channel_rotations reads them); Euler keys follow the turning continuously,
    through whole turns and past gimbal lock, where the principal angles jump."""
    time = torch.linspace(0, 1, 200, dtype=torch.float64)[:, None]
    turning = torch.cat([6 * torch.pi * time, 2.5 * time, 0.3 * torch.sin(9 * time)], dim=-1)
    wanted = roma.euler_to_rotmat("xyz", turning)  # Blender's 'XYZ' (channel_rotations)
    xyzw = rotations.matrix_to_quaternion(wanted)
    quaternions = rig.continuous_signs(torch.cat([xyzw[:, 3:], xyzw[:, :3]], dim=-1))
    for mode in ("QUATERNION", "AXIS_ANGLE", *armature_pose.EULER_ORDERS):
        values = armature_pose.rotation_channels(quaternions, mode)
        padded = torch.nn.functional.pad(values, (0, 4 - values.shape[1]))
        got = armature_pose.channel_rotations(padded, mode, "bone")
        torch.testing.assert_close(got, wanted, atol=1e-9, rtol=0, msg=mode)
    torch.testing.assert_close(armature_pose.rotation_channels(quaternions, "XYZ"), turning)
