"""Render one frame of a motion on the SMPL rig with Blender's Workbench engine, headless.

    .venv/bin/python docs/render_pose.py MOTION.{npz,bvh} FRAME OUT.png

Used for the README's picture. Runs the extension's own operator code in the bpy package.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="motionclip-render-"))

import bpy

from motionclip_blender.core import files
from motionclip_blender.core.rig import motion_to_channels, smpl_armature
from motionclip_blender.operators.actions import assign_action, write_action


def render(motion_path: Path, frame: int, output: Path) -> None:
    import addon_utils  # Blender's module, importable once bpy is

    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon_utils.enable("motionclip_blender", default_set=True)
    scene = bpy.context.scene
    motion = files.read_motion(motion_path).canonicalize().resample(scene.render.fps)
    bpy.ops.motionclip.add_rig()
    rig = bpy.context.view_layer.objects.active
    channels = motion_to_channels(motion, smpl_armature())
    assign_action(rig, write_action(rig, smpl_armature(), channels, motion_path.stem, 1))
    scene.frame_set(frame)
    pelvis = rig.matrix_world @ rig.pose.bones["pelvis"].head

    bpy.ops.mesh.primitive_plane_add(size=8, location=(pelvis.x, pelvis.y, 0))
    camera = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    scene.collection.objects.link(camera)
    camera.location = (pelvis.x + 2.2, pelvis.y - 3.6, 1.6)
    camera.rotation_euler = (math.radians(80), 0, math.radians(31))
    camera.data.lens = 40
    scene.camera = camera

    scene.render.engine = "BLENDER_WORKBENCH"
    scene.display.shading.light = "STUDIO"
    scene.display.shading.show_shadows = True
    scene.display.shading.show_cavity = True
    scene.render.resolution_x, scene.render.resolution_y = 640, 480
    scene.render.filepath = str(output)
    bpy.ops.render.render(write_still=True)


if __name__ == "__main__":
    render(Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]).resolve())
