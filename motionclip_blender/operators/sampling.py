"""Read an armature's action into core.armature_pose.PoseSamples: reading only, nothing changes."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, TypeGuard, cast

import bpy

from .actions import action_fcurves, rotation_property, uses_action
from .armature import RIG_TAG

if TYPE_CHECKING:
    import torch

    from ..core.armature_pose import BoneRelations, PoseSamples

BONE_PATH = re.compile(r'^pose\.bones\["((?:[^"\\]|\\.)*)"\]\.(\w+)$')


def is_smpl_rig(obj: bpy.types.Object | None) -> TypeGuard[bpy.types.Object]:
    """Whether `obj` is an SMPL armature this extension built."""
    return obj is not None and obj.type == "ARMATURE" and bool(obj.get(RIG_TAG))


def bone_names(obj: bpy.types.Object) -> set[str]:
    """The bone names of an armature object."""
    return set(cast(bpy.types.Armature, obj.data).bones.keys())


def matrix_rows(matrix: object) -> list[list[float]]:
    """A mathutils.Matrix (4x4) as nested lists."""
    rows = cast(list[list[float]], matrix)
    return [[float(rows[row][column]) for column in range(4)] for row in range(4)]


def animated_bones(action: bpy.types.Action, obj: bpy.types.Object) -> set[str]:
    """Names of the bones the action has curves for, in `obj`'s slot of it."""
    names = set()
    for curve in action_fcurves(action, obj):
        match = BONE_PATH.match(curve.data_path)
        if match:
            names.add(bpy.utils.unescape_identifier(match.group(1)))
    return names


def rig_for_action(
    action: bpy.types.Action, preferred: bpy.types.Object | None
) -> bpy.types.Object | None:
    """An armature that can play `action`: first one that plays it (the preferred one if it
    does) and has some of its bones, then the preferred one, then any other in the file, whose
    bones cover the action's.

    An armature that plays the action comes first because another with the same bone names
    (two rigs from one naming scheme) would read its channels against the wrong rest pose.
    """
    armatures = [obj for obj in bpy.data.objects if obj.type == "ARMATURE" and obj != preferred]
    if preferred is not None and preferred.type == "ARMATURE":
        armatures.insert(0, preferred)
    players = [obj for obj in armatures if uses_action(obj, action)]
    for obj in players:
        if animated_bones(action, obj) & bone_names(obj):
            return obj  # curves for bones it lacks (deleted since) play nothing: ignored
    for obj in armatures:
        bones = animated_bones(action, obj)
        if obj not in players and bones and bones <= bone_names(obj):
            return obj
    return None


