"""What the MotionCLIP operators share: running a job, reading an action, the target rig."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar, cast

import bpy

from ..core.errors import MotionClipError, first_of
from . import jobs
from .armature import build_armature
from .body import add_body
from .placement import check_can_animate
from .preferences import smpl_model_folder
from .sampling import (
    bone_names,
    bone_relations,
    is_smpl_rig,
    matrix_rows,
    rig_for_action,
    sample_action,
    scene_fps,
)

if TYPE_CHECKING:
    from bpy.stub_internal.rna_enums import OperatorReturnItems

    from ..core.armature_pose import PoseSamples
    from ..core.inference import MotionClip
    from ..core.motion import Motion

IdType = TypeVar("IdType", bound=bpy.types.ID)
OperatorType = TypeVar("OperatorType", bound=bpy.types.Operator)
ELLIPSIS = "…"
MAX_NAME = 60  # bytes: Blender 4.5 names hold 63 bytes of UTF-8 (5.0 more)


Execute = Callable[[OperatorType, bpy.types.Context], "set[OperatorReturnItems]"]


def needs_dependencies(execute: Execute[OperatorType]) -> Execute[OperatorType]:
    """An operator's execute that reports in one line, instead of a traceback, that the core
    modules it imports cannot load their dependencies (torch and the other bundled wheels: a
    failed install, or a Mac older than the bundled torch's macOS 14)."""

    @functools.wraps(execute)
    def checked(operator: OperatorType, context: bpy.types.Context) -> set[OperatorReturnItems]:
        try:
            return execute(operator, context)
        except ImportError as error:
            operator.report(
                {"ERROR"},
                f"MotionCLIP cannot load what it needs ({error}): reinstall the extension from its "
                "package for this system (the bundled torch needs macOS 14 or later on a Mac)",
            )
            return {"CANCELLED"}

    return checked


def run_job(operator: bpy.types.Operator, job: jobs.Job) -> set[OperatorReturnItems]:
    """Submit the job; in background mode report its outcome as the operator's own."""
    outcome = jobs.submit(job)
    if outcome is None:
        operator.report({"INFO"}, f"{job.name}: working in the background")
        return {"FINISHED"}
    operator.report({outcome.level}, outcome.message)  # type: ignore[arg-type]
    return {"CANCELLED"} if outcome.level == "ERROR" else {"FINISHED"}


@dataclass(frozen=True)
class ActionMotion:
    """An action read on the main thread, turned into an SMPL motion in the worker; `uid` is
    the action's session_uid (by_uid)."""

    name: str
    uid: int
    samples: PoseSamples
    smpl_rig: bool

    def motion(self) -> Motion:
        """The SMPL motion: exact on the extension's rig, retargeted from any other humanoid."""
        from ..core import armature_pose
        from ..core.rig import smpl_armature

        try:
            if self.smpl_rig:
                return armature_pose.smpl_rig_motion(self.samples, smpl_armature())
            return armature_pose.humanoid_motion(self.samples)
        except MotionClipError as error:
            raise type(error)(f"action '{self.name}': {error}") from None

    def motion_for(self, session: MotionClip) -> Motion:
        """motion(), long enough for the session's model to read; errors name the action (a
        blend's A or B)."""
        motion = self.motion()
        try:
            session.check_duration(motion)
        except MotionClipError as error:
            raise type(error)(f"action '{self.name}': {error}") from None
        return motion


def read_action(
    context: bpy.types.Context, action: bpy.types.Action, rig: bpy.types.Object | None = None
) -> ActionMotion:
    """Sample `action` on `rig` (or an armature that can play it); errors name the problem."""
    rig = rig or rig_for_action(action, active_armature(context))
    if rig is None:
        raise MotionClipError(f"action '{action.name}' animates no armature's bones in this file")
    assert context.scene is not None
    samples = sample_action(rig, action, scene_fps(context.scene))
    # else read as any humanoid: by its bone names, and through Blender's full pose rules
    smpl_rig = (
        is_smpl_rig(rig)
        and not missing_smpl_bones(rig)
        and samples.plain_relations
        and not changed_smpl_rest(rig)
    )
    return ActionMotion(action.name, action.session_uid, samples, smpl_rig)


def find_action(name: str) -> bpy.types.Action:
    """The action of that name, or an error saying there is none."""
    action = bpy.data.actions.get(name)
    if action is None:
        raise MotionClipError(f"there is no action named '{name}'")
    return action


def active_armature(context: bpy.types.Context) -> bpy.types.Object | None:
    """The active armature, or the armature that deforms the active mesh (clicking a character
    in the viewport selects its body, not its rig); None when there is neither."""
    obj = context.active_object
    if obj is None or obj.type == "ARMATURE":
        return obj
    for modifier in obj.modifiers:
        if modifier.type == "ARMATURE":
            rig = cast(bpy.types.ArmatureModifier, modifier).object
            if rig is not None:
                return rig
    parent = obj.parent
    return parent if parent is not None and parent.type == "ARMATURE" else None


def active_action(context: bpy.types.Context) -> tuple[bpy.types.Object, bpy.types.Action]:
    """The selected armature and its active action, or an error saying what is missing."""
    obj = active_armature(context)
    if obj is None:
        raise MotionClipError("select an armature first")
    action = obj.animation_data.action if obj.animation_data else None
    if action is None:
        raise MotionClipError(f"armature '{obj.name}' has no active action")
    return obj, action


def by_uid(collection: Iterable[IdType], uid: int) -> IdType | None:
    """The data-block of `collection` (bpy.data.objects, bpy.data.actions) with this
    session_uid, which stays through renames and undo, where a name does not."""
    return next((item for item in collection if item.session_uid == uid), None)


@dataclass(frozen=True)
class TargetRig:
    """The SMPL rig an operator's result goes on (by session_uid; `name` for messages), and the
    objects the operator added for it: the rig and its body, none for the user's own rig."""

    uid: int
    name: str
    added: tuple[int, ...] = ()

    def discard(self) -> bool:
        """Remove what the operator added: its job failed, so nothing it made stays. Objects
        the user has since parented to the rig stay, and so does a rig another operator chose
        for its result: one that holds it already, or one still working (jobs.Job.rig).
        Whether anything was removed (an undo may have removed the rig already)."""
        rig = by_uid(bpy.data.objects, self.uid)
        if rig is not None and (
            holds_animation(rig) or any(job.rig == self.uid for job in jobs.running())
        ):
            return False
        parts = [by_uid(bpy.data.objects, uid) for uid in self.added]
        removed = False
        for part in parts:
            if part is None:
                continue
            data = part.data
            bpy.data.objects.remove(part)
            removed = True
            if isinstance(data, bpy.types.Mesh) and data.users == 0:
                bpy.data.meshes.remove(data)
            elif isinstance(data, bpy.types.Armature) and data.users == 0:
                bpy.data.armatures.remove(data)
        return removed


def holds_animation(obj: bpy.types.Object) -> bool:
    """Whether `obj` has an action or NLA strips: a result some operator put on it."""
    animation = obj.animation_data
    if animation is None:
        return False
    return animation.action is not None or any(track.strips for track in animation.nla_tracks)


def ensure_target_rig(context: bpy.types.Context, world_space: bool = False) -> TargetRig:
    """The SMPL rig a result goes on: the active one, or one added now, at the 3D cursor, or
    at the world origin for a `world_space` result (one read from another rig's action, which
    keeps where that rig played it: the cursor would move it).

    Added here, in the operator's own context, not later when the result is applied from a timer,
    where operators such as mode_set lack the context they need; the job discards it if it fails.
    """
    obj = active_armature(context)
    if is_smpl_rig(obj):
        check_smpl_target(obj)
        return TargetRig(obj.session_uid, obj.name)
    rig = add_smpl_rig(context, smpl_model_folder(context), at_origin=world_space)
    parts = (rig.session_uid, *(child.session_uid for child in rig.children))
    return TargetRig(rig.session_uid, rig.name, parts)


def target_rig(target: TargetRig) -> bpy.types.Object:
    """When applying a result: the target's rig, whatever it is called now, unless the user
    removed it meanwhile or made it one that cannot take it (check_smpl_target), checked
    before anything is written."""
    obj = by_uid(bpy.data.objects, target.uid)
    if obj is None:
        raise MotionClipError(f"the armature '{target.name}' was removed while the model worked")
    check_smpl_target(obj)
    return obj


def smpl_bone_names() -> tuple[str, ...]:
    """The SMPL rig's bone names, core.skeleton's joint names (torch is imported with it)."""
    from ..core.skeleton import JOINT_NAMES

    return JOINT_NAMES


def missing_smpl_bones(obj: bpy.types.Object) -> list[str]:
    """The SMPL bones an armature the extension built no longer has (renamed or deleted)."""
    present = bone_names(obj)
    return [name for name in smpl_bone_names() if name not in present]


def changed_smpl_rest(obj: bpy.types.Object) -> list[str]:
    """The SMPL bones (all present) whose rest is no longer the one the extension built."""
    import torch

    from ..core.rig import changed_rest, smpl_armature

    bones = cast(bpy.types.Armature, obj.data).bones
    rest = torch.tensor([matrix_rows(bones[name].matrix_local) for name in smpl_bone_names()])
    return changed_rest(smpl_armature(), rest)


def check_smpl_target(obj: bpy.types.Object) -> None:
    """A MotionClipError unless the SMPL rig `obj` can take a result: animatable
    (check_can_animate), with every SMPL bone the keys go on, following its parent and
    resting as built."""
    check_can_animate(obj)
    missing = missing_smpl_bones(obj)
    if missing:
        raise MotionClipError(
            f"armature '{obj.name}' was built as an SMPL rig but has no bone {listed(missing)} "
            "(renamed or deleted): name its bones back, or add a new rig with Add SMPL Rig"
        )
    from ..core.armature_pose import BoneRelations

    defaults = BoneRelations()  # Blender's, which keys from core.rig assume
    bones = cast(bpy.types.Armature, obj.data).bones
    changed = [name for name in smpl_bone_names() if bone_relations(bones[name]) != defaults]
    if changed:
        raise MotionClipError(
            f"armature '{obj.name}' has bones that do not follow their parent as built "
            f"({listed(changed)}: Inherit Rotation, Local Location or Inherit Scale changed), "
            "so SMPL keys would play wrong on them: restore them (Bone Properties > Relations "
            "and Transform), or add a new rig with Add SMPL Rig"
        )
    moved = changed_smpl_rest(obj)
    if moved:
        raise MotionClipError(
            f"armature '{obj.name}' no longer rests as the SMPL rig was built ({listed(moved)}: "
            "bones edited, their roll recalculated, or a scale or rotation applied), so SMPL keys "
            "would pose it wrong: undo that change (scale the object instead of applying it), "
            "or add a new rig with Add SMPL Rig"
        )


def listed(names: list[str]) -> str:
    """Bone names for a message: the first three, quoted, and how many more."""
    return first_of([f"'{name}'" for name in names], 3)


def add_smpl_rig(
    context: bpy.types.Context, smpl_folder: str = "", at_origin: bool = False
) -> bpy.types.Object:
    """A new SMPL armature at the 3D cursor (or the world origin), made active, with the SMPL
    body from the user's model folder when one is given, the generated mannequin otherwise."""
    from ..core.mannequin import mannequin_mesh
    from ..core.rig import smpl_armature
    from ..core.smpl_body import smpl_body

    scene, view_layer = context.scene, context.view_layer
    assert scene is not None and view_layer is not None
    armature = smpl_armature()
    body = smpl_body(smpl_folder, armature) if smpl_folder else mannequin_mesh(armature)
    if context.mode != "OBJECT":
        bpy.ops.object.mode_set(mode="OBJECT")
    rig = build_armature(context, armature, "SMPL")
    if not at_origin:
        rig.location = scene.cursor.location
    add_body(context, rig, body, armature.names)
    for obj in context.selected_objects:
        obj.select_set(False)
    rig.select_set(True)
    view_layer.objects.active = rig
    return rig


def action_name(text: str, limit: int = MAX_NAME) -> str:
    """A name for a new action from a prompt or description, at most `limit` bytes of UTF-8,
    cut with an ellipsis (Blender would cut it mid-character, or drop the ellipsis)."""
    text = " ".join(text.split())
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - len(ELLIPSIS.encode())].decode(errors="ignore") + ELLIPSIS
