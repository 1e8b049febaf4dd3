"""Settings the panel edits (saved with the scene) and Find Similar's results (per session)."""

import bpy

from ..core.vocabulary import DEFAULT_LABELS
from .placement import PLACEMENTS


class MotionClipSettings(bpy.types.PropertyGroup):
    prompt: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Prompt", default="a person walks forward"
    )
    seconds: bpy.props.FloatProperty(  # type: ignore[valid-type]
        name="Seconds", default=4.0, min=1.0, max=8.0
    )
    seed: bpy.props.IntProperty(name="Seed", default=0, min=0)  # type: ignore[valid-type]
    in_place: bpy.props.BoolProperty(name="In Place", default=False)  # type: ignore[valid-type]
    placement: bpy.props.EnumProperty(  # type: ignore[valid-type]
        name="Placement", items=PLACEMENTS, default="ACTIVE"
    )
    labels: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Labels",
        description='Comma-separated verb phrases ("walk backwards") or sentences',
        default=", ".join(DEFAULT_LABELS),
    )
    # Pointers, not names: they follow a rename, and the blend file keeps them.
    action_a: bpy.props.PointerProperty(name="A", type=bpy.types.Action)  # type: ignore[valid-type]
    action_b: bpy.props.PointerProperty(name="B", type=bpy.types.Action)  # type: ignore[valid-type]
    blend_mode: bpy.props.EnumProperty(  # type: ignore[valid-type]
        name="Mode",
        items=[("WEIGHT", "Weight", "One action"), ("STEPS", "Steps", "Several in-betweens")],
        default="WEIGHT",
    )
    weight: bpy.props.FloatProperty(  # type: ignore[valid-type]
        name="Weight", default=0.5, min=0.0, max=1.0
    )
    steps: bpy.props.IntProperty(name="Steps", default=3, min=1, max=16)  # type: ignore[valid-type]
    from_text: bpy.props.StringProperty(name="From", default="walk")  # type: ignore[valid-type]
    to_text: bpy.props.StringProperty(name="To", default="run")  # type: ignore[valid-type]
    strength: bpy.props.FloatProperty(  # type: ignore[valid-type]
        name="Strength",
        description="How far to move: 0 keeps the motion, 1 is the paper's step",
        default=1.5,  # core.inference.EDIT_STRENGTH, not imported here: it loads torch
        soft_min=0.0,
        soft_max=3.0,
    )


class MotionClipResult(bpy.types.PropertyGroup):
    """One Find Similar hit: an action of this file (`key`: its session_uid, which follows a
    rename) or a library file (`key`: its path)."""

    kind: bpy.props.EnumProperty(  # type: ignore[valid-type]
        items=[("ACTION", "Action", ""), ("FILE", "File", "")]
    )
    key: bpy.props.StringProperty()  # type: ignore[valid-type]
    score: bpy.props.FloatProperty()  # type: ignore[valid-type]


class MotionClipLabel(bpy.types.PropertyGroup):
    score: bpy.props.FloatProperty()  # type: ignore[valid-type]


class MotionClipFindings(bpy.types.PropertyGroup):
    query: bpy.props.StringProperty()  # type: ignore[valid-type]
    results: bpy.props.CollectionProperty(type=MotionClipResult)  # type: ignore[valid-type]
    active: bpy.props.IntProperty()  # type: ignore[valid-type]
    labels: bpy.props.CollectionProperty(type=MotionClipLabel)  # type: ignore[valid-type]
