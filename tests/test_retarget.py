"""Retargeting onto SMPL: rest-pose and unit independence, missing joints, and the real datasets."""

from __future__ import annotations

import math
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from motionclip_blender.core import bvh, files, joint_maps, kinematics, mocap, preview, skeleton
from motionclip_blender.core import rotations as rot
from motionclip_blender.core.errors import MotionDataError, MotionFileError
from motionclip_blender.core.motion import UPRIGHT_ROOT_AXIS_ANGLE, Motion
from motionclip_blender.core.retarget import (
    ALIGNABLE_KINDS,
    FLOOR_QUANTILE,
    TO_Z_UP,
    comparison_figures,
    direction_errors,
    retarget,
    smpl_skeleton_motion,
    upright_source,
)
from motionclip_blender.core.source_motion import SourceMotion

from .conftest import shared_dataset
from .motions import smooth_motion
from .test_deepmimic_cmu8 import deepmimic_file, rest_frame


def as_source(motion: Motion, up: str, scale: float, seed: int = 0) -> SourceMotion:
    """The motion on a skeleton with SMPL's bones but a random rest pose, in another unit and up
    axis: each joint's frame is turned by a fixed random rotation C, so its offsets are
    C_parent^T (bone) and its local rotations C_parent^T L C, which leaves every joint in place.
    The chest, neck and head keep SMPL's rest (C = I): the neck and head follow the source's
    rotations since its rest pose, the chest's rest being their reference."""
    generator = torch.Generator().manual_seed(seed)
    turns = rot.axis_angle_to_matrix(2 * torch.randn(skeleton.NUM_JOINTS, 3, generator=generator))
    turns[[skeleton.JOINT_INDEX[name] for name in ("spine3", "neck", "head")]] = torch.eye(3)
    rest = skeleton.rest_joints()
    parents = list(skeleton.PARENTS)
    from_z_up = TO_Z_UP[up].T
    local = motion.rotation_matrices()
    rotations = torch.empty_like(local)
    offsets = torch.zeros(skeleton.NUM_JOINTS, 3)
    for joint, parent in enumerate(parents):
        parent_turn = turns[parent] if parent >= 0 else from_z_up
        rotations[:, joint] = parent_turn.T @ local[:, joint] @ turns[joint]
        if parent >= 0:
            offsets[joint] = turns[parent].T @ (rest[joint] - rest[parent]) * scale
    translations = offsets.expand(motion.num_frames, -1, -1).clone()
    translations[:, 0] = (motion.translation + rest[0]) @ from_z_up.T * scale
    rotations[:, 0] = from_z_up @ local[:, 0] @ turns[0]
    return SourceMotion(
        names=tuple(f"src_{name}" for name in skeleton.JOINT_NAMES),
        parents=tuple(parents),
        offsets=offsets,
        rotations=rotations,
        translations=translations,
        fps=motion.fps,
        up=up,
    )


SOURCE_MAP = {name: f"src_{name}" for name in skeleton.JOINT_NAMES}


def test_read_source_names_the_file_in_data_errors() -> None:
    path = Path(__file__).parent / "fixtures" / "two_bones.bvh"
    with pytest.raises(MotionFileError, match="up axis must be one of y, z") as caught:
        mocap.read_source(path, up="x")
    assert str(caught.value).startswith(f"{path}: ")


@pytest.mark.parametrize(("up", "scale"), [("y", 100.0), ("z", 1.0)])
def test_any_rest_pose_unit_and_up_axis_gives_the_same_joints(up: str, scale: float) -> None:
    motion = smooth_motion(seconds=1.0).on_floor(quantile=FLOOR_QUANTILE)
    source = as_source(motion, up, scale)
    result = retarget(source, SOURCE_MAP)
    error = (result.motion.joints() - motion.joints()).norm(dim=-1).max()
    assert error < 1e-4
    assert direction_errors(result).max() < 0.1


