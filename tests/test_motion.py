from __future__ import annotations

import math

import pytest
import torch

from motionclip_blender.core import rotations as rot
from motionclip_blender.core import skeleton
from motionclip_blender.core.errors import MotionDataError
from motionclip_blender.core.motion import Motion, concatenate, rest_motion

from .motions import random_motion, smooth_motion


def test_resampling_30_to_20_to_30_keeps_joints_within_1cm() -> None:
    motion = smooth_motion(seconds=3.0, fps=30.0)
    down = motion.resample(20.0)
    assert down.fps == 20.0 and down.num_frames == 60
    back = down.resample(30.0)
    assert back.num_frames == motion.num_frames
    error = (back.joints() - motion.joints()).norm(dim=-1)
    assert error.max() < 0.01


def test_resampling_keeps_frames_that_fall_on_source_frames() -> None:
    motion = smooth_motion(seconds=2.0, fps=60.0)
    half = motion.resample(30.0)
    torch.testing.assert_close(half.translation, motion.translation[::2], atol=1e-6, rtol=0)
    angle = rot.angle_between(half.rotation_matrices(), motion.rotation_matrices()[::2])
    assert angle.max() < 1e-3


def test_resampling_a_single_frame_changes_only_the_rate() -> None:
    motion = rest_motion(1).resample(24.0)
    assert motion.num_frames == 1 and motion.fps == 24.0


def test_canonicalize_puts_frame_0_at_the_origin_facing_forward() -> None:
    motion = smooth_motion()
    turned = motion.rotations.clone()
    turn = rot.axis_angle_to_matrix(torch.tensor([0.0, 0.0, 2.1]))
    turned[:, 0] = rot.matrix_to_axis_angle(turn @ rot.axis_angle_to_matrix(turned[:, 0]))
    moved = Motion(turned, motion.translation + torch.tensor([3.0, -2.0, 0.5]), motion.fps)

    canonical = moved.canonicalize()
    joints = canonical.joints()
    pelvis = joints[0, skeleton.JOINT_INDEX["pelvis"]]
    assert pelvis[:2].abs().max() < 1e-5
    assert abs(float(joints[:, list(skeleton.FOOT_JOINTS), 2].min())) < 1e-5
    left = (
        joints[0, skeleton.JOINT_INDEX["left_hip"]] - joints[0, skeleton.JOINT_INDEX["right_hip"]]
    )
    forward = torch.linalg.cross(left, torch.tensor([0.0, 0.0, 1.0]))
    heading = math.degrees(math.atan2(float(forward[0]), float(-forward[1])))
    assert abs(heading) < 10  # the hips may be turned a little by the pose; the pelvis is not
    root_left = canonical.rotation_matrices()[0, 0, :, 0]
    assert abs(float(root_left[1])) < 1e-5 and float(root_left[0]) > 0


def test_canonicalize_keeps_the_shape_of_the_motion() -> None:
    motion = smooth_motion()
    canonical = motion.canonicalize()
    step = lambda m: (m.joints()[1:] - m.joints()[:-1]).norm(dim=-1)  # noqa: E731
    torch.testing.assert_close(step(canonical), step(motion), atol=1e-5, rtol=0)
    torch.testing.assert_close(canonical.rotations[:, 1:], motion.rotations[:, 1:])


def test_placed_like_undoes_canonicalize_along_the_floor() -> None:
    motion = smooth_motion(seed=4)
    back = motion.canonicalize().placed_like(motion)
    torch.testing.assert_close(back.joints()[..., :2], motion.joints()[..., :2], atol=1e-4, rtol=0)
    heights = back.joints()[..., 2] - motion.joints()[..., 2]  # heights kept: the canonical floor
    torch.testing.assert_close(heights, heights[0, 0].expand_as(heights), atol=1e-5, rtol=0)


def test_on_floor_puts_the_lowest_foot_at_zero() -> None:
    motion = Motion(smooth_motion().rotations, smooth_motion().translation + 5.0, 30.0).on_floor()
    assert abs(float(motion.joints()[:, list(skeleton.FOOT_JOINTS), 2].min())) < 1e-5


def test_on_floor_by_quantile_lets_brief_dips_below_the_floor() -> None:
    motion = smooth_motion(seconds=4.0)
    translation = motion.translation.clone()
    translation[7, 2] -= 0.2  # one frame dips 20 cm
    dipped = Motion(motion.rotations, translation, motion.fps)
    lowest = dipped.on_floor(quantile=0.05).joints()[:, list(skeleton.FOOT_JOINTS), 2].min(dim=1)
    assert float(lowest.values[7]) < -0.1
    assert float(lowest.values.quantile(0.05)) == pytest.approx(0.0, abs=1e-5)
    assert float(dipped.on_floor().joints()[:, list(skeleton.FOOT_JOINTS), 2].min()) == (
        pytest.approx(0.0, abs=1e-5)
    )


