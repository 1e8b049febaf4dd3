"""Random crops of training windows: a stretch keeps its poses and its path's shape, moved to
start at the canonical place and heading (batches that crop: test_training_batches.py)."""

from __future__ import annotations

import math

import torch

from motionclip_blender.core import rotations as rot
from motionclip_blender.core.motion import UPRIGHT_ROOT_AXIS_ANGLE, Motion
from motionclip_blender.core.pose_features import ROTATION_FEATURES, motion_to_features
from training.crop import cropped, drawn_stretch

FPS = 20.0
LEFT_KNEE = 4


def turning_walk(frames: int) -> Motion:
    """A body walking 1 m/s on a circle of 3 m radius, facing along its path, its left knee
    swinging."""
    time = torch.arange(frames, dtype=torch.float32) / FPS
    angle = time / 3.0
    about_z = torch.stack([torch.zeros_like(angle), torch.zeros_like(angle), angle], -1)
    upright = rot.axis_angle_to_matrix(torch.tensor(UPRIGHT_ROOT_AXIS_ANGLE))
    rotations = torch.zeros(frames, 24, 3)
    rotations[:, 0] = rot.matrix_to_axis_angle(rot.axis_angle_to_matrix(about_z) @ upright)
    rotations[:, LEFT_KNEE, 0] = 0.5 * torch.sin(2 * math.pi * time)
    path = [3.0 * (1 - torch.cos(angle)), -3.0 * torch.sin(angle), torch.full_like(time, 0.9)]
    return Motion(rotations, torch.stack(path, -1), FPS)


def test_a_crop_keeps_the_poses_and_the_path_shape_from_the_canonical_start() -> None:
    window = motion_to_features(turning_walk(100), FPS)
    crop = cropped(window, 40, 30, FPS)
    assert crop.shape == (30, window.shape[1])
    joints = slice(6, ROTATION_FEATURES)  # every joint but the root
    assert torch.allclose(crop[:, joints], window[40:70, joints], atol=1e-5)
    start, original = crop[:, ROTATION_FEATURES:], window[40:70, ROTATION_FEATURES:]
    assert torch.allclose(start[0, :2], window[0, ROTATION_FEATURES:-1], atol=1e-5)  # canonical
    assert torch.allclose(start[:, 2], original[:, 2], atol=1e-5)  # at the same height
    distances = (start - start[:1]).norm(dim=-1)
    assert torch.allclose(distances, (original - original[:1]).norm(dim=-1), atol=1e-4)
    step = start[1] - start[0]  # its first step goes along -Y, the canonical facing
    assert step[1] < 0 and abs(float(step[0])) < 1e-3
    assert not torch.allclose(start, original, atol=1e-2)  # moved and turned, not just cut


def test_drawn_stretches_fit_the_window_and_keep_the_shortest_motion() -> None:
    generator = torch.Generator().manual_seed(0)
    assert drawn_stretch(100, 0.0, 20, generator) == (0, 100)
    stretches = [drawn_stretch(100, 1.0, 20, generator) for _ in range(200)]
    assert all(50 <= length <= 100 and start + length <= 100 for start, length in stretches)
    assert len({start for start, _ in stretches}) > 10
    assert {drawn_stretch(30, 1.0, 24, generator)[1] for _ in range(50)} <= set(range(24, 31))
    assert drawn_stretch(20, 1.0, 20, generator) == (0, 20)
