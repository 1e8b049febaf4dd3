"""Put a new action on an armature without losing any existing one."""

from __future__ import annotations

import math

import bpy

from ..core.errors import MotionClipError
from .actions import assign_action, layered_actions

STASH_TRACK = "[Action Stash]"  # Blender's own name for where it keeps replaced actions
TRACK_NAME = "MotionCLIP"
PLACEMENTS = [
    ("ACTIVE", "Active Action", "Make the new action the armature's active action"),
    ("NLA", "NLA Strip", "Add the new action as a strip on a new NLA track"),
]


def check_can_animate(obj: bpy.types.Object) -> None:
    """Refuse an armature whose animation a result cannot be put on: one linked from a library,
    where changes are not saved with the file, or one in NLA tweak mode, where the active action
    cannot be changed."""
    if not obj.is_editable:
        source = f"linked from {obj.library.filepath}" if obj.library else "not editable"
        raise MotionClipError(
            f"armature '{obj.name}' is {source}, so new animation on it would not be saved: make "
            "it a library override first (Object > Library Override > Make)"
        )
    if obj.animation_data is not None and obj.animation_data.use_tweak_mode:
        raise MotionClipError(
            f"armature '{obj.name}' is in NLA tweak mode: leave it first (Tab in the NLA editor)"
        )


def place_action(obj: bpy.types.Object, action: bpy.types.Action, placement: str) -> str:
    """Make `action` the active action (a previous one stashed) or a new NLA strip starting at its
    first key. Returns a short description of where it went."""
    check_can_animate(obj)
    animation = obj.animation_data or obj.animation_data_create()
    assert animation is not None
    if placement == "NLA":
        track = animation.nla_tracks.new()
        track.name = TRACK_NAME
        strip = track.strips.new(action.name, int(action.frame_range[0]), action)
        where = f"on NLA track '{track.name}' at frame {strip.frame_start:g}" + hidden_note(obj)
        return where + fit_scene_range(obj, strip.frame_start, strip.frame_end)
    stashed = stash_active(animation)
    assign_action(obj, action)
    return (
        "as the active action"
        + (f" ('{stashed}' stashed)" if stashed else "")
        + play_in_full(animation)
        + fit_scene_range(obj, action.frame_range[0], action.frame_range[1])
    )


def play_in_full(animation: bpy.types.AnimData) -> str:
    """Make the active action replace the NLA's result at full influence, so the new motion
    plays as generated (with Combine, Add or a lower influence it is mixed with the strips
    below). Returns words for the report when a setting changed, or ''."""
    before = animation.action_blend_type, animation.action_influence
    if before == ("REPLACE", 1.0):
        return ""
    animation.action_blend_type, animation.action_influence = "REPLACE", 1.0
    blend = before[0].title()
    return f"; its blending set to Replace at full influence (was {blend}, {before[1]:.0%})"


def place_in_sequence(obj: bpy.types.Object, actions: list[bpy.types.Action], start: int) -> str:
    """Strips one after another on one new NLA track, the first at `start`. Returns what the
    user should know about them (hidden_note), or ''."""
    check_can_animate(obj)
    animation = obj.animation_data or obj.animation_data_create()
    assert animation is not None
    track = animation.nla_tracks.new()
    track.name = TRACK_NAME
    frame = start
    for action in actions:
        strip = track.strips.new(action.name, frame, action)
        frame = int(strip.frame_end) + 1
    return hidden_note(obj) + fit_scene_range(obj, start, frame - 1)


def fit_scene_range(obj: bpy.types.Object, first: float, last: float) -> str:
    """Widen the frame range of the scenes holding `obj` to frames first..last, so the new
    motion plays to its end (never narrowed, as Blender's BVH import does with "Update Scene
    Duration"). Returns words for the report when a range changed, or could not cover the
    motion (a scene starts at frame 0 at the earliest, even with negative frames allowed);
    else ''."""
    first, last = math.floor(first), math.ceil(last)
    notes = []
    for scene in obj.users_scene:
        before = (scene.frame_start, scene.frame_end)
        scene.frame_start = min(scene.frame_start, first)
        scene.frame_end = max(scene.frame_end, last)
        if (scene.frame_start, scene.frame_end) != before:
            start, end = scene.frame_start, scene.frame_end
            notes.append(f"'{scene.name}' now plays frames {start} to {end}")
        if scene.frame_start > first:
            notes.append(
                f"'{scene.name}' cannot play frames {first} to {scene.frame_start - 1}: "
                "a scene starts at frame 0 at the earliest"
            )
    return "; scene " + ", ".join(notes) if notes else ""


def hidden_note(obj: bpy.types.Object) -> str:
    """Words for a user who will not see new NLA strips play: the object's active action, which
    overrides every strip it keys; '' when it has none. It is the user's, so it is left as it is."""
    animation = obj.animation_data
    if animation is None or animation.action is None:
        return ""
    return (
        f"; the active action '{animation.action.name}' plays over it: stash or unlink it in "
        "the Action Editor to see the strip"
    )


def stash_active(animation: bpy.types.AnimData) -> str:
    """Move the active action, if any, to a muted NLA track, as Blender's Action Editor does when
    it replaces one, so that it keeps a user and is never lost on save. Returns its name, or ''
    when there was none."""
    previous = animation.action
    if previous is None:
        return ""
    stash = animation.nla_tracks.new()
    stash.name = STASH_TRACK
    stash.mute = True
    strip = stash.strips.new(previous.name, int(previous.frame_range[0]), previous)
    if layered_actions():  # the rig's own slot of a shared action (Blender 4.4 and later)
        strip.action_slot = animation.action_slot
    return previous.name
