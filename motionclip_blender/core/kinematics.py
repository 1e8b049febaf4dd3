"""Forward kinematics of the SMPL skeleton, without the licensed SMPL model files.

The chain is smplx's `batch_rigid_transform`; only the skeleton (parents, rest joints) is needed.
"""

from __future__ import annotations

import torch
from smplx.lbs import batch_rigid_transform

from . import skeleton

# Frames posed at once where a whole motion is posed: a 20-minute capture at 120 fps has 144,000,
# whose 4x4 transforms of every joint take 0.2 GB (float32), their intermediates several times more.
POSE_CHUNK = 4096


def frame_chunks(frames: int) -> list[slice]:
    """Slices of at most POSE_CHUNK frames that cover `frames` frames in order."""
    return [slice(start, start + POSE_CHUNK) for start in range(0, frames, POSE_CHUNK)]


def forward_kinematics(
    rotations: torch.Tensor,
    translation: torch.Tensor,
    rest: torch.Tensor | None = None,
) -> torch.Tensor:
    """Joint positions of the posed skeleton.

    rotations: (..., 24, 3, 3) local joint rotations, the root's being the global orientation.
    translation: (..., 3) root translation as SMPL and AMASS define it: the root joint rotates
        about its rest location, then `translation` is added: the pelvis is at
        rest[0] + translation.
    rest: (24, 3) rest joint locations; the SMPL neutral skeleton (Y-up frame) by default.
    Returns (..., 24, 3) joint positions in the frame the root rotation maps into.
    """
    lead = rotations.shape[:-3]
    if rest is None:
        rest = skeleton.rest_joints(rotations.dtype)
    rest = rest.to(device=rotations.device, dtype=rotations.dtype)
    flat = rotations.reshape(-1, skeleton.NUM_JOINTS, 3, 3)
    joints = rest.expand(flat.shape[0], -1, -1).contiguous()
    posed, _ = batch_rigid_transform(
        flat, joints, skeleton.parents_tensor().to(rotations.device), dtype=rotations.dtype
    )
    return posed.reshape(*lead, skeleton.NUM_JOINTS, 3) + translation.unsqueeze(-2)


def bone_lengths(joints: torch.Tensor) -> torch.Tensor:
    """Length of each bone (joint to its parent), (..., 24, 3) -> (..., 23)."""
    parents = torch.tensor(skeleton.PARENTS[1:])
    return (joints[..., 1:, :] - joints[..., parents, :]).norm(dim=-1)


def global_rotations(rotations: torch.Tensor) -> torch.Tensor:
    """World orientation of each joint: the product of the local rotations down its chain.

    rotations: (..., 24, 3, 3) local rotations, the root's being the global orientation.
    Returns (..., 24, 3, 3).
    """
    chain: list[torch.Tensor] = []
    for joint, parent in enumerate(skeleton.PARENTS):
        local = rotations[..., joint, :, :]
        chain.append(local if parent < 0 else chain[parent] @ local)
    return torch.stack(chain, dim=-3)
