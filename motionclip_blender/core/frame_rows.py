"""Text mocap files: reading them, and frames stored one line of numbers each (BVH MOTION
sections, CMU8 sequences)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import MotionFileError

NumberedRow = tuple[int, list[str]]  # the 1-based line number and the words on that line


def read_lines(path: Path) -> list[str]:
    """The file's lines (any line ends); a missing or unreadable file raises MotionFileError."""
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        raise MotionFileError(f"{path}: no such file") from None
    except OSError as error:
        raise MotionFileError(f"{path}: cannot read ({error.strerror})") from None


def to_array(path: Path, rows: list[NumberedRow], width: int, expected: str) -> np.ndarray:
    """(frames, width) float64 values; a wrong count, a word that is not a number, NaN or inf
    raises a MotionFileError naming the file and the line. `expected` says what a line holds."""
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
    bad = ~np.isfinite(values)
    if bad.any():
        number = rows[int(bad.any(axis=1).nonzero()[0][0])][0]
        raise MotionFileError(f"{path}, line {number}: NaN or infinite value")
    return values


def _all_numbers(words: list[str]) -> bool:
    try:
        [float(word) for word in words]
    except ValueError:
        return False
    return True
