"""motionclip.add_rig: a new SMPL armature with a body, at the 3D cursor."""

from __future__ import annotations

from typing import TYPE_CHECKING

import bpy

from .common import add_smpl_rig

if TYPE_CHECKING:
    from bpy.stub_internal.rna_enums import OperatorReturnItems


class MOTIONCLIP_OT_add_rig(bpy.types.Operator):
    """Add an SMPL armature with a mannequin body at the 3D cursor"""

    bl_idname = "motionclip.add_rig"
    bl_label = "Add SMPL Rig"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context: bpy.types.Context) -> set[OperatorReturnItems]:
        rig = add_smpl_rig(context)
        self.report({"INFO"}, f"Added SMPL rig '{rig.name}'")
        return {"FINISHED"}
