"""MotionCLIP for Blender: text-to-motion, motion search and latent blending on an SMPL rig.

This module imports without Blender: `bpy` is only imported when Blender calls `register()`, so the
same package serves the command line, the training package and the tests.
"""

from __future__ import annotations

__version__ = "0.1.0"


def register() -> None:
    """Called by Blender when the extension is enabled."""
    from . import operators

    operators.register()


def unregister() -> None:
    """Called by Blender when the extension is disabled."""
    from . import operators

    operators.unregister()
