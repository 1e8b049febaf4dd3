"""Put a new action on an armature without losing any existing one."""

from __future__ import annotations

import bpy

from .actions import assign_action

STASH_TRACK = "[Action Stash]"  # Blender's own name for where it keeps replaced actions
TRACK_NAME = "MotionCLIP"
PLACEMENTS = [
    ("ACTIVE", "Active Action", "Make the new action the armature's active action"),
    ("NLA", "NLA Strip", "Add the new action as a strip on a new NLA track"),
]


def place_action(obj: bpy.types.Object, action: bpy.types.Action, placement: str) -> str:
    """Make `action` the active action or a new NLA strip starting at its first key.

    A replaced active action is stashed on a muted NLA track, as Blender's Action Editor does,
    so it keeps a user and is never lost on save. Returns a short description of where it went.
    """
    animation = obj.animation_data or obj.animation_data_create()
    assert animation is not None
    if placement == "NLA":
        track = animation.nla_tracks.new()
        track.name = TRACK_NAME
        strip = track.strips.new(action.name, int(action.frame_range[0]), action)
        return f"on NLA track '{track.name}' at frame {strip.frame_start:g}"
    previous = animation.action
    if previous is not None:
        stash = animation.nla_tracks.new()
        stash.name = STASH_TRACK
        stash.mute = True
        stash.strips.new(previous.name, int(previous.frame_range[0]), previous)
    assign_action(obj, action)
    return "as the active action" + (f" ('{previous.name}' stashed)" if previous else "")


def place_in_sequence(obj: bpy.types.Object, actions: list[bpy.types.Action], start: int) -> None:
    """Strips one after another on one new NLA track, the first at `start`."""
    animation = obj.animation_data or obj.animation_data_create()
    assert animation is not None
    track = animation.nla_tracks.new()
    track.name = TRACK_NAME
    frame = start
    for action in actions:
        strip = track.strips.new(action.name, frame, action)
        frame = int(strip.frame_end) + 1
