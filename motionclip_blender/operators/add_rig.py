"""motionclip.add_rig: a new SMPL armature with a body, at the 3D cursor."""

from __future__ import annotations

from typing import TYPE_CHECKING

import bpy

from ..core.errors import MotionClipError
from .common import add_smpl_rig, needs_dependencies
from .preferences import smpl_model_folder

if TYPE_CHECKING:
    from bpy.stub_internal.rna_enums import OperatorReturnItems


class MOTIONCLIP_OT_add_rig(bpy.types.Operator):
    """Add an SMPL armature at the 3D cursor, with the SMPL body when its model folder is set in
    the preferences and a mannequin otherwise"""

    bl_idname = "motionclip.add_rig"
    bl_label = "Add SMPL Rig"
    bl_options = {"REGISTER", "UNDO"}

    @needs_dependencies
    def execute(self, context: bpy.types.Context) -> set[OperatorReturnItems]:
        try:
            rig = add_smpl_rig(context, smpl_model_folder(context))
        except MotionClipError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        self.report({"INFO"}, f"Added SMPL rig '{rig.name}'")
        return {"FINISHED"}
