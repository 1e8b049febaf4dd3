"""Time warping of training windows: a window played faster or slower keeps its path and poses,
in fewer or more frames (the batches that warp windows: test_training_batches.py)."""

from __future__ import annotations

import math

import pytest
import torch

from motionclip_blender.core.motion import Motion
from motionclip_blender.core.pose_features import motion_to_features
from training.config import TIME_WARP_SPEED
from training.time_warp import drawn_speeds, time_warped

FPS = 20.0
LEFT_KNEE = 4


def walk(frames: int, seconds_per_swing: float = 2.0) -> Motion:
    """A body sliding 1 m/s along -Y (its facing) while its left knee swings back and forth."""
    time = torch.arange(frames, dtype=torch.float32) / FPS
    rotations = torch.zeros(frames, 24, 3)
    rotations[:, LEFT_KNEE, 0] = 0.5 * torch.sin(2 * math.pi * time / seconds_per_swing)
    translation = torch.stack([torch.zeros_like(time), -time, torch.full_like(time, 0.9)], -1)
    return Motion(rotations, translation, FPS)


def test_a_faster_window_has_fewer_frames_of_the_same_path_and_poses() -> None:
    window = motion_to_features(walk(60), FPS)
    faster = time_warped(window, 1.25, FPS, longest=160)
    assert faster.shape == (48, window.shape[1])
    assert torch.allclose(faster[0], window[0], atol=1e-5)
    speed = (faster[1:, -3:] - faster[:-1, -3:]).norm(dim=-1) * FPS
    assert torch.allclose(speed, torch.full_like(speed, 1.25), atol=1e-4)  # m/s, was 1
    # frame k of the faster window is the pose at time 1.25 k / FPS of the original, up to
    # slerp between the original's frames (a swing of 0.5 rad sampled 40 times: about 1e-3)
    expected = motion_to_features(walk(60 * 4, seconds_per_swing=2.0 / 1.25), FPS)[:48]
    assert torch.allclose(faster[:, :-3], expected[:, :-3], atol=2e-3)
    assert not torch.allclose(faster[:, :-3], window[:48, :-3], atol=2e-2)


def test_a_slower_window_is_cut_to_the_longest_motion_and_speed_one_is_the_window() -> None:
    window = motion_to_features(walk(60), FPS)
    slower = time_warped(window, 0.8, FPS, longest=70)
    assert slower.shape[0] == 70  # 75 frames cut to 70
    step = (slower[1:, -3:] - slower[:-1, -3:]).norm(dim=-1) * FPS
    assert torch.allclose(step, torch.full_like(step, 0.8), atol=1e-4)
    assert torch.allclose(time_warped(window, 1.0, FPS, longest=160), window, atol=1e-5)


def test_drawn_speeds_are_one_or_log_uniform_within_the_largest() -> None:
    generator = torch.Generator().manual_seed(0)
    speeds = torch.tensor(drawn_speeds(4000, 0.5, generator))
    warped = speeds[speeds != 1]
    assert 1800 < len(warped) < 2200
    assert bool((warped >= 1 / TIME_WARP_SPEED).all() and (warped <= TIME_WARP_SPEED).all())
    assert abs(float(warped.log().mean())) < 0.02  # as many faster as slower
    assert drawn_speeds(5, 0.0, generator) == [1.0] * 5


def test_a_larger_largest_speed_widens_the_drawn_range_and_the_default_is_unchanged() -> None:
    default = drawn_speeds(4000, 0.5, torch.Generator().manual_seed(1))
    same = drawn_speeds(4000, 0.5, torch.Generator().manual_seed(1), TIME_WARP_SPEED)
    assert default == same  # earlier commands draw exactly what they drew before the option
    wide = torch.tensor(
        drawn_speeds(4000, 0.5, torch.Generator().manual_seed(1), 1.5), dtype=torch.float64
    )
    warped = wide[wide != 1]
    assert bool((warped >= 1 / 1.5).all() and (warped <= 1.5).all())
    assert float(warped.max()) > 1.45 and float(warped.min()) < 1 / 1.45
    # the same draws, stretched in log-space: the chance and the order of the draws are kept
    base = torch.tensor(default, dtype=torch.float64)
    assert torch.equal(wide == 1, base == 1)
    ratio = warped.log() / base[base != 1].log()
    assert torch.allclose(ratio, torch.full_like(ratio, math.log(1.5) / math.log(TIME_WARP_SPEED)))
    with pytest.raises(ValueError, match=r"the largest speed must be at least 1, got 0\.9"):
        drawn_speeds(3, 0.5, torch.Generator(), 0.9)
