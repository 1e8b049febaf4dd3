"""A Blender armature's animation as numbers, and the SMPL motion it shows, without Blender.

The operators sample an action's F-curves into PoseSamples (reading only; the user's objects are
never changed, not even for a moment); this module does the maths: Blender's pose rules for bone
matrices and the armature object's own keyed motion, then either the exact inverse of core.rig
for the extension's own SMPL rig, or retargeting from joint positions for any other humanoid rig
(Mixamo, CMU BVH, Meshcapade SMPL).
Bone constraints and drivers are not evaluated: the pose is what the F-curves key.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import roma
import torch

from . import joint_maps, skeleton
from . import rotations as rot
from .errors import MotionDataError
from .motion import Motion
from .retarget import retarget
from .rig import Armature, basis_to_motion
from .source_motion import SourceMotion

EULER_ORDERS = ("XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX")
Y_AXIS = (0.0, 1.0, 0.0)  # Blender's axis of a zero axis-angle rotation


@dataclass(frozen=True)
class ObjectChannels:
    """An object's own transform channels on N frames, as its F-curves key them.

    mode: its rotation_mode. location: (N, 3); scale: (N, 3). rotation: (N, 4) as a bone's
    (PoseSamples.rotation).
    """

    mode: str
    location: torch.Tensor
    rotation: torch.Tensor
    scale: torch.Tensor


@dataclass(frozen=True)
class BoneRelations:
    """How a bone follows its parent (Bone Properties > Relations and Transform); Blender's
    defaults are True, True and 'FULL'."""

    inherit_rotation: bool = True
    local_location: bool = True  # False: location channels move it in its parent's axes
    inherit_scale: str = "FULL"


@dataclass(frozen=True)
class PoseSamples:
    """An armature's rest pose and one action sampled on whole frames.

    names, parents: the bones, parents before children (-1 for a root).
    rest: (J, 4, 4) Bone.matrix_local, each bone's rest matrix in armature space.
    object_matrix: (4, 4) the armature object's matrix_world when it was sampled, and
    object_now: its channels then (N = 1); object_keyed: its channels on the T frames, where
        the action keys them (the object's own motion, not only its bones'), else object_now's.
    rotation_modes: each bone's rotation_mode: 'QUATERNION', 'AXIS_ANGLE' or an Euler order.
    relations: each bone's BoneRelations.
    location: (T, J, 3); scale: (T, J, 3).
    rotation: (T, J, 4) the bone's rotation channels: quaternion (w, x, y, z), axis-angle
        (angle, x, y, z), or Euler angles in the first three values.
    fps: frames per second of the samples.
    """

    names: tuple[str, ...]
    parents: tuple[int, ...]
    rest: torch.Tensor
    object_matrix: torch.Tensor
    object_now: ObjectChannels
    object_keyed: ObjectChannels
    rotation_modes: tuple[str, ...]
    relations: tuple[BoneRelations, ...]
    location: torch.Tensor
    rotation: torch.Tensor
    scale: torch.Tensor
    fps: float

    @property
    def plain_relations(self) -> bool:
        """Whether every bone follows its parent with Blender's default relations, as
        smpl_rig_motion (channels straight to SMPL rotations) needs."""
        return all(relations == BoneRelations() for relations in self.relations)


def channel_rotations(values: torch.Tensor, mode: str, owner: str) -> torch.Tensor:
    """(N, 3, 3) the rotations of N frames of rotation channels (N, 4) in a rotation mode."""
    values = values.double()
    if mode == "QUATERNION":
        return rot.quaternion_to_matrix(torch.cat([values[:, 1:], values[:, :1]], dim=-1))
    if mode == "AXIS_ANGLE":
        axis = torch.nn.functional.normalize(values[:, 1:], dim=-1)
        return rot.axis_angle_to_matrix(axis * values[:, :1])
    if mode in EULER_ORDERS:
        # Blender's 'XYZ' turns about X, then Y, then Z of the fixed frame (roma's extrinsic
        # 'xyz'); it stores the angles by axis, roma takes them in the order of turning.
        angles = values[:, ["XYZ".index(axis) for axis in mode]]
        return roma.euler_to_rotmat(mode.lower(), angles)
    raise ValueError(f"unknown rotation mode {mode!r} on {owner}")


def rotation_channels(quaternions: torch.Tensor, mode: str) -> torch.Tensor:
    """A bone's rotation channels in rotation mode `mode` for (T, 4) quaternions (w, x, y, z) with
    continuous signs (core.rig.PoseChannels): the inverse of channel_rotations. (T, 4) for
    'QUATERNION' (as given) and 'AXIS_ANGLE' (angle, x, y, z); (T, 3) Euler angles by axis,
    continuous from key to key (_continuous_euler)."""
    if mode == "QUATERNION":
        return quaternions
    if mode == "AXIS_ANGLE":
        vector = quaternions[:, 1:]
        sine = vector.norm(dim=-1, keepdim=True)
        angle = 2 * torch.atan2(sine, quaternions[:, :1])
        axis = torch.where(sine > 1e-12, vector / sine.clamp_min(1e-12), vector.new_tensor(Y_AXIS))
        return torch.cat([angle, axis], dim=-1)
    if mode in EULER_ORDERS:
        xyzw = torch.cat([quaternions[:, 1:], quaternions[:, :1]], dim=-1)
        angles = roma.rotmat_to_euler(mode.lower(), rot.quaternion_to_matrix(xyzw))
        return _continuous_euler(angles)[:, [mode.index(axis) for axis in "XYZ"]]
    raise ValueError(f"unknown rotation mode {mode!r}")


def _continuous_euler(angles: torch.Tensor) -> torch.Tensor:
    """(T, 3) Euler angles in the order of turning, each frame's changed to whichever of its
    equivalents, (a, b, c) or (a + pi, pi - b, c + pi) with each angle moved by whole turns, is
    nearest the frame before (as Blender's compatible Euler): keys then never swing round the
    long way or flip between the two solutions near gimbal lock.

    Vectorised, as a long motion's keys are written on Blender's main thread: the map between
    the two solutions keeps distances, so whether a frame takes the other solution than the one
    before depends on the principal angles alone, and the choice is their running parity.
    """
    principal = angles.double().numpy()
    other = principal * (1, -1, 1) + np.pi

    def apart(first: np.ndarray, second: np.ndarray) -> np.ndarray:
        return np.abs((first - second + np.pi) % (2 * np.pi) - np.pi).sum(axis=-1)

    switches = apart(principal[1:], other[:-1]) < apart(principal[1:], principal[:-1])
    odd = np.concatenate([[False], np.cumsum(switches) % 2 == 1])
    chosen = np.where(odd[:, None], other, principal)
    return torch.from_numpy(np.unwrap(chosen, axis=0)).to(angles.dtype)


def basis_rotations(samples: PoseSamples) -> torch.Tensor:
    """(T, J, 3, 3) each bone's basis rotation from its channels and rotation mode."""
    return torch.stack(
        [
            channel_rotations(samples.rotation[:, bone], mode, f"bone {samples.names[bone]}")
            for bone, mode in enumerate(samples.rotation_modes)
        ],
        dim=1,
    )


def transform_matrices(channels: ObjectChannels) -> torch.Tensor:
    """(N, 4, 4) translate @ rotate @ scale, Blender's matrix_basis of an object's channels."""
    matrices = torch.zeros(len(channels.location), 4, 4, dtype=torch.float64)
    rotation = channel_rotations(channels.rotation, channels.mode, "the armature object")
    matrices[:, :3, :3] = rotation * channels.scale.double()[:, None, :]
    matrices[:, :3, 3] = channels.location.double()
    matrices[:, 3, 3] = 1.0
    return matrices


def object_matrices(samples: PoseSamples) -> torch.Tensor:
    """(T, 4, 4) the armature object's world matrix on each frame: its matrix when sampled with
    its own channels then replaced by the action's (what parents it stays as it was), so the
    result does not depend on the frame the scene was at."""
    now = transform_matrices(samples.object_now)[0]
    return (
        samples.object_matrix.double()
        @ torch.linalg.inv(now)
        @ (transform_matrices(samples.object_keyed))
    )


def pose_matrices(samples: PoseSamples) -> torch.Tensor:
    """(T, J, 4, 4) posed bone matrices in armature space, by Blender's rule: with its default
    relations a bone's pose is parent_pose @ parent_rest^-1 @ rest @ basis (basis = translate @
    rotate @ scale). A bone that does not inherit rotation keeps its rest orientation under its
    posed head; one without local location moves in its parent's posed axes (the armature's for a
    root). Inherit Scale other than Full changes nothing while the parent's pose has no scale;
    a bone with any of these settings under a scaled parent raises MotionDataError."""
    frames = samples.location.shape[0]
    rotate_scale = basis_rotations(samples) * samples.scale.double()[..., None, :]
    location = samples.location.double()
    rest = samples.rest.double()
    posed: list[torch.Tensor] = []
    for bone, parent in enumerate(samples.parents):
        relations = samples.relations[bone]
        follows = rest[bone].expand(frames, 4, 4)
        if parent >= 0:
            follows = posed[parent] @ torch.linalg.inv(rest[parent]) @ rest[bone]
            if relations != BoneRelations():
                _check_unscaled(posed[parent], samples.names[bone], samples.names[parent])
        turns = follows if relations.inherit_rotation else rest[bone].expand(frames, 4, 4)
        moves = follows[..., :3, :3]
        if not relations.local_location:
            moves = posed[parent][..., :3, :3] if parent >= 0 else torch.eye(3).double()
        matrix = torch.zeros(frames, 4, 4, dtype=torch.float64)
        matrix[:, :3, :3] = turns[..., :3, :3] @ rotate_scale[:, bone]
        matrix[:, :3, 3] = (moves @ location[:, bone, :, None])[..., 0] + follows[..., :3, 3]
        matrix[:, 3, 3] = 1.0
        posed.append(matrix)
    return torch.stack(posed, dim=1)


def _check_unscaled(parent_pose: torch.Tensor, bone: str, parent: str) -> None:
    """MotionDataError when (T, 4, 4) `parent_pose` scales or shears on some frame: pose_matrices
    follows a bone's non-default relations only under an unscaled parent."""
    axes = parent_pose[:, :3, :3]
    gram = axes.transpose(-1, -2) @ axes
    if (gram - torch.eye(3, dtype=gram.dtype)).abs().max() > 1e-4:
        raise MotionDataError(
            f"bone '{bone}' has Inherit Rotation, Local Location or Inherit Scale changed from "
            f"the defaults under '{parent}', which is scaled in the pose: such a rig is not "
            "read; restore the bone's defaults (Bone Properties > Relations and Transform) or "
            f"the parent's scale"
        )


def world_heads(samples: PoseSamples) -> torch.Tensor:
    """(T, J, 3) world positions of the bones' heads."""
    heads = pose_matrices(samples)[..., :, 3]
    return (heads @ object_matrices(samples).transpose(-1, -2))[..., :3]


def smpl_rig_motion(samples: PoseSamples, armature: Armature) -> Motion:
    """The exact SMPL motion on the extension's own SMPL rig (bones named as armature.names), in
    its armature's space at the first frame: where the rig stands does not matter, but what the
    action keys on the object itself (travel, turns) is part of the motion."""
    order = [samples.names.index(name) for name in armature.names]
    basis = basis_rotations(samples)[:, order]
    motion = basis_to_motion(basis, samples.location[:, order[0]], samples.fps, armature)
    keyed = samples.object_keyed
    channels = (keyed.location, keyed.rotation, keyed.scale)
    if all(bool((values == values[:1]).all()) for values in channels):
        return motion  # the object does not move: exactly the pose's motion
    objects = object_matrices(samples)
    relative = torch.linalg.inv(objects[:1]) @ objects
    turns = relative[:, :3, :3] / relative[:, :3, :3].norm(dim=1, keepdim=True)
    rest_root = skeleton.rest_joints(torch.float64)[0]
    pelvis = (motion.translation.double() + rest_root)[..., None]
    root = rot.axis_angle_to_matrix(motion.rotations[:, 0].double())
    rotations = motion.rotations.clone()
    rotations[:, 0] = rot.matrix_to_axis_angle(turns @ root).float()
    translation = (turns @ pelvis)[..., 0] + relative[:, :3, 3] - rest_root
    return Motion(rotations, translation.float(), motion.fps)


def source_motion(samples: PoseSamples) -> SourceMotion:
    """The rig's animation as a SourceMotion in Blender's Z-up world, for retargeting.

    Each joint's frame is its bone's rotation since the rest pose (so the rig's rest pose is the
    source's rest pose, which retargeting uses as its reference), and the joint sits at its bone's
    head. The object's transform is applied, its scale taken out of the rotations.
    """
    posed = pose_matrices(samples)
    rest = samples.rest.double()
    objects = object_matrices(samples)  # the rest pose stands where the object is at frame 0
    obj_rotation = objects[:, :3, :3] / objects[:, :3, :3].norm(dim=1, keepdim=True)
    since_rest = posed[..., :3, :3] @ torch.linalg.inv(rest[:, :3, :3])
    world_rotation = obj_rotation[:, None] @ since_rest @ obj_rotation[0].T
    heads = posed[..., :, 3] @ objects.transpose(-1, -2)
    rest_heads = (rest[:, :, 3] @ objects[0].T)[:, :3]
    parents = list(samples.parents)
    local = world_rotation.clone()
    translation = heads[..., :3].clone()
    offsets = rest_heads.clone()
    for joint, parent in enumerate(parents):
        if parent < 0:
            continue
        parent_rotation = world_rotation[:, parent]
        local[:, joint] = parent_rotation.transpose(-1, -2) @ world_rotation[:, joint]
        step = heads[:, joint, :3] - heads[:, parent, :3]
        translation[:, joint] = (parent_rotation.transpose(-1, -2) @ step[..., None])[..., 0]
        offsets[joint] = rest_heads[joint] - rest_heads[parent]
    return SourceMotion(
        names=samples.names,
        parents=samples.parents,
        offsets=offsets.float(),
        rotations=local.float(),
        translations=translation.float(),
        fps=samples.fps,
        up="z",
    )


def humanoid_motion(samples: PoseSamples, joint_map: str | None = None) -> Motion:
    """The SMPL motion of any humanoid rig, retargeted from its pose.

    joint_map: a built-in map name or JSON file; None detects it from the bone names (an error
    lists the SMPL joints it could not find when the rig is not humanoid).
    """
    _, chosen = joint_maps.resolve(joint_map, samples.names)
    return retarget(source_motion(samples), chosen).motion
