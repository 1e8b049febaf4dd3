"""motionclip.edit: a new action from the active one, changed by text (latent arithmetic)."""

from typing import TYPE_CHECKING

import bpy

from ..core.errors import MotionClipError
from . import jobs
from .actions import write_action
from .common import (
    action_name,
    active_action,
    ensure_target_rig,
    needs_dependencies,
    read_action,
    run_job,
    target_rig,
)
from .placement import PLACEMENTS, place_action
from .preferences import model_settings, refine_steps
from .sampling import scene_fps
from .session import model_session

if TYPE_CHECKING:
    from bpy.stub_internal.rna_enums import OperatorReturnItems

    from ..core.rig import PoseChannels


class MOTIONCLIP_OT_edit(bpy.types.Operator):
    """Make a new action from the active one, moved from one text towards another"""

    bl_idname = "motionclip.edit"
    bl_label = "Edit Motion with Text"
    bl_options = {"REGISTER", "UNDO"}

    from_text: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="From", description="What the motion is now, e.g. 'walk'"
    )
    to_text: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="To", description="What it should become, e.g. 'run'"
    )
    strength: bpy.props.FloatProperty(  # type: ignore[valid-type]
        name="Strength",
        description="How far to move: 0 keeps the motion, 1 is the paper's step",
        default=1.5,  # core.inference.EDIT_STRENGTH, not imported here: it loads torch
        soft_min=0.0,
        soft_max=3.0,
    )
    placement: bpy.props.EnumProperty(  # type: ignore[valid-type]
        name="Placement", items=PLACEMENTS, default="NLA"
    )

    @needs_dependencies
    def execute(self, context: bpy.types.Context) -> "set[OperatorReturnItems]":
        from ..core.rig import motion_to_channels, smpl_armature

        from_text, to_text = self.from_text.strip(), self.to_text.strip()
        scene = context.scene
        assert scene is not None
        try:
            if not from_text or not to_text:
                raise MotionClipError("give both a 'from' and a 'to' text")
            obj, action = active_action(context)
            source = read_action(context, action, obj)
            target = ensure_target_rig(context, world_space=not source.smpl_rig)
        except MotionClipError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        settings, fps, strength = model_settings(context), scene_fps(scene), self.strength
        placement, frame = self.placement, scene.frame_current
        steps = refine_steps(context)
        armature = smpl_armature()

        def work(progress: jobs.Progress) -> "tuple[PoseChannels, str]":
            progress.update(0.1, "Loading the model")
            session = model_session(settings)
            refining = progress.counter(0.2, 0.95, "Refining the latents")
            motion = source.motion_for(session)
            edited = session.edit(motion, from_text, to_text, strength, steps, refining)
            longest = session.config.max_seconds
            # as many frames as the action (or its first `longest` seconds), which the model's
            # 20 fps would round (61 frames at 60 fps came back as 60)
            frames = min(motion.num_frames, round(longest * fps))
            channels = motion_to_channels(edited.resample(fps, frames), armature)
            report = session.edit_report(from_text, to_text)
            if motion.duration > longest:  # the model reads at most that much
                report = (
                    f"only its first {longest:g} s, of {motion.duration:.1f} s, were edited"
                    + (f"; {report}" if report else "")
                )
            return channels, report

        def apply(result: "tuple[PoseChannels, str]") -> str:
            channels, report = result
            rig = target_rig(target)
            name = action_name(f"{source.name} {from_text} to {to_text}")
            new = write_action(rig, armature, channels, name, frame)
            where = place_action(rig, new, placement)
            return f"Made '{new.name}' on '{rig.name}' {where}" + (f"; {report}" if report else "")

        return run_job(self, jobs.Job("Edit", work, apply, target.discard, target.uid))
