from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageChops

from motionclip_blender.core import preview, skeleton

from .motions import smooth_motion


def smpl_figure(title: str = "") -> preview.Figure:
    joints = smooth_motion(seconds=1.0).joints()
    sides = preview.sides_from_names(skeleton.JOINT_NAMES)
    return preview.Figure(joints, skeleton.PARENTS, title, sides)


def test_figures_are_drawn_side_by_side_on_every_frame() -> None:
    short = preview.Figure(smpl_figure().joints[:5], skeleton.PARENTS, "short")
    frames = preview.render([smpl_figure("a"), short], size=200)
    assert len(frames) == 30 and frames[0].size == (400, 200)
    blank = Image.new("RGB", (200, 200), preview.BACKGROUND)
    for panel in (0, 200):
        crop = frames[10].crop((panel, 0, panel + 200, 200))
        assert ImageChops.difference(crop, blank).getbbox() is not None
    limb_colours = {preview.SIDE_COLOURS[-1], preview.SIDE_COLOURS[1]}
    assert limb_colours <= {colour for _, colour in frames[0].getcolors(100_000) or []}


def test_motion_changes_the_picture() -> None:
    frames = preview.render([smpl_figure()], size=160)
    assert ImageChops.difference(frames[0], frames[-1]).getbbox() is not None


def test_gif_and_png_files(tmp_path: Path) -> None:
    frames = preview.render([smpl_figure()], size=120)
    preview.write_gif(frames, tmp_path / "m.gif", fps=30)
    preview.write_png(frames[0], tmp_path / "m.png")
    with Image.open(tmp_path / "m.gif") as gif:
        assert gif.n_frames == len(frames)
    with Image.open(tmp_path / "m.png") as png:
        assert png.size == (120, 120)


def test_sides_from_common_joint_names() -> None:
    names = ["left_hip", "RightArm", "mixamorig:LeftHand", "L_Knee", "r_ankle", "Hips", "neck"]
    assert preview.sides_from_names(names) == [-1, 1, -1, -1, 1, 0, 0]


def test_render_needs_a_figure() -> None:
    with pytest.raises(ValueError, match="at least one figure"):
        preview.render([])
