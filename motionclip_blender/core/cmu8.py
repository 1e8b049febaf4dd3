"""The CMU 8-action set (Li et al. 2018's preprocessing of the CMU mocap database) read into a
SourceMotion.

A sequence file has one frame a line, 117 comma-separated numbers: the root position (3), then an
exponential map (axis-angle, 3) for each of the 38 joints below, in order. The data are written in
row-vector form, R_i = expmap(r_i) @ R_parent and p_i = offset_i @ R_parent + p_parent, so a joint's
local rotation in our column-vector form is expmap(r_i) transposed, that is expmap(-r_i). Y is up,
+X the subject's left, +Z forward.

Joint names follow CMU's ASF bones; each names the point where that bone starts (lfemur is the hip
joint, ltibia the knee). Checked by forward kinematics: with these names the feet touch the floor,
the toes point forward and the left limbs are on the subject's left. Offsets are the dataset's
skeleton.json (ASF units times 70); the root positions are in plain ASF units, so they are
multiplied by 70 to match (the feet stay planted only then).

The frame rate is undocumented. Walking in the set takes about 60 frames a step, so at the usual
1.8 to 2 steps a second the data are at 120 frames per second, CMU's capture rate: FPS below.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from . import rotations as rot
from .errors import MotionFileError
from .frame_rows import read_lines, to_array
from .source_motion import SourceMotion

FPS = 120.0
ROOT_POSITION_SCALE = 70.0

# (name, parent, offset from the parent in the dataset's units)
JOINTS: tuple[tuple[str, int, tuple[float, float, float]], ...] = (
    ("root", -1, (0.0, 0.0, 0.0)),
    ("lhipjoint", 0, (0.0, 0.0, 0.0)),
    ("lfemur", 1, (115.9718, -126.1974, 43.7339)),
    ("ltibia", 2, (181.804, -499.5032, 0.0)),
    ("lfoot", 3, (174.4652, -479.339, 0.0)),
    ("ltoes", 4, (13.7928, -37.8952, 150.2067)),
    ("ltoes_end", 5, (0.0, 0.0, 77.8743)),
    ("rhipjoint", 0, (0.0, 0.0, 0.0)),
    ("rfemur", 7, (-112.749, -126.1974, 43.7332)),
    ("rtibia", 8, (-181.6514, -499.0839, 0.0)),
    ("rfoot", 9, (-172.746, -474.6168, 0.0)),
    ("rtoes", 10, (-16.1168, -44.2806, 149.3576)),
    ("rtoes_end", 11, (0.0, 0.0, 78.0983)),
    ("lowerback", 0, (0.0, 0.0, 0.0)),
    ("upperback", 13, (1.3727, 143.815, -9.8784)),
    ("thorax", 14, (0.7147, 144.5052, -4.1447)),
    ("lowerneck", 15, (0.0, 0.0, 0.0)),
    ("upperneck", 16, (0.4991, 109.6977, 10.4776)),
    ("head", 17, (2.4003, 109.2287, -7.0042)),
    ("head_end", 18, (0.9135, 113.792, -3.6855)),
    ("lclavicle", 15, (0.0, 0.0, 0.0)),
    ("lhumerus", 20, (247.9435, 63.3052, -12.1548)),
    ("lradius", 21, (340.5591, 0.0, 0.0)),
    ("lwrist", 22, (234.8878, 0.0, 0.0)),
    ("lhand", 23, (0.0, 0.0, 0.0)),
    ("lfingers", 24, (46.2819, 0.0, 0.0)),
    ("lfingers_end", 25, (37.3142, 0.0, 0.0)),
    ("lthumb", 23, (0.0, 0.0, 0.0)),
    ("lthumb_end", 27, (37.884, 0.0, 37.884)),
    ("rclavicle", 15, (0.0, 0.0, 0.0)),
    ("rhumerus", 29, (-244.8614, 53.1958, -22.8312)),
    ("rradius", 30, (-351.8543, 0.0, 0.0)),
    ("rwrist", 31, (-235.5017, 0.0, 0.0)),
    ("rhand", 32, (0.0, 0.0, 0.0)),
    ("rfingers", 33, (-51.1287, 0.0, 0.0)),
    ("rfingers_end", 34, (-41.2209, 0.0, 0.0)),
    ("rthumb", 32, (0.0, 0.0, 0.0)),
    ("rthumb_end", 36, (-41.8502, 0.0, 41.8502)),
)
FRAME_WIDTH = 3 + 3 * len(JOINTS)  # 117
# The preprocessing writes the skeleton's rest pose as every file's first line (the same in all
# 96 of the set's files: these exponential-map values, every other one 0), before the first
# captured frame. Read as a frame it is a one-frame T-pose that a model learns to draw: dropped.
REST_LINE = {8: 0.36651914, 26: -0.36651914, 48: 0.27925268, 51: -0.36651914, 54: -0.19198622,
             65: 0.13962634, 92: -0.13962634}  # fmt: skip
REST_ROTATIONS = np.zeros(FRAME_WIDTH - 3)
REST_ROTATIONS[list(REST_LINE)] = list(REST_LINE.values())


def read_cmu8(path: str | os.PathLike[str]) -> SourceMotion:
    """Read one sequence; errors name the file, the line and what was expected."""
    path = Path(path)
    lines = read_lines(path)
    rows = [(number, line.split(",")) for number, line in enumerate(lines, 1) if line.strip()]
    if not rows:
        raise MotionFileError(f"{path}: no frames; expected lines of {FRAME_WIDTH} numbers")
    values = to_array(path, rows, FRAME_WIDTH, "root position, then 38 exponential maps")
    if len(values) > 1 and is_rest_line(values[0]):
        values = values[1:]
    return _source_motion(torch.from_numpy(values))


def is_rest_line(line: np.ndarray) -> bool:
    """Whether a line's rotations (all but the root position) are the rest pose, REST_LINE."""
    return bool(np.allclose(line[3:], REST_ROTATIONS, atol=1e-6))


def _source_motion(values: torch.Tensor) -> SourceMotion:
    frames = values.shape[0]
    offsets = torch.tensor([offset for _, _, offset in JOINTS], dtype=torch.float64)
    translations = offsets.expand(frames, -1, -1).clone()
    translations[:, 0] = values[:, :3] * ROOT_POSITION_SCALE
    expmaps = values[:, 3:].reshape(frames, len(JOINTS), 3)
    return SourceMotion(
        names=tuple(name for name, _, _ in JOINTS),
        parents=tuple(parent for _, parent, _ in JOINTS),
        offsets=offsets,
        rotations=rot.axis_angle_to_matrix(-expmaps),
        translations=translations,
        fps=FPS,
        up="y",
    )
