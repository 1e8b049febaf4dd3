"""Stick-figure previews of motions: frames as PIL images, saved as GIF or PNG.

Any skeleton works (SMPL or a mocap source): a figure is joint positions over time plus parents.
Figures are drawn side by side, each in its own panel seen from the front-left by a fixed camera,
so travel across the floor shows. Left limbs are blue, right limbs red, the rest dark grey; bones
nearer the camera are drawn over farther ones.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from .atomic import write_atomically

BACKGROUND = (246, 246, 242)
FLOOR = (200, 200, 192)
SIDE_COLOURS = {-1: (52, 101, 164), 0: (60, 60, 60), 1: (204, 60, 52)}  # left, centre, right
AZIMUTH = math.radians(35.0)  # camera turned from straight in front (-Y) towards the subject's left


@dataclass(frozen=True)
class Figure:
    """One skeleton to draw.

    joints: (T, J, 3) positions in metres, Z up. parents: J entries, -1 for a root.
    title: drawn above the panel.
    sides: J entries, -1 left, 1 right, 0 centre (see sides_from_names); all centre when None.
    """

    joints: torch.Tensor
    parents: Sequence[int]
    title: str = ""
    sides: Sequence[int] | None = None


def sides_from_names(names: Sequence[str]) -> list[int]:
    """-1 for joints named as left (left_..., LeftArm, L_Hip, l_knee), 1 for right, 0 otherwise."""

    def side(name: str) -> int:
        lower = name.lower().split(":")[-1]
        if "left" in lower or lower.startswith(("l_", "l.")):
            return -1
        if "right" in lower or lower.startswith(("r_", "r.")):
            return 1
        return 0

    return [side(name) for name in names]


def render(figures: Sequence[Figure], size: int = 320) -> list[Image.Image]:
    """Draw the figures side by side, one image per frame; shorter figures hold their last frame."""
    if not figures:
        raise ValueError("render needs at least one figure")
    right = torch.tensor([math.cos(AZIMUTH), math.sin(AZIMUTH), 0.0])
    towards_camera = torch.tensor([math.sin(AZIMUTH), -math.cos(AZIMUTH), 0.0])
    panels = [_Panel(figure, right, towards_camera, size) for figure in figures]
    frames = max(figure.joints.shape[0] for figure in figures)
    images = []
    for frame in range(frames):
        image = Image.new("RGB", (size * len(panels), size), BACKGROUND)
        draw = ImageDraw.Draw(image)
        for index, panel in enumerate(panels):
            panel.draw(draw, min(frame, panel.frames - 1), offset=index * size)
        images.append(image)
    return images


def write_gif(frames: Sequence[Image.Image], path: str | Path, fps: float) -> None:
    """Save frames as a looping GIF; no partial file on failure."""
    first, *rest = frames
    duration = max(20, round(1000 / fps))  # browsers treat GIF delays under 20 ms as 100 ms
    write_atomically(
        Path(path),
        lambda stream: first.save(
            stream, format="GIF", save_all=True, append_images=rest, duration=duration, loop=0
        ),
    )


def write_png(image: Image.Image, path: str | Path) -> None:
    """Save one image as PNG; no partial file on failure."""
    write_atomically(Path(path), lambda stream: image.save(stream, format="PNG"))


class _Panel:
    """One figure's fixed camera: projection to pixels, framed to fit the whole motion."""

    def __init__(
        self, figure: Figure, right: torch.Tensor, towards_camera: torch.Tensor, size: int
    ) -> None:
        joints = figure.joints.detach().float().cpu()
        self.figure = figure
        self.frames = joints.shape[0]
        self.size = size
        self.screen_x = joints @ right
        self.height = joints[..., 2]
        self.depth = joints @ towards_camera
        floor = min(0.0, float(self.height.min()))
        low_x, high_x = float(self.screen_x.min()), float(self.screen_x.max())
        top = float(self.height.max())
        margin = 0.12 * size
        extent = max(high_x - low_x, top - floor, 1e-3)
        self.scale = (size - 2 * margin) / extent
        self.origin_x = size / 2 - self.scale * (low_x + high_x) / 2
        self.origin_y = size / 2 + self.scale * (floor + top) / 2
        self.floor = floor
        self.sides = list(figure.sides) if figure.sides is not None else [0] * joints.shape[1]

    def pixel(self, x: float, height: float, offset: int) -> tuple[float, float]:
        return offset + self.origin_x + self.scale * x, self.origin_y - self.scale * height

    def draw(self, draw: ImageDraw.ImageDraw, frame: int, offset: int) -> None:
        left = self.pixel(float(self.screen_x.min()) - 0.3, self.floor, offset)
        right = self.pixel(float(self.screen_x.max()) + 0.3, self.floor, offset)
        draw.line([left, right], fill=FLOOR, width=2)
        x, height, depth = self.screen_x[frame], self.height[frame], self.depth[frame]
        bones = [(child, parent) for child, parent in enumerate(self.figure.parents) if parent >= 0]
        bones.sort(key=lambda bone: float(depth[bone[0]] + depth[bone[1]]))
        width = max(2, round(self.size / 90))
        for child, parent in bones:
            side = self.sides[child] or self.sides[parent]
            draw.line(
                [
                    self.pixel(float(x[parent]), float(height[parent]), offset),
                    self.pixel(float(x[child]), float(height[child]), offset),
                ],
                fill=SIDE_COLOURS[side],
                width=width,
            )
        if self.figure.title:
            draw.text((offset + 6, 6), self.figure.title, fill=(30, 30, 30))
