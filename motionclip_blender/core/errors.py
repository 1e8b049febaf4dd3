"""Typed errors. Every error a user can cause derives from MotionClipError, so the command line and
the Blender operators can report its message without a traceback."""

from __future__ import annotations

from collections.abc import Sequence


class MotionClipError(Exception):
    """A problem the user can fix; the message says what and where."""


class MotionFileError(MotionClipError):
    """A motion file that cannot be read or written: names the file and what was expected."""


class MotionDataError(MotionClipError):
    """Motion values that are not usable: wrong shapes, NaN or inf, no frames, a bad frame rate."""


class CheckpointError(MotionClipError):
    """A checkpoint that cannot be used: missing, truncated or corrupt, another format version,
    inconsistent contents, or made for another text space. Names the file and the problem."""


class TextSpaceError(MotionClipError):
    """A text space that cannot be used: unknown name, weights missing or unreadable, no image
    tower."""


class PromptError(MotionClipError):
    """Text that cannot be encoded: no text, or an empty prompt or label."""


class RequestError(MotionClipError):
    """An argument out of its range: a duration, a weight, a strength, a count, an option."""


def first_of(items: Sequence[str], shown: int) -> str:
    """The first `shown` items, comma-separated, and how many more: a message naming every
    bone of a rig (hundreds, with face, fingers and controls) would bury what it says."""
    more = f" and {len(items) - shown} more" if len(items) > shown else ""
    return ", ".join(items[:shown]) + more
