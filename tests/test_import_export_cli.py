"""`motionclip import` and `motionclip export`: files written, errors as one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from motionclip_blender.cli import main
from motionclip_blender.core import amass, files, skeleton

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
