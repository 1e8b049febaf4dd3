"""motionclip.add_rig: a new SMPL armature with a body, at the 3D cursor."""

from __future__ import annotations

from typing import TYPE_CHECKING

import bpy

from ..core.mannequin import mannequin_mesh
from ..core.rig import smpl_armature
from .armature import build_armature
from .body import add_body

if TYPE_CHECKING:
    from bpy.stub_internal.rna_enums import OperatorReturnItems


class MOTIONCLIP_OT_add_rig(bpy.types.Operator):
    """Add an SMPL armature with a mannequin body at the 3D cursor"""

    bl_idname = "motionclip.add_rig"
    bl_label = "Add SMPL Rig"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context: bpy.types.Context) -> set[OperatorReturnItems]:
        scene, view_layer = context.scene, context.view_layer
        assert scene is not None and view_layer is not None
        if context.mode != "OBJECT":
            bpy.ops.object.mode_set(mode="OBJECT")
        armature = smpl_armature()
        rig = build_armature(context, armature, "SMPL")
        rig.location = scene.cursor.location
        add_body(context, rig, mannequin_mesh(armature), armature.names)
        for obj in context.selected_objects:
            obj.select_set(False)
        rig.select_set(True)
        view_layer.objects.active = rig
        self.report({"INFO"}, f"Added SMPL rig '{rig.name}'")
        return {"FINISHED"}
