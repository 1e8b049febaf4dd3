"""Time warping of training windows, an augmentation: a window played a little faster or slower
is a plausible motion of the same action (a brisker walk, a slower wave) whose root travels the
same path in another time, so the encoder has to read a window's speed from its frames instead of
recalling the speed its action had in the training clips. Unseen motions' paths are where the
model reconstructs worst (MODEL_CARD.md, "Where the reconstruction error is").

A window of T frames played `speed` times as fast is resampled (core.motion.Motion.resample:
slerp for rotations, linear for the root) to about T / speed frames at the same frame rate and
canonicalised again; a slowed window longer than the model's longest motion is cut to it.
"""

from __future__ import annotations

import math

import torch

from motionclip_blender.core.motion import Motion
from motionclip_blender.core.pose_features import features_to_motion, motion_to_features

from .config import TIME_WARP_SPEED


def time_warped(features: torch.Tensor, speed: float, fps: float, longest: int) -> torch.Tensor:
    """(T, 147) pose vectors at `fps` played `speed` times as fast: (about T / speed, 147), at
    most `longest` frames."""
    motion = features_to_motion(features, fps)
    faster = Motion(motion.rotations, motion.translation, fps * speed)
    return motion_to_features(faster, fps)[:longest]


def drawn_speeds(
    count: int, probability: float, generator: torch.Generator, largest: float = TIME_WARP_SPEED
) -> list[float]:
    """`count` speeds: with chance `probability` one drawn log-uniformly from 1 / `largest` to
    `largest`, else 1."""
    if largest < 1:
        raise ValueError(f"the largest speed must be at least 1, got {largest}")
    warped = torch.rand(count, generator=generator) < probability
    exponent = (2 * torch.rand(count, generator=generator, dtype=torch.float64) - 1) * math.log(
        largest
    )
    return torch.where(warped, exponent.exp(), torch.ones(count, dtype=torch.float64)).tolist()
