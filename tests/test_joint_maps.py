"""Joint maps: detection from names, user JSON maps, and errors that say what is missing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from motionclip_blender.core import joint_maps
from motionclip_blender.core.errors import MotionDataError, MotionFileError


@pytest.mark.parametrize("name", sorted(joint_maps.BUILT_IN))
def test_each_built_in_map_is_detected_from_its_own_names(name: str) -> None:
    names = [*joint_maps.BUILT_IN[name].values(), "Extra_Joint"]
    assert joint_maps.detect(names)[0] == name


def test_names_match_without_case_or_namespace() -> None:
    names = [
        source.replace("mixamorig:", "mixamorig7:").upper()
        for source in joint_maps.BUILT_IN["mixamo"].values()
    ]
    assert joint_maps.detect(names)[0] == "mixamo"
    bare = [source.split(":")[1] for source in joint_maps.BUILT_IN["mixamo"].values()]
    assert joint_maps.detect(bare)[0] == "mixamo"


def test_unknown_names_list_the_unmapped_smpl_joints_and_the_names_seen() -> None:
    with pytest.raises(MotionDataError) as caught:
        joint_maps.detect(["Bone", "Bone.001", "Hips"])
    message = str(caught.value)
    assert "left_knee" in message and "right_wrist" in message
    assert "Bone, Bone.001, Hips" in message


def test_user_json_map(tmp_path: Path) -> None:
    names = [f"b{i}" for i in range(len(joint_maps.REQUIRED))]
    path = tmp_path / "map.json"
    path.write_text(json.dumps(dict(zip(joint_maps.REQUIRED, names, strict=True))))
    label, joint_map = joint_maps.resolve(str(path), names)
    assert label == str(path) and joint_map["pelvis"] == names[joint_maps.REQUIRED.index("pelvis")]


def test_user_json_map_with_a_utf8_byte_order_mark(tmp_path: Path) -> None:
    """Some Windows editors start UTF-8 files with a byte-order mark, which JSON does not allow."""
    path = tmp_path / "map.json"
    path.write_text(json.dumps({"pelvis": "Hüfte"}, ensure_ascii=False), encoding="utf-8-sig")
    assert joint_maps.read_map(path) == {"pelvis": "Hüfte"}


def test_user_json_map_entry_naming_no_source_joint_is_refused(tmp_path: Path) -> None:
    names = [f"b{i}" for i in range(len(joint_maps.REQUIRED))]
    entries = dict(zip(joint_maps.REQUIRED, names, strict=True)) | {"spine3": "Spine_2_TYPO"}
    path = tmp_path / "map.json"
    path.write_text(json.dumps(entries))
    with pytest.raises(MotionDataError) as caught:
        joint_maps.resolve(str(path), names)
    message = str(caught.value)
    assert f"joint map '{path}'" in message and '"spine3": "Spine_2_TYPO"' in message
    assert f"Source joints seen: {', '.join(names)}" in message


def test_bad_json_maps(tmp_path: Path) -> None:
    path = tmp_path / "map.json"
    path.write_text('{"hips": "Hips"}')
    with pytest.raises(MotionFileError, match="hips are not SMPL joints"):
        joint_maps.read_map(path)
    path.write_text("[1, 2]")
    with pytest.raises(MotionFileError, match="JSON object of SMPL joint name"):
        joint_maps.read_map(path)
    with pytest.raises(MotionDataError, match="unknown joint map 'nonsense'"):
        joint_maps.resolve("nonsense", ["a"])


def test_a_rig_of_no_known_naming_is_told_so_in_a_message_of_readable_length() -> None:
    """A Rigify rig has 159 bones: listing them all buried the advice (2,400 characters)."""
    names = [f"DEF-bone.{i:03d}" for i in range(159)]
    with pytest.raises(MotionDataError) as caught:
        joint_maps.detect(names)
    message = str(caught.value)
    assert "follow none of the built-in maps' namings" in message and "and 147 more" in message
    assert "bake the action first" in message and len(message) < 800
