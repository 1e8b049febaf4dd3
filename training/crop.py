"""Random crops of training windows, an augmentation: a stretch of a window, canonicalised again
(its first frame at the origin facing -Y), is a motion of the same action that starts at another
moment of it, at another phase of the gait and another heading. Prepared windows are fixed pieces
of their clips (training.prepare.cut_windows), so without crops the encoder sees each stretch of
motion from one start only; MotionCLIP and ACTOR draw random stretches of their sequences.

A window of T frames keeps a stretch of a length drawn uniformly from max(shortest, T / 2) to T
frames, at a start drawn uniformly among those that fit.
"""

from __future__ import annotations

import math

import torch

from motionclip_blender.core.pose_features import features_to_motion, motion_to_features


def cropped(features: torch.Tensor, start: int, length: int, fps: float) -> torch.Tensor:
    """(length, 147) pose vectors of frames start..start + length of the window `features`
    (T, 147) at `fps`, canonicalised again."""
    stretch = features_to_motion(features, fps).slice(start, start + length)
    return motion_to_features(stretch, fps)


def drawn_stretch(
    frames: int, probability: float, shortest: int, generator: torch.Generator
) -> tuple[int, int]:
    """(start, length) of the stretch a window of `frames` keeps: with chance `probability`
    one drawn as the module says, else the whole window (0, frames)."""
    cut = bool(torch.rand((), generator=generator) < probability)
    lowest = min(frames, max(shortest, math.ceil(frames / 2)))
    length = int(torch.randint(lowest, frames + 1, (), generator=generator))
    start = int(torch.randint(0, frames - length + 1, (), generator=generator))
    return (start, length) if cut else (0, frames)
