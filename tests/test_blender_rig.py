"""The SMPL rig in real headless Blender: it must reproduce core forward kinematics exactly."""

from __future__ import annotations

import numpy as np
import pytest

from motionclip_blender.core import rig
from motionclip_blender.core.rig import smpl_armature

from .motions import random_motion

bpy = pytest.importorskip("bpy")

from motionclip_blender.operators import actions  # noqa: E402

from .blender import fresh_scene, world_heads  # noqa: E402


def add_rig() -> bpy.types.Object:
    fresh_scene()
    assert bpy.ops.motionclip.add_rig() == {"FINISHED"}
    return bpy.context.view_layer.objects.active


def test_add_rig_builds_the_armature_and_a_skinned_body() -> None:
    obj = add_rig()
    armature = smpl_armature()
    assert obj.type == "ARMATURE" and set(obj.data.bones.keys()) == set(armature.names)
    for index, name in enumerate(armature.names):
        bone = obj.data.bones[name]
        matrix = np.array([list(row) for row in bone.matrix_local.to_3x3()])
        np.testing.assert_allclose(matrix, armature.matrices[index].numpy(), atol=1e-5)
        parent = armature.parents[index]
        assert (bone.parent.name if bone.parent else None) == (
            armature.names[parent] if parent >= 0 else None
        )
    (body,) = obj.children
    assert body.type == "MESH" and len(body.data.vertices) > 1000
    assert {group.name for group in body.vertex_groups} == set(armature.names)
    assert body.modifiers["Armature"].object == obj


def test_keyed_motion_matches_forward_kinematics_within_1mm() -> None:
    obj = add_rig()
    obj.location = (0.0, 0.0, 0.0)
    armature = smpl_armature()
    motion = random_motion(frames=48)
    channels = rig.motion_to_channels(motion, armature)
    action = actions.write_action(obj, armature, channels, "random", frame_start=1)
    actions.assign_action(obj, action)
    joints = motion.joints().numpy()
    for frame in (0, 1, 17, 47):
        bpy.context.scene.frame_set(frame + 1)
        error = np.abs(world_heads(obj, armature.names) - joints[frame]).max()
        assert error < 1e-3, f"frame {frame}: {error * 1000:.3f} mm"


def test_action_has_one_linear_key_per_frame_on_every_channel() -> None:
    obj = add_rig()
    armature = smpl_armature()
    channels = rig.motion_to_channels(random_motion(frames=30), armature)
    action = actions.write_action(obj, armature, channels, "keys", frame_start=10)
    curves = actions.action_fcurves(action)
    assert len(curves) == 24 * 4 + 3
    for curve in curves:
        points = curve.keyframe_points
        assert len(points) == 30
        assert points[0].co[0] == 10 and points[-1].co[0] == 39
        assert all(point.interpolation == "LINEAR" for point in points)
