"""Install a built extension .zip into headless Blender, enable it and generate a motion with it.

    python tests/run_installed_extension.py PACKAGE.zip CHECKPOINT [CLIP_WEIGHTS]

Needs only the bpy package: the extension brings its wheels (or, built with --no-wheels, finds
its dependencies on the interpreter's path). Run it with BLENDER_USER_RESOURCES naming an empty
folder, which the extension is installed into. On success it prints where the extension's code
was loaded from and the generated action; any failure raises. Enabling must not load torch (it
would slow every Blender start); the first operator call does.
"""

from __future__ import annotations

import sys
from typing import Any

import bpy

MODULE = "bl_ext.user_default.motionclip_blender"


def install_and_generate(package: str, checkpoint: str, clip_weights: str) -> None:
    installed = bpy.ops.extensions.package_install_files(
        filepath=package, repo="user_default", enable_on_install=True
    )
    assert installed == {"FINISHED"}, installed
    assert MODULE in bpy.context.preferences.addons, "the installed extension is not enabled"
    assert "torch" not in sys.modules, "enabling the extension loaded torch"
    prefs: Any = bpy.context.preferences.addons[MODULE].preferences
    prefs.checkpoint = checkpoint
    prefs.clip_weights = clip_weights
    generated = bpy.ops.motionclip.generate(prompt="a person walks", seconds=2.0)
    assert generated == {"FINISHED"}, generated
    rig = bpy.context.view_layer.objects.active
    action = rig.animation_data.action
    assert action.name == "a person walks", action.name
    start, end = action.frame_range
    print(f"extension: {sys.modules[MODULE].__file__}")
    print(f"generated: {action.name!r} on {rig.name!r}, frames {start:g} to {end:g}")


if __name__ == "__main__":
    install_and_generate(*sys.argv[1:3], sys.argv[3] if len(sys.argv) > 3 else "")
