"""DeepMimic and CMU8 readers: frame layout, and bad input named by file and frame or line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from motionclip_blender.core import cmu8, deepmimic, mocap
from motionclip_blender.core.errors import MotionFileError


def deepmimic_file(tmp_path: Path, frames: list[list[float]]) -> Path:
    path = tmp_path / "clip.txt"
    path.write_text(json.dumps({"Loop": "none", "Frames": frames}))
    return path


def rest_frame() -> list[float]:
    """Root at 0.9 m, every quaternion identity, every revolute angle 0."""
    values = [1 / 30, 0.0, 0.9, 0.0, 1.0, 0.0, 0.0, 0.0]
    for *_, kind in deepmimic.JOINTS[1:]:
        values += [1.0, 0.0, 0.0, 0.0] if kind == 4 else [0.0] * kind
    return values


def zero_quaternion(joint: str) -> list[float]:
    """rest_frame with the spherical joint's quaternion all zeros."""
    frame, column = rest_frame(), 4
    for name, _, _, kind in deepmimic.JOINTS:
        if name == joint:
            frame[column : column + 4] = [0.0] * 4
            return frame
        column += kind
    raise ValueError(joint)


def test_deepmimic_rest_frame_and_knee_angle(tmp_path: Path) -> None:
    bent = rest_frame()
    knee = 4 + 4 + 4 + 4 + 4  # duration, root position, root, chest, neck, right hip
    bent[knee] = -1.0  # right knee bends backwards about Z
    source = mocap.read_source(deepmimic_file(tmp_path, [rest_frame(), bent]))
    assert source.fps == 30.0 and source.num_frames == 2
    joints = source.joint_positions().float()
    names = source.names
    assert joints[0, names.index("head"), 1] > 1.4
    shin = joints[1, names.index("right_ankle")] - joints[1, names.index("right_knee")]
    assert shin[0] < -0.3  # +X is forward: the shin swings back


@pytest.mark.parametrize(
    ("frames", "message"),
    [
        ([], "no frames"),
        ([[0.1] * 43], "frame 0 has length 43; a humanoid3d frame has 44 values"),
        ([[float("nan")] * 44], "frame 0: NaN or infinite value"),
        # Finite in float32, but no motion's values: a glitch the model would turn into NaN.
        (
            [rest_frame(), [*rest_frame()[:2], 1e20, *rest_frame()[3:]]],
            "frame 1: the value 1e[+]20 is beyond ±1e[+]07",
        ),
        (
            [rest_frame(), [*rest_frame()[:4], 0, 0, 0, 0, *rest_frame()[8:]]],
            "frame 1: joint 'root'",
        ),
        (
            [rest_frame(), rest_frame(), zero_quaternion("right_hip")],
            "frame 2: joint 'right_hip' has a quaternion of length 0; expected a rotation",
        ),
        ([zero_quaternion("chest")], "frame 0: joint 'chest' has a quaternion of length 0"),
        ([zero_quaternion("right_ankle")], "frame 0: joint 'right_ankle' has a quaternion"),
        ([rest_frame(), None], "frame 1 is not a list"),
        ([rest_frame(), [[1]] * 44], r"frame 1 holds \[1\], not a number"),
        ([[*rest_frame()[:5], "1", *rest_frame()[6:]]], r'frame 0 holds "1", not a number'),
        ([[True, *rest_frame()[1:]]], "frame 0 holds true, not a number"),
        ([rest_frame(), [1e-320, *rest_frame()[1:]], rest_frame()], "frame 1 lasts 1e-320 seconds"),
        (
            [[0.0, *rest_frame()[1:]]],
            "frame 0 lasts 0.0 seconds; a frame's duration must be between",
        ),
        ([[1e300, *rest_frame()[1:]], rest_frame()], "frame 0 lasts 1e[+]300 seconds"),
    ],
)
def test_deepmimic_bad_input(tmp_path: Path, frames: list[list[float]], message: str) -> None:
    path = deepmimic_file(tmp_path, frames)
    with pytest.raises(MotionFileError, match=message) as caught:
        mocap.read_source(path)
    assert str(caught.value).startswith(f"{path}: ")


def test_deepmimic_last_frame_may_last_zero_seconds(tmp_path: Path) -> None:
    source = mocap.read_source(deepmimic_file(tmp_path, [rest_frame(), [0.0, *rest_frame()[1:]]]))
    assert source.fps == 30.0 and source.num_frames == 2


def test_deepmimic_with_a_utf8_byte_order_mark_is_not_taken_for_cmu8(tmp_path: Path) -> None:
    path = deepmimic_file(tmp_path, [rest_frame(), rest_frame()])
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert mocap.read_source(path).names == tuple(name for name, *_ in deepmimic.JOINTS)


def test_cmu8_layout_and_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "walking_1.txt"
    path.write_text("\n".join(",".join(["0"] * cmu8.FRAME_WIDTH) for _ in range(3)) + "\n")
    source = mocap.read_source(path)
    assert source.num_frames == 3 and source.fps == cmu8.FPS
    torch.testing.assert_close(source.rotations[0, 5], torch.eye(3, dtype=torch.float64))
    path.write_text(",".join(["0"] * cmu8.FRAME_WIDTH) + "\n" + ",".join(["0"] * 116))
    with pytest.raises(MotionFileError, match=r"line 2: 116 values; expected 117"):
        mocap.read_source(path)
    path.write_text(",".join(["0"] * cmu8.FRAME_WIDTH) + "\n" + ",".join(["1e20"] * 117))
    with pytest.raises(MotionFileError, match=r"line 2: the value 1e\+20 is beyond ±1e\+07"):
        mocap.read_source(path)
    path.write_text("")
    with pytest.raises(MotionFileError, match="no frames"):
        mocap.read_source(path)


def test_cmu8_drops_the_rest_pose_line_the_preprocessing_writes_first(tmp_path: Path) -> None:
    rest = np.zeros(cmu8.FRAME_WIDTH)
    rest[[3 + column for column in cmu8.REST_LINE]] = list(cmu8.REST_LINE.values())
    captured = np.full(cmu8.FRAME_WIDTH, 0.1)
    path = tmp_path / "walking_1.txt"
    for lines, kept in (([rest, captured, captured], 2), ([captured, rest, captured], 3)):
        path.write_text("".join(",".join(f"{v:.8f}" for v in line) + "\n" for line in lines))
        assert cmu8.read_cmu8(path).num_frames == kept  # only a first rest line goes
    path.write_text(",".join(f"{v:.8f}" for v in rest) + "\n")
    assert cmu8.read_cmu8(path).num_frames == 1  # a file of the rest line alone keeps it
