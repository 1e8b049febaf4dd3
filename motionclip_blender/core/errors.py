"""Typed errors. Every error a user can cause derives from MotionClipError, so the command line and
the Blender operators can report its message without a traceback."""

from __future__ import annotations


class MotionClipError(Exception):
    """A problem the user can fix; the message says what and where."""


class MotionFileError(MotionClipError):
    """A motion file that cannot be read or written: names the file and what was expected."""


class MotionDataError(MotionClipError):
    """Motion values that are not usable: wrong shapes, NaN or inf, no frames, a bad frame rate."""