def test_zero_offsets_with_the_bones_in_position_channels_give_the_same_joints() -> None:
    """Some exporters write every OFFSET as zero and each joint's bone in its position channels:
    the rest pose comes from those, or the neck and head (which follow the source's rotations
    since its rest pose) would turn 90 degrees."""
    motion = smooth_motion(seconds=1.0).on_floor(quantile=FLOOR_QUANTILE)
    source = as_source(motion, "y", 100.0)
    zeroed = replace(source, offsets=torch.zeros_like(source.offsets))
    result = retarget(zeroed, SOURCE_MAP)
    assert (result.motion.joints() - motion.joints()).norm(dim=-1).max() < 1e-4
    assert direction_errors(result).max() < 0.1


def test_smpl_joints_the_source_lacks_follow_their_parent() -> None:
    motion = smooth_motion(seconds=0.5).on_floor()
    lacking = ("spine3", "left_hand", "right_hand", "left_collar", "right_collar")
    partial = {smpl: name for smpl, name in SOURCE_MAP.items() if smpl not in lacking}
    result = retarget(as_source(motion, "y", 1.0), partial)
    for name in lacking:
        local = result.motion.rotations[:, skeleton.JOINT_INDEX[name]]
        assert local.norm(dim=-1).max() < 1e-4, name
    # The aimed bones still point close to where the source's do: spine2 to neck passes the
    # source's bent spine3, which SMPL's unbent spine3 cannot follow exactly. (The neck follows
    # the source's rotation since its rest pose, which this source's random collars and spine2
    # make unlike SMPL's, so its bone is left out.)
    aimed = [i for i, s in enumerate(result.segments) if s.kind in ALIGNABLE_KINDS]
    assert direction_errors(result)[:, aimed].max() < 5.0


NECK, HEAD = skeleton.JOINT_INDEX["neck"], skeleton.JOINT_INDEX["head"]


def test_upright_head_keeps_smpl_rest_neck_and_a_nod_carries_over(tmp_path: Path) -> None:
    """DeepMimic's neck-to-head bone runs straight up at rest, SMPL's leans 38 degrees forward:
    a source standing at rest gives SMPL's rest neck, not one bent back to point straight up,
    and a 20 degree nod (also with the body turned about) gives a 20 degree SMPL nod."""
    nod = math.radians(20.0)
    nodded = rest_frame()
    nodded[12:16] = [math.cos(nod / 2), 0.0, 0.0, -math.sin(nod / 2)]  # about -Z, its left
    turned = list(nodded)
    turned[4:8] = [math.cos(1.0), 0.0, math.sin(1.0), 0.0]  # root turned 2 rad about up
    source = mocap.read_source(deepmimic_file(tmp_path, [rest_frame(), nodded, turned]))
    result = retarget(source, joint_maps.BUILT_IN["deepmimic"])
    kinds = {(s.start, s.end): s.kind for s in result.segments}
    assert kinds[(NECK, HEAD)] == "rest_relative"  # so not in the alignable metric
    local = result.motion.rotations
    assert local[0, [NECK, HEAD]].norm(dim=-1).max() < 1e-4
    # Within 0.01 rad: SMPL's chest fits DeepMimic's rest chest (its reference) within a fraction
    # of a degree, so the nod's axis is a little off SMPL's X axis.
    expected = torch.tensor([nod, 0.0, 0.0])
    for frame in (1, 2):
        torch.testing.assert_close(local[frame, NECK], expected, atol=0.01, rtol=0)
        assert local[frame, HEAD].norm() < 1e-4


def test_bandai_rest_pose_and_walk_keep_the_head_upright() -> None:
    """Bandai's rest pose has every bone along one axis; at rest SMPL's neck and head keep their
    rest pose, and over a walk the neck bends little (aiming its bone bent it back 41 degrees).
    The rest pose is put before the walk, as its first frame."""
    source = mocap.read_source(shared_dataset("bandai") / CLIPS["bandai"])
    rest = source.rest_pose()
    source = replace(
        source,
        rotations=torch.cat([rest.rotations, source.rotations]),
        translations=torch.cat([rest.translations, source.translations]),
    )
    rotations = retarget(source, joint_maps.BUILT_IN["bandai"]).motion.rotations
    at_rest, walk = rotations[:1], rotations[1:]
    assert at_rest[0, [NECK, HEAD]].norm(dim=-1).max() < 1e-4
    assert torch.rad2deg(walk[:, NECK].norm(dim=-1)).mean() < 10.0
    assert torch.rad2deg(walk[:, HEAD].norm(dim=-1)).mean() < 10.0


