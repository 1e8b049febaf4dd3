"""Per-frame pose vectors: what the model reads and writes.

A frame is the 24 SMPL local rotations in 6D (144 values, joint 0 the global orientation) followed
by the root translation (3 values, metres, Z up) of the canonicalised motion (Motion.canonicalize:
frame 0's pelvis above the origin facing -Y, feet on the floor). Every motion so starts at the same
place and heading while a walk keeps its travel. Per-feature statistics (mean, std over the training
data) normalise the vectors for the network; they travel inside the checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from . import rotations as rot
from . import skeleton
from .motion import Motion

REPRESENTATION = "smpl24-rot6d+canonical-root-translation"
ROTATION_FEATURES = skeleton.NUM_JOINTS * 6
FEATURE_DIM = ROTATION_FEATURES + 3
STD_FLOOR = 1e-2  # features (nearly) constant in the training data are not blown up


def motion_to_features(motion: Motion, fps: float) -> torch.Tensor:
    """(T', 147) pose vectors of the motion resampled to `fps` and canonicalised."""
    if motion.fps != fps:
        motion = motion.resample(fps)
    motion = motion.canonicalize()
    frames = motion.num_frames
    sixd = rot.axis_angle_to_6d(motion.rotations).reshape(frames, ROTATION_FEATURES)
    return torch.cat([sixd, motion.translation], dim=-1)


def features_to_pose(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(..., 147) pose vectors -> (..., 24, 3, 3) rotation matrices and (..., 3) translation."""
    sixd = features[..., :ROTATION_FEATURES].reshape(*features.shape[:-1], skeleton.NUM_JOINTS, 6)
    return rot.sixd_to_matrix(sixd), features[..., ROTATION_FEATURES:]


def rest_features() -> torch.Tensor:
    """(147,) the pose vector of the rest pose (every rotation the identity) at the origin."""
    identity = rot.matrix_to_6d(torch.eye(3)).repeat(skeleton.NUM_JOINTS)
    return torch.cat([identity, torch.zeros(3)])


def features_to_motion(features: torch.Tensor, fps: float) -> Motion:
    """(T, 147) pose vectors -> a Motion at `fps`."""
    matrices, translation = features_to_pose(features)
    return Motion(rot.matrix_to_axis_angle(matrices), translation.contiguous(), fps)


@dataclass(frozen=True)
class FeatureStatistics:
    """Per-feature mean and standard deviation, (147,) each, that normalise pose vectors."""

    mean: torch.Tensor
    std: torch.Tensor

    def __post_init__(self) -> None:
        for name, values in (("mean", self.mean), ("std", self.std)):
            if values.shape != (FEATURE_DIM,):
                raise ValueError(
                    f"{name} must have shape ({FEATURE_DIM},), got {tuple(values.shape)}"
                )
            if not torch.isfinite(values).all():
                raise ValueError(f"{name} contains NaN or inf")
        if (self.std <= 0).any():
            raise ValueError("std must be positive")

    @classmethod
    def identity(cls) -> FeatureStatistics:
        """Mean 0, std 1: leaves vectors as they are (a model before training)."""
        return cls(torch.zeros(FEATURE_DIM), torch.ones(FEATURE_DIM))

    @classmethod
    def of(cls, features: torch.Tensor) -> FeatureStatistics:
        """Statistics of (N, 147) training frames; std floored at STD_FLOOR."""
        flat = features.reshape(-1, FEATURE_DIM).double()
        return cls(flat.mean(0).float(), flat.std(0).clamp(min=STD_FLOOR).float())

    def normalize(self, features: torch.Tensor) -> torch.Tensor:
        """(..., 147) -> (..., 147) with zero mean and unit spread over the training data."""
        return (features - self.mean.to(features)) / self.std.to(features)

    def denormalize(self, normalized: torch.Tensor) -> torch.Tensor:
        """Inverse of normalize, (..., 147) -> (..., 147)."""
        return normalized * self.std.to(normalized) + self.mean.to(normalized)
