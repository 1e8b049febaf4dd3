from __future__ import annotations

from pathlib import Path

import pytest
import torch

from motionclip_blender.core.errors import MotionFileError
from motionclip_blender.core.rig import smpl_armature
from motionclip_blender.core.smpl_body import VERTICES, find_model_file, smpl_body

from .smpl_model import write_smpl_model


def test_the_body_loads_through_smplx_aligned_with_the_rig(tmp_path: Path) -> None:
    (tmp_path / "smpl").mkdir()
    weights = write_smpl_model(tmp_path / "smpl" / "SMPL_NEUTRAL.npz")
    armature = smpl_armature()
    body = smpl_body(tmp_path, armature)
    assert body.vertices.shape == (VERTICES, 3) and len(body.faces) == 13776
    torch.testing.assert_close(body.weights, torch.as_tensor(weights, dtype=body.weights.dtype))
    # vertices sit around the joints they follow, in the rig's Z-up rest pose on the floor
    owner = torch.arange(VERTICES) % 24
    centres = torch.stack([body.vertices[owner == joint].mean(0) for joint in range(24)])
    assert (centres - armature.heads).norm(dim=1).max() < 0.01


def test_missing_folders_and_files_say_what_was_expected(tmp_path: Path) -> None:
    with pytest.raises(MotionFileError, match="SMPL model folder does not exist"):
        find_model_file(tmp_path / "nowhere")
    (tmp_path / "SMPL_NEUTRAL.npz").write_bytes(b"")  # the file chosen instead of its folder
    with pytest.raises(MotionFileError, match="SMPL model folder is a file, not a folder"):
        find_model_file(tmp_path / "SMPL_NEUTRAL.npz")
    (tmp_path / "SMPL_NEUTRAL.npz").unlink()
    with pytest.raises(MotionFileError, match=r"SMPL_NEUTRAL\.npz"):
        find_model_file(tmp_path)


def test_a_chumpy_pickle_asks_for_conversion(tmp_path: Path) -> None:
    (tmp_path / "SMPL_NEUTRAL.pkl").write_bytes(b"cchumpy_absent_module\nCh\n.")
    with pytest.raises(MotionFileError, match=r"convert it to \.npz"):
        smpl_body(tmp_path, smpl_armature())


@pytest.mark.parametrize(
    ("name", "content"),
    [("SMPL_NEUTRAL.npz", b""), ("SMPL_NEUTRAL.pkl", b""), ("SMPL_NEUTRAL.pkl", b"garbage")],
)
def test_an_empty_or_damaged_model_file_is_named(tmp_path: Path, name: str, content: bytes) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(MotionFileError, match=rf"{name}: not an SMPL model file"):
        smpl_body(tmp_path, smpl_armature())