def test_knee_bend_sets_the_hip_twist() -> None:
    """A thigh twisted about its own axis with the knee bent: the bend plane recovers the twist,
    so the knee keeps a pure hinge rotation about its X axis."""
    rotations = torch.zeros(1, skeleton.NUM_JOINTS, 3)
    rotations[:, 0] = torch.tensor(UPRIGHT_ROOT_AXIS_ANGLE)
    rotations[:, skeleton.JOINT_INDEX["left_hip"]] = torch.tensor([0.3, 0.6, 0.0])
    rotations[:, skeleton.JOINT_INDEX["left_knee"]] = torch.tensor([1.2, 0.0, 0.0])
    motion = Motion(rotations, torch.zeros(1, 3), 30.0).on_floor()
    result = retarget(as_source(motion, "y", 1.0), SOURCE_MAP)
    knee = result.motion.rotations[0, skeleton.JOINT_INDEX["left_knee"]]
    # Within 0.08 rad: SMPL's thigh and shin are not quite collinear at rest, so the bend plane
    # is a little off its knee axis. Without the bend plane the knee would absorb the 0.6 twist.
    torch.testing.assert_close(knee, torch.tensor([1.2, 0.0, 0.0]), atol=0.08, rtol=0)


def standing_source(up: str, frames: int = 3) -> SourceMotion:
    """SMPL's rest skeleton standing still in a file whose up axis is `up`, named as SOURCE_MAP."""
    to_file = TO_Z_UP[up].T @ TO_Z_UP["y"]  # SMPL's Y-up rest frame, through our Z-up world
    rest = skeleton.rest_joints() @ to_file.T
    parents = torch.tensor(skeleton.PARENTS).clamp_min(0)
    offsets = rest - rest[parents]
    offsets[0] = rest[0]
    return SourceMotion(
        names=tuple(SOURCE_MAP.values()),
        parents=skeleton.PARENTS,
        offsets=offsets,
        rotations=torch.eye(3).expand(frames, skeleton.NUM_JOINTS, 3, 3).clone(),
        translations=offsets.expand(frames, -1, -1).clone(),
        fps=30.0,
        up=up,
    )


@pytest.mark.parametrize(("file_up", "read_up"), [("z", "y"), ("y", "z")])
def test_a_file_read_with_the_wrong_up_axis_is_refused_with_the_right_one(
    file_up: str, read_up: str
) -> None:
    source = standing_source(file_up)
    head = retarget(source, SOURCE_MAP).motion.joints()[0, HEAD]
    assert head[2] > 1.4  # stands with its own up axis
    message = (
        rf"with up='{read_up}' the body would lie down: its trunk, from 'src_pelvis' to "
        rf"'src_head', is \d+ degrees .* pass up='{file_up}' \(on the command line, import --up "
        rf"{file_up}\)"
    )
    with pytest.raises(MotionDataError, match=message):
        upright_source(replace(source, up=read_up), SOURCE_MAP)
    assert upright_source(replace(source, up=read_up), SOURCE_MAP, detect=True).up == file_up
    # A Blender rig is read in its Z-up world, where one that lies down lies in the scene.
    assert retarget(replace(source, up=read_up), SOURCE_MAP).motion.num_frames == 3


def test_importing_a_file_with_the_wrong_up_axis_names_the_file_and_the_axis(
    tmp_path: Path,
) -> None:
    path = tmp_path / "walk.bvh"
    bvh.write_bvh(smooth_motion(seconds=1.0), path)  # Y-up, as BVH is by convention
    assert mocap.import_motion(path).num_frames == 30
    with pytest.raises(MotionFileError, match=rf"{path}: with up='z' .* pass up='y'"):
        mocap.import_motion(path, up="z")


