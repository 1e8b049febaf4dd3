"""The loaded model, kept between operator calls: loading takes seconds, generating milliseconds.

Sessions are made in worker threads (jobs.py), so the cache is guarded by a lock; a changed
checkpoint or CLIP weights file (path, size or modification time) or setting loads afresh.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.errors import CheckpointError

if TYPE_CHECKING:
    from ..core.inference import MotionClip


@dataclass(frozen=True)
class ModelSettings:
    checkpoint: str | None  # None: the bundled model
    clip_weights: str | None
    allow_download: bool
    device: str


_lock = threading.Lock()
_cached: tuple[tuple[object, ...], MotionClip] | None = None


def model_session(settings: ModelSettings) -> MotionClip:
    """The session for these settings, loading the checkpoint only when it changed."""
    global _cached
    from ..core import inference
    from ..core.checkpoint import resolve_checkpoint_path

    path = resolve_checkpoint_path(settings.checkpoint)
    try:
        stat = Path(path).stat()
    except OSError:
        raise CheckpointError(f"{path}: checkpoint file not found") from None
    key = (str(path), stat.st_size, stat.st_mtime_ns, file_stamp(settings.clip_weights), settings)
    with _lock:
        if _cached is None or _cached[0] != key:
            session = inference.load(
                path,
                clip_weights=settings.clip_weights,
                allow_download=settings.allow_download,
                device=settings.device,
            )
            _cached = (key, session)
        return _cached[1]


def forget_session() -> None:
    """Drop the loaded model (hundreds of MB with CLIP) when the add-on is disabled; a job still
    working keeps its own reference until it ends."""
    global _cached
    with _lock:
        _cached = None


def file_stamp(path: str | None) -> tuple[int, int] | None:
    """A file's size and modification time, None when there is no such file (or no path)."""
    try:
        stat = Path(path).expanduser().stat() if path else None
    except OSError:
        return None
    return None if stat is None else (stat.st_size, stat.st_mtime_ns)
