"""Blender operators and the sidebar panel: thin layers over `motionclip_blender.core`."""

from __future__ import annotations

import bpy

from .add_rig import MOTIONCLIP_OT_add_rig

# Registered in this order and unregistered in reverse.
CLASSES: tuple[type, ...] = (MOTIONCLIP_OT_add_rig,)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)


def unregister() -> None:
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