def test_a_rest_pose_or_a_motion_that_lies_down_alone_passes_the_up_axis_check() -> None:
    """Bandai's rest pose lies along +X but its motion stands; a clip of getting up lies down in
    most frames but its rest pose stands. With zero OFFSETs the rest pose is the position
    channels'."""
    standing, lying = standing_source("y"), standing_source("z")
    for source in (
        replace(standing, offsets=lying.offsets),
        replace(lying, offsets=standing.offsets, up="y"),
    ):
        assert upright_source(source, SOURCE_MAP, detect=True) is source  # kept as read
    zero = replace(lying, offsets=torch.zeros_like(lying.offsets), up="y")
    assert upright_source(zero, SOURCE_MAP, detect=True).up == "z"
    with pytest.raises(MotionDataError, match="would lie down"):
        upright_source(zero, SOURCE_MAP)


@pytest.mark.parametrize("degenerate", ["one joint", "zero-length bones"])
def test_legs_of_no_length_name_the_leg_joints(degenerate: str) -> None:
    source, joint_map = standing_source("y"), dict(SOURCE_MAP)
    legs = [f"{side}_{joint}" for side in ("left", "right") for joint in ("hip", "knee", "ankle")]
    if degenerate == "one joint":
        joint_map |= {name: "src_pelvis" for name in legs}
    else:
        translations = source.translations.clone()
        translations[:, [skeleton.JOINT_INDEX[name] for name in legs if "hip" not in name]] = 0.0
        source = replace(source, translations=translations)
    expected = "'src_pelvis'" if degenerate == "one joint" else "'src_left_knee'"
    message = rf"legs have no length \(left_hip -> '\w+', left_knee -> {expected}"
    with pytest.raises(MotionDataError, match=message):
        retarget(source, joint_map)


def import_clip(path: Path) -> tuple[SourceMotion, object]:
    source = mocap.read_source(path)
    _, joint_map = joint_maps.detect(source.names)
    return source, retarget(source, joint_map)


CLIPS = {
    "bandai": "Bandai-Namco-Research-Motiondataset-2/dataset-2_walk_normal_001.bvh",
    "deepmimic": "motions/humanoid3d_walk.txt",
    "cmu8": "train/walking/walking_1.txt",
}


# Median height of the lowest foot joint while walking. CMU8's floor is not level in the data
# (the feet rise about 4 cm over this clip, and the first frame is a T-pose lower still).
WALKING_FOOT_MEDIAN = {"bandai": 0.05, "deepmimic": 0.05, "cmu8": 0.12}


