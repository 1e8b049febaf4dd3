"""Write pose channels into a new Blender action in bulk, and read them back.

Keys are written with `keyframe_points.foreach_set`, never one `keyframe_insert` per key. Blender
4.4 and later store F-curves in a layered action's channelbag for the object's slot; earlier
versions keep them on the action itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import bpy
import numpy as np

if TYPE_CHECKING:
    from ..core.rig import Armature, PoseChannels

LINEAR = (
    cast(bpy.types.EnumProperty, bpy.types.Keyframe.bl_rna.properties["interpolation"])
    .enum_items["LINEAR"]
    .value
)


def rotation_property(mode: str) -> str:
    """The property holding the rotation of an object or bone in rotation mode `mode`."""
    return ROTATION_PROPERTY.get(mode, "rotation_euler")


ROTATION_PROPERTY = {"QUATERNION": "rotation_quaternion", "AXIS_ANGLE": "rotation_axis_angle"}


def layered_actions() -> bool:
    """Whether this Blender has slotted, layered actions (4.4 and later)."""
    return "layers" in bpy.types.Action.bl_rna.properties


def new_action(obj: bpy.types.Object, name: str) -> tuple[bpy.types.Action, Any]:
    """A new empty action for `obj`, and where its F-curves go.

    That is the slot's channelbag on Blender 4.4 and later, the action itself before (typed Any:
    the legacy `Action.fcurves` is not in the 5.0 type stubs).
    """
    action = bpy.data.actions.new(name)
    if not layered_actions():
        return action, action
    slot = action.slots.new(id_type="OBJECT", name=obj.name)
    strip = cast(bpy.types.ActionKeyframeStrip, action.layers.new("Layer").strips.new())
    return action, strip.channelbag(slot, ensure=True)


def uses_action(obj: bpy.types.Object, action: bpy.types.Action) -> bool:
    """Whether `obj` plays `action`: as its active action or in one of its NLA strips."""
    animation = obj.animation_data
    if animation is None:
        return False
    strips = (strip for track in animation.nla_tracks for strip in track.strips)
    return animation.action == action or any(strip.action == action for strip in strips)


def action_slot(
    action: bpy.types.Action, obj: bpy.types.Object | None = None
) -> bpy.types.ActionSlot | None:
    """The slot holding `obj`'s animation in the action: the one `obj` plays it through when it
    does, else the first object slot (None before Blender 4.4). An action shared by several
    objects keeps each one's F-curves in its own slot."""
    if not layered_actions():
        return None
    animation = obj.animation_data if obj is not None else None
    if animation is not None:
        if animation.action == action and animation.action_slot is not None:
            return animation.action_slot
        for track in animation.nla_tracks:
            for strip in track.strips:
                if strip.action == action and strip.action_slot is not None:
                    return strip.action_slot
    return next((slot for slot in action.slots if slot.target_id_type == "OBJECT"), None)


def action_fcurves(
    action: bpy.types.Action, obj: bpy.types.Object | None = None
) -> list[bpy.types.FCurve]:
    """Every F-curve of the action for `obj` (action_slot), whichever way this Blender stores
    them."""
    if not layered_actions():
        return list(cast(Any, action).fcurves)
    slot = action_slot(action, obj)
    curves: list[bpy.types.FCurve] = []
    for layer in action.layers:
        for strip in layer.strips:
            keyframes = cast(bpy.types.ActionKeyframeStrip, strip)
            bag = keyframes.channelbag(slot) if slot is not None else None
            if bag is not None:
                curves.extend(bag.fcurves)
    return curves


def write_action(
    obj: bpy.types.Object,
    armature: Armature,
    channels: PoseChannels,
    name: str,
    frame_start: float,
) -> bpy.types.Action:
    """A new action keying every frame of `channels` on the armature's bones, from frame_start,
    each bone in the rotation channels its rotation mode plays (an animator may have turned the
    rig's bones to Euler angles for the Graph Editor)."""
    from ..core.armature_pose import rotation_channels

    pose = obj.pose
    assert pose is not None, "an armature object has a pose"
    action, channels_owner = new_action(obj, name)
    frames = frame_start + np.arange(channels.quaternions.shape[0], dtype=np.float32)
    for index, bone in enumerate(armature.names):
        mode = pose.bones[bone].rotation_mode
        path = f'pose.bones["{bone}"].{rotation_property(mode)}'
        values = rotation_channels(channels.quaternions[:, index], mode).float().numpy()
        for component in range(values.shape[1]):
            add_curve(channels_owner, path, component, bone, frames, values[:, component])
    root = armature.names[0]
    location = channels.root_location.float().numpy()
    for component in range(3):
        path = f'pose.bones["{root}"].location'
        add_curve(channels_owner, path, component, root, frames, location[:, component])
    return action


def add_curve(
    owner: Any,
    data_path: str,
    index: int,
    group: str,
    frames: np.ndarray,
    values: np.ndarray,
) -> None:
    """One F-curve in `owner` (a channelbag or a legacy action) with a linear key per frame."""
    if layered_actions():
        curve = owner.fcurves.new(data_path, index=index)
        curve.group = owner.groups.get(group) or owner.groups.new(group)
    else:
        curve = owner.fcurves.new(data_path, index=index, action_group=group)
    points = curve.keyframe_points
    points.add(len(frames))
    points.foreach_set("co", np.column_stack([frames, values]).ravel())
    points.foreach_set("interpolation", np.full(len(frames), LINEAR, dtype=np.int32))
    curve.update()


def assign_action(obj: bpy.types.Object, action: bpy.types.Action) -> None:
    """Make `action` the object's active action (with its slot on Blender 4.4 and later)."""
    animation = obj.animation_data or obj.animation_data_create()
    animation.action = action
    slot = action_slot(action)
    if slot is not None:
        animation.action_slot = slot
