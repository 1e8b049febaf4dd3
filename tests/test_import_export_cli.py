"""`motionclip import` and `motionclip export`: files written, errors as one line and exit 2."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from motionclip_blender.cli import main
from motionclip_blender.core import amass, atomic, bvh, files, skeleton
from motionclip_blender.core import rotations as rot
from motionclip_blender.core.errors import MotionFileError
from motionclip_blender.core.motion import Motion
from motionclip_blender.core.retarget import TO_Z_UP

from .motions import smooth_motion

FIXTURES = Path(__file__).parent / "fixtures"


def test_export_then_import_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    motion = smooth_motion(seconds=1.0).on_floor()
    amass.write_npz(motion, tmp_path / "in.npz")
    assert main(["export", str(tmp_path / "in.npz"), "-o", str(tmp_path / "out.bvh")]) == 0
    assert (
        main(["import", str(tmp_path / "out.bvh"), "-o", str(tmp_path / "back.npz"), "--fps", "15"])
        == 0
    )
    back = files.read_motion(tmp_path / "back.npz")
    assert back.fps == 15.0 and back.num_frames == 15
    assert (back.joints()[0] - motion.joints()[0]).norm(dim=-1).max() < 1e-3
    assert "15 frames" in capsys.readouterr().out


def test_z_up_bvh_imports_with_up_z(tmp_path: Path) -> None:
    """A motion turned so that its BVH (written Y-up) has the body upright along the file's Z:
    with --up z it imports as the original motion; read as Y-up it would lie on its back."""
    motion = smooth_motion(seconds=0.5).on_floor()
    turn = TO_Z_UP["y"]  # the writer maps world Z to file Y; turned first, Z stays Z
    root = turn @ rot.axis_angle_to_matrix(motion.rotations[:, 0])
    rotations = motion.rotations.clone()
    rotations[:, 0] = rot.matrix_to_axis_angle(root)
    pelvis = skeleton.rest_joints()[0]
    translation = (motion.translation + pelvis) @ turn.T - pelvis
    files.write_motion(Motion(rotations, translation, motion.fps), tmp_path / "z_up.bvh")
    for up, matches in (("z", True), ("y", False)):
        out = tmp_path / f"{up}.npz"
        assert main(["import", str(tmp_path / "z_up.bvh"), "-o", str(out), "--up", up]) == 0
        error = (files.read_motion(out).joints() - motion.joints()).norm(dim=-1).max()
        assert (error < 1e-3) == matches, up


def test_up_axis_of_a_non_bvh_file_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "walking_1.txt"
    source.write_text("0\n")
    assert main(["import", str(source), "-o", str(tmp_path / "out.npz"), "--up", "z"]) == 2
    assert "always Y-up" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ((FIXTURES / "two_bones.bvh").read_text()[:-20], "frame lines follow"),
        ((FIXTURES / "two_bones.bvh").read_text(), "cannot map this skeleton onto SMPL"),
        ((FIXTURES / "two_bones.bvh").read_text().replace("1 2 3 90", "nan 2 3 90"), "NaN"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_no_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    source = tmp_path / "bad.bvh"
    source.write_text(text)
    output = tmp_path / "out.npz"
    assert main(["import", str(source), "-o", str(output)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("motionclip: error: ") and message in error
    assert "Traceback" not in error and str(source) in error
    assert list(tmp_path.iterdir()) == [source]


def test_unknown_joint_names_error_lists_what_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = FIXTURES / "two_bones.bvh"
    assert main(["import", str(source), "-o", str(tmp_path / "out.npz")]) == 2
    error = capsys.readouterr().err
    assert "left_hip" in error and "Source joints seen: Hips, Spine, Spine_end" in error


def test_user_map_from_json(tmp_path: Path) -> None:
    """A BVH whose joints are renamed imports with a JSON map naming them."""
    motion = smooth_motion(seconds=0.5).on_floor()
    files.write_motion(motion, tmp_path / "smpl.bvh")
    text = (tmp_path / "smpl.bvh").read_text()
    for name in skeleton.JOINT_NAMES:
        text = text.replace(f" {name}\n", f" bone_{name}\n")
    renamed = tmp_path / "renamed.bvh"
    renamed.write_text(text)
    joint_map = tmp_path / "map.json"
    joint_map.write_text(json.dumps({name: f"bone_{name}" for name in skeleton.JOINT_NAMES}))
    out = tmp_path / "out.npz"
    assert main(["import", str(renamed), "-o", str(out), "--map", str(joint_map)]) == 0
    back = files.read_motion(out)
    assert (back.joints() - motion.joints()).norm(dim=-1).max() < 1e-3


@pytest.mark.parametrize("command", ["import", "export"])
def test_writing_over_the_input_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    source = tmp_path / "take.bvh"
    bvh.write_bvh(smooth_motion(seconds=1.0), source)
    before = source.read_bytes()
    assert main([command, str(source), "-o", str(tmp_path / "." / "take.bvh")]) == 2
    assert "take.bvh: is also the input" in capsys.readouterr().err
    assert source.read_bytes() == before


def test_a_file_that_cannot_be_written_is_named_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(atomic.os, "replace", refuse)
    with pytest.raises(MotionFileError, match=r"out.npz: cannot write \(Permission denied\)"):
        amass.write_npz(smooth_motion(seconds=1.0), tmp_path / "out.npz")
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(atomic.tempfile, "mkstemp", refuse)
    with pytest.raises(MotionFileError, match=r"out.npz: cannot write here \(Permission denied\)"):
        amass.write_npz(smooth_motion(seconds=1.0), tmp_path / "out.npz")


def test_output_names_as_long_as_the_file_system_allows_are_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The temporary file beside an output has a short name of its own, not one built from the
    output's name, which would pass the file system's limit (255 bytes on Linux)."""
    monkeypatch.chdir(tmp_path)
    longest = os.pathconf(tmp_path, "PC_NAME_MAX")
    npz, bvh_name = ("a" * (longest - 4) + suffix for suffix in (".npz", ".bvh"))
    bvh.write_bvh(smooth_motion(seconds=1.0), tmp_path / "take.bvh")
    assert main(["import", "take.bvh", "-o", npz]) == 0
    assert main(["export", npz, "-o", bvh_name]) == 0
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([bvh_name, npz, "take.bvh"])


