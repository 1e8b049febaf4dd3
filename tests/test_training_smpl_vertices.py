"""The SMPL-vertex position loss (loss.smpl_model), on the synthetic 6,890-vertex model file."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch

from motionclip_blender.core import skeleton
from motionclip_blender.core.errors import MotionClipError
from motionclip_blender.core.mannequin import posed_vertices
from motionclip_blender.core.motion import Motion
from motionclip_blender.core.pose_features import FeatureStatistics, motion_to_features
from motionclip_blender.core.reconstruction import reconstruction_losses
from motionclip_blender.core.rig import smpl_armature
from motionclip_blender.core.smpl_body import VERTICES, smpl_body
from training.losses import SmplVertices
from training.train import main

from .motions import smooth_motion
from .smpl_model import write_smpl_model
from .training_setup import amass_dataset, write_config

CPU = torch.device("cpu")


@pytest.fixture
def model_folder(tmp_path: Path) -> Path:
    """A folder holding SMPL_NEUTRAL.npz, as a user's model folder does."""
    folder = tmp_path / "smpl_model"
    folder.mkdir()
    write_smpl_model(folder / "SMPL_NEUTRAL.npz")
    return folder


def test_vertices_lie_where_the_blender_body_skins_them(model_folder: Path) -> None:
    motion = smooth_motion(1.0, fps=10.0, seed=3)
    vertices = SmplVertices(model_folder, CPU)(motion.rotation_matrices(), motion.translation)
    armature = smpl_armature()
    expected = posed_vertices(smpl_body(model_folder, armature), armature, motion)
    assert vertices.shape == (motion.num_frames, VERTICES, 3)
    torch.testing.assert_close(vertices.double(), expected, rtol=0, atol=1e-5)
    assert (expected[-1] - expected[0]).norm(dim=-1).min() > 0.1  # every vertex moved


def bent(motion: Motion, joint: str, degrees: float) -> Motion:
    """The motion with one joint turned further about its local x axis in every frame."""
    rotations = motion.rotations.clone()
    rotations[:, skeleton.JOINT_INDEX[joint], 0] += torch.deg2rad(torch.tensor(degrees))
    return Motion(rotations, motion.translation, motion.fps)


def test_the_loss_is_zero_for_equal_motions_grows_with_rotation_error_and_has_gradients(
    model_folder: Path,
) -> None:
    vertices = SmplVertices(model_folder, CPU)
    motion = smooth_motion(1.0, fps=10.0, seed=1)

    def features(of: Motion) -> torch.Tensor:
        return motion_to_features(of, motion.fps)[None]

    target = features(motion)
    statistics = FeatureStatistics.of(target)
    mask = torch.ones(target.shape[:2], dtype=torch.bool)

    def losses_of(predicted: torch.Tensor) -> dict[str, torch.Tensor]:
        return reconstruction_losses(
            statistics.normalize(predicted),
            statistics.normalize(target),
            mask,
            statistics,
            motion.fps,
            vertices,
        )

    same = losses_of(target.clone())
    assert float(same["joints"]) < 1e-10 and float(same["velocity"]) < 1e-10
    errors = [
        float(losses_of(features(bent(motion, "left_shoulder", d)))["joints"])
        for d in (2.0, 5.0, 10.0, 20.0)
    ]
    assert errors[0] > 1e-7 and errors == sorted(errors), errors
    assert errors[-1] / errors[1] == pytest.approx(16, rel=0.25)  # small angles: quadratic

    predicted = features(bent(motion, "left_elbow", 10.0)).requires_grad_(True)
    losses_of(predicted)["joints"].backward()
    assert predicted.grad is not None and torch.isfinite(predicted.grad).all()
    per_joint = predicted.grad[0, :, : 24 * 6].reshape(-1, 24, 6).abs().sum((0, 2))
    elbow, head = skeleton.JOINT_INDEX["left_elbow"], skeleton.JOINT_INDEX["head"]
    assert per_joint[elbow] > 0 and per_joint[head] == 0  # only joints that moved vertices


def test_training_with_a_model_folder_uses_its_vertices(
    tmp_path: Path, tiny_clip_path: Path, model_folder: Path
) -> None:
    data = tmp_path / "amass"
    amass_dataset(data)
    config = write_config(tmp_path / "c.toml", data, tiny_clip_path, train={"log_every": 1})

    def first_rows(name: str, *overrides: str) -> list[dict[str, str]]:
        out = tmp_path / name
        sets = ["--set", f"train.out='{out}'", *(a for o in overrides for a in ("--set", o))]
        assert main(["--config", str(config), *sets]) == 0
        assert (out / "model.pt").is_file() and (out / "last.pt").is_file()
        with (out / "log.csv").open() as stream:
            return list(csv.DictReader(stream))

    joints = first_rows("joints")
    meshes = first_rows("vertices", f"loss.smpl_model='{model_folder}'")
    assert [row["step"] for row in meshes] == ["1", "2"]
    # The same first batch and model: the rotation term agrees; the position term differs a
    # little (the synthetic vertices lie within centimetres of their joints), far beyond rounding.
    assert float(meshes[0]["rotation"]) == pytest.approx(float(joints[0]["rotation"]), rel=1e-6)
    assert float(meshes[0]["joints"]) != pytest.approx(float(joints[0]["joints"]), rel=1e-4)


def test_a_bad_model_folder_is_named_before_any_data_is_prepared(
    tmp_path: Path, tiny_clip_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no-smpl-here"
    with pytest.raises(MotionClipError, match=str(missing)):
        SmplVertices(missing, CPU)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(MotionClipError, match=r"SMPL_NEUTRAL\.npz"):
        SmplVertices(empty, CPU)

    data = tmp_path / "amass"
    amass_dataset(data)
    config = write_config(tmp_path / "c.toml", data, tiny_clip_path)
    assert main(["--config", str(config), "--set", f"loss.smpl_model='{missing}'"]) == 2
    assert str(missing) in capsys.readouterr().err
    assert not (tmp_path / "cache").exists() and not (tmp_path / "run").exists()
