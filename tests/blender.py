"""Helpers for tests that run inside real Blender (the bpy package), headless."""

from __future__ import annotations

import bpy
import numpy as np

import motionclip_blender


def fresh_scene() -> None:
    """An empty factory scene with this extension registered."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    if not hasattr(bpy.types, "MOTIONCLIP_OT_add_rig"):
        motionclip_blender.register()


def world_heads(obj: bpy.types.Object, names: tuple[str, ...]) -> np.ndarray:
    """(J, 3) world positions of the named pose bones' heads at the current frame."""
    assert obj.pose is not None
    return np.array([list(obj.matrix_world @ obj.pose.bones[name].head) for name in names])
