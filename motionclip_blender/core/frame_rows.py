"""Text mocap files: reading them, and frames stored one line of numbers each (BVH MOTION
sections, CMU8 sequences)."""

from __future__ import annotations

import codecs
import math
from pathlib import Path

import numpy as np

from .errors import MotionFileError

NumberedRow = tuple[int, list[str]]  # the 1-based line number and the words on that line
# The largest value a mocap file may hold. No capture in any unit (millimetres, degrees) has
# positions or angles near it (the shared datasets stay under 1,000); a larger value is a glitch
# that the float32 maths downstream turns into NaN.
MAX_VALUE = 1e7


def read_lines(path: Path) -> list[str]:
    """The file's lines (any line ends; a UTF-8 byte-order mark, which some Windows editors
    write, skipped); a missing or unreadable file raises MotionFileError.

    A file that is not UTF-8 is read as Latin-1, the other encoding exporters write, so that a
    joint named "Hüfte" keeps its name (a --map can name it) instead of becoming U+FFFD.
    """
    try:
        data = path.read_bytes().removeprefix(codecs.BOM_UTF8)
    except FileNotFoundError:
        raise MotionFileError(f"{path}: no such file") from None
    except OSError as error:
        raise MotionFileError(f"{path}: cannot read ({error.strerror})") from None
    try:
        return data.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        return data.decode("latin-1").splitlines()


def to_array(path: Path, rows: list[NumberedRow], width: int, expected: str) -> np.ndarray:
    """(frames, width) float64 values; a wrong count, a word that is not a number, or a value
    first_unusable finds raises a MotionFileError naming the file and the line. `expected` says
    what a line holds."""
    for number, words in rows:
        if len(words) != width:
            raise MotionFileError(
                f"{path}, line {number}: {len(words)} values; expected {width} ({expected})"
            )
    try:
        values = np.array([words for _, words in rows], dtype=np.float64)
    except ValueError:
        number = next(number for number, words in rows if not _all_numbers(words))
        raise MotionFileError(f"{path}, line {number}: a value is not a number") from None
    unusable = first_unusable(values)
    if unusable is not None:
        row, what = unusable
        raise MotionFileError(f"{path}, line {rows[row][0]}: {what}")
    return values


def first_unusable(values: np.ndarray) -> tuple[int, str] | None:
    """The first (frames, n) row holding NaN, an infinity or a value beyond MAX_VALUE, and what
    that value is; None when every value is usable."""
    bad = ~(np.abs(values) <= MAX_VALUE)  # NaN compares false
    if not bad.any():
        return None
    row = int(bad.any(axis=1).nonzero()[0][0])
    value = float(values[row][bad[row]][0])
    if not math.isfinite(value):
        return row, "NaN or infinite value"
    return row, (
        f"the value {value:g} is beyond ±{MAX_VALUE:g}, past any motion's positions and angles"
    )


def _all_numbers(words: list[str]) -> bool:
    try:
        [float(word) for word in words]
    except ValueError:
        return False
    return True
