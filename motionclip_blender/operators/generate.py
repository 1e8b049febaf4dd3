"""motionclip.generate: a new action from a text prompt."""

# No `from __future__ import annotations` here: Blender reads the property annotations as objects.

from typing import TYPE_CHECKING

import bpy

from ..core.errors import MotionClipError
from . import jobs
from .actions import write_action
from .common import action_name, ensure_target_rig, needs_dependencies, run_job, target_rig
from .placement import PLACEMENTS, place_action
from .preferences import model_settings
from .sampling import scene_fps
from .session import model_session

if TYPE_CHECKING:
    from bpy.stub_internal.rna_enums import OperatorReturnItems

    from ..core.rig import PoseChannels


class MOTIONCLIP_OT_generate(bpy.types.Operator):
    """Generate a new action on the SMPL rig from a text prompt"""

    bl_idname = "motionclip.generate"
    bl_label = "Generate Motion"
    bl_options = {"REGISTER", "UNDO"}

    prompt: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Prompt", description="What the person does, e.g. 'a person waves with the left hand'"
    )
    seconds: bpy.props.FloatProperty(  # type: ignore[valid-type]
        name="Seconds", default=4.0, min=1.0, max=8.0, description="Length of the motion"
    )
    seed: bpy.props.IntProperty(  # type: ignore[valid-type]
        name="Seed",
        default=0,
        min=0,
        description="0 gives the prompt's own motion; other values give repeatable variations",
    )
    in_place: bpy.props.BoolProperty(  # type: ignore[valid-type]
        name="In Place", default=False, description="Keep the body over its start position"
    )
    placement: bpy.props.EnumProperty(  # type: ignore[valid-type]
        name="Placement", items=PLACEMENTS, default="ACTIVE"
    )

    @needs_dependencies
    def execute(self, context: bpy.types.Context) -> "set[OperatorReturnItems]":
        from ..core.rig import motion_to_channels, smpl_armature

        prompt = self.prompt.strip()
        if not prompt:
            self.report({"ERROR"}, "Type a prompt first, e.g. 'a person walks forward'")
            return {"CANCELLED"}
        scene = context.scene
        assert scene is not None
        settings, fps, frame = model_settings(context), scene_fps(scene), scene.frame_current
        seconds, seed, in_place = self.seconds, self.seed, self.in_place
        try:
            target = ensure_target_rig(context)
        except MotionClipError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        placement = self.placement
        armature = smpl_armature()

        def work(progress: jobs.Progress) -> "tuple[PoseChannels, str]":
            progress.update(0.1, "Loading the model")
            session = model_session(settings)
            progress.update(0.3, "Loading the text encoder")  # a CLIP download, the first time
            session.text_space  # noqa: B018 (loaded here, under its own progress message)
            progress.update(0.6, "Generating")
            motion = session.generate(prompt, seconds=seconds, seed=seed or None)
            if in_place:
                motion = motion.in_place()
            # The model's 20 fps rounds the length (1.03 s is 21 frames, 1.05 s; 1.02 s is 20,
            # 1.0 s): resample to the scene's own frame count nearest to the seconds asked for.
            scene_motion = motion.resample(fps, frames=max(1, round(seconds * fps)))
            return motion_to_channels(scene_motion, armature), session.prompt_report(prompt)

        def apply(result: "tuple[PoseChannels, str]") -> str:
            channels, report = result
            rig = target_rig(target)
            action = write_action(rig, armature, channels, action_name(prompt), frame)
            where = place_action(rig, action, placement)
            return f"Generated '{action.name}' on '{rig.name}' {where}" + (
                f"; {report}" if report else ""
            )

        return run_job(self, jobs.Job("Generate", work, apply, target.discard, target.uid))
