"""Give the SMPL armature a visible body: a mesh skinned to the bones."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

import bpy

from .armature import new_objects_collection

if TYPE_CHECKING:
    from ..core.mannequin import Mesh


def add_body(
    context: bpy.types.Context, rig: bpy.types.Object, mesh: Mesh, bone_names: Sequence[str]
) -> bpy.types.Object:
    """A mesh object for `mesh`, parented to `rig`, skinned by mesh.weights (column j is the
    weight of the bone named bone_names[j]); vertices with equal weights are added together."""
    collection = new_objects_collection(context)
    data = bpy.data.meshes.new(f"{rig.name}_body")
    data.from_pydata(mesh.vertices.tolist(), [], mesh.faces)
    data.shade_smooth()
    body = bpy.data.objects.new(f"{rig.name}_body", data)
    collection.objects.link(body)
    body.parent = rig
    for bone, name in enumerate(bone_names):
        group = body.vertex_groups.new(name=name)
        column = mesh.weights[:, bone]
        for weight in column[column > 0].unique().tolist():
            group.add((column == weight).nonzero()[:, 0].tolist(), weight, "REPLACE")
    modifier = cast(bpy.types.ArmatureModifier, body.modifiers.new("Armature", "ARMATURE"))
    modifier.object = rig
    return body
