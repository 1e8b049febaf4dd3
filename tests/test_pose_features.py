"""Pose vectors: exact round trip of canonical motions, statistics."""

from __future__ import annotations

import pytest
import torch

from motionclip_blender.core import rotations as rot
from motionclip_blender.core.pose_features import (
    FEATURE_DIM,
    STD_FLOOR,
    FeatureStatistics,
    features_to_motion,
    features_to_pose,
    motion_to_features,
    rest_features,
)
from tests.motions import smooth_motion


def test_round_trip_gives_the_canonical_motion() -> None:
    motion = smooth_motion(seconds=2.0, fps=20.0)
    features = motion_to_features(motion, fps=20.0)
    assert features.shape == (40, FEATURE_DIM)
    back = features_to_motion(features, fps=20.0)
    canonical = motion.canonicalize()
    torch.testing.assert_close(
        rot.axis_angle_to_matrix(back.rotations), canonical.rotation_matrices(), atol=1e-5, rtol=0
    )
    torch.testing.assert_close(back.translation, canonical.translation)
    torch.testing.assert_close(back.joints(), canonical.joints(), atol=1e-5, rtol=0)


def test_motions_are_resampled_to_the_model_rate_and_keep_their_travel() -> None:
    motion = smooth_motion(seconds=3.0, fps=30.0)  # walks 1.2 m/s along -Y
    features = motion_to_features(motion, fps=20.0)
    assert features.shape == (60, FEATURE_DIM)
    pelvis = features_to_motion(features, fps=20.0).joints()[:, 0]
    torch.testing.assert_close(pelvis[0, :2], torch.zeros(2), atol=1e-5, rtol=0)
    _, translation = features_to_pose(features)
    travel = (translation[-1, :2] - translation[0, :2]).norm()
    assert travel == pytest.approx(1.2 * 59 / 20, rel=1e-3)


def test_statistics_normalise_and_invert() -> None:
    features = torch.randn(500, FEATURE_DIM) * 3 + 1
    features[:, 5] = 0.25  # a constant feature
    statistics = FeatureStatistics.of(features)
    normalized = statistics.normalize(features)
    torch.testing.assert_close(normalized.mean(0)[:5], torch.zeros(5), atol=1e-4, rtol=0)
    assert statistics.std[5] == STD_FLOOR
    torch.testing.assert_close(statistics.denormalize(normalized), features)
    identity = FeatureStatistics.identity()
    assert torch.equal(identity.normalize(features), features)


@pytest.mark.parametrize(
    ("mean", "std", "message"),
    [
        (torch.zeros(3), torch.ones(3), "shape"),
        (torch.full((FEATURE_DIM,), float("nan")), torch.ones(FEATURE_DIM), "NaN"),
        (torch.zeros(FEATURE_DIM), torch.zeros(FEATURE_DIM), "positive"),
    ],
)
def test_bad_statistics_are_refused(mean: torch.Tensor, std: torch.Tensor, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FeatureStatistics(mean, std)


def test_the_rest_features_are_the_identity_pose_at_the_origin() -> None:
    rotations, translation = features_to_pose(rest_features())
    torch.testing.assert_close(rotations, torch.eye(3).expand(24, 3, 3))
    assert torch.equal(translation, torch.zeros(3))
