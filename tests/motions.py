"""Small motions made in code for tests."""

from __future__ import annotations

import math

import torch

from motionclip_blender.core import skeleton
from motionclip_blender.core.motion import UPRIGHT_ROOT_AXIS_ANGLE, Motion


def smooth_motion(seconds: float = 2.0, fps: float = 30.0, seed: int = 0) -> Motion:
    """An upright body swinging every joint slowly (under 1 Hz) while walking forward along -Y."""
    generator = torch.Generator().manual_seed(seed)
    frames = round(seconds * fps)
    time = torch.arange(frames, dtype=torch.float32)[:, None, None] / fps
    amplitude = 0.4 * torch.rand(1, skeleton.NUM_JOINTS, 3, generator=generator)
    frequency = 0.2 + 0.6 * torch.rand(1, skeleton.NUM_JOINTS, 3, generator=generator)
    phase = 2 * math.pi * torch.rand(1, skeleton.NUM_JOINTS, 3, generator=generator)
    rotations = amplitude * torch.sin(2 * math.pi * frequency * time + phase)
    rotations[:, 0] = torch.tensor(UPRIGHT_ROOT_AXIS_ANGLE) + 0.1 * rotations[:, 0]
    translation = torch.zeros(frames, 3)
    translation[:, 1] = -1.2 * time[:, 0, 0]
    translation[:, 2] = 0.9 + 0.02 * torch.sin(2 * math.pi * 2 * time[:, 0, 0])
    return Motion(rotations, translation, fps)


def random_motion(frames: int = 10, fps: float = 30.0, seed: int = 0) -> Motion:
    """Arbitrary poses (any rotation per joint) and translations."""
    generator = torch.Generator().manual_seed(seed)
    rotations = torch.randn(frames, skeleton.NUM_JOINTS, 3, generator=generator)
    translation = torch.randn(frames, 3, generator=generator)
    return Motion(rotations, translation, fps)