def sample_action(obj: bpy.types.Object, action: bpy.types.Action, fps: float) -> PoseSamples:
    """The action's channels on every whole frame of its range, for the armature `obj`.

    Bone channels the action does not key take the pose bone's current value when it is `obj`'s
    active action (the pose the user sees), else their rest value, so that reading an action
    `obj` does not play (Find Similar's candidates) does not depend on the pose `obj` holds at
    the playhead. The object's own unkeyed channels take its current value: where it stands.
    """
    import torch

    from ..core.armature_pose import ObjectChannels, PoseSamples

    pose = obj.pose
    assert pose is not None
    bones = sorted(cast(bpy.types.Armature, obj.data).bones, key=_depth)
    names = tuple(bone.name for bone in bones)
    start, end = played_range(action, obj)
    frames = [float(frame) for frame in range(round(start), round(end) + 1)]
    curves: dict[tuple[str, str, int], bpy.types.FCurve] = {}
    for curve in action_fcurves(action, obj):
        match = BONE_PATH.match(curve.data_path)
        if match:
            key = (bpy.utils.unescape_identifier(match.group(1)), match.group(2))
            curves[(*key, curve.array_index)] = curve
        else:  # the object's own channels ("location", ...), under the name "" of no bone
            curves[("", curve.data_path, curve.array_index)] = curve
    modes = tuple(pose.bones[name].rotation_mode for name in names)
    posed = obj.animation_data is not None and obj.animation_data.action == action

    def channel(bone: str, prop: str, keyed: bool = True) -> torch.Tensor:
        """(T, 4) the channel on every frame (where the action has no curve, or with
        keyed=False, its current value, or a bone's rest value unless the action is posed);
        rotations have 3 or 4 values, location and scale 3, padded."""
        owner = pose.bones[bone] if bone else obj
        held = getattr(owner, prop) if posed or not bone else unposed(pose.bones[bone], prop)
        current = torch.tensor(list(held), dtype=torch.float64)
        values = current.repeat(len(frames) if keyed else 1, 1)
        for index in range(len(current)):
            curve = curves.get((bone, prop, index)) if keyed else None
            if curve is not None:
                values[:, index] = curve_values(curve, frames)
        return torch.nn.functional.pad(values, (0, 4 - values.shape[1]))

    def object_channels(keyed: bool) -> ObjectChannels:
        prop = rotation_property(obj.rotation_mode)
        return ObjectChannels(
            mode=obj.rotation_mode,
            location=channel("", "location", keyed)[:, :3],
            rotation=channel("", prop, keyed),
            scale=channel("", "scale", keyed)[:, :3],
        )

    rotations = [
        channel(name, rotation_property(mode)) for name, mode in zip(names, modes, strict=True)
    ]
    return PoseSamples(
        names=names,
        parents=tuple(names.index(bone.parent.name) if bone.parent else -1 for bone in bones),
        rest=torch.tensor([matrix_rows(bone.matrix_local) for bone in bones]),
        object_matrix=torch.tensor(matrix_rows(obj.matrix_world)),
        object_now=object_channels(keyed=False),
        object_keyed=object_channels(keyed=True),
        rotation_modes=modes,
        relations=tuple(bone_relations(bone) for bone in bones),
        location=torch.stack([channel(name, "location")[:, :3] for name in names], dim=1),
        rotation=torch.stack(rotations, dim=1),
        scale=torch.stack([channel(name, "scale")[:, :3] for name in names], dim=1),
        fps=fps,
    )


def unposed(bone: bpy.types.PoseBone, prop: str) -> list[float]:
    """A pose bone channel's rest value (Blender's default: no turn, no offset, unit scale)."""
    return list(cast(bpy.types.FloatProperty, bone.bl_rna.properties[prop]).default_array)


def bone_relations(bone: bpy.types.Bone) -> BoneRelations:
    """How the bone follows its parent (core.armature_pose reads poses by them)."""
    from ..core.armature_pose import BoneRelations

    return BoneRelations(bone.use_inherit_rotation, bone.use_local_location, bone.inherit_scale)


def played_range(action: bpy.types.Action, obj: bpy.types.Object) -> tuple[float, float]:
    """The frames of `action` that `obj` plays: its manual frame range when set, else the span of
    the keys of obj's own curves. Action.frame_range spans every slot's keys (Blender 4.4+), so
    a rig playing a short slot of a shared action would read a held pose after its motion."""
    if action.use_frame_range:
        return action.frame_start, action.frame_end
    spans = [curve.range() for curve in action_fcurves(action, obj)]
    if not spans:
        return action.frame_range[0], action.frame_range[1]
    return min(span[0] for span in spans), max(span[1] for span in spans)


def curve_values(curve: bpy.types.FCurve, frames: list[float]) -> torch.Tensor:
    """(T,) the F-curve on the frames: its keys' own values when it has one key on each of those
    frames and no modifiers (as imports and this extension key), read in bulk; else evaluated
    frame by frame, which costs most of reading a long action."""
    import torch

    points = curve.keyframe_points
    if len(points) == len(frames) and not curve.modifiers:
        keys = [0.0] * (2 * len(points))
        points.foreach_get("co", keys)
        if keys[0::2] == frames:
            return torch.tensor(keys[1::2], dtype=torch.float64)
    return torch.tensor([curve.evaluate(frame) for frame in frames], dtype=torch.float64)


def scene_fps(scene: bpy.types.Scene) -> float:
    return scene.render.fps / scene.render.fps_base


def _depth(bone: bpy.types.Bone) -> int:
    return len(bone.parent_recursive)