def test_writing_a_name_too_long_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MotionFileError, match=r"cannot write here \(File name too long\)"):
        amass.write_npz(smooth_motion(seconds=1.0), tmp_path / ("a" * 300 + ".npz"))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fps", ["0", "1e-9", "1e6", "nan", "fast"])
def test_an_unusable_import_frame_rate_is_named_as_the_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fps: str
) -> None:
    source = tmp_path / "take.bvh"
    bvh.write_bvh(smooth_motion(seconds=1.0), source)
    with pytest.raises(SystemExit) as exit_:
        main(["import", str(source), "-o", str(tmp_path / "out.npz"), "--fps", fps])
    assert exit_.value.code == 2
    assert "--fps: expected a frame rate from 1 to 1000" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["import", "export"])
@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("a" * 300 + ".npz", "cannot write here (File name too long)"),
        ("take_folder", "take_folder: is a folder; give a file name"),
        ("take.bvh/out.npz", "take.bvh: output folder is a file, not a folder"),
    ],
)
def test_an_output_that_cannot_be_written_is_named(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    output: str,
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    bvh.write_bvh(smooth_motion(seconds=1.0), tmp_path / "take.bvh")
    (tmp_path / "take_folder").mkdir()
    assert main([command, "take.bvh", "-o", output]) == 2
    error = capsys.readouterr().err
    assert error.startswith("motionclip: error: ") and message in error
    assert sorted(path.name for path in tmp_path.iterdir()) == ["take.bvh", "take_folder"]


def export_with_stdout(tmp_path: Path, **options: object) -> subprocess.CompletedProcess[str]:
    """`motionclip export` in a process whose stdout is set by `options`."""
    amass.write_npz(smooth_motion(seconds=1.0), tmp_path / "in.npz")
    command = [sys.executable, "-m", "motionclip_blender", "export", str(tmp_path / "in.npz"),
               "-o", str(tmp_path / "out.bvh")]  # fmt: skip
    return subprocess.run(
        command, stderr=subprocess.PIPE, text=True, check=False, timeout=120, **options
    )


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full, always full")
def test_a_full_stdout_is_one_line_and_a_failure(tmp_path: Path) -> None:
    with open("/dev/full", "w") as full:
        result = export_with_stdout(tmp_path, stdout=full)
    assert result.returncode == 2 and result.stderr == (
        "motionclip: error: cannot write to standard output (No space left on device)\n"
    )


def test_a_closed_stdout_stops_before_any_work(tmp_path: Path) -> None:
    result = export_with_stdout(tmp_path, preexec_fn=functools.partial(os.close, 1))
    assert result.returncode == 2 and result.stderr == (
        "motionclip: error: standard output is closed; redirect it to a file or to /dev/null\n"
    )
    assert not (tmp_path / "out.bvh").exists()


def test_export_help_names_both_output_types(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    assert "the .bvh (or .npz) to write" in " ".join(capsys.readouterr().out.split())
