"""The SMPL body skeleton: 24 joint names, parents and rest joint locations.

The numbers are facts about the SMPL neutral body (zero shape), from the joint regressor applied to
its template mesh. They are in SMPL's own frame: metres, +y up, +x the subject's left, +z the
subject's forward. The SMPL model files themselves are licensed separately and never shipped.
"""

from __future__ import annotations

import torch

JOINT_NAMES: tuple[str, ...] = (
    "pelvis",
    "left_hip",
    "right_hip",
    "spine1",
    "left_knee",
    "right_knee",
    "spine2",
    "left_ankle",
    "right_ankle",
    "spine3",
    "left_foot",
    "right_foot",
    "neck",
    "left_collar",
    "right_collar",
    "head",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hand",
    "right_hand",
)

NUM_JOINTS = len(JOINT_NAMES)

# fmt: off
# Parent of each joint; -1 for the root (pelvis). Every parent precedes its children.
PARENTS: tuple[int, ...] = (
    -1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21,
)

# Rest joint locations, (24, 3), metres, SMPL frame (y up).
REST_JOINTS_YUP: tuple[tuple[float, float, float], ...] = (
    (-0.001795, -0.223333,  0.028219),  #  0 pelvis
    ( 0.067725, -0.314740,  0.021404),  #  1 left_hip
    (-0.069466, -0.313855,  0.023899),  #  2 right_hip
    (-0.004328, -0.114370,  0.001523),  #  3 spine1
    ( 0.102001, -0.689938,  0.016908),  #  4 left_knee
    (-0.107756, -0.696424,  0.015049),  #  5 right_knee
    ( 0.001159,  0.020810,  0.002615),  #  6 spine2
    ( 0.088406, -1.087899, -0.026785),  #  7 left_ankle
    (-0.091982, -1.094839, -0.027263),  #  8 right_ankle
    ( 0.002616,  0.073732,  0.028040),  #  9 spine3
    ( 0.114764, -1.143690,  0.092503),  # 10 left_foot
    (-0.117354, -1.142983,  0.096085),  # 11 right_foot
    (-0.000162,  0.287603, -0.014817),  # 12 neck
    ( 0.081461,  0.195482, -0.006050),  # 13 left_collar
    (-0.079143,  0.192565, -0.010575),  # 14 right_collar
    ( 0.004990,  0.352572,  0.036532),  # 15 head
    ( 0.172438,  0.225951, -0.014918),  # 16 left_shoulder
    (-0.175155,  0.225116, -0.019719),  # 17 right_shoulder
    ( 0.432050,  0.213179, -0.042374),  # 18 left_elbow
    (-0.428897,  0.211787, -0.041119),  # 19 right_elbow
    ( 0.681284,  0.222165, -0.043545),  # 20 left_wrist
    (-0.684195,  0.219560, -0.046679),  # 21 right_wrist
    ( 0.765284,  0.213965, -0.058445),  # 22 left_hand
    (-0.768795,  0.213460, -0.056979),  # 23 right_hand
)
# fmt: on

JOINT_INDEX: dict[str, int] = {name: i for i, name in enumerate(JOINT_NAMES)}

FOOT_JOINTS: tuple[int, ...] = tuple(
    JOINT_INDEX[n] for n in ("left_ankle", "right_ankle", "left_foot", "right_foot")
)


def rest_joints(dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Rest joint locations in SMPL's Y-up frame, shape (24, 3)."""
    return torch.tensor(REST_JOINTS_YUP, dtype=dtype)


def parents_tensor() -> torch.Tensor:
    """Parents as a long tensor, shape (24,), root's parent -1."""
    return torch.tensor(PARENTS, dtype=torch.long)


def children(joint: int) -> tuple[int, ...]:
    """Direct children of a joint."""
    return tuple(i for i, p in enumerate(PARENTS) if p == joint)
