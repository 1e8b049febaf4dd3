"""A Blender armature's animation as numbers, and the SMPL motion it shows, without Blender.

The operators sample an action's F-curves into PoseSamples (reading only; the user's objects are
never changed, not even for a moment); this module does the maths: Blender's pose rules for bone
matrices, then either the exact inverse of core.rig for the extension's own SMPL rig, or
retargeting from joint positions for any other humanoid rig (Mixamo, CMU BVH, Meshcapade SMPL).
Bone constraints and drivers are not evaluated: the pose is what the F-curves key.
"""

from __future__ import annotations

from dataclasses import dataclass

import roma
import torch

from . import joint_maps
from . import rotations as rot
from .motion import Motion
from .retarget import retarget
from .rig import Armature, basis_to_motion
from .source_motion import SourceMotion

EULER_ORDERS = ("XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX")


@dataclass(frozen=True)
class PoseSamples:
    """An armature's rest pose and one action sampled on whole frames.

    names, parents: the bones, parents before children (-1 for a root).
    rest: (J, 4, 4) Bone.matrix_local, each bone's rest matrix in armature space.
    object_matrix: (4, 4) the armature object's matrix_world.
    rotation_modes: each bone's rotation_mode: 'QUATERNION', 'AXIS_ANGLE' or an Euler order.
    location: (T, J, 3); scale: (T, J, 3).
    rotation: (T, J, 4) the bone's rotation channels: quaternion (w, x, y, z), axis-angle
        (angle, x, y, z), or Euler angles in the first three values.
    fps: frames per second of the samples.
    """

    names: tuple[str, ...]
    parents: tuple[int, ...]
    rest: torch.Tensor
    object_matrix: torch.Tensor
    rotation_modes: tuple[str, ...]
    location: torch.Tensor
    rotation: torch.Tensor
    scale: torch.Tensor
    fps: float


def basis_rotations(samples: PoseSamples) -> torch.Tensor:
    """(T, J, 3, 3) each bone's basis rotation from its channels and rotation mode."""
    columns = []
    for bone, mode in enumerate(samples.rotation_modes):
        values = samples.rotation[:, bone].double()
        if mode == "QUATERNION":
            xyzw = torch.cat([values[:, 1:], values[:, :1]], dim=-1)
            columns.append(rot.quaternion_to_matrix(xyzw))
        elif mode == "AXIS_ANGLE":
            axis = torch.nn.functional.normalize(values[:, 1:], dim=-1)
            columns.append(rot.axis_angle_to_matrix(axis * values[:, :1]))
        elif mode in EULER_ORDERS:
            # Blender's 'XYZ' turns about X, then Y, then Z of the fixed frame (roma's extrinsic
            # 'xyz'); it stores the angles by axis, roma takes them in the order of turning.
            angles = values[:, ["XYZ".index(axis) for axis in mode]]
            columns.append(roma.euler_to_rotmat(mode.lower(), angles))
        else:
            raise ValueError(f"unknown rotation mode {mode!r} on bone {samples.names[bone]}")
    return torch.stack(columns, dim=1)


def pose_matrices(samples: PoseSamples) -> torch.Tensor:
    """(T, J, 4, 4) posed bone matrices in armature space, by Blender's rule
    pose = parent_pose @ parent_rest^-1 @ rest @ basis (basis = translate @ rotate @ scale)."""
    frames, bones = samples.location.shape[:2]
    basis = torch.zeros(frames, bones, 4, 4, dtype=torch.float64)
    basis[..., :3, :3] = basis_rotations(samples) * samples.scale.double()[..., None, :]
    basis[..., :3, 3] = samples.location.double()
    basis[..., 3, 3] = 1.0
    rest = samples.rest.double()
    posed: list[torch.Tensor] = []
    for bone, parent in enumerate(samples.parents):
        if parent < 0:
            posed.append(rest[bone] @ basis[:, bone])
        else:
            offset = torch.linalg.inv(rest[parent]) @ rest[bone]
            posed.append(posed[parent] @ offset @ basis[:, bone])
    return torch.stack(posed, dim=1)


def world_heads(samples: PoseSamples) -> torch.Tensor:
    """(T, J, 3) world positions of the bones' heads."""
    heads = pose_matrices(samples)[..., :, 3]
    return (heads @ samples.object_matrix.double().T)[..., :3]


def smpl_rig_motion(samples: PoseSamples, armature: Armature) -> Motion:
    """The exact SMPL motion on the extension's own SMPL rig (bones named as armature.names)."""
    order = [samples.names.index(name) for name in armature.names]
    basis = basis_rotations(samples)[:, order]
    return basis_to_motion(basis, samples.location[:, order[0]], samples.fps, armature)


def source_motion(samples: PoseSamples) -> SourceMotion:
    """The rig's animation as a SourceMotion in Blender's Z-up world, for retargeting.

    Each joint's frame is its bone's rotation since the rest pose (so the rig's rest pose is the
    source's rest pose, which retargeting uses as its reference), and the joint sits at its bone's
    head. The object's transform is applied, its scale taken out of the rotations.
    """
    posed = pose_matrices(samples)
    rest = samples.rest.double()
    obj = samples.object_matrix.double()
    obj_rotation = obj[:3, :3] / obj[:3, :3].norm(dim=0, keepdim=True)
    since_rest = posed[..., :3, :3] @ torch.linalg.inv(rest[:, :3, :3])
    world_rotation = obj_rotation @ since_rest @ obj_rotation.T
    heads = posed[..., :, 3] @ obj.T
    rest_heads = (rest[:, :, 3] @ obj.T)[:, :3]
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
