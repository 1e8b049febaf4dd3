"""Every operator end to end in real headless Blender, on a small random checkpoint."""

from __future__ import annotations

import itertools
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from motionclip_blender.core import bvh, inference
from motionclip_blender.core.reconstruction import REFINE_STEPS
from motionclip_blender.core.rig import smpl_armature

from .motions import smooth_motion

bpy = pytest.importorskip("bpy")

from motionclip_blender.operators import actions, jobs  # noqa: E402
from motionclip_blender.operators.common import read_action  # noqa: E402

from .blender import fresh_scene, snapshot_actions, use_model, world_heads  # noqa: E402


@pytest.fixture
def scene(tiny_checkpoint: Path, tiny_clip_path: Path) -> Any:
    fresh_scene()
    use_model(tiny_checkpoint, tiny_clip_path)
    bpy.context.scene.render.fps = 30
    return bpy.context.scene


def generate(prompt: str = "a person walks", **options: Any) -> bpy.types.Object:
    assert bpy.ops.motionclip.generate(prompt=prompt, **options) == {"FINISHED"}
    return bpy.context.view_layer.objects.active


def user_action() -> bpy.types.Action:
    """An action a user made by hand, on an object of their own."""
    cube = bpy.data.objects.new("UserCube", None)
    bpy.context.scene.collection.objects.link(cube)
    cube.location = (1.0, 2.0, 3.0)
    cube.keyframe_insert("location", frame=1)
    cube.location = (4.0, 5.0, 6.0)
    cube.keyframe_insert("location", frame=40)
    return cube.animation_data.action


def test_generate_keys_the_model_motion_exactly(
    scene: Any, tiny_checkpoint: Path, tiny_clip_path: Path
) -> None:
    rig = generate("a person waves", seconds=2.0, seed=3)
    action = rig.animation_data.action
    assert action.name == "a person waves"
    session = inference.load(tiny_checkpoint, clip_weights=tiny_clip_path)
    expected = session.generate("a person waves", seconds=2.0, seed=3).resample(30.0)
    start = scene.frame_current
    assert action.frame_range[:] == pytest.approx((start, start + expected.num_frames - 1))
    joints = expected.joints().numpy()
    for frame in (0, 11, expected.num_frames - 1):
        scene.frame_set(start + frame)
        error = np.abs(world_heads(rig, smpl_armature().names) - joints[frame]).max()
        assert error < 1e-3, f"frame {frame}: {error * 1000:.2f} mm"


def test_generate_keys_the_rotation_channels_each_bone_plays(
    scene: Any, tiny_checkpoint: Path, tiny_clip_path: Path
) -> None:
    """An animator may turn the rig's bones to Euler angles (or axis-angle) to edit curves:
    quaternion keys would leave those bones still."""
    assert bpy.ops.motionclip.add_rig() == {"FINISHED"}
    rig = bpy.context.view_layer.objects.active
    modes = itertools.cycle(("XYZ", "ZXY", "AXIS_ANGLE", "QUATERNION", "YZX"))
    for bone, mode in zip(rig.pose.bones, modes, strict=False):
        bone.rotation_mode = mode
    generate("a person waves", seconds=2.0, seed=3)
    session = inference.load(tiny_checkpoint, clip_weights=tiny_clip_path)
    expected = session.generate("a person waves", seconds=2.0, seed=3).resample(30.0)
    joints = expected.joints().numpy()
    start = scene.frame_current
    for frame in range(0, expected.num_frames, 7):
        scene.frame_set(start + frame)
        error = np.abs(world_heads(rig, smpl_armature().names) - joints[frame]).max()
        assert error < 1e-3, f"frame {frame}: {error * 1000:.2f} mm"


@pytest.mark.parametrize(
    ("fps", "seconds", "frames"), [(60, 1.03, 62), (25, 3.33, 83), (60, 1.02, 61), (24, 1.07, 26)]
)
def test_generate_lasts_the_seconds_asked_for_at_the_scenes_rate(
    scene: Any, fps: int, seconds: float, frames: int
) -> None:
    """The model's 20 fps would round 1.03 s up to 1.05 s (63 frames at 60 fps) and 1.02 s down
    to 1.0 s (60)."""
    scene.render.fps = fps
    rig = generate("a person walks", seconds=seconds)
    start, end = rig.animation_data.action.frame_range
    assert end - start + 1 == frames == round(seconds * fps)


def test_generate_in_place_and_as_nla_strip(scene: Any) -> None:
    bpy.ops.motionclip.add_rig()
    rig = generate("a person runs", in_place=True, placement="NLA")
    assert rig.animation_data.action is None
    (track,) = rig.animation_data.nla_tracks
    (strip,) = track.strips
    assert strip.action.name == "a person runs" and strip.frame_start == scene.frame_current
    pelvis = []
    for frame in range(int(strip.frame_start), int(strip.frame_end) + 1, 10):
        scene.frame_set(frame)
        pelvis.append(world_heads(rig, ("pelvis",))[0])
    travel = np.ptp(np.array(pelvis)[:, :2], axis=0)  # the root's horizontal position stays put
    assert travel.max() < 1e-4


def test_read_back_gives_the_keyed_rotations_and_finds_its_own_action(scene: Any) -> None:
    rig = generate("a person walks", seconds=3.0)
    generate("a person jumps", seconds=2.0, placement="NLA")
    walk = bpy.data.actions["a person walks"]
    keyed = read_action(bpy.context, walk, rig).motion()
    channels = actions.action_fcurves(walk)
    quaternion = {
        (c.data_path, c.array_index): [p.co[1] for p in c.keyframe_points] for c in channels
    }
    elbow = 'pose.bones["left_elbow"].rotation_quaternion'
    assert len(quaternion[(elbow, 0)]) == keyed.num_frames
    # the same rotations come back: re-keying the read motion gives the same channel values
    from motionclip_blender.core.rig import motion_to_channels

    again = motion_to_channels(keyed, smpl_armature()).quaternions
    index = smpl_armature().names.index("left_elbow")
    stored = torch.tensor([quaternion[(elbow, i)] for i in range(4)]).T
    assert (again[:, index].float() - stored).abs().max() < 1e-4

    copy = walk.copy()
    rig.animation_data.action = copy
    assert bpy.ops.motionclip.find_similar(labels="walk, jump, walk") == {"FINISHED"}
    results = bpy.context.window_manager.motionclip.results
    assert results[0].name == "a person walks" and results[0].score > 0.999
    assert {label.name for label in bpy.context.window_manager.motionclip.labels} == {
        "walk",
        "jump",
    }