def test_rest_motion_stands_on_the_floor_facing_minus_y() -> None:
    joints = rest_motion().joints()[0]
    assert joints[skeleton.JOINT_INDEX["head"], 2] > 1.4
    assert joints[skeleton.JOINT_INDEX["left_wrist"], 0] > 0.6  # left is +X when facing -Y
    toes, ankle = (
        joints[skeleton.JOINT_INDEX["left_foot"]],
        joints[skeleton.JOINT_INDEX["left_ankle"]],
    )
    assert toes[1] < ankle[1]  # toes point forward, towards -Y


def test_slice_and_concatenate() -> None:
    motion = random_motion(frames=10)
    parts = [motion.slice(0, 4), motion.slice(4, 7), motion.slice(7)]
    assert [p.num_frames for p in parts] == [4, 3, 3]
    joined = concatenate(parts)
    assert torch.equal(joined.rotations, motion.rotations)
    assert torch.equal(joined.translation, motion.translation)
    with pytest.raises(MotionDataError, match="at least one frame"):
        motion.slice(8, 8)
    with pytest.raises(MotionDataError, match="different frame rates"):
        concatenate([motion, Motion(motion.rotations, motion.translation, 60.0)])
    with pytest.raises(MotionDataError, match="no motions"):
        concatenate([])


def test_in_place_keeps_height_and_drops_travel() -> None:
    motion = smooth_motion().in_place()
    assert torch.equal(motion.translation[:, :2], motion.translation[:1, :2].expand(60, 2))
    assert motion.translation[:, 2].std() > 0


@pytest.mark.parametrize(
    ("rotations", "translation", "fps", "message"),
    [
        (torch.zeros(5, 23, 3), torch.zeros(5, 3), 30.0, "shape"),
        (torch.zeros(5, 24, 3), torch.zeros(4, 3), 30.0, "translation must have shape"),
        (torch.zeros(0, 24, 3), torch.zeros(0, 3), 30.0, "at least one frame"),
        (torch.zeros(5, 24, 3), torch.zeros(5, 3), 0.0, "frame rate"),
        (torch.zeros(5, 24, 3), torch.zeros(5, 3), -30.0, "frame rate"),
        (torch.zeros(5, 24, 3), torch.zeros(5, 3), math.nan, "frame rate"),
        (torch.full((5, 24, 3), math.nan), torch.zeros(5, 3), 30.0, "NaN or inf"),
        (
            torch.zeros(5, 24, 3),
            torch.tensor([[0, 0, 0]] * 3 + [[math.inf, 0, 0]] * 2),
            30.0,
            "first at frame 3",
        ),
        (
            torch.zeros(5, 24, 3),
            torch.tensor([[0, 0, 0]] * 2 + [[0, 2e5, 0]] * 3),
            30.0,
            "translation values beyond 100000 metres .first at frame 2",
        ),
        (torch.full((5, 24, 3), 2e4), torch.zeros(5, 3), 30.0, "rotations values beyond"),
    ],
)
def test_invalid_motions_are_rejected(
    rotations: torch.Tensor, translation: torch.Tensor, fps: float, message: str
) -> None:
    with pytest.raises(MotionDataError, match=message):
        Motion(rotations, translation, fps)


def test_resample_rejects_a_bad_rate() -> None:
    with pytest.raises(MotionDataError, match="positive"):
        rest_motion().resample(0)


def test_resample_to_a_frame_count_continues_one_interval_then_holds() -> None:
    """Blender's Generate and Edit keep a length the model's 20 fps rounds: 1.02 s at 60 fps is
    61 frames, but 20 model frames (1.0 s) resample to 60."""
    translation = torch.arange(20, dtype=torch.float32)[:, None] * torch.tensor([1.0, 0.0, 0.0])
    motion = Motion(torch.zeros(20, 24, 3), translation, 20.0)
    assert motion.resample(60.0).num_frames == 60
    longer = motion.resample(60.0, frames=61)
    assert longer.num_frames == 61 and longer.fps == 60.0
    torch.testing.assert_close(longer.slice(0, 60).translation, motion.resample(60.0).translation)
    assert longer.translation[60, 0] == pytest.approx(20.0)  # the last interval continued
    far = motion.resample(20.0, frames=25)  # at most one interval past the end, then held
    assert far.translation[:, 0].tolist() == [*range(20), 20, 20, 20, 20, 20]
    shorter = motion.resample(20.0, frames=5)
    assert torch.equal(shorter.translation, motion.translation[:5])
    with pytest.raises(MotionDataError, match="at least one frame"):
        motion.resample(30.0, frames=0)


def test_a_single_pose_is_held_for_its_duration_at_another_rate() -> None:
    pose = smooth_motion()
    one = Motion(pose.rotations[:1], pose.translation[:1], 30.0)
    held = one.resample(120.0)
    assert held.num_frames == one.frames_at(120.0) == 4 and held.duration == one.duration
    torch.testing.assert_close(held.rotations, one.rotations.expand(4, -1, -1))
    torch.testing.assert_close(held.translation, one.translation.expand(4, -1))
