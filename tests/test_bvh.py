"""BVH reading (any channel order, position channels, End Sites, CRLF, bad input) and writing."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from motionclip_blender.core import bvh, files, skeleton
from motionclip_blender.core.errors import MotionFileError
from motionclip_blender.core.motion import Motion

from .conftest import shared_dataset
from .motions import smooth_motion

FIXTURES = Path(__file__).parent / "fixtures"


def test_channel_order_position_channels_and_end_sites() -> None:
    source = bvh.read_bvh(FIXTURES / "two_bones.bvh")
    assert source.names == ("Hips", "Spine", "Spine_end")
    assert source.parents == (-1, 0, 1)
    assert source.fps == 25.0
    joints = source.joint_positions()
    # Frame 0: the position channels replace the root OFFSET (5, 6, 7).
    torch.testing.assert_close(
        joints[0].float(), torch.tensor([[1.0, 2, 3], [1, 12, 3], [1, 17, 3]])
    )
    # Frame 1: the root turns 90 degrees about Y (no effect on the +Y spine); the spine turns 90
    # degrees about Y after Z (Xrotation Zrotation Yrotation: X=0, Z=0, Y=90): still along +Y.
    torch.testing.assert_close(joints[1, 2].float(), torch.tensor([1.0, 17, 3]))
    rotation = source.rotations[1, 0]
    expected = torch.tensor([[0.0, 0, 1], [0, 1, 0], [-1, 0, 0]], dtype=rotation.dtype)
    torch.testing.assert_close(rotation, expected)


def test_crlf_and_tabs() -> None:
    source = bvh.read_bvh(FIXTURES / "crlf_tabs.bvh")
    assert source.names == ("Hips", "Hips_end") and source.num_frames == 1
    assert source.fps == 30.0


def test_end_site_in_any_case_and_joint_names_with_spaces_as_blender_reads_them(
    tmp_path: Path,
) -> None:
    text = (
        fixture_text()
        .replace("ROOT Hips", "ROOT Bip01 Pelvis {")
        .replace("\n{\n\tOFFSET 5", "\n\tOFFSET 5")
        .replace("JOINT Spine", "JOINT Bip01 L Thigh")
        .replace("End Site", "end site Bip01 L Toe")
    )
    source = bvh.read_bvh(write_text(tmp_path, text))
    assert source.names == ("Bip01_Pelvis", "Bip01_L_Thigh", "Bip01_L_Thigh_end")
    torch.testing.assert_close(
        source.joint_positions(), bvh.read_bvh(FIXTURES / "two_bones.bvh").joint_positions()
    )
    for end_site in ("End site", "end Site"):
        path = write_text(tmp_path, fixture_text().replace("End Site", end_site))
        assert bvh.read_bvh(path).names == ("Hips", "Spine", "Spine_end")


def test_any_whitespace_in_the_frame_time_key(tmp_path: Path) -> None:
    path = write_text(tmp_path, fixture_text().replace("Frame Time:", "Frame\t Time:"))
    assert bvh.read_bvh(path).fps == 25.0


def test_a_utf8_byte_order_mark_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "bom.bvh"
    path.write_bytes(b"\xef\xbb\xbf" + (FIXTURES / "two_bones.bvh").read_bytes())
    source, plain = bvh.read_bvh(path), bvh.read_bvh(FIXTURES / "two_bones.bvh")
    assert source.names == plain.names
    torch.testing.assert_close(source.joint_positions(), plain.joint_positions())


def test_a_latin1_file_keeps_its_joint_names(tmp_path: Path) -> None:
    """Files not in UTF-8 are read as Latin-1, which some exporters write: a joint map can then
    name their joints (decoded as UTF-8 they became U+FFFD)."""
    path = tmp_path / "latin1.bvh"
    text = fixture_text().replace("JOINT Spine", "JOINT Hüfte").encode("latin-1")
    for start in (b"", b"\xef\xbb\xbf"):  # a byte-order mark too, as an editor may add
        path.write_bytes(start + text)
        assert bvh.read_bvh(path).names == ("Hips", "Hüfte", "Hüfte_end")


def test_a_hierarchy_deeper_than_the_recursion_limit_is_read(tmp_path: Path) -> None:
    depth = 1500  # each joint inside the one before: past Python's recursion limit of 1000
    text = "HIERARCHY\nROOT Hips\n{\nOFFSET 0 0 0\nCHANNELS 3 Xposition Yposition Zposition\n"
    text += "".join(f"JOINT j{i}\n{{\nOFFSET 0 1 0\n" for i in range(depth))
    text += "}\n" * (depth + 1) + "MOTION\nFrames: 1\nFrame Time: 0.04\n0 0 0\n"
    source = bvh.read_bvh(write_text(tmp_path, text))
    assert source.parents == (-1, *range(depth))
    assert source.joint_positions()[0, -1, 1] == depth


def write_text(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.bvh"
    path.write_text(text)
    return path


def fixture_text() -> str:
    return (FIXTURES / "two_bones.bvh").read_text()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda text: text[: text.index("1 2 3 90")], r"'Frames: 2' but 1 frame lines"),
        (lambda text: text.replace("}\nMOTION", "MOTION"), r"hierarchy ends early"),
        (
            lambda text: text.replace("CHANNELS 3 Xrotation", "CHANNELS 4 Xrotation"),
            r"line 9: CHANNELS of joint 'Spine' says 4 channels but lists 3",
        ),
        (lambda text: text.replace("1 2 3 90 0 0", "1 2 3 90 0"), r"line 20: 8 values; expected 9"),
        (lambda text: text.replace("1 2 3 90", "1 2 nan 90"), r"line 20: NaN or infinite"),
        (
            lambda text: text.replace("OFFSET 0 10 0", "OFFSET 0 2e7 0"),
            r"line 8: expected an OFFSET number within ±1e[+]07, found '2e7'",
        ),
        # Finite in float32, but no motion's values: a glitch the model would turn into NaN.
        (
            lambda text: text.replace("1 2 3 90", "1 2 -1e23 90"),
            r"line 20: the value -1e[+]23 is beyond ±1e[+]07",
        ),
        (lambda text: text.replace("1 2 3 90", "1 2 x 90"), r"line 20: a value is not a number"),
        (lambda text: text.replace("1 2 3 90", "1 2 3 # 90"), r"line 20: 10 values; expected 9"),
        (
            lambda text: (
                text.replace("Frames: 2", "Frames: 0")
                .replace("1 2 3 0", "")
                .replace("1 2 3 90 0 0 0 0 90", "")
            ),
            r"no frames",
        ),
        (lambda text: text.replace("MOTION", "MOTON"), r"no MOTION section"),
        (
            lambda text: text.replace("JOINT Spine", "JOINT\nSpine"),
            r"line 6: expected a joint name after ROOT or JOINT, on the same line",
        ),
        (lambda text: text.replace("End Site", "End Sight"), r"line 10: expected 'Site' after"),
        (
            lambda text: text.replace("Xposition Yposition", "Xposition xposition"),
            r"line 5: channel 'Xposition' listed twice in joint 'Hips'",
        ),
        *[
            (
                lambda text, count=count: text.replace("CHANNELS 3", f"CHANNELS {count}"),
                rf"line 9: expected the number of channels.*found '{found}'",
            )
            for count, found in (("nan", "nan"), ("inf", "inf"), ("3.9", "3.9"), ("-3", "-3"))
        ],
        (
            lambda text: text.replace("OFFSET 0 10 0", "OFFSET 0 nan 0"),
            r"line 8: expected an OFFSET number within ±1e[+]07, found 'nan'",
        ),
        *[
            (
                lambda text, seconds=seconds: text.replace("0.04", seconds),
                r"line 18: frame time must be between 0.0001 and 10 seconds",
            )
            for seconds in ("1e-320", "inf", "1e300", "nan", "0", "-0.04", "11")
        ],
        (lambda text: text.replace("0.04", "fast"), r"line 18: 'Frame Time:' needs a number"),
        (lambda text: text.replace("Frames: 2", "Frames: two"), r"line 17: 'Frames:' needs a"),
        (
            lambda text: text.replace("Frames: 2\n", "Frames: 2\n\n").replace("0.04", "0"),
            r"line 19: frame time must be",
        ),
        (
            lambda text: text.replace("JOINT Spine", "JOINT Hips"),
            r"line 6: joint 'Hips' has the same name as joint 'Hips' at line 2",
        ),
        (
            lambda text: text.replace("JOINT Spine", "JOINT mixamorig:HIPS"),
            r"line 6: joint 'mixamorig:HIPS' has the same name as joint 'Hips' at line 2 \(names "
            "match without case",
        ),
        (
            lambda text: text.replace("ROOT Hips", "ROOT Spine_end"),  # Spine's End Site's name
            r"line 10: joint 'Spine_end' has the same name as joint 'Spine_end' at line 2",
        ),
        (
            lambda text: text.replace("}\nMOTION", "}\n}\nMOTION"),
            r"line 16: unexpected '}' after the ROOT joint's closing brace; expected MOTION",
        ),
        (
            lambda text: text.replace("}\nMOTION", "}\nsome notes\nMOTION"),
            r"line 16: unexpected 'some' after the ROOT joint's closing brace",
        ),
        (
            lambda text: text.replace("}\nMOTION", "}\nROOT Other\n{\n}\nMOTION"),
            r"line 16: a second ROOT is not supported",
        ),
    ],
)
def test_bad_files_name_the_problem(tmp_path: Path, edit, message: str) -> None:  # type: ignore[no-untyped-def]
    path = write_text(tmp_path, edit(fixture_text()))
    with pytest.raises(MotionFileError, match=message) as caught:
        bvh.read_bvh(path)
    assert str(path) in str(caught.value)


def test_frames_read_in_bulk_are_the_values_read_word_by_word(tmp_path: Path) -> None:
    """Frame lines go through numpy's parser (a long capture's words, split one by one, take
    seconds and many times the file's memory); the word-by-word reading stays for errors."""
    from motionclip_blender.core.frame_rows import read_lines, to_array

    text = fixture_text().replace("1 2 3 90", "+1 2.50e0 3. 90")
    lines = read_lines(write_text(tmp_path, text))
    start = next(n for n, line in enumerate(lines) if line.startswith("Frame Time")) + 1
    rows = [(n, line.split()) for n, line in enumerate(lines[start:], start + 1) if line.split()]
    bulk = bvh._well_formed_frames(lines[start:], 2, 9)
    assert bulk is not None and (bulk == to_array(tmp_path, rows, 9, "")).all()
    assert bulk[1, :4].tolist() == [1.0, 2.5, 3.0, 90.0]
    assert bvh._well_formed_frames(lines[start:], 3, 9) is None  # a count it does not hold


