"""Build the SMPL armature in Blender from its description in core.rig."""

from __future__ import annotations

from typing import TYPE_CHECKING

import bpy
from mathutils import Vector

if TYPE_CHECKING:
    from ..core.rig import Armature

RIG_TAG = "motionclip_smpl_rig"  # custom property marking armatures this extension built


def new_objects_collection(context: bpy.types.Context) -> bpy.types.Collection:
    """Where new objects go: the active collection, or the scene's own when the active one is
    linked from a library or overridden, where objects cannot be added."""
    collection, scene = context.collection, context.scene
    assert collection is not None and scene is not None, "needs a scene"
    if collection.library is not None or collection.override_library is not None:
        return scene.collection
    return collection


def build_armature(context: bpy.types.Context, armature: Armature, name: str) -> bpy.types.Object:
    """A new armature object with one bone per SMPL joint, linked to the active collection
    (new_objects_collection).

    Bones get the heads, tails and rolls of the description, so Blender's Bone.matrix_local equals
    armature.matrices and core.rig's channel conversion is exact. Leaves the object in Object mode.
    """
    collection, view_layer = new_objects_collection(context), context.view_layer
    assert view_layer is not None, "needs a scene's view layer"
    data = bpy.data.armatures.new(name)
    obj = bpy.data.objects.new(name, data)
    obj[RIG_TAG] = True
    collection.objects.link(obj)
    previous_active = view_layer.objects.active
    view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    try:
        bones = []
        for index, bone_name in enumerate(armature.names):
            bone = data.edit_bones.new(bone_name)
            bone.head = Vector(armature.heads[index].tolist())
            bone.tail = Vector(armature.tails[index].tolist())
            bone.align_roll(Vector(armature.z_axes[index].tolist()))
            bones.append(bone)
        for index, parent in enumerate(armature.parents):
            if parent >= 0:
                bones[index].parent = bones[parent]
                bones[index].use_connect = False
    finally:
        bpy.ops.object.mode_set(mode="OBJECT")
        if previous_active is not None:
            view_layer.objects.active = previous_active
    assert obj.pose is not None
    for pose_bone in obj.pose.bones:
        pose_bone.rotation_mode = "QUATERNION"
    return obj
