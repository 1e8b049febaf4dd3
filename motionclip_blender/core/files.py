"""Reading and writing motion files, the format chosen by the file's suffix."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from . import amass, bvh, mocap
from .errors import MotionFileError
from .motion import Motion

# A .bvh file of any skeleton is retargeted onto SMPL with a joint map detected from its names.
READERS: dict[str, Callable[[Path], Motion]] = {".npz": amass.read_npz, ".bvh": mocap.import_motion}
WRITERS: dict[str, Callable[[Motion, Path], None]] = {
    ".npz": amass.write_npz,
    ".bvh": bvh.write_bvh,
}


def read_motion(path: str | os.PathLike[str]) -> Motion:
    """Read any supported motion file, chosen by suffix."""
    path = Path(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise MotionFileError(
            f"{path}: unknown motion file type '{path.suffix}'; expected one of "
            f"{', '.join(sorted(READERS))}"
        )
    return reader(path)


def write_motion(motion: Motion, path: str | os.PathLike[str]) -> None:
    """Write a motion to a supported file type, chosen by suffix."""
    path = Path(path)
    writer = WRITERS.get(path.suffix.lower())
    if writer is None:
        raise MotionFileError(
            f"{path}: cannot write motion files of type '{path.suffix}'; expected one of "
            f"{', '.join(sorted(WRITERS))}"
        )
    writer(motion, path)


def existing_folder(path: str | os.PathLike[str], role: str) -> Path:
    """`path` as a Path when it is a folder; else a MotionFileError saying that the `role`
    folder ("library", "SMPL model", "output") is a file, does not exist or cannot be looked at
    (a name too long: is_dir and exists pass on such errors rather than answer False)."""
    folder = Path(path)
    try:
        if folder.is_dir():
            return folder
        what = "is a file, not a folder" if folder.exists() else "does not exist"
    except OSError as error:
        what = f"cannot be read ({error.strerror})"
    raise MotionFileError(f"{folder}: {role} folder {what}")