@pytest.mark.parametrize("dataset", sorted(CLIPS))
def test_real_clip_bones_feet_and_preview(dataset: str, tmp_path: Path) -> None:
    path = shared_dataset(dataset) / CLIPS[dataset]
    source = mocap.read_source(path)
    map_name, joint_map = joint_maps.detect(source.names)
    assert map_name == dataset
    result = retarget(source, joint_map)
    errors = direction_errors(result)
    aimed = [i for i, s in enumerate(result.segments) if s.kind in ALIGNABLE_KINDS]
    assert errors[:, aimed].mean() < 5.0
    assert errors[:, aimed].flatten().quantile(0.95) < 12.0
    feet = result.motion.joints()[:, skeleton.FOOT_JOINTS, 2].min(dim=1).values
    assert feet.quantile(FLOOR_QUANTILE).abs() < 1e-5  # on the floor
    assert feet.min() > -0.05  # brief dips below it stay small
    assert feet.median() < WALKING_FOOT_MEDIAN[dataset]  # walking: a foot is down

    frames = preview.render(comparison_figures(result), size=200)
    image = frames[len(frames) // 2]
    preview.write_png(image, tmp_path / f"{dataset}.png")
    colours = image.getcolors(maxcolors=100_000) or []
    assert len(colours) > 10  # bones drawn, not a blank panel
    left_panel, right_panel = image.crop((0, 0, 200, 200)), image.crop((200, 0, 400, 200))
    assert left_panel.getbbox() and right_panel.getbbox()
    assert (tmp_path / f"{dataset}.png").stat().st_size > 1000


def test_cmu8_names_match_the_body() -> None:
    """The ASF names were inferred; by forward kinematics the 'l' leg is on the subject's left."""
    source = mocap.read_source(shared_dataset("cmu8") / CLIPS["cmu8"])
    joints = source.joint_positions()[0].float() @ TO_Z_UP["y"].T
    names = source.names
    forward = joints[names.index("ltoes")] - joints[names.index("lfoot")]
    left = torch.linalg.cross(torch.tensor([0.0, 0.0, 1.0], dtype=joints.dtype), forward)
    across = joints[names.index("lfemur")] - joints[names.index("rfemur")]
    assert torch.dot(left, across) > 0
    assert joints[names.index("head"), 2] > joints[names.index("thorax"), 2]
    assert joints[names.index("ltoes"), 2] < joints[names.index("ltibia"), 2]


def test_a_bandai_clip_imports_without_a_pathological_slowdown() -> None:
    folder = shared_dataset("bandai") / "Bandai-Namco-Research-Motiondataset-2"
    path = folder / "dataset-2_walk_normal_001.bvh"
    mocap.import_motion(path)  # warm up
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        start = time.perf_counter()
        motion = mocap.import_motion(path).slice(0, 150)
        seconds = time.perf_counter() - start
    finally:
        torch.set_num_threads(threads)
    assert motion.duration == 5.0
    # about 0.05 s for the whole 9 s clip on one idle thread; the bound only catches a pathology
    # (e.g. per-frame Python loops), since shared machines are noisy
    assert seconds < 5.0


def test_posing_in_chunks_imports_a_long_capture_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Long captures are read, posed and solved POSE_CHUNK frames at a time (memory): slices of a
    few frames, whose boundaries fall mid-motion, must give exactly the one-slice result."""
    path = tmp_path / "long.bvh"
    bvh.write_bvh(smooth_motion(seconds=1.5), path)
    whole = mocap.import_motion(path)
    monkeypatch.setattr(kinematics, "POSE_CHUNK", 7)
    sliced = mocap.import_motion(path)
    torch.testing.assert_close(sliced.rotations, whole.rotations, rtol=0, atol=1e-6)
    torch.testing.assert_close(sliced.translation, whole.translation, rtol=0, atol=1e-6)
    torch.testing.assert_close(sliced.joints(), whole.joints(), rtol=0, atol=1e-6)


def test_a_bvh_on_smpls_own_skeleton_keeps_its_rotations(tmp_path: Path) -> None:
    """write_bvh's files are read from their channels: from joint positions alone a bone's twist
    is lost (15 degrees on the spine of a generated jog, its latent 0.94 cosine off)."""
    motion = smooth_motion(seed=3).on_floor(quantile=FLOOR_QUANTILE)
    bvh.write_bvh(motion, tmp_path / "smpl.bvh")
    read = files.read_motion(tmp_path / "smpl.bvh")
    turned = rot.angle_between(read.rotation_matrices(), motion.rotation_matrices())
    assert float(turned.max()) < 1e-4
    torch.testing.assert_close(read.translation, motion.translation, atol=1e-5, rtol=0)
    scaled = bvh.read_bvh(tmp_path / "smpl.bvh")  # the same skeleton in centimetres
    in_cm = replace(scaled, offsets=scaled.offsets * 100, translations=scaled.translations * 100)
    assert smpl_skeleton_motion(in_cm) is not None
    twisted = scaled.offsets.clone()
    twisted[scaled.names.index("spine2")] = torch.tensor([0.0, 0.0, 0.1], dtype=twisted.dtype)
    assert smpl_skeleton_motion(replace(scaled, offsets=twisted)) is None  # not SMPL's: retarget
