"""DeepMimic humanoid motion files (JSON, `Frames` of 44 numbers) read into a SourceMotion.

A frame is: duration (s), root position (3, metres), root rotation quaternion (w, x, y, z), then
the non-fixed joints in skeleton order: a quaternion (w, x, y, z) for a spherical joint, one angle
(radians, about the joint's Z axis) for a revolute one (knees, elbows). The skeleton is the
humanoid3d character's (Y up, +X forward, +Z the character's right); the motion files do not
carry it, so its offsets are here. Three points on its bodies are added as joints so SMPL's head
and feet can be aimed: "head" (centre of the neck body's sphere) and "left_toe"/"right_toe" (the
front of the foot box's sole).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from . import rotations as rot
from .errors import MotionFileError
from .frame_rows import first_unusable, read_lines
from .source_motion import (
    FRAME_TIME_RANGE,
    MAX_FRAME_TIME,
    MIN_FRAME_TIME,
    SourceMotion,
    frame_rate,
)

# (name, parent, offset from the parent in metres, kind): kind is the number of values a frame
# stores for the joint: 4 spherical, 1 revolute, 0 fixed or an added point.
# fmt: off
JOINTS: tuple[tuple[str, int, tuple[float, float, float], int], ...] = (
    ("root",           -1, (0.0,      0.0,       0.0),      4),
    ("chest",           0, (0.0,      0.236151,  0.0),      4),
    ("neck",            1, (0.0,      0.223894,  0.0),      4),
    ("right_hip",       0, (0.0,      0.0,       0.084887), 4),
    ("right_knee",      3, (0.0,     -0.421546,  0.0),      1),
    ("right_ankle",     4, (0.0,     -0.409870,  0.0),      4),
    ("right_shoulder",  1, (-0.02405, 0.24350,   0.18311),  4),
    ("right_elbow",     6, (0.0,     -0.274788,  0.0),      1),
    ("right_wrist",     7, (0.0,     -0.258947,  0.0),      0),
    ("left_hip",        0, (0.0,      0.0,      -0.084887), 4),
    ("left_knee",       9, (0.0,     -0.421546,  0.0),      1),
    ("left_ankle",     10, (0.0,     -0.409870,  0.0),      4),
    ("left_shoulder",   1, (-0.02405, 0.24350,  -0.18311),  4),
    ("left_elbow",     12, (0.0,     -0.274788,  0.0),      1),
    ("left_wrist",     13, (0.0,     -0.258947,  0.0),      0),
    ("head",            2, (0.0,      0.175,     0.0),      0),
    ("right_toe",       5, (0.1335,  -0.05,      0.0),      0),
    ("left_toe",       11, (0.1335,  -0.05,      0.0),      0),
)
# fmt: on
FRAME_WIDTH = 1 + 3 + sum(kind for *_, kind in JOINTS)  # 44
# A spherical joint's quaternion is normalized when read; one shorter than this has no direction
# to normalize (all zeros gives NaN, a tiny one noise).
MIN_QUATERNION_LENGTH = 1e-6


def read_deepmimic(path: str | os.PathLike[str]) -> SourceMotion:
    """Read a DeepMimic humanoid3d motion; errors name the file, the frame and what was expected.

    The frame rate is one over the median frame duration (a few clips vary it slightly).
    """
    path = Path(path)
    text = "\n".join(read_lines(path))
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise MotionFileError(
            f"{path}, line {error.lineno}: not valid JSON ({error.msg}); expected a DeepMimic "
            "motion"
        ) from None
    frames = data.get("Frames") if isinstance(data, dict) else None
    if not isinstance(frames, list):
        raise MotionFileError(f"{path}: no 'Frames' list; expected a DeepMimic motion file")
    if not frames:
        raise MotionFileError(f"{path}: 'Frames' is empty; the motion has no frames")
    for number, frame in enumerate(frames):
        if not isinstance(frame, list):
            raise MotionFileError(
                f"{path}: frame {number} is not a list; a humanoid3d frame is a list of "
                f"{FRAME_WIDTH} numbers"
            )
        if len(frame) != FRAME_WIDTH:
            raise MotionFileError(
                f"{path}: frame {number} has length {len(frame)}; a humanoid3d frame has "
                f"{FRAME_WIDTH} values"
            )
        not_numbers = [value for value in frame if not _is_number(value)]
        if not_numbers:
            raise MotionFileError(
                f"{path}: frame {number} holds {json.dumps(not_numbers[0])}, not a number; a "
                f"humanoid3d frame holds {FRAME_WIDTH} numbers"
            )
    try:
        values = np.array(frames, dtype=np.float64)
    except OverflowError:
        raise MotionFileError(f"{path}: 'Frames' holds a number too large to read") from None
    unusable = first_unusable(values[:, 1:])  # the durations in column 0 are checked below
    if unusable is not None:
        number, what = unusable
        raise MotionFileError(f"{path}: frame {number}: {what}")
    _check_quaternions(path, values)
    durations = values[:-1, 0] if len(values) > 1 else values[:, 0]  # the last one may be 0
    too_short_or_long = ~((durations >= MIN_FRAME_TIME) & (durations <= MAX_FRAME_TIME))
    if too_short_or_long.any():
        number = int(too_short_or_long.nonzero()[0][0])
        raise MotionFileError(
            f"{path}: frame {number} lasts {float(durations[number])} seconds; a frame's duration "
            f"must be {FRAME_TIME_RANGE}"
        )
    duration = float(np.median(durations))
    return _source_motion(torch.from_numpy(values), frame_rate(duration))


def _check_quaternions(path: Path, values: np.ndarray) -> None:
    """Raise, naming the first frame and its joint, when a spherical joint's quaternion is
    shorter than MIN_QUATERNION_LENGTH (such as all four values 0)."""
    columns = _quaternion_columns()
    lengths = np.stack(
        [np.linalg.norm(values[:, column : column + 4], axis=1) for _, column in columns], axis=1
    )
    short = lengths < MIN_QUATERNION_LENGTH
    if short.any():
        number = int(short.any(axis=1).nonzero()[0][0])
        joint = int(short[number].nonzero()[0][0])
        raise MotionFileError(
            f"{path}: frame {number}: joint '{columns[joint][0]}' has a quaternion of length "
            f"{lengths[number, joint]:g}; expected a rotation quaternion (w, x, y, z) of length 1"
        )


def _quaternion_columns() -> list[tuple[str, int]]:
    """Each spherical joint's name and the frame column its quaternion (w, x, y, z) starts at."""
    columns, column = [], 4  # after the duration and the root position
    for name, _, _, kind in JOINTS:
        if kind == 4:
            columns.append((name, column))
        column += kind
    return columns


