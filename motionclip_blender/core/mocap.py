"""Importing mocap files of any skeleton (BVH, DeepMimic, CMU8) as SMPL motions."""

from __future__ import annotations

import codecs
import os
from pathlib import Path

from . import bvh, cmu8, deepmimic, joint_maps
from .errors import MotionDataError, MotionFileError
from .motion import Motion
from .retarget import retarget, smpl_skeleton_motion, upright_source
from .source_motion import SourceMotion


def read_source(path: str | os.PathLike[str], up: str = "y") -> SourceMotion:
    """Read a mocap file on its own skeleton: .bvh, or a .txt that is DeepMimic JSON or CMU8.

    up: a BVH file's up axis, "y" or "z"; DeepMimic and CMU8 files are always Y-up. Every error
    names the file.
    """
    path = Path(path)
    try:
        return _read_source(path, up)
    except MotionDataError as error:
        raise MotionFileError(f"{path}: {error}") from None


def _read_source(path: Path, up: str) -> SourceMotion:
    """read_source, whose readers may raise MotionDataError without the file's name."""
    suffix = path.suffix.lower()
    if suffix == ".bvh":
        return bvh.read_bvh(path, up)
    if suffix in (".txt", ".json"):
        if up != "y":
            raise MotionFileError(
                f"{path}: DeepMimic and CMU8 motions are always Y-up; up axis '{up}' applies to "
                "BVH files only"
            )
        try:
            with path.open("rb") as stream:
                # A UTF-8 byte-order mark, which some Windows editors write, may come first.
                first = stream.read(64).removeprefix(codecs.BOM_UTF8).lstrip()[:1]
        except FileNotFoundError:
            raise MotionFileError(f"{path}: no such file") from None
        except OSError as error:
            raise MotionFileError(f"{path}: cannot read ({error.strerror})") from None
        return deepmimic.read_deepmimic(path) if first == b"{" else cmu8.read_cmu8(path)
    raise MotionFileError(
        f"{path}: unknown mocap file type '{path.suffix}'; expected .bvh, a DeepMimic motion "
        "(.txt JSON) or a CMU8 sequence (.txt)"
    )


def import_motion(
    path: str | os.PathLike[str],
    joint_map: str | None = None,
    fps: float | None = None,
    up: str | None = None,
) -> Motion:
    """Read a mocap file and retarget it onto SMPL, on the floor.

    joint_map: a built-in map name or a JSON file; None detects it from the joint names.
    fps: resample to this frame rate; None keeps the file's.
    up: a BVH file's up axis, "y" or "z" (see read_source); None: Y-up, the BVH convention,
        unless the body lies down that way and stands Z-up (retarget.upright_source).
    """
    source = read_source(path, up or "y")
    try:
        _, chosen = joint_maps.resolve(joint_map, source.names)
        detect = up is None and Path(path).suffix.lower() == ".bvh"
        source = upright_source(source, chosen, detect)
        motion = smpl_skeleton_motion(source) or retarget(source, chosen).motion
        return motion if fps is None else motion.resample(fps)
    except MotionDataError as error:
        raise MotionFileError(f"{path}: {error}") from None
