"""A motion library: a folder of motion files (.npz, .bvh, any suffix core.files reads), encoded
once and cached on disk, for the `search` command and Blender's "find similar".

The cache is one file per folder and checkpoint (keyed by the checkpoint's identity, the SHA-256
of its file). Each entry records a file's size and its modification and change times (the change
time moves with a new mode too, and cannot be set back as the modification time can; on Windows,
before Python 3.12, it is the creation time, so a file rewritten in place with its old size and
modification time is missed there); a refresh
encodes only new or changed files, drops removed ones, and rewrites the cache when something
changed, also when it is interrupted, keeping the files encoded until then. Files that cannot be
used (unreadable, too short) are remembered with the reason, so they are not re-read until they
change, and reported in `Library.skipped`. Folders linked into the library are searched too.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from . import files
from .atomic import write_atomically
from .errors import MotionClipError, MotionFileError
from .inference import EncodedMotions, MotionClip

CACHE_FORMAT = "motionclip-library-cache"
CACHE_VERSION = 2  # 2: entries stamped with the change time as well
CACHE_NAME_CHARACTERS = 32  # of the folder's name in the cache's: file names hold 255 bytes


@dataclass(frozen=True)
class Library(EncodedMotions):
    """The usable motions of a folder (names are absolute paths) and what the refresh did."""

    folder: Path = Path()
    encoded: int = 0  # files encoded by this refresh
    reused: int = 0  # files whose cached latent was still valid
    skipped: tuple[str, ...] = ()  # "path: reason" for files that cannot be used


def default_cache_folder() -> Path:
    """$XDG_CACHE_HOME/motionclip-blender/library, or ~/.cache/motionclip-blender/library."""
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "motionclip-blender" / "library"


def motion_files(folder: Path) -> list[Path]:
    """Motion files under `folder` (recursively, hidden files and folders left out), sorted.
    Linked folders are followed once each, except links to the folder itself or a folder above
    it (a link to '..', '~' or '/' would take in everything there)."""
    found, seen = [], set()
    resolved = folder.resolve()
    above = {str(place) for place in (resolved, *resolved.parents)}
    for root, folders, names in os.walk(folder, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:  # a second link to one folder, or a link into the tree
            folders.clear()
            continue
        seen.add(real)
        folders[:] = [
            name
            for name in folders
            if not name.startswith(".") and os.path.realpath(os.path.join(root, name)) not in above
        ]
        found += [
            Path(root, name)
            for name in names
            if not name.startswith(".")
            and Path(name).suffix.lower() in files.READERS
            and Path(root, name).is_file()
        ]
    return sorted(found)


def _stamp(stat: os.stat_result) -> list[int]:
    """What says a file is unchanged: its size, modification and change times."""
    return [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns]


def index_library(
    folder: str | os.PathLike[str],
    session: MotionClip,
    cache_folder: str | os.PathLike[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Library:
    """Encode the folder's motion files with the session's model, reusing the on-disk cache.

    progress(done, total) is called after each file that needed encoding.
    """
    folder = files.existing_folder(Path(folder).resolve(), "library")
    cache_path = _cache_path(folder, session, Path(cache_folder or default_cache_folder()))
    cached = _read_cache(cache_path, session.checkpoint.identity)
    entries: dict[str, dict[str, Any]] = {}
    paths = motion_files(folder)
    keys = [str(path.relative_to(folder)) for path in paths]
    stale = []
    for key, path in zip(keys, paths, strict=True):
        stamp = _stamp(path.stat())
        old = cached.get(key)
        if old is not None and old["stamp"] == stamp:
            entries[key] = old
        else:
            stale.append((key, path, stamp))
    try:
        for done, (key, path, stamp) in enumerate(stale, start=1):
            entries[key] = {"stamp": stamp, **_encode(path, session)}
            if progress is not None:
                progress(done, len(stale))
    finally:  # a cancel or an error keeps what was encoded until then
        if stale or entries.keys() != cached.keys():
            _write_cache(cache_path, session.checkpoint.identity, entries)
    usable = [key for key in keys if entries[key]["latent"] is not None]
    latents = [entries[key]["latent"] for key in usable]
    return Library(
        names=[str(folder / key) for key in usable],
        latents=torch.stack(latents) if latents else torch.zeros(0, session.config.latent_dim),
        folder=folder,
        encoded=len(stale),
        reused=len(paths) - len(stale),
        skipped=tuple(
            f"{folder / key}: {entries[key]['problem']}"
            for key in keys
            if entries[key]["latent"] is None
        ),
    )


def _encode(path: Path, session: MotionClip) -> dict[str, Any]:
    """{"latent": (latent_dim,) tensor, "problem": ""} or {"latent": None, "problem": why},
    with "retry": True when the problem may not be the file's."""
    try:
        latent = session.encode_motion([files.read_motion(path)])[0].cpu()
    except MotionClipError as error:
        # The error names the file ("PATH: why", "PATH, line 8: why"); `skipped` names it once.
        problem = str(error).removeprefix(str(path)).removeprefix(":").removeprefix(",")
        return {"latent": None, "problem": problem.strip()}
    except Exception as error:  # one file a reader cannot cope with must not stop the rest
        # Not known to be the file's fault (it may be memory, or the device): not cached, so
        # the next search tries the file again.
        problem = f"cannot be read ({type(error).__name__}: {error})"
        return {"latent": None, "problem": problem, "retry": True}
    return {"latent": latent, "problem": ""}


def _cache_path(folder: Path, session: MotionClip, cache_folder: Path) -> Path:
    folder_key = hashlib.sha256(str(folder).encode()).hexdigest()[:16]
    name = folder.name[:CACHE_NAME_CHARACTERS]
    return cache_folder / f"{name}-{folder_key}-{session.checkpoint.identity[:16]}.pt"


def _read_cache(path: Path, identity: str) -> dict[str, dict[str, Any]]:
    """The cached entries, or none when the cache is absent, unreadable or of another model."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # torch's unpickler raises many kinds on damaged files; rebuild then
        return {}
    valid = (
        isinstance(payload, dict)
        and payload.get("format") == CACHE_FORMAT
        and payload.get("version") == CACHE_VERSION
        and payload.get("checkpoint") == identity
        and isinstance(payload.get("entries"), dict)
    )
    return payload["entries"] if valid else {}


def _write_cache(path: Path, identity: str, entries: dict[str, dict[str, Any]]) -> None:
    """Save the entries; a cache that cannot be written only costs re-encoding next time."""
    payload = {
        "format": CACHE_FORMAT,
        "version": CACHE_VERSION,
        "checkpoint": identity,
        "entries": {key: entry for key, entry in entries.items() if not entry.get("retry")},
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, lambda stream: torch.save(payload, stream))
    except (OSError, MotionFileError) as error:
        warnings.warn(f"library cache not saved at {path}: {error}", stacklevel=3)
