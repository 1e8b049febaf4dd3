"""Image targets for the CLIP image loss: rendered frames of each window, encoded once, cached.

Frames are rendered headless by Blender's Workbench engine through the bpy package: the
mannequin body of core.mannequin, posed rigidly per bone by core.mannequin.posed_vertices, seen
by an orthographic camera from the front-left that follows the pelvis. FRAMES_PER_WINDOW frames
evenly spread over each window are rendered and encoded by the CLIP image tower; training draws
one of them per step. The cache is keyed by the prepared data, the text space and the settings.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from motionclip_blender.core import mannequin, pose_features
from motionclip_blender.core.atomic import write_atomically
from motionclip_blender.core.motion import Motion
from motionclip_blender.core.rig import smpl_armature
from motionclip_blender.core.text_spaces import TextSpace

from .config import ImageConfig
from .embeddings import space_fingerprint
from .prepared import PreparedData

logger = logging.getLogger(__name__)

CAMERA_AZIMUTH = math.radians(30.0)  # from straight in front towards the subject's left
CAMERA_DISTANCE = 6.0
CAMERA_HEIGHT = 1.0
VIEW_SIZE = 2.4  # metres seen across the orthographic frame


def frame_indices(length: int, count: int) -> list[int]:
    """`count` frame numbers spread evenly over a window of `length` frames (centres of equal
    parts)."""
    return [min(length - 1, int((index + 0.5) * length / count)) for index in range(count)]


class MannequinRenderer:
    """A Blender scene with the mannequin and a camera; `render` poses it and takes pictures."""

    def __init__(self, resolution: int) -> None:
        folder = Path(tempfile.mkdtemp(prefix="motionclip-render-"))
        os.environ.setdefault("BLENDER_USER_RESOURCES", str(folder / "blender"))
        os.environ.setdefault("XDG_CACHE_HOME", str(folder / "cache"))
        import bpy

        self.bpy: Any = bpy
        self.output = folder / "frame.png"
        bpy.ops.wm.read_factory_settings(use_empty=True)
        scene: Any = bpy.context.scene  # always set in a factory scene
        scene.render.engine = "BLENDER_WORKBENCH"
        scene.render.resolution_x = scene.render.resolution_y = resolution
        scene.render.filepath = str(self.output)
        scene.display.shading.light = "STUDIO"
        scene.display.shading.color_type = "SINGLE"
        self.armature = smpl_armature()
        self.mesh = mannequin.mannequin_mesh(self.armature)
        data = bpy.data.meshes.new("mannequin")
        data.from_pydata(self.mesh.vertices.tolist(), [], self.mesh.faces)
        self.body_mesh = data
        self.body = bpy.data.objects.new("mannequin", data)
        scene.collection.objects.link(self.body)
        camera = bpy.data.cameras.new("camera")
        camera.type = "ORTHO"
        camera.ortho_scale = VIEW_SIZE
        self.camera = bpy.data.objects.new("camera", camera)
        scene.collection.objects.link(self.camera)
        scene.camera = self.camera
        self.scene = scene

    def render(self, motion: Motion, frames: list[int]) -> list[Image.Image]:
        """Pictures of the given frames of a motion."""
        from mathutils import Vector

        vertices = mannequin.posed_vertices(self.mesh, self.armature, motion)
        pelvis = motion.joints()[:, 0]
        direction = torch.tensor([math.sin(CAMERA_AZIMUTH), -math.cos(CAMERA_AZIMUTH), 0.0])
        images = []
        for frame in frames:
            self.body_mesh.vertices.foreach_set("co", vertices[frame].flatten().tolist())
            self.body_mesh.update()
            target = torch.tensor([pelvis[frame, 0], pelvis[frame, 1], CAMERA_HEIGHT - 0.1])
            location = target + CAMERA_DISTANCE * direction
            location[2] = CAMERA_HEIGHT
            self.camera.location = location.tolist()
            look = Vector((target - location).tolist())
            self.camera.rotation_euler = look.to_track_quat("-Z", "Y").to_euler()
            self.bpy.ops.render.render(write_still=True)
            with Image.open(self.output) as picture:
                images.append(picture.convert("RGB"))
        return images


def image_embeddings(
    data: PreparedData, space: TextSpace, settings: ImageConfig, cache: Path
) -> torch.Tensor:
    """(N, frames_per_window, dim) CLIP image embeddings of every window's rendered frames."""
    count = settings.frames_per_window
    name = f"images-{data.key}-{space_fingerprint(space)}-{count}x{settings.resolution}.pt"
    path = cache / name
    if path.is_file():
        return torch.load(path, weights_only=True)
    logger.info("rendering and encoding %d frames of %d windows", count * len(data), len(data))
    renderer = MannequinRenderer(settings.resolution)
    rows = []
    for index in range(len(data)):
        motion = pose_features.features_to_motion(data.window(index), data.fps)
        pictures = renderer.render(motion, frame_indices(motion.num_frames, count))
        rows.append(space.encode_image(pictures))
    table = torch.stack(rows)
    cache.mkdir(parents=True, exist_ok=True)
    write_atomically(path, lambda stream: torch.save(table, stream))
    return table
