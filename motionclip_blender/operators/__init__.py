"""Blender operators and the sidebar panel: thin layers over `motionclip_blender.core`.

Registering them must not import torch (about a second, at every Blender start with the extension
enabled): modules here import core's torch-based modules inside the functions that use them, and
only for type checking at the top.
"""

from __future__ import annotations

import bpy

from . import jobs, session
from .add_rig import MOTIONCLIP_OT_add_rig
from .blend import MOTIONCLIP_OT_blend
from .edit import MOTIONCLIP_OT_edit
from .find_similar import MOTIONCLIP_OT_apply_result, MOTIONCLIP_OT_find_similar
from .generate import MOTIONCLIP_OT_generate
from .panel import MOTIONCLIP_OT_cancel, MOTIONCLIP_PT_panel, MOTIONCLIP_UL_results
from .preferences import MotionClipPreferences
from .properties import MotionClipFindings, MotionClipLabel, MotionClipResult, MotionClipSettings

# Registered in this order (property groups before what points at them), unregistered in reverse.
CLASSES: tuple[type, ...] = (
    MotionClipPreferences,
    MotionClipSettings,
    MotionClipResult,
    MotionClipLabel,
    MotionClipFindings,
    MOTIONCLIP_OT_add_rig,
    MOTIONCLIP_OT_generate,
    MOTIONCLIP_OT_find_similar,
    MOTIONCLIP_OT_apply_result,
    MOTIONCLIP_OT_blend,
    MOTIONCLIP_OT_edit,
    MOTIONCLIP_OT_cancel,
    MOTIONCLIP_UL_results,
    MOTIONCLIP_PT_panel,
)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Scene.motionclip = bpy.props.PointerProperty(type=MotionClipSettings)  # type: ignore[attr-defined,func-returns-value]
    bpy.types.WindowManager.motionclip = bpy.props.PointerProperty(type=MotionClipFindings)  # type: ignore[attr-defined,func-returns-value]
    jobs.add_handlers()


def unregister() -> None:
    jobs.remove_handlers()
    jobs.shutdown()
    session.forget_session()
    del bpy.types.WindowManager.motionclip  # type: ignore[attr-defined]
    del bpy.types.Scene.motionclip  # type: ignore[attr-defined]
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
