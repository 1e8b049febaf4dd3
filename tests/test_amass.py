from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from motionclip_blender.core import amass, files
from motionclip_blender.core.errors import MotionFileError
from motionclip_blender.core.motion import Motion

from .motions import random_motion, smooth_motion


def test_write_then_read_is_exact(tmp_path: Path) -> None:
    motion = random_motion(frames=17, fps=59.94)
    files.write_motion(motion, tmp_path / "m.npz")
    back = files.read_motion(tmp_path / "m.npz")
    assert torch.equal(back.rotations, motion.rotations)
    assert torch.equal(back.translation, motion.translation)
    assert back.fps == motion.fps


def test_written_file_has_the_amass_layout(tmp_path: Path) -> None:
    motion = random_motion(frames=5)
    amass.write_npz(motion, tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as data:  # as AMASS loaders read it
        assert data["poses"].shape == (5, 72) and data["poses"].dtype == np.float64
        assert data["trans"].shape == (5, 3)
        assert float(data["mocap_framerate"]) == 30.0
        assert data["betas"].shape == (10,)
        assert str(data["gender"]) == "neutral"
        np.testing.assert_array_equal(data["poses"][:, :3], motion.rotations[:, 0].double().numpy())


def amass_smplh_file(path: Path, motion: Motion) -> None:
    """Write a file laid out as AMASS SMPL-H stores it: 52 joints (156 values), 16 betas, dmpls."""
    frames = motion.num_frames
    poses = np.zeros((frames, 156))
    poses[:, :66] = motion.rotations[:, :22].reshape(frames, 66).double().numpy()
    poses[:, 66:] = 0.3  # finger joints, which are not SMPL's two hand joints
    np.savez(
        path,
        poses=poses,
        trans=motion.translation.double().numpy(),
        mocap_framerate=np.array(120.0),
        betas=np.zeros(16),
        dmpls=np.zeros((frames, 8)),
        gender=np.array("female"),
    )


def test_an_amass_smplh_file_loads_its_body_joints(tmp_path: Path) -> None:
    motion = smooth_motion(seconds=1.0, fps=120.0)
    amass_smplh_file(tmp_path / "subject_poses.npz", motion)
    loaded = files.read_motion(tmp_path / "subject_poses.npz")
    assert loaded.fps == 120.0 and loaded.num_frames == motion.num_frames
    torch.testing.assert_close(loaded.rotations[:, :22], motion.rotations[:, :22])
    assert torch.equal(loaded.rotations[:, 22:], torch.zeros(motion.num_frames, 2, 3))
    head = loaded.joints()[:, 15]
    assert float(head[:, 2].min()) > 1.2  # Z is up: the head stays high above the feet


def test_an_smplx_layout_with_its_rate_key_loads(tmp_path: Path) -> None:
    """As AMASS's SMPL-X stage-II files are: their rate key, and a pickled dict beside the
    arrays read, which must not make the file unreadable."""
    np.savez(
        tmp_path / "x.npz",
        poses=np.zeros((4, 165)),
        trans=np.zeros((4, 3)),
        mocap_frame_rate=np.array(30.0),
        markers_latent_vids=np.array({"C7": 3832}, dtype=object),
    )
    assert files.read_motion(tmp_path / "x.npz").num_frames == 4


def good_arrays(frames: int = 4) -> dict[str, Any]:
    return {
        "poses": np.zeros((frames, 72)),
        "trans": np.zeros((frames, 3)),
        "mocap_framerate": np.array(30.0),
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"poses": None}, "no 'poses' array"),
        ({"poses": np.zeros((4, 70))}, r"'poses' has shape \(4, 70\)"),
        ({"poses": np.zeros(72)}, "'poses' has shape"),
        ({"trans": np.zeros((3, 3))}, r"'trans' has shape \(3, 3\); expected \(4, 3\)"),
        ({"trans": None}, "no 'trans'"),
        ({"mocap_framerate": None}, "no 'mocap_framerate'"),
        ({"mocap_framerate": np.array(0.0)}, "'mocap_framerate' is 0; expected a frame rate"),
        ({"mocap_framerate": np.array(-5.0)}, "'mocap_framerate' is -5; expected a frame rate"),
        ({"mocap_framerate": np.array(1e-300)}, "from 0.1 to 10000 frames per second"),
        ({"mocap_framerate": np.array(np.inf)}, "'mocap_framerate' is inf"),
        ({"poses": np.zeros((0, 72)), "trans": np.zeros((0, 3))}, "at least one frame"),
        ({"poses": np.full((4, 72), np.nan)}, "NaN or inf"),
        ({"trans": np.array([[0, 0, 0]] * 2 + [[0, math.inf, 0]] * 2)}, "first at frame 2"),
        ({"poses": np.full((4, 72), "a")}, "'poses' holds text; expected numbers"),
        ({"poses": np.zeros((4, 72), dtype=bool)}, "'poses' holds booleans"),
        ({"poses": np.zeros((4, 72), dtype=complex)}, "'poses' holds complex numbers"),
        ({"trans": np.full((4, 3), "0")}, "'trans' holds text"),
        ({"mocap_framerate": np.array("30")}, "'mocap_framerate' holds text"),
        (
            {"poses": np.concatenate([np.zeros((2, 72)), np.full((2, 72), 1e30)])},
            r"'poses' frame 2 holds 1e\+30; expected axis-angle values within 1000 radians",
        ),
        ({"trans": np.array([[0, 0, 0], [0, 0, 1e39]] * 2)}, r"'trans' frame 1 holds 1e\+39"),
        # Finite in float32, but no body's path: the model would turn it into NaN.
        (
            {"trans": np.array([[0, 0, 0], [1e20, 0, 0]] * 2)},
            r"'trans' frame 1 holds 1e\+20; expected metres within 100000",
        ),
    ],
)
def test_bad_files_name_the_file_and_the_problem(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    arrays = {k: v for k, v in {**good_arrays(), **change}.items() if v is not None}
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(MotionFileError, match=message) as error:
        files.read_motion(path)
    assert str(path) in str(error.value)


@pytest.mark.parametrize("dtype", [">f8", ">f4", ">i4", np.longdouble, np.float16])
def test_arrays_of_any_byte_order_and_precision_load(tmp_path: Path, dtype: Any) -> None:
    """Big-endian and float128 arrays, which torch refuses, are read as native float64."""
    arrays = {**good_arrays(), "poses": np.full((4, 72), 2.0), "trans": np.full((4, 3), -3.0)}
    np.savez(tmp_path / "m.npz", **{key: value.astype(dtype) for key, value in arrays.items()})
    motion = files.read_motion(tmp_path / "m.npz")
    assert (motion.rotations == 2.0).all() and (motion.translation == -3.0).all()
    assert motion.fps == 30.0


@pytest.mark.skipif(
    np.finfo(np.longdouble).max <= np.finfo(np.float64).max, reason="longdouble is float64 here"
)
def test_a_float128_value_past_float64_is_named(tmp_path: Path) -> None:
    trans = np.zeros((4, 3), dtype=np.longdouble)
    trans[2, 1] = np.longdouble("1e400")
    np.savez(tmp_path / "huge.npz", **{**good_arrays(), "trans": trans})
    with pytest.raises(MotionFileError, match=r"huge\.npz: 'trans' holds float\d+ values past"):
        files.read_motion(tmp_path / "huge.npz")


def test_angles_of_a_few_turns_still_load(tmp_path: Path) -> None:
    arrays = {**good_arrays(), "poses": np.full((4, 72), 50.0)}  # eight turns: unusual, valid
    np.savez(tmp_path / "turns.npz", **arrays)
    assert files.read_motion(tmp_path / "turns.npz").num_frames == 4


def test_a_single_npy_array_named_npz_is_a_clear_error(tmp_path: Path) -> None:
    with open(tmp_path / "array.npz", "wb") as stream:
        np.save(stream, np.zeros((4, 72)))
    with pytest.raises(MotionFileError, match=r"array\.npz: not an npz archive but a single array"):
        files.read_motion(tmp_path / "array.npz")


def test_not_an_npz_and_missing_files(tmp_path: Path) -> None:
    (tmp_path / "junk.npz").write_bytes(b"not a zip at all")
    with pytest.raises(MotionFileError, match=r"not a readable \.npz"):
        files.read_motion(tmp_path / "junk.npz")
    with pytest.raises(MotionFileError, match="no such file"):
        files.read_motion(tmp_path / "absent.npz")
    with pytest.raises(MotionFileError, match=r"unknown motion file type '\.fbx'"):
        files.read_motion(tmp_path / "walk.fbx")


def test_a_failed_write_leaves_no_partial_file_and_keeps_the_old_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "keep.npz"
    target.write_bytes(b"user data")

    def broken_savez(stream: Any, **arrays: Any) -> None:
        stream.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        amass.write_npz(random_motion(), target)
    assert target.read_bytes() == b"user data"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.npz"]


def test_written_files_get_the_usual_permissions(tmp_path: Path) -> None:
    files.write_motion(random_motion(), tmp_path / "m.npz")
    umask = os.umask(0o022)
    os.umask(umask)
    assert (tmp_path / "m.npz").stat().st_mode & 0o777 == 0o666 & ~umask


def test_writing_into_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MotionFileError, match="does not exist"):
        files.write_motion(random_motion(), tmp_path / "nowhere" / "m.npz")
