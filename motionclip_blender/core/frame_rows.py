"""Text mocap files: reading them, and frames stored one line of numbers each (BVH MOTION
sections, CMU8 sequences)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .errors import MotionFileError

NumberedRow = tuple[int, list[str]]  # the 1-based line number and the words on that line
# Motions are computed in float32: a larger stored value would become infinite there.
MAX_FLOAT32 = float(np.finfo(np.float32).max)


def read_lines(path: Path) -> list[str]:
    """The file's lines (any line ends; a UTF-8 byte-order mark, which some Windows editors
    write, skipped); a missing or unreadable file raises MotionFileError."""
    try:
        return path.read_text(encoding="utf-8-sig", errors="replace").splitlines()
    except FileNotFoundError:
        raise MotionFileError(f"{path}: no such file") from None
    except OSError as error:
        raise MotionFileError(f"{path}: cannot read ({error.strerror})") from None


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
    """The first (frames, n) row holding NaN, an infinity or a value past float32's range, and
    what that value is; None when every value is usable."""
    bad = ~(np.abs(values) <= MAX_FLOAT32)  # NaN compares false
    if not bad.any():
        return None
    row = int(bad.any(axis=1).nonzero()[0][0])
    value = float(values[row][bad[row]][0])
    if not math.isfinite(value):
        return row, "NaN or infinite value"
    return row, f"the value {value:g} is past float32's range (±{MAX_FLOAT32:.3g})"


def _all_numbers(words: list[str]) -> bool:
    try:
        [float(word) for word in words]
    except ValueError:
        return False
    return True
