"""Writing a file without ever leaving partial output behind."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from .errors import MotionFileError


def _process_umask() -> int:
    """The process umask (read by setting it and putting it back, once, at import)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# mkstemp makes files readable by their owner alone; finished files get the usual mode instead.
FILE_MODE = 0o666 & ~_process_umask()


def write_atomically(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Call write(stream) on a temporary file beside `path`, then move it into place.

    A failure at any point removes the temporary file, so no partial output is ever left behind
    and an existing file at `path` is only replaced by a complete one.
    """
    if not path.parent.is_dir():
        raise MotionFileError(f"{path}: folder {path.parent} does not exist")
    try:
        if path.is_dir():  # raises for a name too long
            raise MotionFileError(f"{path}: is a folder; give a file name")
        # A name of its own, hidden and short: one built from path's name would be too long
        # for the file system when path's name is near its 255-byte limit.
        handle, temporary = tempfile.mkstemp(prefix=".motionclip-", suffix=".part", dir=path.parent)
    except OSError as error:
        raise MotionFileError(f"{path}: cannot write here ({error.strerror})") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
        os.chmod(temporary, FILE_MODE)
        try:
            os.replace(temporary, path)
        except OSError as error:
            raise MotionFileError(f"{path}: cannot write ({error.strerror})") from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def check_output_folder(path: str | os.PathLike[str], what: str) -> None:
    """Fail before any work when an output folder, or a folder above it, is a file (`what`
    names the option or setting that gave the path)."""
    for place in (Path(path), *Path(path).parents):
        if place.exists():
            if not place.is_dir():
                raise MotionFileError(f"{what}: {place} is a file, not a folder")
            return