def test_find_similar_says_nothing_of_a_cameras_action(
    scene: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    bpy.ops.object.camera_add()
    camera = bpy.context.view_layer.objects.active
    camera.keyframe_insert("location", frame=1)
    camera.location = (1.0, 0.0, 0.0)
    camera.keyframe_insert("location", frame=20)
    generate("a person walks", seconds=2.0)
    capfd.readouterr()
    assert bpy.ops.motionclip.find_similar(labels="walk") == {"FINISHED"}
    report = capfd.readouterr().out
    assert "0 motions like 'a person walks'" in report and "not compared" not in report
    generate("a person jumps", seconds=2.0)
    assert bpy.ops.motionclip.find_similar(labels="walk") == {"FINISHED"}
    assert "1 motion like 'a person jumps'" in capfd.readouterr().out


def test_find_similar_searches_a_library_folder_and_applies_a_result(
    scene: Any, tmp_path: Path
) -> None:
    library = tmp_path / "library"
    library.mkdir()
    bvh.write_bvh(smooth_motion(seconds=2.0), library / "swing.bvh")
    prefs = bpy.context.preferences.addons["motionclip_blender"].preferences
    prefs.library_folder = str(library)
    rig = generate("a person walks")
    assert bpy.ops.motionclip.find_similar(labels="walk") == {"FINISHED"}
    results = bpy.context.window_manager.motionclip.results
    assert [(r.kind, r.name) for r in results] == [("FILE", "swing.bvh")]
    assert bpy.ops.motionclip.apply_result(index=0) == {"FINISHED"}
    applied = rig.animation_data.action
    assert applied.name == "swing.bvh" and "a person walks" in bpy.data.actions
    stash = [t for t in rig.animation_data.nla_tracks if t.name == "[Action Stash]"]
    assert stash and stash[0].strips[0].action.name == "a person walks"


def imported_take(path: Path, seed: int, where: tuple[float, float], turn: float) -> Any:
    """A BVH take imported by Blender, its armature object moved along the floor and turned."""
    from mathutils import Matrix

    bvh.write_bvh(smooth_motion(seconds=2.0, seed=seed), path)
    bpy.ops.import_anim.bvh(filepath=str(path))
    rig = bpy.context.view_layer.objects.active
    moved = Matrix.Translation((*where, 0.0)) @ Matrix.Rotation(turn, 4, "Z")
    rig.matrix_world = moved @ rig.matrix_world
    return rig


def pelvis_at(rig: Any, frame: int) -> np.ndarray:
    """The rig's world pelvis position along the floor (x, y) at a frame."""
    bpy.context.scene.frame_set(frame)
    return world_heads(rig, ("pelvis",))[0, :2]


def test_an_edit_of_another_rig_s_action_starts_where_that_action_does(
    scene: Any, tmp_path: Path
) -> None:
    """The decoder's output starts at the origin facing -Y, and the new rig went to the 3D
    cursor: an edit of a take played elsewhere jumped away from it."""
    source = imported_take(tmp_path / "take.bvh", 3, (4.0, 1.0), math.pi / 2)
    scene.cursor.location = (-2.0, 3.0, 0.0)
    start = scene.frame_current = int(source.animation_data.action.frame_range[0])
    assert bpy.ops.motionclip.edit(from_text="walk", to_text="run", strength=0.0) == {"FINISHED"}
    edited = bpy.context.view_layer.objects.active
    assert edited != source and tuple(edited.location) == (0.0, 0.0, 0.0)
    assert np.abs(pelvis_at(edited, start) - pelvis_at(source, start)).max() < 1e-3


def test_applying_another_rig_s_action_plays_it_where_that_rig_does(
    scene: Any, tmp_path: Path
) -> None:
    """The action is read in world space; the new rig at the cursor added the cursor to it."""
    query = imported_take(tmp_path / "query.bvh", 1, (0.0, 0.0), 0.0)
    other = imported_take(tmp_path / "other.bvh", 2, (4.0, 1.0), 0.0)
    scene.cursor.location = (4.0, 1.0, 0.0)
    bpy.context.view_layer.objects.active = query
    assert bpy.ops.motionclip.find_similar() == {"FINISHED"}
    results = bpy.context.window_manager.motionclip.results
    index = [r.name for r in results].index(other.animation_data.action.name)
    start = scene.frame_current = int(other.animation_data.action.frame_range[0])
    assert bpy.ops.motionclip.apply_result(index=index) == {"FINISHED"}
    applied = bpy.context.view_layer.objects.active
    assert np.abs(pelvis_at(applied, start) - pelvis_at(other, start)).max() < 0.02


def test_a_mocap_rig_imported_by_blender_is_read_as_smpl(scene: Any, tmp_path: Path) -> None:
    motion = smooth_motion(seconds=2.0)
    bvh.write_bvh(motion, tmp_path / "take.bvh")
    bpy.ops.import_anim.bvh(filepath=str(tmp_path / "take.bvh"))
    imported = bpy.context.view_layer.objects.active
    read = read_action(bpy.context, imported.animation_data.action, imported).motion()
    target = motion.on_floor().joints()
    error = (read.joints() - read.joints()[:1, :1] - (target - target[:1, :1])).norm(dim=-1)
    assert read.num_frames == motion.num_frames and float(error.max()) < 0.02


def test_core_pose_maths_match_blender_on_an_euler_rig(scene: Any, tmp_path: Path) -> None:
    from motionclip_blender.core import armature_pose
    from motionclip_blender.operators.sampling import sample_action

    bvh.write_bvh(smooth_motion(seconds=1.0), tmp_path / "take.bvh")
    bpy.ops.import_anim.bvh(filepath=str(tmp_path / "take.bvh"), rotate_mode="YXZ")
    rig = bpy.context.view_layer.objects.active
    rig.location, rig.scale = (0.5, -1.0, 0.2), (2.0, 2.0, 2.0)
    bpy.context.view_layer.update()
    samples = sample_action(rig, rig.animation_data.action, 30.0)
    assert set(samples.rotation_modes) == {"YXZ"}
    heads = armature_pose.world_heads(samples).numpy()
    through_source = armature_pose.source_motion(samples).joint_positions().numpy()
    start = int(rig.animation_data.action.frame_range[0])
    for frame in (0, 17):
        scene.frame_set(start + frame)
        blender = world_heads(rig, samples.names)
        assert np.abs(heads[frame] - blender).max() < 1e-4
        assert np.abs(through_source[frame] - blender).max() < 1e-4


def test_core_pose_maths_follow_the_bones_relations_as_blender_does(
    scene: Any, tmp_path: Path
) -> None:
    """Inherit Rotation off (a thigh), Local Location off (the root, keyed), Inherit Scale None
    and Average (a knee, the neck): exact; under a parent scaled in the pose, refused."""
    from motionclip_blender.core import armature_pose
    from motionclip_blender.core.errors import MotionDataError
    from motionclip_blender.operators.sampling import sample_action

    bvh.write_bvh(smooth_motion(seconds=1.0), tmp_path / "take.bvh")
    bpy.ops.import_anim.bvh(filepath=str(tmp_path / "take.bvh"))
    rig = bpy.context.view_layer.objects.active
    bones = rig.data.bones
    bones["left_hip"].use_inherit_rotation = False
    bones["pelvis"].use_local_location = False
    bones["right_knee"].inherit_scale = "NONE"
    bones["neck"].inherit_scale = "AVERAGE"
    bpy.context.view_layer.update()
    samples = sample_action(rig, rig.animation_data.action, 30.0)
    heads = armature_pose.world_heads(samples).numpy()
    start = int(rig.animation_data.action.frame_range[0])
    for frame in (0, 17):
        scene.frame_set(start + frame)
        assert np.abs(heads[frame] - world_heads(rig, samples.names)).max() < 1e-4
    rig.pose.bones["spine3"].scale = (1.3, 1.3, 1.3)
    scaled = sample_action(rig, rig.animation_data.action, 30.0)
    with pytest.raises(MotionDataError, match=r"bone 'neck' .* under 'spine3', which is scaled"):
        armature_pose.world_heads(scaled)


@pytest.mark.parametrize("mode", ["XYZ", "QUATERNION"])
def test_motion_keyed_on_the_armature_object_is_read_wherever_the_playhead_is(
    scene: Any, tmp_path: Path, mode: str
) -> None:
    """An animator may turn or move the whole armature object in the action: that is part of
    the motion, and reading it must not depend on the frame the scene is at."""
    from motionclip_blender.core import armature_pose
    from motionclip_blender.operators.actions import rotation_property
    from motionclip_blender.operators.sampling import sample_action

    bvh.write_bvh(smooth_motion(seconds=1.0), tmp_path / "take.bvh")
    bpy.ops.import_anim.bvh(filepath=str(tmp_path / "take.bvh"))
    rig = bpy.context.view_layer.objects.active
    rig.rotation_mode = mode
    start, end = (int(f) for f in rig.animation_data.action.frame_range)
    for frame, turn, x in ((start, 0.0, 0.0), (end, math.pi / 2, 2.0)):
        rig.location = (x, 0.0, 0.0)
        if mode == "QUATERNION":
            rig.rotation_quaternion = (math.cos(turn / 2), 0.0, 0.0, math.sin(turn / 2))
        else:
            rig.rotation_euler = (0.0, 0.0, turn)
        rig.keyframe_insert("location", frame=frame)
        rig.keyframe_insert(rotation_property(mode), frame=frame)
    rig.scale = (2.0, 2.0, 2.0)  # unkeyed: as it is
    readings = []
    for now in (start, end):
        scene.frame_set(now)
        samples = sample_action(rig, rig.animation_data.action, 30.0)
        readings.append(armature_pose.world_heads(samples).numpy())
        through_source = armature_pose.source_motion(samples).joint_positions().numpy()
    assert np.abs(readings[0] - readings[1]).max() < 1e-4
    for frame in (0, 11, end - start):
        scene.frame_set(start + frame)
        blender = world_heads(rig, samples.names)
        assert np.abs(readings[0][frame] - blender).max() < 1e-4
        assert np.abs(through_source[frame] - blender).max() < 1e-4


def test_travel_keyed_on_the_smpl_rig_object_is_part_of_its_motion(scene: Any) -> None:
    rig = generate("a person walks", seconds=2.0)
    action = rig.animation_data.action
    still = read_action(bpy.context, action, rig).motion()
    start, end = (int(f) for f in action.frame_range)
    for frame, x in ((start, 0.0), (end, 2.0)):
        rig.location = (x, 0.0, 0.0)
        rig.keyframe_insert("location", frame=frame)
    moved = read_action(bpy.context, action, rig).motion()
    travel = moved.translation - still.translation
    assert float(travel[0].abs().max()) < 1e-5
    torch.testing.assert_close(travel[-1], torch.tensor([2.0, 0.0, 0.0]), atol=1e-4, rtol=0)
    torch.testing.assert_close(moved.rotations, still.rotations)


def test_blend_places_in_betweens_one_after_another(scene: Any) -> None:
    rig = generate("a person walks", seconds=2.0)
    generate("a person jumps", seconds=3.0, placement="NLA")
    result = bpy.ops.motionclip.blend(
        action_a="a person walks", action_b="a person jumps", mode="STEPS", steps=3
    )
    assert result == {"FINISHED"}
    track = rig.animation_data.nla_tracks[-1]
    strips = sorted(track.strips, key=lambda strip: strip.frame_start)
    assert len(strips) == 3
    assert all(a.frame_end < b.frame_start for a, b in itertools.pairwise(strips))


def test_blends_last_their_interpolated_seconds_at_the_scenes_rate(scene: Any) -> None:
    """At 60 fps, 61 and 120 frames blended at 25 % last 1.2625 s, 76 frames; the model's 20 fps
    rounds that to 25 frames, 1.25 s, which resampled gives 75."""
    scene.render.fps = 60
    generate("a person walks", seconds=61 / 60, placement="NLA")
    generate("a person jumps", seconds=2.0, placement="NLA")
    options = {"mode": "WEIGHT", "weight": 0.25}
    assert bpy.ops.motionclip.blend(action_a="a person walks", action_b="a person jumps", **options)
    start, end = bpy.data.actions["a person walks x a person jumps 25%"].frame_range
    assert end - start + 1 == 76


def test_blending_the_same_actions_again_reuses_their_refined_latents(
    scene: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    generate("a person kicks with the left foot", seconds=2.5)
    generate("a person dances", seconds=3.0, placement="NLA")
    heard: list[str] = []
    update = jobs.Progress.update
    monkeypatch.setattr(jobs.Progress, "update", lambda p, f, m: heard.append(m) or update(p, f, m))
    refining = []
    for weight in (0.3, 0.7):
        heard.clear()
        result = bpy.ops.motionclip.blend(
            action_a="a person kicks with the left foot", action_b="a person dances", weight=weight
        )
        assert result == {"FINISHED"}
        refining.append(sum(message.startswith("Refining") for message in heard))
    assert refining == [REFINE_STEPS, 0]


def test_edit_makes_a_new_action(scene: Any) -> None:
    rig = generate("a person walks", seconds=2.0)
    before = set(bpy.data.actions.keys())
    assert bpy.ops.motionclip.edit(from_text="walk", to_text="run", strength=1.0) == {"FINISHED"}
    (new,) = set(bpy.data.actions.keys()) - before
    assert new.endswith("walk to run")
    assert rig.animation_data.nla_tracks[-1].strips[0].action.name == new


def test_edit_keeps_the_actions_length_at_the_scenes_rate(scene: Any) -> None:
    """61 frames at 60 fps are 61 / 3 model frames, which the model's 20 fps rounds to 20."""
    scene.render.fps = 60
    rig = generate("a person walks", seconds=61 / 60)
    assert rig.animation_data.action.frame_range[1] - rig.animation_data.action.frame_range[0] == 60
    before = set(bpy.data.actions.keys())
    assert bpy.ops.motionclip.edit(from_text="walk", to_text="run") == {"FINISHED"}
    (new,) = set(bpy.data.actions.keys()) - before
    start, end = bpy.data.actions[new].frame_range
    assert end - start + 1 == 61


def test_edit_strength_defaults_to_the_measured_one(scene: Any) -> None:
    operator = bpy.ops.motionclip.edit.get_rna_type().properties["strength"]
    assert operator.default == pytest.approx(inference.EDIT_STRENGTH)
    assert bpy.context.scene.motionclip.strength == pytest.approx(inference.EDIT_STRENGTH)  # panel


def test_the_refine_steps_preference_reaches_edit(scene: Any) -> None:
    prefs = bpy.context.preferences.addons["motionclip_blender"].preferences
    assert prefs.refine_steps == REFINE_STEPS
    generate("a person walks", seconds=2.0)
    made = {}
    try:
        for run, steps in enumerate((0, 0, 20)):
            prefs.refine_steps = steps
            before = snapshot_actions()
            assert bpy.ops.motionclip.edit(from_text="walk", to_text="run") == {"FINISHED"}
            (name,) = snapshot_actions().keys() - before.keys()
            made[run] = snapshot_actions()[name][1]
    finally:
        prefs.refine_steps = REFINE_STEPS
    assert made[0] == made[1]  # the same steps, the same keys
    assert made[0] != made[2]  # other steps, another latent


def test_blend_reports_refinement_steps_and_a_cancel_stops_it_with_nothing_written(
    scene: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefs = bpy.context.preferences.addons["motionclip_blender"].preferences
    generate("a person walks", seconds=2.0)
    generate("a person jumps", seconds=2.0, placement="NLA")
    heard: list[str] = []
    update = jobs.Progress.update

    def cancel_at_three(progress: jobs.Progress, fraction: float, message: str) -> None:
        heard.append(message)
        if message.endswith("(3/20)"):
            progress.cancel_requested.set()
        update(progress, fraction, message)

    monkeypatch.setattr(jobs.Progress, "update", cancel_at_three)
    before = snapshot_actions()
    try:
        prefs.refine_steps = 20
        result = bpy.ops.motionclip.blend(action_a="a person walks", action_b="a person jumps")
    finally:
        prefs.refine_steps = REFINE_STEPS
    assert result == {"FINISHED"}  # a cancel is a warning, not an error
    assert heard[-2:] == ["Refining the latents (2/20)", "Refining the latents (3/20)"]
    assert snapshot_actions() == before

    heard.clear()
    monkeypatch.setattr(jobs.Progress, "update", lambda p, f, m: heard.append(m) or update(p, f, m))
    assert bpy.ops.motionclip.blend(action_a="a person walks", action_b="a person jumps") == {
        "FINISHED"
    }
    refining = [message for message in heard if message.startswith("Refining")]
    assert refining[-1] == f"Refining the latents ({REFINE_STEPS}/{REFINE_STEPS})"
    assert len(refining) == REFINE_STEPS
    assert len(snapshot_actions()) == len(before) + 1


def test_no_operator_changes_existing_actions(scene: Any) -> None:
    mine = user_action()
    rig = generate("a person walks", seconds=2.0)
    generate("a person jumps", seconds=2.0, placement="NLA")
    before = snapshot_actions()
    generate("a person waves", seconds=2.0)
    bpy.ops.motionclip.find_similar(labels="walk")
    bpy.ops.motionclip.apply_result(index=0)
    bpy.ops.motionclip.blend(action_a="a person walks", action_b="a person jumps")
    bpy.ops.motionclip.edit(from_text="walk", to_text="run")
    bpy.ops.motionclip.add_rig()
    after = snapshot_actions()
    assert {name: after[name] for name in before} == before
    assert mine.users >= 1 and rig.name in bpy.data.objects


def test_undo_after_generate_removes_what_it_added(scene: Any) -> None:
    bpy.ops.motionclip.add_rig()
    bpy.ops.ed.undo_push(message="before generate")
    objects, actions_before = set(bpy.data.objects.keys()), set(bpy.data.actions.keys())
    # As from the UI: the call's second argument asks Blender to push the operator's undo step.
    result = bpy.ops.motionclip.generate("EXEC_DEFAULT", True, prompt="a person walks", seconds=2)
    assert result == {"FINISHED"} and "a person walks" in bpy.data.actions
    bpy.ops.ed.undo()
    assert set(bpy.data.actions.keys()) == actions_before
    assert set(bpy.data.objects.keys()) == objects
    assert bpy.data.objects["SMPL"].animation_data is None or (
        bpy.data.objects["SMPL"].animation_data.action is None
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: bpy.ops.motionclip.generate(prompt="   "), "Type a prompt"),
        (lambda: bpy.ops.motionclip.find_similar(), "select an armature"),
        (lambda: bpy.ops.motionclip.edit(from_text="a", to_text="b"), "select an armature"),
        (lambda: bpy.ops.motionclip.blend(action_a="", action_b=""), "choose two actions"),
        (lambda: bpy.ops.motionclip.blend(action_a="x", action_b="y"), "no action named 'x'"),
    ],
)
def test_user_errors_are_reported_in_words(scene: Any, call: Any, message: str) -> None:
    with pytest.raises(RuntimeError, match=message):
        call()


def keyed_armature(name: str, bones: list[str], frames: tuple[int, ...]) -> bpy.types.Object:
    """A new armature with a chain of bones, keyed by hand on `frames`, made active."""
    data = bpy.data.armatures.new(name)
    obj = bpy.data.objects.new(name, data)
    bpy.context.scene.collection.objects.link(obj)
    bpy.context.view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    parent = None
    for height, bone_name in enumerate(bones):
        bone = data.edit_bones.new(bone_name)
        bone.head, bone.tail, bone.parent = (0, 0, height), (0, 0, height + 1), parent
        parent = bone
    bpy.ops.object.mode_set(mode="OBJECT")
    for frame in frames:
        obj.pose.bones[bones[0]].keyframe_insert("rotation_quaternion", frame=frame)
    return obj


def test_a_rig_that_is_not_humanoid_is_named_with_what_it_lacks(scene: Any) -> None:
    keyed_armature("Tail", ["tail_base", "tail_tip"], frames=(1, 60))
    with pytest.raises(RuntimeError, match="pelvis") as error:
        bpy.ops.motionclip.find_similar()
    assert "tail_base" in str(error.value)  # the names it saw


def test_an_smpl_rig_with_renamed_bones_is_refused_as_a_target_and_read_as_any_rig(
    scene: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    rig = generate("a person walks", seconds=2.0)
    for side in ("left", "right"):
        rig.data.bones[f"{side}_elbow"].name = f"elbow.{side[0].upper()}"
    with pytest.raises(RuntimeError, match="has no bone 'left_elbow', 'right_elbow'"):
        generate("a person jumps", seconds=2.0)
    with pytest.raises(RuntimeError, match="has no bone 'left_elbow'"):
        bpy.ops.motionclip.edit(from_text="walk", to_text="run")
    capfd.readouterr()
    # read by its bone names, as any humanoid rig: here they no longer say where the elbows are
    with pytest.raises(RuntimeError, match="elbow") as error:
        bpy.ops.motionclip.find_similar(labels="walk")
    assert "unexpectedly" not in str(error.value) and "Traceback" not in capfd.readouterr().err


@pytest.mark.parametrize(
    ("setting", "value"),
    [("use_inherit_rotation", False), ("use_local_location", False), ("inherit_scale", "NONE")],
)
def test_an_smpl_rig_whose_bones_no_longer_follow_their_parent_is_refused_as_a_target(
    scene: Any, setting: str, value: Any
) -> None:
    """Keys from core.rig assume Blender's default relations: with Local Location off on the
    pelvis a generated motion played 1.2 m off."""
    rig = generate("a person walks", seconds=2.0)
    setattr(rig.data.bones["pelvis"], setting, value)
    with pytest.raises(RuntimeError, match="'pelvis': Inherit Rotation, Local Location or Inh"):
        generate("a person jumps", seconds=2.0)


@pytest.mark.parametrize("change", ["roll", "applied scale"])
def test_an_smpl_rig_whose_rest_changed_is_refused_as_a_target_and_read_as_any_rig(
    scene: Any, change: str
) -> None:
    """Keys from core.rig assume the rest the extension built: after Recalculate Roll the pose
    was distorted, and after applying a scale of 0.01 a 1.4 cm body slid 4 m."""
    rig = generate("a person walks", seconds=2.0)
    walk = rig.animation_data.action
    assert read_action(bpy.context, walk, rig).smpl_rig
    if change == "roll":
        bpy.ops.object.mode_set(mode="EDIT")
        bpy.ops.armature.select_all(action="SELECT")
        bpy.ops.armature.calculate_roll(type="GLOBAL_POS_Z")
        bpy.ops.object.mode_set(mode="OBJECT")
    else:
        rig.scale = (0.01, 0.01, 0.01)
        bpy.ops.object.transform_apply(location=False, rotation=False, scale=True)
    with pytest.raises(RuntimeError, match="no longer rests as the SMPL rig was built"):
        generate("a person jumps", seconds=2.0)
    assert not read_action(bpy.context, walk, rig).smpl_rig


def test_an_action_the_rig_does_not_play_is_read_with_its_unkeyed_bones_at_rest(
    scene: Any,
) -> None:
    """Find Similar reads every other action on the query's rig: bones the action does not key
    took the pose the rig held at the playhead, so its scores changed with the frame."""
    from motionclip_blender.operators.sampling import sample_action

    rig = generate("a person walks", seconds=2.0)
    walk = rig.animation_data.action
    rig.animation_data.action = bpy.data.actions.new("elbow only")
    elbow = rig.pose.bones["left_elbow"]
    for frame, angle in ((1, 0.0), (30, 1.0)):
        elbow.rotation_quaternion = (math.cos(angle / 2), math.sin(angle / 2), 0.0, 0.0)
        elbow.keyframe_insert("rotation_quaternion", frame=frame)
    partial = rig.animation_data.action
    rig.animation_data.action = walk
    reads = []
    for frame in (1, 40):
        scene.frame_set(frame)
        reads.append(sample_action(rig, partial, 30.0))
    torch.testing.assert_close(reads[0].rotation, reads[1].rotation)
    torch.testing.assert_close(reads[0].location, reads[1].location)
    others = [i for i, name in enumerate(reads[0].names) if name != "left_elbow"]
    rest = torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=torch.float64)
    torch.testing.assert_close(reads[0].rotation[:, others], rest.expand(30, len(others), 4))
    assert float(reads[0].location.abs().max()) == 0.0


def test_an_action_with_a_curve_for_a_deleted_bone_is_read_on_the_rig_that_plays_it(
    scene: Any,
) -> None:
    """Blender keeps an F-curve whose bone was deleted and plays the rest of the action."""
    rig = generate("a person walks", seconds=2.0)
    walk = rig.animation_data.action
    owner: Any = walk
    if actions.layered_actions():
        owner = walk.layers[0].strips[0].channelbag(actions.action_slot(walk, rig))
    frames = np.array([1.0, 2.0], dtype=np.float32)
    path = 'pose.bones["deleted_finger"].rotation_quaternion'
    actions.add_curve(owner, path, 0, "deleted_finger", frames, np.ones(2, dtype=np.float32))
    generate("a person jumps", seconds=2.0)  # walk stays on the rig, stashed
    assert bpy.ops.motionclip.blend(action_a=walk.name, action_b="a person jumps") == {"FINISHED"}
    assert bpy.ops.motionclip.find_similar(labels="walk") == {"FINISHED"}
    names = [result.name for result in bpy.context.window_manager.motionclip.results]
    assert walk.name in names


def test_a_new_active_action_replaces_the_nla_at_full_influence(
    scene: Any, capfd: pytest.CaptureFixture[str], tiny_checkpoint: Path, tiny_clip_path: Path
) -> None:
    """The rig's action was set to Combine at half influence over its NLA strips: a new active
    action under those settings would play mixed, not as generated."""
    rig = generate("a person walks", seconds=2.0, placement="NLA")
    rig.animation_data.action_blend_type = "COMBINE"
    rig.animation_data.action_influence = 0.5
    capfd.readouterr()
    generate("a person waves", seconds=2.0, seed=3)
    assert "blending set to Replace at full influence (was Combine, 50%)" in capfd.readouterr().out
    session = inference.load(tiny_checkpoint, clip_weights=tiny_clip_path)
    expected = session.generate("a person waves", seconds=2.0, seed=3).resample(30.0)
    scene.frame_set(scene.frame_current + 11)
    error = np.abs(world_heads(rig, smpl_armature().names) - expected.joints().numpy()[11]).max()
    assert error < 1e-3, f"{error * 1000:.2f} mm"


@pytest.mark.parametrize(
    ("module", "call"),
    [
        ("motionclip_blender.core.mannequin", lambda: bpy.ops.motionclip.add_rig()),
        ("motionclip_blender.core.rig", lambda: bpy.ops.motionclip.generate(prompt="a walk")),
    ],
)
def test_dependencies_that_cannot_load_are_reported_in_one_line(
    scene: Any, monkeypatch: pytest.MonkeyPatch, module: str, call: Any
) -> None:
    """As when the bundled torch does not load (a failed install, an older macOS)."""
    monkeypatch.setitem(sys.modules, module, None)  # importing it raises ImportError
    with pytest.raises(RuntimeError, match="cannot load what it needs") as error:
        call()
    assert "Traceback" not in str(error.value)


def test_an_action_shorter_than_a_second_is_refused(scene: Any) -> None:
    bpy.ops.motionclip.add_rig()
    rig = bpy.context.view_layer.objects.active
    rig.animation_data_create()
    rig.animation_data.action = bpy.data.actions.new("blink")
    for frame in (1, 15):
        rig.pose.bones["head"].keyframe_insert("rotation_quaternion", frame=frame)
    with pytest.raises(RuntimeError, match=r"action 'blink': a motion of .* is too short"):
        bpy.ops.motionclip.find_similar()
    generate("a person walks", seconds=2.0)  # a blend names which of its two is too short
    with pytest.raises(RuntimeError, match=r"action 'blink': a motion of .* is too short"):
        bpy.ops.motionclip.blend(action_a="a person walks", action_b="blink")


def test_a_missing_checkpoint_is_named(scene: Any, tmp_path: Path) -> None:
    use_model(tmp_path / "missing.pt")
    with pytest.raises(RuntimeError, match=r"missing\.pt"):
        bpy.ops.motionclip.generate(prompt="a person walks")
    from motionclip_blender.operators.preferences import model_settings

    prefs = bpy.context.preferences.addons["motionclip_blender"].preferences
    prefs.checkpoint, prefs.clip_weights = "  ", " "  # blank: the bundled model, no CLIP file
    settings = model_settings(bpy.context)
    assert (settings.checkpoint, settings.clip_weights) == (None, None)


def test_keys_are_written_in_bulk(scene: Any) -> None:
    """A guard against per-key insertion (which takes seconds); the real figure is a benchmark."""
    from motionclip_blender.core.rig import motion_to_channels

    bpy.ops.motionclip.add_rig()
    rig = bpy.context.view_layer.objects.active
    channels = motion_to_channels(smooth_motion(seconds=4.0), smpl_armature())
    start = time.perf_counter()
    actions.write_action(rig, smpl_armature(), channels, "bulk", 1)
    assert time.perf_counter() - start < 1.0


def test_worker_thread_path_applies_on_the_main_thread_and_cancels(
    scene: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs, "synchronous", lambda: False)
    applied: list[int] = []
    done = jobs.Job("Count", lambda progress: 41, lambda value: f"{applied.append(value + 1)}")
    cancelled = jobs.Job("Stop", cancelled_work, lambda value: "never")
    cancelled.progress.cancel_requested.set()
    assert jobs.submit(done) is None and jobs.submit(cancelled) is None
    deadline = time.monotonic() + 10
    while jobs.running() and time.monotonic() < deadline:
        jobs._drain()
        time.sleep(0.01)
    assert applied == [42] and not jobs.running()
    levels = {outcome.message: outcome.level for outcome in jobs.messages}
    assert levels["Stop: cancelled"] == "WARNING"


def cancelled_work(progress: jobs.Progress) -> int:
    progress.update(0.5, "working")
    return 0


def test_add_rig_uses_the_smpl_body_from_the_model_folder(scene: Any, tmp_path: Path) -> None:
    from .smpl_model import write_smpl_model

    write_smpl_model(tmp_path / "SMPL_NEUTRAL.npz")
    bpy.context.preferences.addons["motionclip_blender"].preferences.smpl_model_folder = str(
        tmp_path
    )
    assert bpy.ops.motionclip.add_rig() == {"FINISHED"}
    (body,) = bpy.context.view_layer.objects.active.children
    assert len(body.data.vertices) == 6890 and len(body.data.polygons) == 13776
    first = body.data.vertices[1]  # follows left_hip 0.75 and the pelvis 0.25
    weights = {body.vertex_groups[g.group].name: round(g.weight, 3) for g in first.groups}
    assert weights == {"left_hip": 0.75, "pelvis": 0.25}


def test_a_broken_smpl_folder_is_reported(scene: Any, tmp_path: Path) -> None:
    bpy.context.preferences.addons["motionclip_blender"].preferences.smpl_model_folder = str(
        tmp_path
    )
    with pytest.raises(RuntimeError, match="no SMPL model file"):
        bpy.ops.motionclip.add_rig()
    with pytest.raises(RuntimeError, match="no SMPL model file"):  # its new rig, made up front
        bpy.ops.motionclip.generate(prompt="a person walks")
    assert len(bpy.data.actions) == 0 and len(bpy.data.objects) == 0


def test_generate_reports_the_closest_training_caption(
    captioned_checkpoint: Path, tiny_clip_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    fresh_scene()
    use_model(captioned_checkpoint, tiny_clip_path)
    generate("a person jumps", seconds=2.0)
    assert "closest training caption: 'a person jumps' (cosine 1.00)" in capfd.readouterr().out
    bpy.ops.motionclip.edit(from_text="a person jumps", to_text="a person waves")
    assert (
        "from: closest training caption: 'a person jumps' (cosine 1.00); "
        "to: closest training caption: 'a person waves' (cosine 1.00)"
    ) in capfd.readouterr().out


def test_the_panel_cuts_long_reports_to_the_sidebar_width(monkeypatch: pytest.MonkeyPatch) -> None:
    """A sidebar label does not wrap, so the panel draws a long report as several labels."""
    from types import SimpleNamespace

    from motionclip_blender.operators.panel import MOTIONCLIP_PT_panel

    message = (
        "Generated 'a person plays the piano' on 'SMPL' as its action; the prompt is unlike every "
        "training caption; the closest is 'a person walks like in a musical' (cosine 0.49)"
    )
    monkeypatch.setattr(jobs, "messages", [jobs.Outcome("INFO", message)])
    labels: list[tuple[str, str]] = []
    layout = SimpleNamespace(label=lambda text, icon: labels.append((text, icon)))
    system = SimpleNamespace(ui_scale=1.0)
    context = SimpleNamespace(
        region=SimpleNamespace(width=280), preferences=SimpleNamespace(system=system)
    )  # 40 characters a line
    MOTIONCLIP_PT_panel.draw_jobs(None, layout, context)  # type: ignore[arg-type]
    assert len(labels) > 3 and all(len(text) <= 40 for text, _ in labels)
    assert " ".join(text for text, _ in labels) == message
    assert [icon for _, icon in labels] == ["INFO"] + ["BLANK1"] * (len(labels) - 1)
    monkeypatch.setattr(jobs, "messages", [jobs.Outcome("WARNING", "Blend: cancelled")])
    labels.clear()
    MOTIONCLIP_PT_panel.draw_jobs(None, layout, context)  # type: ignore[arg-type]
    assert labels == [("Blend: cancelled", "CANCEL")]  # the user's own doing, not an error


def test_an_action_is_read_on_the_armature_that_plays_it(scene: Any, tmp_path: Path) -> None:
    """A BVH armature with SMPL's bone names beside the SMPL rig: its action must not be read
    against the SMPL rig's rest pose, even with the SMPL rig active."""
    from motionclip_blender.operators.sampling import rig_for_action

    motion = smooth_motion(seconds=2.0)
    bvh.write_bvh(motion, tmp_path / "take.bvh")
    bpy.ops.import_anim.bvh(filepath=str(tmp_path / "take.bvh"))
    imported = bpy.context.view_layer.objects.active
    take = imported.animation_data.action
    rig = generate("a person walks", seconds=2.0)
    assert bpy.context.view_layer.objects.active == rig
    assert rig_for_action(take, rig) == imported
    read = read_action(bpy.context, take).motion()
    target = motion.on_floor().joints()
    error = (read.joints() - read.joints()[:1, :1] - (target - target[:1, :1])).norm(dim=-1)
    assert float(error.max()) < 0.02


@pytest.mark.skipif(not actions.layered_actions(), reason="action slots came with Blender 4.4")
def test_a_shared_action_is_read_through_the_rigs_own_slot(scene: Any) -> None:
    empty = bpy.data.objects.new("Empty", None)
    bpy.context.scene.collection.objects.link(empty)
    for frame, x in ((1, 0.0), (60, 1.0)):
        empty.location.x = x
        empty.keyframe_insert("location", frame=frame)
    shared = empty.animation_data.action  # its first slot is the empty's
    bpy.ops.motionclip.add_rig()
    rig = bpy.context.view_layer.objects.active
    rig.animation_data_create()
    rig.animation_data.action = shared
    rig.animation_data.action_slot = shared.slots.new(id_type="OBJECT", name=rig.name)
    shoulder = rig.pose.bones["left_shoulder"]
    for frame, quaternion in ((1, (1, 0, 0, 0)), (30, (0.7071, 0.7071, 0, 0)), (60, (1, 0, 0, 0))):
        shoulder.rotation_quaternion = quaternion
        shoulder.keyframe_insert("rotation_quaternion", frame=frame)
    samples = read_action(bpy.context, shared, rig).samples
    index = samples.names.index("left_shoulder")
    assert samples.rotation[29, index].tolist() == pytest.approx([0.7071, 0.7071, 0, 0], abs=1e-4)


@pytest.mark.skipif(not actions.layered_actions(), reason="action slots came with Blender 4.4")
def test_a_rig_plays_its_own_slots_frames_and_keeps_its_slot_when_stashed(scene: Any) -> None:
    """The empty's slot keys frames 1-100, the rig's 1-30: read over the action's whole range,
    the rig held its last pose for 70 frames; stashed without its slot, it played nothing."""
    empty = bpy.data.objects.new("Empty", None)
    bpy.context.scene.collection.objects.link(empty)
    for frame, x in ((1, 0.0), (100, 1.0)):
        empty.location.x = x
        empty.keyframe_insert("location", frame=frame)
    shared = empty.animation_data.action
    bpy.ops.motionclip.add_rig()
    rig = bpy.context.view_layer.objects.active
    rig.animation_data_create()
    rig.animation_data.action = shared
    slot = rig.animation_data.action_slot = shared.slots.new(id_type="OBJECT", name=rig.name)
    shoulder = rig.pose.bones["left_shoulder"]
    for frame, quaternion in ((1, (1, 0, 0, 0)), (30, (0.7071, 0.7071, 0, 0))):
        shoulder.rotation_quaternion = quaternion
        shoulder.keyframe_insert("rotation_quaternion", frame=frame)
    assert read_action(bpy.context, shared, rig).samples.location.shape[0] == 30
    generate("a person walks", seconds=2.0)  # the shared action is stashed
    (stash,) = [track for track in rig.animation_data.nla_tracks if track.name == "[Action Stash]"]
    assert stash.strips[0].action == shared and stash.strips[0].action_slot == slot


def test_nla_tweak_mode_is_refused_before_anything_is_written(scene: Any) -> None:
    rig = generate("a person walks", seconds=2.0, placement="NLA")
    animation = rig.animation_data
    animation.nla_tracks.active = animation.nla_tracks[0]
    animation.nla_tracks[0].strips[0].select = True
    animation.use_tweak_mode = True
    before, tracks = snapshot_actions(), len(animation.nla_tracks)
    with pytest.raises(RuntimeError, match="tweak mode"):
        generate("a person jumps", seconds=2.0)
    assert snapshot_actions() == before and len(animation.nla_tracks) == tracks


def test_a_failed_operator_leaves_no_new_rig(scene: Any, tmp_path: Path) -> None:
    use_model(tmp_path / "missing.pt")
    bpy.ops.motionclip.add_rig()
    mine = bpy.context.view_layer.objects.active
    mine.select_set(False)
    bpy.context.view_layer.objects.active = None
    objects = set(bpy.data.objects.keys())
    with pytest.raises(RuntimeError, match=r"missing\.pt"):
        bpy.ops.motionclip.generate(prompt="a person walks")
    assert set(bpy.data.objects.keys()) == objects
    assert len(bpy.data.armatures) == 1 and len(bpy.data.meshes) == 1
    with pytest.raises(RuntimeError, match=r"missing\.pt"):  # a rig of the user's stays
        bpy.context.view_layer.objects.active = mine
        bpy.ops.motionclip.generate(prompt="a person walks")
    assert set(bpy.data.objects.keys()) == objects


def test_edit_of_an_action_over_8_seconds_edits_its_first_8(
    scene: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    from motionclip_blender.core.rig import motion_to_channels

    bpy.ops.motionclip.add_rig()
    rig = bpy.context.view_layer.objects.active
    channels = motion_to_channels(smooth_motion(seconds=9.0), smpl_armature())
    rig.animation_data_create()
    rig.animation_data.action = actions.write_action(rig, smpl_armature(), channels, "long", 1)
    before = set(bpy.data.actions.keys())
    assert bpy.ops.motionclip.edit(from_text="walk", to_text="run", strength=1.0) == {"FINISHED"}
    (new,) = set(bpy.data.actions.keys()) - before
    start, end = bpy.data.actions[new].frame_range
    assert end - start + 1 == 8 * 30
    assert "only its first 8 s, of 9.0 s, were edited" in capfd.readouterr().out


def test_an_nla_result_under_an_active_action_says_it_is_hidden(
    scene: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    rig = generate("a person walks", seconds=2.0)
    capfd.readouterr()
    assert bpy.ops.motionclip.edit(from_text="walk", to_text="run", placement="NLA") == {"FINISHED"}
    assert rig.animation_data.action.name == "a person walks"  # the user's, left as it is
    assert "the active action 'a person walks' plays over it" in capfd.readouterr().out
    rig.animation_data.action = None
    bpy.ops.motionclip.blend(action_a="a person walks", action_b="a person walks walk to run")
    assert "plays over it" not in capfd.readouterr().out


def test_blend_names_keep_their_weight_as_a_percentage(scene: Any) -> None:
    from motionclip_blender.operators.blend import blend_name

    generate("a person walks", seconds=2.0)
    generate("a person jumps", seconds=2.0)
    for _ in range(2):
        bpy.ops.motionclip.blend(action_a="a person walks", action_b="a person jumps", weight=0.5)
    assert {
        "a person walks x a person jumps 50%",
        "a person walks x a person jumps 50%.001",
    } <= set(bpy.data.actions.keys())
    long = blend_name("w" * 80, "j" * 80, 0.25)
    assert long == "w" * 23 + "… x " + "j" * 23 + "… 25%" and len(long.encode()) <= 60


@pytest.mark.parametrize("text", ["ü" * 40, "人" * 30, "a" * 70])
def test_action_names_fit_blenders_bytes(text: str) -> None:
    from motionclip_blender.operators.common import MAX_NAME, action_name

    name = action_name(text)
    assert len(name.encode()) <= MAX_NAME and name.endswith("…") and text.startswith(name[:-1])


def test_a_cancel_after_the_works_last_check_writes_nothing(scene: Any) -> None:
    applied: list[str] = []

    def cancelled_late(progress: jobs.Progress) -> str:
        progress.update(0.9, "almost done")
        progress.cancel_requested.set()  # the user presses Cancel after the last check
        return "result"

    job = jobs.Job("Late", cancelled_late, lambda value: f"{applied.append(value)}")
    outcome = jobs.submit(job)
    assert outcome == jobs.Outcome("WARNING", "Late: cancelled") and not applied


def test_an_unexpected_error_when_applying_is_reported_and_discards(scene: Any) -> None:
    discarded: list[bool] = []

    def broken(value: int) -> str:
        raise AttributeError("read-only")

    def discard() -> bool:
        discarded.append(True)
        return True

    job = jobs.Job("Broken", lambda progress: 1, broken, discard)
    outcome = jobs.submit(job)
    assert outcome is not None and outcome.level == "ERROR" and "read-only" in outcome.message
    assert discarded == [True]


def test_disabling_the_add_on_stops_its_jobs(scene: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    import addon_utils

    monkeypatch.setattr(jobs, "synchronous", lambda: False)
    release, applied, discarded = threading.Event(), [], []

    def discard() -> bool:
        discarded.append(True)  # the rig its operator added, left empty otherwise
        return True

    job = jobs.Job(
        "Slow", lambda progress: release.wait(10), lambda value: f"{applied.append(1)}", discard
    )
    from motionclip_blender.operators import session
    from motionclip_blender.operators.preferences import model_settings

    session.model_session(model_settings(bpy.context))  # a loaded model, to be let go
    assert jobs.submit(job) is None and bpy.app.timers.is_registered(jobs._drain)
    addon_utils.disable("motionclip_blender", default_set=True)
    try:
        assert session._cached is None  # the model's memory goes with the add-on
        assert not bpy.app.timers.is_registered(jobs._drain) and not jobs.running()
        assert job.progress.cancel_requested.is_set() and discarded == [True]
        release.set()
        time.sleep(0.2)
        jobs._drain()  # as a timer registered again by a later job would
        assert not applied
    finally:
        addon_utils.enable("motionclip_blender", default_set=True)


def run_in_background(monkeypatch: pytest.MonkeyPatch) -> None:
    """Jobs in worker threads, drained by the test where the UI's timer would drain them; the
    error popup, which needs a window (headless it crashes Blender), is left out."""
    monkeypatch.setattr(jobs, "synchronous", lambda: False)
    monkeypatch.setattr(jobs, "_popup", lambda message: None)


def drain() -> None:
    deadline = time.monotonic() + 30
    while jobs.running() and time.monotonic() < deadline:
        jobs._drain()
        time.sleep(0.01)
    assert not jobs.running()


def test_opening_a_file_forgets_running_jobs(
    scene: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import threading

    bpy.ops.motionclip.add_rig()
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "other.blend"))
    run_in_background(monkeypatch)
    release, applied = threading.Event(), []
    job = jobs.Job("Slow", lambda progress: release.wait(10), lambda value: f"{applied.append(1)}")
    assert jobs.submit(job) is None
    bpy.ops.wm.open_mainfile(filepath=str(tmp_path / "other.blend"))
    assert not jobs.running() and job.progress.cancel_requested.is_set()
    release.set()
    time.sleep(0.2)
    jobs._drain()  # as the timer a later job registers again would
    assert not applied


def test_undo_while_the_model_works_cancels_it(scene: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    bpy.ops.motionclip.add_rig()
    bpy.ops.ed.undo_push(message="rig added")
    before = snapshot_actions()
    run_in_background(monkeypatch)
    bpy.ops.motionclip.generate("EXEC_DEFAULT", True, prompt="a person jumps", seconds=2)
    bpy.ops.ed.undo()  # the user undoes the Generate while it works
    drain()
    assert snapshot_actions() == before
    assert jobs.messages[-1] == jobs.Outcome("WARNING", "Generate: cancelled")


def generate_beside_a_cube(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Generate from the UI (its undo step pushed), working in the background, in a scene
    holding only a Cube: the rig it adds is the only other object."""
    cube = bpy.data.objects.new("Cube", None)
    bpy.context.scene.collection.objects.link(cube)
    bpy.ops.ed.undo_push(message="start")
    run_in_background(monkeypatch)
    bpy.ops.motionclip.generate("EXEC_DEFAULT", True, prompt="a person walks", seconds=2)


def assert_undoing_a_later_step_keeps_only_the_cube() -> None:
    assert sorted(bpy.data.objects.keys()) == ["Cube"]
    bpy.data.objects["Cube"].location.x = 5.0
    bpy.ops.ed.undo_push(message="move")
    bpy.ops.ed.undo()  # undoes the move only, not the removal of the rig
    assert sorted(bpy.data.objects.keys()) == ["Cube"]


def test_undo_does_not_bring_back_a_rig_a_failed_job_removed(
    scene: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    generate_beside_a_cube(monkeypatch)
    jobs.cancel_all()
    drain()  # the cancelled job removes the rig its operator added
    assert_undoing_a_later_step_keeps_only_the_cube()


def test_a_device_torch_cannot_use_is_reported_and_the_new_rig_removed(scene: Any) -> None:
    prefs: Any = bpy.context.preferences.addons["motionclip_blender"].preferences
    prefs.device = "cuda"  # this torch is CPU-only, as every package build.py makes
    with pytest.raises(RuntimeError, match="the device 'cuda' cannot be used"):
        generate("a person walks", seconds=2.0)
    assert "SMPL" not in bpy.data.objects


def test_a_rig_linked_from_a_library_is_refused(scene: Any, tmp_path: Path) -> None:
    generate("a person walks", seconds=2.0)
    library = tmp_path / "library.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(library))
    fresh_scene()
    with bpy.data.libraries.load(str(library), link=True) as (_source, linked):
        linked.objects = ["SMPL"]
    rig = linked.objects[0]
    bpy.context.scene.collection.objects.link(rig)
    bpy.context.view_layer.objects.active = rig
    before = snapshot_actions()
    with pytest.raises(RuntimeError, match=r"armature 'SMPL' is linked from .*library\.blend"):
        generate("a person jumps", seconds=2.0)
    assert snapshot_actions() == before and rig.animation_data.action.name == "a person walks"


def test_with_a_linked_collection_active_the_new_rig_goes_in_the_scenes_collection(
    scene: Any, tmp_path: Path
) -> None:
    """Objects cannot be added to a collection linked from a library (File > Link)."""
    bpy.context.scene.collection.children.link(bpy.data.collections.new("Set"))
    library = tmp_path / "set.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(library))
    fresh_scene()
    with bpy.data.libraries.load(str(library), link=True) as (_source, linked):
        linked.collections = ["Set"]
    bpy.context.scene.collection.children.link(linked.collections[0])
    layers = bpy.context.view_layer.layer_collection
    bpy.context.view_layer.active_layer_collection = layers.children["Set"]
    rig = generate("a person walks", seconds=2.0)
    assert rig.animation_data.action.name == "a person walks"
    assert [obj.users_collection[:] for obj in bpy.data.objects] == [
        (bpy.context.scene.collection,)
    ] * 2  # the rig and its body, and nothing left outside


def test_a_replaced_clip_weights_file_is_loaded_afresh(
    tiny_checkpoint: Path, tmp_path: Path
) -> None:
    import os

    from motionclip_blender.operators.session import ModelSettings, model_session
    from tests.tiny_models import tiny_clip

    weights = tmp_path / "clip.pt"
    torch.save(tiny_clip().state_dict(), weights)
    settings = ModelSettings(str(tiny_checkpoint), str(weights), False, "cpu")
    first = model_session(settings)
    assert model_session(settings) is first  # kept while nothing changed
    torch.save(tiny_clip(seed=1).state_dict(), weights)  # the user fixes a wrong file
    os.utime(weights, ns=(0, 10**18))
    assert model_session(settings) is not first


def test_a_rig_renamed_while_the_model_works_still_gets_the_result(
    scene: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_in_background(monkeypatch)
    bpy.ops.motionclip.generate(prompt="a person walks", seconds=2)
    rig = bpy.data.objects["SMPL"]
    rig.name = "Hero"
    drain()
    assert jobs.messages[-1].level == "INFO"
    assert bpy.data.objects["Hero"].animation_data.action.name == "a person walks"


def test_a_cancel_removes_only_what_its_operator_added(
    scene: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_in_background(monkeypatch)
    bpy.ops.motionclip.generate(prompt="a person walks", seconds=2)
    added = bpy.data.objects["SMPL"]
    added.name = "Hero"  # renamed while it works, and another rig takes its old name
    bpy.context.view_layer.objects.active = None
    bpy.ops.motionclip.add_rig()
    hat = bpy.data.objects.new("Hat", None)
    bpy.context.scene.collection.objects.link(hat)
    hat.parent = added  # a prop the user put on the new rig
    jobs.cancel_all()
    drain()
    assert "Hero" not in bpy.data.objects  # the job's own rig and its body go
    assert {"SMPL", "Hat"} <= set(bpy.data.objects.keys())  # the user's objects stay


def test_a_result_follows_its_action_through_a_rename(scene: Any) -> None:
    rig = generate("a person walks", seconds=3.0)
    generate("a person jumps", seconds=3.0, placement="NLA")
    rig.animation_data.action = bpy.data.actions["a person walks"].copy()
    assert bpy.ops.motionclip.find_similar() == {"FINISHED"}
    results = bpy.context.window_manager.motionclip.results
    best = next(i for i, result in enumerate(results) if result.name == "a person walks")
    walk, jump = bpy.data.actions["a person walks"], bpy.data.actions["a person jumps"]
    walk.name, jump.name = "tmp", "a person walks"  # the names swap after the search
    walk.name = "a person jumps"
    assert bpy.ops.motionclip.apply_result(index=best) == {"FINISHED"}
    rig = bpy.context.view_layer.objects.active
    joints = {
        action.name: read_action(bpy.context, action, rig).motion().joints()
        for action in (rig.animation_data.action, walk, jump)
    }
    applied = joints[rig.animation_data.action.name]
    assert torch.allclose(applied, joints[walk.name], atol=1e-4)  # the walk, now 'a person jumps'
    assert not torch.allclose(applied[:60], joints[jump.name][:60], atol=1e-2)
    bpy.data.actions.remove(walk)
    with pytest.raises(RuntimeError, match="no longer in this file"):
        bpy.ops.motionclip.apply_result(index=best)


def test_opening_a_file_clears_the_previous_files_reports(scene: Any, tmp_path: Path) -> None:
    generate("a person walks", seconds=2.0)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "other.blend"))
    jobs.messages.append(jobs.Outcome("INFO", "Generated 'a person walks' on 'SMPL'"))
    bpy.ops.wm.open_mainfile(filepath=str(tmp_path / "other.blend"))
    assert not jobs.messages


def test_the_panel_says_at_once_that_a_job_is_cancelling(monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from motionclip_blender.operators.panel import MOTIONCLIP_PT_panel

    job = jobs.Job("Generate", lambda progress: None, lambda value: "")
    job.progress.update(0.6, "Generating")
    monkeypatch.setattr(jobs, "_running", [job])
    monkeypatch.setattr(jobs, "messages", [])
    bars: list[str] = []
    buttons: list[tuple[str, str]] = []

    def button(name: str, text: str, icon: str) -> SimpleNamespace:
        buttons.append((text, icon))
        return SimpleNamespace()

    row = SimpleNamespace(progress=lambda factor, text: bars.append(text), operator=button)
    layout = SimpleNamespace(row=lambda align: row, operator=button)
    context = SimpleNamespace(region=None, preferences=None)
    MOTIONCLIP_PT_panel.draw_jobs(None, layout, context)  # type: ignore[arg-type]
    assert bars == ["Generate: Generating"] and buttons == [("", "X")]
    job.progress.cancel_requested.set()  # the user pressed Cancel; the work has not seen it yet
    MOTIONCLIP_PT_panel.draw_jobs(None, layout, context)  # type: ignore[arg-type]
    assert bars[-1] == "Generate: cancelling at the next step" and buttons == [("", "X")]


def test_each_running_job_can_be_cancelled_alone(
    scene: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow Blend and a quick Generate: the user stops the Blend, the Generate goes on; with
    two or more still running, Cancel All stops them all."""
    from types import SimpleNamespace

    from motionclip_blender.operators.panel import MOTIONCLIP_PT_panel

    blend, generate_job, edit = (
        jobs.Job(name, lambda progress: None, lambda value: "") for name in ("B", "G", "E")
    )
    monkeypatch.setattr(jobs, "_running", [blend, generate_job, edit])
    monkeypatch.setattr(jobs, "messages", [])
    buttons: list[tuple[str, SimpleNamespace]] = []

    def button(name: str, text: str, icon: str) -> SimpleNamespace:
        buttons.append((text, SimpleNamespace(job=0)))
        return buttons[-1][1]

    row = SimpleNamespace(progress=lambda factor, text: None, operator=button)
    layout = SimpleNamespace(row=lambda align: row, operator=button)
    context = SimpleNamespace(region=None, preferences=None)
    MOTIONCLIP_PT_panel.draw_jobs(None, layout, context)  # type: ignore[arg-type]
    assert [text for text, _ in buttons] == ["", "", "", "Cancel All"]
    assert [b.job for _, b in buttons] == [blend.number, generate_job.number, edit.number, 0]
    assert bpy.ops.motionclip.cancel(job=blend.number) == {"FINISHED"}
    assert [j.progress.cancel_requested.is_set() for j in (blend, generate_job, edit)] == [
        True,
        False,
        False,
    ]
    assert bpy.ops.motionclip.cancel() == {"FINISHED"}  # Cancel All
    assert all(j.progress.cancel_requested.is_set() for j in (generate_job, edit))


def test_a_result_kept_from_an_older_version_is_refused_in_words(scene: Any) -> None:
    """Results live on the window manager, so they outlive an add-on update in one session;
    those of versions that keyed actions by name must not end in a traceback."""
    generate("a person walks", seconds=2.0)
    result = bpy.context.window_manager.motionclip.results.add()
    result.name, result.kind, result.key = "a person walks", "ACTION", "a person walks"
    with pytest.raises(RuntimeError, match="no longer in this file"):
        bpy.ops.motionclip.apply_result(index=0)


def test_disabling_the_add_on_mid_job_leaves_an_undo_step(
    scene: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import addon_utils

    generate_beside_a_cube(monkeypatch)
    addon_utils.disable("motionclip_blender", default_set=True)  # removes the job's new rig
    try:
        assert_undoing_a_later_step_keeps_only_the_cube()
    finally:
        addon_utils.enable("motionclip_blender", default_set=True)


def test_the_blend_box_follows_a_renamed_action_and_keeps_it_in_the_file(
    scene: Any, tmp_path: Path
) -> None:
    """The chosen actions are pointers: a rename after choosing, or saving and opening the file,
    still hands the blend button the actions the user chose."""
    from types import SimpleNamespace

    from motionclip_blender.operators.panel import MOTIONCLIP_PT_panel

    generate("a person walks", seconds=2.0)
    generate("a person jumps", seconds=2.0)
    settings = bpy.context.scene.motionclip
    settings.action_a = bpy.data.actions["a person walks"]
    settings.action_b = bpy.data.actions["a person jumps"]
    bpy.data.actions["a person walks"].name = "stroll"
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "blend.blend"))
    bpy.ops.wm.open_mainfile(filepath=str(tmp_path / "blend.blend"))
    settings = bpy.context.scene.motionclip

    button = SimpleNamespace()
    box = SimpleNamespace(
        label=lambda **_: None,
        prop=lambda *_, **__: None,
        row=lambda align: SimpleNamespace(prop=lambda *_, **__: None),
        operator=lambda name: button,
    )
    MOTIONCLIP_PT_panel.draw_blend(None, box, settings)  # type: ignore[arg-type]
    assert (button.action_a, button.action_b) == ("stroll", "a person jumps")
    assert bpy.ops.motionclip.blend(action_a=button.action_a, action_b=button.action_b) == {
        "FINISHED"
    }
    settings.action_b = None  # nothing chosen: the button asks for two actions
    MOTIONCLIP_PT_panel.draw_blend(None, box, settings)  # type: ignore[arg-type]
    assert button.action_b == ""


def test_with_the_body_selected_the_rig_it_belongs_to_is_used(scene: Any) -> None:
    """Clicking the character in the viewport selects its body mesh: Generate goes on that
    rig, not on a second one added over it, and Edit and Find Similar read its action."""
    rig = generate("a person walks", seconds=2.0)
    body = rig.children[0]
    bpy.context.view_layer.objects.active = body
    assert bpy.ops.motionclip.generate(prompt="a person jumps", seconds=2.0) == {"FINISHED"}
    assert [obj.type for obj in bpy.data.objects].count("ARMATURE") == 1
    assert rig.animation_data.action.name == "a person jumps"
    bpy.context.view_layer.objects.active = body
    assert bpy.ops.motionclip.find_similar(labels="walk, jump") == {"FINISHED"}
    assert bpy.ops.motionclip.edit(from_text="jump", to_text="walk", strength=1.0) == {"FINISHED"}


def test_the_scene_range_is_widened_to_play_a_new_motion_to_its_end(
    scene: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    scene.render.fps = 60
    scene.frame_start, scene.frame_end, scene.frame_current = 1, 250, 50
    rig = generate("a person walks", seconds=8.0)  # 480 frames from frame 50
    last = rig.animation_data.action.frame_range[1]
    assert last > 250 and (scene.frame_start, scene.frame_end) == (1, math.ceil(last))
    assert f"scene 'Scene' now plays frames 1 to {math.ceil(last)}" in capfd.readouterr().out
    scene.frame_current = 1
    generate("a person jumps", seconds=1.0)  # a shorter one never narrows the range
    assert scene.frame_end == math.ceil(last)
    scene.frame_current = 600
    blend = bpy.ops.motionclip.blend(
        action_a="a person walks", action_b="a person jumps", mode="STEPS", steps=2
    )
    assert blend == {"FINISHED"}
    strips = rig.animation_data.nla_tracks[-1].strips
    assert scene.frame_end == math.ceil(strips[-1].frame_end)


def test_the_report_says_when_the_scene_range_cannot_reach_negative_frames(
    scene: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    """With negative frames allowed a motion may start before frame 0, where no scene range
    starts: the report said the range was widened to play it, twice."""
    bpy.context.preferences.edit.use_negative_frames = True
    try:
        scene.frame_start, scene.frame_end, scene.frame_current = 1, 250, -20
        capfd.readouterr()
        generate("a person walks", seconds=2.0)
        first = capfd.readouterr().out
        assert "now plays frames 0 to 250" in first and "cannot play frames -20 to -1" in first
        generate("a person jumps", seconds=2.0)
        second = capfd.readouterr().out
        assert "now plays" not in second and "cannot play frames -20 to -1" in second
        assert (scene.frame_start, scene.frame_end) == (0, 250)
    finally:
        bpy.context.preferences.edit.use_negative_frames = False


class RecordingLayout:
    """A stand-in for bpy.types.UILayout that records every property the panel draws."""

    def __init__(self, props: list[tuple[Any, str]]) -> None:
        self._props = props

    def prop(self, data: Any, name: str, **_: Any) -> None:
        self._props.append((data, name))

    def __getattr__(self, _: str) -> Any:
        return lambda *args, **kwargs: RecordingLayout(self._props)


def test_the_panel_draws_every_setting_once_and_placement_for_all(scene: Any) -> None:
    """The whole panel draws in real Blender, every property it shows exists, and the one
    Placement setting is drawn once, outside the Generate box, since Edit and Apply Result use
    it too."""
    from types import SimpleNamespace

    from motionclip_blender.operators.panel import MOTIONCLIP_PT_panel

    generate("a person walks", seconds=2.0)
    props: list[tuple[Any, str]] = []
    layout = RecordingLayout(props)
    panel = SimpleNamespace(
        layout=layout,
        draw_jobs=lambda *args: MOTIONCLIP_PT_panel.draw_jobs(None, *args),  # type: ignore[arg-type]
        draw_blend=lambda *args: MOTIONCLIP_PT_panel.draw_blend(None, *args),  # type: ignore[arg-type]
    )
    MOTIONCLIP_PT_panel.draw(panel, bpy.context)  # type: ignore[arg-type]
    names = [name for _, name in props]
    assert all(name in data.bl_rna.properties for data, name in props), names
    assert names.count("placement") == 1 and names.index("placement") < names.index("prompt")
    assert {"prompt", "labels", "action_a", "action_b", "strength"} <= set(names)


def test_a_rig_another_operator_chose_is_kept_when_the_job_that_added_it_fails(
    scene: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Generate with nothing selected adds a rig and makes it active; a second operator started
    before the first job ends puts its result on that rig, so the first job's failure or cancel
    must not remove it while that result is on it or still coming; when both fail it goes."""
    from motionclip_blender.operators.common import by_uid, ensure_target_rig

    bpy.context.view_layer.objects.active = None
    first = ensure_target_rig(bpy.context)  # adds a rig, now the active object
    second = ensure_target_rig(bpy.context)  # another operator: its result goes on that rig
    assert second.uid == first.uid and not second.added
    working = jobs.Job("Generate", lambda progress: None, str, second.discard, second.uid)
    monkeypatch.setattr(jobs, "_running", [working])
    assert not first.discard() and by_uid(bpy.data.objects, first.uid) is not None
    monkeypatch.setattr(jobs, "_running", [])  # the second failed too: nothing holds the rig
    assert not second.discard() and first.discard()
    assert by_uid(bpy.data.objects, first.uid) is None

    bpy.context.view_layer.objects.active = None
    first = ensure_target_rig(bpy.context)
    rig = by_uid(bpy.data.objects, first.uid)
    rig.animation_data_create().action = bpy.data.actions.new("applied")  # the second's result
    assert not first.discard() and by_uid(bpy.data.objects, first.uid) is not None


def test_curves_keyed_on_every_frame_are_read_in_bulk_as_evaluated(scene: Any) -> None:
    """Keys on every frame (imports, this extension) are read as they are stored, which is what
    evaluating the curve there gives; a curve with a modifier is still evaluated."""
    from motionclip_blender.operators.sampling import curve_values

    rig = generate("a person walks", seconds=2.0)
    action = rig.animation_data.action
    curve = next(c for c in actions.action_fcurves(action, rig) if "rotation" in c.data_path)
    start, end = (int(f) for f in action.frame_range)
    frames = [float(f) for f in range(start, end + 1)]
    evaluated = torch.tensor([curve.evaluate(f) for f in frames], dtype=torch.float64)
    assert torch.equal(curve_values(curve, frames), evaluated)
    curve.modifiers.new("NOISE").strength = 5.0
    noisy = torch.tensor([curve.evaluate(f) for f in frames], dtype=torch.float64)
    assert not torch.equal(noisy, evaluated) and torch.equal(curve_values(curve, frames), noisy)
    shorter = frames[:-1]  # the keys are not the frames asked for: evaluated
    assert torch.equal(curve_values(curve, shorter), noisy[:-1])