def _is_number(value: object) -> bool:
    """Whether a parsed JSON value is a number (true and false are not)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _source_motion(values: torch.Tensor, fps: float) -> SourceMotion:
    frame_count = values.shape[0]
    offsets = torch.tensor([offset for _, _, offset, _ in JOINTS], dtype=torch.float64)
    translations = offsets.expand(frame_count, -1, -1).clone()
    translations[:, 0] = values[:, 1:4]
    rotations = torch.eye(3, dtype=torch.float64).expand(frame_count, len(JOINTS), 3, 3).clone()
    column = 4
    for index, (_, _, _, kind) in enumerate(JOINTS):
        if kind == 4:
            quaternion = rot.quaternion_wxyz_to_xyzw(values[:, column : column + 4])
            rotations[:, index] = rot.quaternion_to_matrix(quaternion)
        elif kind == 1:
            angle = values[:, column]
            rotations[:, index] = rot.axis_angle_to_matrix(
                torch.stack([torch.zeros_like(angle), torch.zeros_like(angle), angle], dim=-1)
            )
        column += kind
    return SourceMotion(
        names=tuple(name for name, *_ in JOINTS),
        parents=tuple(parent for _, parent, *_ in JOINTS),
        offsets=offsets,
        rotations=rotations,
        translations=translations,
        fps=fps,
        up="y",
    )
