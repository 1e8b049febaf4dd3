"""The training losses: the paper's reconstruction and alignment terms, plus InfoNCE.

Reconstruction (over real frames only, padding masked out):
- rotation: mean squared error of the normalised pose vectors (24 rotations in 6D and the root
  translation, each feature scaled by its training spread);
- joints: mean squared error (m^2) of positions after forward kinematics of the denormalised
  poses, or of SMPL mesh vertices when a model is given (SmplVertices);
- in_place: the same with each frame's root translation taken off both, so the body's pose and
  orientation count apart from its drift, which dominates `joints` (about 4 to 1 for the
  bundled model);
- velocity: mean squared error of those positions' frame-to-frame differences times fps (m/s)^2;
- foot_contact: the same for the foot joints' horizontal velocity alone, in frames where the
  target's foot is on the floor: a planted foot that slides (foot skating), which `velocity`,
  averaged over every joint and frame, barely sees.
Alignment: 1 - cosine between the motion latent and the caption's (text) or a rendered frame's
(image) embedding, as in the paper; and a symmetric InfoNCE over the batch's motion and caption
latents (TMR), where windows with the same caption are not counted as negatives.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import torch
import torch.nn.functional as F

from motionclip_blender.core import skeleton
from motionclip_blender.core.kinematics import forward_kinematics
from motionclip_blender.core.pose_features import FeatureStatistics, features_to_pose
from motionclip_blender.core.smpl_body import load_smpl

FOOT_CONTACT_HEIGHT = 0.05  # metres: a foot joint this near the floor is planted

RECONSTRUCTION_TERMS = ("rotation", "joints", "in_place", "velocity", "foot_contact")

PositionsFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""(..., 24, 3, 3) local rotations and (..., 3) root translation -> (..., P, 3) positions."""


class SmplVertices:
    """Mesh vertices of the SMPL body (neutral shape) from a user's licensed model folder.

    The folder is the one the extension's preferences take (core.smpl_body.find_model_file:
    SMPL_NEUTRAL.npz, or a .pkl without chumpy objects, in it or in its smpl/ subfolder); a
    missing or unusable model is a MotionFileError naming it. The root rotates about the model's
    own root joint and the translation is added, as in AMASS: the vertices lie where the
    Blender body (core.smpl_body) skinned to the same motion puts them.
    """

    def __init__(self, model_folder: str | os.PathLike[str], device: torch.device) -> None:
        self.body = load_smpl(model_folder).to(device).requires_grad_(False)

    def __call__(self, rotations: torch.Tensor, translation: torch.Tensor) -> torch.Tensor:
        """(..., 24, 3, 3) local rotations and (..., 3) root translation -> (..., 6890, 3)."""
        lead = rotations.shape[:-3]
        flat = rotations.reshape(-1, 24, 3, 3)
        output = self.body(
            global_orient=flat[:, :1],
            body_pose=flat[:, 1:],
            transl=translation.reshape(-1, 3),
            pose2rot=False,
        )
        return output.vertices.reshape(*lead, -1, 3)


def reconstruction_losses(
    predicted: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    statistics: FeatureStatistics,
    fps: float,
    positions: PositionsFn = forward_kinematics,
) -> dict[str, torch.Tensor]:
    """Rotation, joints, in-place, velocity and foot-contact terms of normalised pose vectors
    (B, T, 147), mask (B, T)."""
    weights = mask.to(predicted.dtype)
    frames = weights.sum().clamp(min=1)
    rotation = ((predicted - target) ** 2).mean(-1).mul(weights).sum() / frames
    (predicted_rotations, predicted_translation), (rotations, translation) = (
        features_to_pose(statistics.denormalize(features)) for features in (predicted, target)
    )
    moved = positions(predicted_rotations, predicted_translation)
    wanted = positions(rotations, translation)
    joints = ((moved - wanted) ** 2).mean((-1, -2)).mul(weights).sum() / frames
    placed = moved - predicted_translation.unsqueeze(-2) - (wanted - translation.unsqueeze(-2))
    in_place = (placed**2).mean((-1, -2)).mul(weights).sum() / frames
    both = weights[:, 1:] * weights[:, :-1]
    speed_error = (moved.diff(dim=1) - wanted.diff(dim=1)) * fps
    velocity = (speed_error**2).mean((-1, -2)).mul(both).sum() / both.sum().clamp(min=1)
    if positions is not forward_kinematics:  # mesh vertices: the feet are joints
        moved = forward_kinematics(predicted_rotations, predicted_translation)
        wanted = forward_kinematics(rotations, translation)
    return {
        "rotation": rotation,
        "joints": joints,
        "in_place": in_place,
        "velocity": velocity,
        "foot_contact": foot_contact_loss(moved, wanted, mask, fps),
    }


def foot_contact_loss(
    moved: torch.Tensor, wanted: torch.Tensor, mask: torch.Tensor, fps: float
) -> torch.Tensor:
    """Mean squared error (m/s)^2 of the foot joints' horizontal velocity, decoded joints `moved`
    against target joints `wanted` (B, T, 24, 3), over the frames (mask (B, T)) where the
    target's foot is within FOOT_CONTACT_HEIGHT of the floor."""
    feet = list(skeleton.FOOT_JOINTS)
    error = (moved[:, :, feet, :2].diff(dim=1) - wanted[:, :, feet, :2].diff(dim=1)) * fps
    planted = (wanted[:, 1:, feet, 2] < FOOT_CONTACT_HEIGHT) & (mask[:, 1:] & mask[:, :-1])[
        ..., None
    ]
    weights = planted.to(error.dtype)
    return (error**2).sum(-1).mul(weights).sum() / weights.sum().clamp(min=1)


def cosine_loss(latents: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean of 1 - cos over rows of (B, D) and (B, D)."""
    return (1 - F.cosine_similarity(latents, targets.to(latents), dim=-1)).mean()


def info_nce(
    latents: torch.Tensor, texts: torch.Tensor, same_text: torch.Tensor, temperature: float
) -> torch.Tensor:
    """Symmetric InfoNCE of (B, D) motion and text latents; same_text (B, B) marks pairs that
    share a caption, which are left out as negatives."""
    logits = F.normalize(latents, dim=-1) @ F.normalize(texts.to(latents), dim=-1).T / temperature
    eye = torch.eye(len(logits), dtype=torch.bool, device=logits.device)
    logits = logits.masked_fill(same_text & ~eye, float("-inf"))
    target = torch.arange(len(logits), device=logits.device)
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
