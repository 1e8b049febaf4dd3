"""Blender's own BVH importer puts our SMPL BVH's joints where our forward kinematics does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from motionclip_blender.core import bvh, skeleton

from .motions import smooth_motion

bpy = pytest.importorskip("bpy")

from .blender import fresh_scene, world_heads  # noqa: E402


def test_blender_importer_reproduces_our_joints(tmp_path: Path) -> None:
    motion = smooth_motion(seconds=0.5)
    path = tmp_path / "motion.bvh"
    bvh.write_bvh(motion, path)
    fresh_scene()
    # Blender's defaults spelled out: BVH's -Z forward and Y up make Blender's world ours.
    result = bpy.ops.import_anim.bvh(
        filepath=str(path), axis_forward="-Z", axis_up="Y", global_scale=1.0, frame_start=1
    )
    assert result == {"FINISHED"}
    armature = bpy.context.view_layer.objects.active
    joints = motion.joints().numpy()
    for frame in (0, motion.num_frames // 2, motion.num_frames - 1):
        bpy.context.scene.frame_set(frame + 1)
        heads = world_heads(armature, skeleton.JOINT_NAMES)
        np.testing.assert_allclose(heads, joints[frame], atol=1e-4)
