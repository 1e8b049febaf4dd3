"""motionclip.find_similar and motionclip.apply_result: actions and library files like the
selected armature's action, the words that describe it, and one click to use a result."""

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import bpy

from ..core.errors import MotionClipError
from . import jobs
from .actions import action_fcurves, write_action
from .common import (
    ActionMotion,
    action_name,
    active_action,
    by_uid,
    ensure_target_rig,
    needs_dependencies,
    read_action,
    run_job,
    target_rig,
)
from .placement import place_action
from .preferences import model_settings, preferences
from .sampling import BONE_PATH, rig_for_action, scene_fps
from .session import model_session

if TYPE_CHECKING:
    import torch
    from bpy.stub_internal.rna_enums import OperatorReturnItems

    from ..core.inference import LabelScore, MotionClip, SearchHit
    from ..core.motion import Motion
    from ..core.rig import PoseChannels


@dataclass(frozen=True)
class Findings:
    hits: "list[SearchHit]"  # names are "ACTION:<name>" or "FILE:<path>"
    labels: "list[LabelScore]"
    notes: list[str]  # what could not be compared, in words


class MOTIONCLIP_OT_find_similar(bpy.types.Operator):
    """Find actions and library motions similar to the selected armature's action"""

    bl_idname = "motionclip.find_similar"
    bl_label = "Find Similar"
    bl_options = {"REGISTER"}

    top_k: bpy.props.IntProperty(name="Results", default=10, min=1, max=100)  # type: ignore[valid-type]
    labels: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Labels",
        description='Comma-separated verb phrases ("walk backwards") or sentences',
    )

    @needs_dependencies
    def execute(self, context: bpy.types.Context) -> "set[OperatorReturnItems]":
        import torch

        from ..core.inference import EncodedMotions
        from ..core.library import index_library

        scene = context.scene
        assert scene is not None
        try:
            obj, action = active_action(context)
            query = read_action(context, action, obj)
            others, notes = other_actions(context, action, obj)
            action_names = {str(other.uid): other.name for other in others}  # by_uid keys
        except MotionClipError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        settings, top_k = model_settings(context), self.top_k
        folder = bpy.path.abspath(preferences(context).library_folder) or None
        # Each label once, in the order typed: "walk, walk" asks for one label, not an error.
        labels = list(
            dict.fromkeys(label.strip() for label in self.labels.split(",") if label.strip())
        )

        def work(progress: jobs.Progress) -> Findings:
            progress.update(0.05, "Loading the model")
            session = model_session(settings)
            motion = query.motion_for(session)
            keys, latents, skipped = encode_actions(session, others)
            if folder:
                library = index_library(
                    folder,
                    session,
                    progress=progress.counter(0.2, 0.9, "Indexing the library"),
                )
                keys += [f"FILE:{name}" for name in library.names]
                latents.append(library.latents)
                skipped += list(library.skipped)
            pool = EncodedMotions(
                keys, torch.cat(latents) if latents else torch.zeros(0, session.config.latent_dim)
            )
            hits = session.search(motion, pool, top_k)
            described = session.classify(motion, labels) if labels else []
            return Findings(hits, described[:5], notes + skipped)

        def apply(findings: Findings) -> str:
            store = bpy.context.window_manager.motionclip  # type: ignore[union-attr]
            store.query = query.name
            store.results.clear()
            for hit in findings.hits:
                kind, _, key = hit.name.partition(":")
                item = store.results.add()
                item.name = action_names[key] if kind == "ACTION" else os.path.basename(key)
                item.kind, item.key, item.score = kind, key, hit.score
            store.labels.clear()
            for label in findings.labels:
                entry = store.labels.add()
                entry.name, entry.score = label.label, label.score
            count = len(findings.hits)
            message = f"{count} motion{'' if count == 1 else 's'} like '{query.name}'"
            if findings.notes:
                message += f"; {len(findings.notes)} not compared: " + "; ".join(findings.notes[:3])
            return message

        return run_job(self, jobs.Job("Find Similar", work, apply))


def other_actions(
    context: bpy.types.Context, query: bpy.types.Action, obj: bpy.types.Object
) -> tuple[list[ActionMotion], list[str]]:
    """Every other action of the file that an armature here can play, and notes on the rest."""
    readable, notes = [], []
    for action in bpy.data.actions:
        if action == query:
            continue
        rig = rig_for_action(action, obj)
        if rig is None:
            # A camera's or a light's action is not a motion to compare: no need to say so.
            if any(BONE_PATH.match(curve.data_path) for curve in action_fcurves(action)):
                notes.append(f"action '{action.name}' animates no armature here")
            continue
        readable.append(read_action(context, action, rig))
    return readable, notes


def encode_actions(
    session: "MotionClip", actions: list[ActionMotion]
) -> "tuple[list[str], list[torch.Tensor], list[str]]":
    """Keys, latents (one (N, D) block) and problems of the actions that can be encoded."""
    keys, motions, problems = [], [], []
    for action in actions:
        try:
            motion = action.motion()
        except MotionClipError as error:
            problems.append(str(error))
            continue
        if motion.duration < session.config.min_seconds:
            problems.append(
                f"action '{action.name}' is shorter than {session.config.min_seconds:g} s"
            )
            continue
        keys.append(f"ACTION:{action.uid}")
        motions.append(motion)
    latents = [session.encode_motion(motions)] if motions else []
    return keys, latents, problems


def result_action(key: str, name: str) -> bpy.types.Action:
    """A result's action, found by its session_uid (`key`) under whatever name it has now; an
    error when it was deleted, or the result is from a file no longer open."""
    action = by_uid(bpy.data.actions, int(key)) if key.isdigit() else None  # older results: names
    if action is None:
        raise MotionClipError(f"the action '{name}' is no longer in this file: find again")
    return action


class MOTIONCLIP_OT_apply_result(bpy.types.Operator):
    """Use this result as a new action on the SMPL rig"""

    bl_idname = "motionclip.apply_result"
    bl_label = "Apply Result"
    bl_options = {"REGISTER", "UNDO"}

    index: bpy.props.IntProperty(name="Result")  # type: ignore[valid-type]

    @needs_dependencies
    def execute(self, context: bpy.types.Context) -> "set[OperatorReturnItems]":
        from ..core import files
        from ..core.rig import motion_to_channels, smpl_armature

        scene = context.scene
        assert scene is not None and context.window_manager is not None
        results = context.window_manager.motionclip.results  # type: ignore[attr-defined]
        if not 0 <= self.index < len(results):
            self.report({"ERROR"}, "No such result; run Find Similar again")
            return {"CANCELLED"}
        result = results[self.index]
        kind, key, name = result.kind, result.key, result.name
        try:
            source = read_action(context, result_action(key, name)) if kind == "ACTION" else None
            world_space = source is not None and not source.smpl_rig
            target = ensure_target_rig(context, world_space)
        except MotionClipError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        fps, frame = scene_fps(scene), scene.frame_current
        placement = scene.motionclip.placement  # type: ignore[attr-defined]
        armature = smpl_armature()

        def work(progress: jobs.Progress) -> "PoseChannels":
            progress.update(0.2, f"Reading {name}")
            motion: Motion = source.motion() if source is not None else files.read_motion(key)
            return motion_to_channels(motion.resample(fps), armature)

        def apply(channels: "PoseChannels") -> str:
            rig = target_rig(target)
            action = write_action(rig, armature, channels, action_name(name), frame)
            return f"Applied '{action.name}' on '{rig.name}' {place_action(rig, action, placement)}"

        return run_job(self, jobs.Job("Apply Result", work, apply, target.discard, target.uid))
