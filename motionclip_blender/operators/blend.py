"""motionclip.blend: new actions between two actions, by interpolating their latents."""

from typing import TYPE_CHECKING

import bpy

from ..core.errors import MotionClipError
from . import jobs
from .actions import write_action
from .common import (
    MAX_NAME,
    action_name,
    ensure_target_rig,
    find_action,
    needs_dependencies,
    read_action,
    run_job,
    target_rig,
)
from .placement import place_in_sequence
from .preferences import model_settings, refine_steps
from .sampling import scene_fps
from .session import model_session

if TYPE_CHECKING:
    from bpy.stub_internal.rna_enums import OperatorReturnItems

    from ..core.rig import PoseChannels


class MOTIONCLIP_OT_blend(bpy.types.Operator):
    """Blend two actions through the latent space into new actions on an NLA track"""

    bl_idname = "motionclip.blend"
    bl_label = "Blend Actions"
    bl_options = {"REGISTER", "UNDO"}

    action_a: bpy.props.StringProperty(name="Action A")  # type: ignore[valid-type]
    action_b: bpy.props.StringProperty(name="Action B")  # type: ignore[valid-type]
    mode: bpy.props.EnumProperty(  # type: ignore[valid-type]
        name="Mode",
        items=[
            ("WEIGHT", "Weight", "One new action at the given weight between A (0) and B (1)"),
            ("STEPS", "Steps", "Several actions evenly spaced between A and B, both excluded"),
        ],
        default="WEIGHT",
    )
    weight: bpy.props.FloatProperty(  # type: ignore[valid-type]
        name="Weight", default=0.5, min=0.0, max=1.0
    )
    steps: bpy.props.IntProperty(name="Steps", default=3, min=1, max=16)  # type: ignore[valid-type]

    @needs_dependencies
    def execute(self, context: bpy.types.Context) -> "set[OperatorReturnItems]":
        from ..core.rig import motion_to_channels, smpl_armature

        scene = context.scene
        assert scene is not None
        try:
            sources = [read_action(context, find_action(name)) for name in self.names()]
            target = ensure_target_rig(context)
        except MotionClipError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        if self.mode == "WEIGHT":
            weights = [self.weight]
        else:
            weights = [step / (self.steps + 1) for step in range(1, self.steps + 1)]
        settings, fps, frame = model_settings(context), scene_fps(scene), scene.frame_current
        steps = refine_steps(context)
        armature = smpl_armature()

        def work(progress: jobs.Progress) -> "list[PoseChannels]":
            progress.update(0.1, "Loading the model")
            session = model_session(settings)
            refining = progress.counter(0.2, 0.95, "Refining the latents")
            a, b = sources[0].motion_for(session), sources[1].motion_for(session)
            blends = session.interpolate(a, b, weights, steps, refining)
            # each as many scene frames as its interpolated seconds, which 20 fps would round
            seconds = session.blend_seconds(a, b, weights)
            return [
                motion_to_channels(blend.resample(fps, max(1, round(length * fps))), armature)
                for blend, length in zip(blends, seconds, strict=True)
            ]

        def apply(channels: "list[PoseChannels]") -> str:
            rig = target_rig(target)
            actions = [
                write_action(
                    rig,
                    armature,
                    c,
                    blend_name(sources[0].name, sources[1].name, w),
                    1,
                )
                for c, w in zip(channels, weights, strict=True)
            ]
            note = place_in_sequence(rig, actions, frame)
            return f"Blended into {len(actions)} action(s) on an NLA track of '{rig.name}'{note}"

        return run_job(self, jobs.Job("Blend", work, apply, target.discard, target.uid))

    def names(self) -> list[str]:
        if not self.action_a or not self.action_b:
            raise MotionClipError("choose two actions to blend")
        return [self.action_a, self.action_b]


def blend_name(a: str, b: str, weight: float) -> str:
    """ "A x B 25%": each source's name cut to fit, so that the weight is always there, and the
    weight as a percentage, since a name ending in ".25" would be read by Blender as a number
    suffix (a second such blend would be named "A x B 0.001")."""
    side = (MAX_NAME - len(" x  100%")) // 2
    return f"{action_name(a, side)} x {action_name(b, side)} {weight * 100:.0f}%"