def test_write_then_read_reproduces_joint_positions(tmp_path: Path) -> None:
    motion = smooth_motion(seconds=1.0).on_floor()
    path = tmp_path / "motion.bvh"
    files.write_motion(motion, path)
    back = files.read_motion(path)
    assert back.fps == motion.fps and back.num_frames == motion.num_frames
    error = (back.joints() - motion.joints()).norm(dim=-1).max()
    assert error < 1e-3  # metres: under 1 mm


def test_written_hierarchy_is_the_smpl_rest_skeleton(tmp_path: Path) -> None:
    rotations = torch.zeros(1, skeleton.NUM_JOINTS, 3)
    rotations[:, 0] = torch.tensor([math.pi / 2, 0.0, 0.0])  # upright in the Z-up world
    path = tmp_path / "rest.bvh"
    bvh.write_bvh(Motion(rotations, torch.zeros(1, 3), 30.0), path)
    source = bvh.read_bvh(path)
    order = [source.names.index(name) for name in skeleton.JOINT_NAMES]
    # Upright in our world is the rest pose in BVH's Y-up world: all rotations identity.
    torch.testing.assert_close(
        source.rotations[0].float(), torch.eye(3).expand(len(source.names), 3, 3), atol=1e-5, rtol=0
    )
    joints = source.joint_positions()[0, order].float()
    rest = skeleton.rest_joints()
    torch.testing.assert_close(joints - joints[0], rest - rest[0], atol=1e-5, rtol=0)


def test_failed_write_leaves_no_file(tmp_path: Path) -> None:
    with pytest.raises(MotionFileError):
        bvh.write_bvh(smooth_motion(seconds=0.2), tmp_path / "missing" / "out.bvh")
    assert not any(tmp_path.rglob("*.bvh*"))


def test_bandai_position_channels_give_a_human_sized_body() -> None:
    folder = shared_dataset("bandai") / "Bandai-Namco-Research-Motiondataset-2"
    source = bvh.read_bvh(folder / "dataset-2_walk_normal_001.bvh")
    joints = source.joint_positions()[0]
    height = joints[source.names.index("Head"), 1]
    toes = joints[source.names.index("Toes_L"), 1]
    assert 130 < height < 150 and 0 < toes < 10  # centimetres, Y up
