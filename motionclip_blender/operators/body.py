"""Give the SMPL armature a visible body: a mesh skinned to the bones."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import bpy

from ..core.mannequin import Mesh


def add_body(
    context: bpy.types.Context, rig: bpy.types.Object, mesh: Mesh, bone_names: Sequence[str]
) -> bpy.types.Object:
    """A mesh object for `mesh`, parented to `rig`.

    Vertex v is bound to the bone named bone_names[mesh.bones[v]].
    """
    collection = context.collection
    assert collection is not None, "needs a collection to link into"
    data = bpy.data.meshes.new(f"{rig.name}_body")
    data.from_pydata(mesh.vertices.tolist(), [], mesh.faces)
    data.shade_smooth()
    body = bpy.data.objects.new(f"{rig.name}_body", data)
    collection.objects.link(body)
    body.parent = rig
    by_bone: dict[int, list[int]] = {}
    for vertex, bone in enumerate(mesh.bones.tolist()):
        by_bone.setdefault(bone, []).append(vertex)
    for bone, vertices in sorted(by_bone.items()):
        body.vertex_groups.new(name=bone_names[bone]).add(vertices, 1.0, "REPLACE")
    modifier = cast(bpy.types.ArmatureModifier, body.modifiers.new("Armature", "ARMATURE"))
    modifier.object = rig
    return body
