"""Image alignment: the mannequin posed per bone, rendered by Workbench, encoded by CLIP."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from motionclip_blender.core import mannequin, skeleton
from motionclip_blender.core.kinematics import forward_kinematics, global_rotations
from motionclip_blender.core.motion import rest_motion
from motionclip_blender.core.rig import smpl_armature
from training.config import load_config
from training.train import Process, Trainer

from .motions import smooth_motion
from .training_setup import amass_dataset, write_config


def test_global_rotations_reproduce_forward_kinematics() -> None:
    motion = smooth_motion(0.5)
    local = motion.rotation_matrices()
    world = global_rotations(local)
    joints = forward_kinematics(local, motion.translation)

    rest = skeleton.rest_joints()
    for joint, parent in enumerate(skeleton.PARENTS[1:], start=1):
        bone = (world[:, parent] @ (rest[joint] - rest[parent])[:, None]).squeeze(-1)
        torch.testing.assert_close(joints[:, joint] - joints[:, parent], bone)


def test_posed_mannequin_at_rest_is_the_mesh_and_parts_follow_their_bones() -> None:
    armature = smpl_armature()
    mesh = mannequin.mannequin_mesh(armature)
    standing = rest_motion(1).on_floor()
    posed = mannequin.posed_vertices(mesh, armature, standing)[0]
    shift = standing.joints()[0, 0].double() - armature.heads[0]  # the pose moves, not bends
    torch.testing.assert_close(posed, mesh.vertices + shift, atol=1e-5, rtol=0)
    moving = smooth_motion(0.5)
    posed = mannequin.posed_vertices(mesh, armature, moving)
    joints = moving.joints().double()
    for bone in (4, 18):  # a knee, an elbow: each part keeps its distance to its joint
        part = mesh.weights[:, bone] == 1
        rest_distance = (mesh.vertices[part] - armature.heads[bone]).norm(dim=-1)
        distance = (posed[:, part] - joints[:, None, bone]).norm(dim=-1)
        torch.testing.assert_close(distance, rest_distance.expand_as(distance))


@pytest.mark.slow
def test_workbench_renders_a_visible_mannequin() -> None:
    from training.images import MannequinRenderer, frame_indices

    pictures = MannequinRenderer(64).render(smooth_motion(1.0), frame_indices(30, 2))
    assert len(pictures) == 2
    for picture in pictures:
        pixels = np.asarray(picture.convert("L"), dtype=np.float32)
        background = np.median(pixels[0])
        body = np.abs(pixels - background) > 20
        assert 0.02 < body.mean() < 0.6  # a figure fills part of the frame, not none or all
    assert not np.array_equal(np.asarray(pictures[0]), np.asarray(pictures[1]))


@pytest.mark.slow
def test_clip_image_loss_trains_with_the_tiny_clip(tmp_path: Path, tiny_clip_path: Path) -> None:
    data = tmp_path / "amass"
    amass_dataset(data, sequences_per_label=1)
    config = load_config(
        write_config(
            tmp_path / "c.toml",
            data,
            tiny_clip_path,
            loss={"image": 1.0},
            image={"frames_per_window": 2, "resolution": 32},
            train={"batch_size": 4},
        )
    )
    trainer = Trainer(config, Process(0, 1, torch.device("cpu")))
    images = trainer.batches.images
    assert images is not None and images.shape == (8, 2, 32)
    assert not torch.allclose(images[0, 0], images[1, 0])
    terms = trainer.train_step()
    assert 0 < terms["image"] < 2
    assert list((tmp_path / "cache").glob("images-*.pt"))
