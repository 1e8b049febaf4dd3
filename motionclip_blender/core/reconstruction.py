"""Fitting latents that decode to given motions, and the reconstruction terms that measure it.

The reconstruction terms (over real frames only, padding masked out) are those training uses:
- rotation: mean squared error of the normalised pose vectors (24 rotations in 6D and the root
  translation, each feature scaled by its training spread);
- joints: mean squared error (m^2) of positions after forward kinematics of the denormalised
  poses, or of SMPL mesh vertices when training is given a body model;
- in_place: the same with each frame's root translation taken off both, so the body's pose and
  orientation count apart from its drift, which dominates `joints` (about 4 to 1 for the
  bundled model);
- velocity: mean squared error of those positions' frame-to-frame differences times fps (m/s)^2;
- foot_contact: the same for the foot joints' horizontal velocity alone, in frames where the
  target's foot is on the floor: a planted foot that slides (foot skating), which `velocity`,
  averaged over every joint and frame, barely sees.

The encoder maps a motion to the latent that is aligned with text, which decodes to a smoothed
copy of it: unseen motions lose much of their root path (about 100 mm a joint for the bundled
model, against 35 mm with the pelvis fixed). Where a motion must come back faithfully (blending,
editing), its latent is refined from the encoder's by Adam steps through the fixed decoder
(decoded_latents), as GAN inversion refines an encoder's guess; recognition and search keep the
encoder's latent, which is the one aligned with text.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import torch

from . import skeleton
from .kinematics import forward_kinematics
from .model import MotionClipModel, frame_mask
from .pose_features import FeatureStatistics, features_to_pose, rest_features

FOOT_CONTACT_HEIGHT = 0.05  # metres: a foot joint this near the floor is planted

RECONSTRUCTION_TERMS = ("rotation", "joints", "in_place", "velocity", "foot_contact")

PositionsFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""(..., 24, 3, 3) local rotations and (..., 3) root translation -> (..., P, 3) positions."""

StepProgress = Callable[[int, int], None]
"""progress(done, total) after each fitting step; whatever it raises stops the fit."""

FIT_RATE = 0.02  # Adam's step for decoded_latents, against latent norms of about 10 to 25
FIT_BATCH = 32  # windows fitted together, sorted by length so that little is padding
REFINE_STEPS = 100  # the default steps refining a motion's latent at inference (MODEL_CARD.md)
REFINE_RATE = 0.05  # their Adam step, chosen on validation for REFINE_STEPS (MODEL_CARD.md)
REFINE_WEIGHTS = {"rotation": 100.0, "joints": 1500.0, "in_place": 1500.0, "velocity": 100.0}
"""The terms refining a latent at inference: those the bundled model's last sittings trained on."""


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
    # padding posed at rest: a degenerate pose there (zero 6D columns when the statistics'
    # mean is zero) would turn the masked-out terms, and so every gradient, into NaN
    rest = rest_features().to(predicted)
    (predicted_rotations, predicted_translation), (rotations, translation) = (
        features_to_pose(torch.where(mask[..., None], statistics.denormalize(features), rest))
        for features in (predicted, target)
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


def padded_windows(
    features: list[torch.Tensor], stats: FeatureStatistics, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pose-vector windows [(T_i, 147)] as one normalised batch (B, T, 147), padding zeroed,
    and its frame mask (B, T)."""
    padded = torch.nn.utils.rnn.pad_sequence(features, batch_first=True).to(device)
    mask = frame_mask(torch.tensor([len(f) for f in features], device=device), padded.shape[1])
    return stats.normalize(padded) * mask[..., None], mask


def adam_step(
    value: torch.Tensor,
    gradient: torch.Tensor,
    moments: tuple[torch.Tensor, torch.Tensor],
    step: int,
    rate: float,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
) -> None:
    """Step `step` (from 1) of Adam (Kingma and Ba 2015; torch.optim.Adam's defaults) on `value`,
    with the first and second moment estimates `moments`, all changed in place.

    Written out for one tensor because torch.optim's first optimiser imports torch._dynamo,
    about 1 s of every command-line blend and edit."""
    first, second = moments
    first.lerp_(gradient, 1 - betas[0])
    second.mul_(betas[1]).addcmul_(gradient, gradient, value=1 - betas[1])
    denominator = (second / (1 - betas[1] ** step)).sqrt_().add_(eps)
    value.addcdiv_(first, denominator, value=-rate / (1 - betas[0] ** step))


def decoded_latents(
    model: MotionClipModel,
    windows: Sequence[torch.Tensor],
    initial: torch.Tensor,
    statistics: FeatureStatistics,
    weights: Mapping[str, float],
    steps: int,
    positions: PositionsFn = forward_kinematics,
    rate: float = FIT_RATE,
    progress: StepProgress | None = None,
) -> torch.Tensor:
    """Latents (N, L) that the decoder turns into the pose-vector windows [(T_i, 147)], found by
    `steps` Adam steps of size `rate` from `initial` (N, L) on the reconstruction terms above
    weighted by `weights` (term -> weight; terms it does not name count 0). The model is left
    unchanged: no dropout, and only the latents get gradients.

    `progress` hears of each step (total: steps times the batches of FIT_BATCH windows); what it
    raises stops the fit, which is how a user cancels."""
    model.eval()
    device = next(model.parameters()).device
    fitted = initial.clone()
    order = sorted(range(len(windows)), key=lambda row: len(windows[row]))
    total = steps * math.ceil(len(order) / FIT_BATCH)
    done = 0
    for start in range(0, len(order), FIT_BATCH):
        rows = order[start : start + FIT_BATCH]
        target, mask = padded_windows([windows[row] for row in rows], statistics, device)
        latents = initial[rows].to(device).requires_grad_(True)
        moments = torch.zeros_like(latents), torch.zeros_like(latents)
        for step in range(1, steps + 1):
            terms = reconstruction_losses(
                model.decode(latents, mask), target, mask, statistics, model.config.fps, positions
            )
            loss = torch.stack([weights.get(name, 0.0) * value for name, value in terms.items()])
            (gradient,) = torch.autograd.grad(loss.sum(), latents)
            with torch.no_grad():
                adam_step(latents, gradient, moments, step, rate)
            done += 1
            if progress is not None:
                progress(done, total)
        fitted[rows] = latents.detach().to(fitted.device)
    return fitted
