"""The SMPL armature as Blender builds it, and exact conversion between motions and pose channels.

No Blender here: the armature is described (bone heads, tails and the axis each bone's Z points
towards), and a Motion is turned into the numbers Blender keys (pose-bone quaternions, root
location) and back. The operators only copy those numbers into Blender.

Frames. The armature stands in Blender's Z-up world facing -Y, its rest joints being SMPL's rest
joints turned by C (SMPL's Y-up body frame to Z-up: (x, y, z) -> (x, -z, y)) and raised so the
lowest foot joint is on the floor. Each bone's rest orientation B (armature space, columns = bone
axes X, Y, Z) has Y along the bone. Blender poses a bone by its basis rotation P in the bone's
own frame:
    pose orientation = parent pose orientation @ (B_parent^T B) @ P.
With SMPL's local rotation R (Y-up body frame) the bone's world orientation is G @ C^T @ B, which
gives P = B^T C R C^T B for every joint but the root, and P = B^T R_root C^T B for the root, whose
rotation already maps the body into the Z-up world. The root bone's location puts the pelvis where
SMPL puts it: rest[0] + translation (see kinematics.forward_kinematics).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from . import rotations as rot
from . import skeleton
from .motion import Motion

# SMPL's Y-up body frame to the Z-up world: a quarter turn about +X.
Y_UP_TO_Z_UP = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
FORWARD = torch.tensor([0.0, -1.0, 0.0])
UP = torch.tensor([0.0, 0.0, 1.0])

# metres and matrix entries: float32 rounding of the rest of a rig as built is 1e-7
REST_TOLERANCE = 1e-4
# Which child a bone points at when a joint has several (the spine continues up the body).
MAIN_CHILD = {"pelvis": "spine1", "spine3": "neck"}
# Length and direction of bones at the ends of chains, which have no child to point at.
END_BONES = {
    "head": (0.18, UP),
    "left_foot": (0.08, FORWARD),
    "right_foot": (0.08, FORWARD),
    "left_hand": (0.08, None),  # continues the forearm
    "right_hand": (0.08, None),
}


@dataclass(frozen=True)
class Armature:
    """Rest pose of the SMPL armature in Blender's armature space (Z up), metres.

    heads, tails: (24, 3). z_axes: (24, 3) the direction each bone's Z axis is rolled towards.
    matrices: (24, 3, 3) rest orientations B (columns X, Y, Z), as Blender's Bone.matrix_local.
    """

    names: tuple[str, ...]
    parents: tuple[int, ...]
    heads: torch.Tensor
    tails: torch.Tensor
    z_axes: torch.Tensor
    matrices: torch.Tensor


def smpl_armature(dtype: torch.dtype = torch.float64) -> Armature:
    """The armature for SMPL's neutral skeleton, standing on the floor and facing -Y."""
    change = Y_UP_TO_Z_UP.to(dtype)
    joints = skeleton.rest_joints(dtype) @ change.T
    joints[:, 2] -= joints[list(skeleton.FOOT_JOINTS), 2].min()
    tails = torch.empty_like(joints)
    for joint, name in enumerate(skeleton.JOINT_NAMES):
        kids = skeleton.children(joint)
        if kids:
            main = MAIN_CHILD.get(name)
            tails[joint] = joints[skeleton.JOINT_INDEX[main] if main else kids[0]]
            continue
        length, direction = END_BONES[name]
        if direction is None:
            along = joints[joint] - joints[skeleton.PARENTS[joint]]
            direction = along / along.norm()
        tails[joint] = joints[joint] + length * direction.to(dtype)
    along = tails - joints
    # Roll each bone's Z towards forward (-Y) when the bone is mostly vertical and towards up
    # when it lies mostly horizontal (arms, feet), so every bone's axes are well defined.
    vertical = along[:, 2].abs() > along[:, :2].norm(dim=1)
    z_axes = torch.where(vertical[:, None], FORWARD.to(dtype), UP.to(dtype))
    return Armature(
        names=skeleton.JOINT_NAMES,
        parents=skeleton.PARENTS,
        heads=joints,
        tails=tails,
        z_axes=z_axes,
        matrices=bone_matrices(joints, tails, z_axes),
    )


