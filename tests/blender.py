"""Helpers for tests that run inside real Blender (the bpy package), headless."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import addon_utils
import bpy
import numpy as np

from motionclip_blender.operators import actions

ADDON = "motionclip_blender"


def fresh_scene() -> None:
    """An empty factory scene with this extension enabled as an add-on."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon_utils.enable(ADDON, default_set=True)


def use_model(checkpoint: Path, clip_weights: Path | None = None) -> None:
    """Point the extension's preferences at a checkpoint (and CLIP weights file)."""
    prefs: Any = bpy.context.preferences.addons[ADDON].preferences
    prefs.checkpoint = str(checkpoint)
    prefs.clip_weights = str(clip_weights or "")


def world_heads(obj: bpy.types.Object, names: tuple[str, ...]) -> np.ndarray:
    """(J, 3) world positions of the named pose bones' heads at the current frame."""
    assert obj.pose is not None
    return np.array([list(obj.matrix_world @ obj.pose.bones[name].head) for name in names])


def snapshot_actions() -> dict[str, Any]:
    """Everything about every action's keys, to check that nothing existing changed."""
    state = {}
    for action in bpy.data.actions:
        curves = {}
        for curve in actions.action_fcurves(action):
            points = curve.keyframe_points
            values = {}
            for attribute, width in (("co", 2), ("handle_left", 2), ("handle_right", 2)):
                flat = np.zeros(len(points) * width, dtype=np.float32)
                points.foreach_get(attribute, flat)
                values[attribute] = flat.tobytes()
            values["interpolation"] = tuple(point.interpolation for point in points)
            curves[(curve.data_path, curve.array_index)] = values
        state[action.name] = (action.use_fake_user, curves)
    return state