def bone_matrices(heads: torch.Tensor, tails: torch.Tensor, z_axes: torch.Tensor) -> torch.Tensor:
    """Rest orientations (N, 3, 3): Y along head -> tail, Z rolled towards z_axes, X = Y x Z."""
    y = torch.nn.functional.normalize(tails - heads, dim=-1)
    z = z_axes - (z_axes * y).sum(-1, keepdim=True) * y
    z = torch.nn.functional.normalize(z, dim=-1)
    x = torch.linalg.cross(y, z, dim=-1)
    return torch.stack([x, y, z], dim=-1)


def changed_rest(armature: Armature, rest: torch.Tensor) -> list[str]:
    """Names of the bones whose rest differs from the armature's: head or orientation.

    rest: (24, 4, 4) Blender's Bone.matrix_local of each bone, in armature.names order. A rig
    the extension built matches to float32 rounding; edited bones, a recalculated roll or an
    applied scale or rotation do not, and keys from motion_to_channels would pose them wrong.
    """
    heads = (rest[:, :3, 3] - armature.heads.to(rest)).abs().amax(dim=-1)
    turns = (rest[:, :3, :3] - armature.matrices.to(rest)).abs().amax(dim=(-2, -1))
    moved = (heads > REST_TOLERANCE) | (turns > REST_TOLERANCE)
    return [name for name, differs in zip(armature.names, moved.tolist(), strict=True) if differs]


@dataclass(frozen=True)
class PoseChannels:
    """What Blender keys for a motion on the SMPL armature.

    quaternions: (T, 24, 4) pose-bone rotation_quaternion in Blender's (w, x, y, z) order, signs
        made continuous over time so interpolation takes the short way.
    root_location: (T, 3) the root pose bone's location, in its rest frame.
    fps: frames per second of the rows.
    """

    quaternions: torch.Tensor
    root_location: torch.Tensor
    fps: float


def motion_to_channels(motion: Motion, armature: Armature) -> PoseChannels:
    """Pose channels that make the armature's joints follow the motion's forward kinematics."""
    dtype = armature.matrices.dtype
    change = Y_UP_TO_Z_UP.to(dtype)
    bone = armature.matrices
    local = motion.rotation_matrices().to(dtype)
    in_armature = change @ local @ change.T
    in_armature[:, 0] = local[:, 0] @ change.T
    basis = bone.transpose(-1, -2) @ in_armature @ bone
    xyzw = rot.matrix_to_quaternion(basis)
    wxyz = torch.cat([xyzw[..., 3:], xyzw[..., :3]], dim=-1)
    pelvis = skeleton.rest_joints(dtype)[0] + motion.translation.to(dtype)
    root_location = (pelvis - armature.heads[0]) @ bone[0]
    return PoseChannels(continuous_signs(wxyz), root_location, motion.fps)


def channels_to_motion(channels: PoseChannels, armature: Armature) -> Motion:
    """The motion whose channels these are: the inverse of motion_to_channels."""
    wxyz = channels.quaternions.to(armature.matrices.dtype)
    basis = rot.quaternion_to_matrix(torch.cat([wxyz[..., 1:], wxyz[..., :1]], dim=-1))
    return basis_to_motion(basis, channels.root_location, channels.fps, armature)


def basis_to_motion(
    basis: torch.Tensor, root_location: torch.Tensor, fps: float, armature: Armature
) -> Motion:
    """The motion for pose-bone basis rotations (T, 24, 3, 3) and the root's location (T, 3)."""
    dtype = armature.matrices.dtype
    change = Y_UP_TO_Z_UP.to(dtype)
    bone = armature.matrices
    in_armature = bone @ basis.to(dtype) @ bone.transpose(-1, -2)
    local = change.T @ in_armature @ change
    local[:, 0] = in_armature[:, 0] @ change
    pelvis = root_location.to(dtype) @ bone[0].T + armature.heads[0]
    translation = pelvis - skeleton.rest_joints(dtype)[0]
    return Motion(rot.matrix_to_axis_angle(local).float(), translation.float(), fps)


def continuous_signs(quaternions: torch.Tensor) -> torch.Tensor:
    """Flip q to -q (the same rotation) where needed so consecutive frames lie on one hemisphere.

    quaternions: (T, ..., 4). Returns the same shape.
    """
    if quaternions.shape[0] < 2:
        return quaternions
    dots = (quaternions[1:] * quaternions[:-1]).sum(-1)
    flips = torch.cumprod(torch.where(dots < 0, -1.0, 1.0).to(quaternions.dtype), dim=0)
    signs = torch.cat([torch.ones_like(flips[:1]), flips])
    return quaternions * signs.unsqueeze(-1)
