"""AMASS-style `.npz` motion files.

AMASS stores an SMPL-family motion as `poses` (T, 3 * J) axis-angle with the global
orientation first, `trans` (T, 3) in metres, `mocap_framerate`, `betas` and `gender`, in a Z-up
world. SMPL files have 24 joints (72 values); SMPL-H 52 (156) and SMPL-X 55 (165), whose first
22 joints are SMPL's body joints: their hand joints are not SMPL's two hand joints, which are left
at rest.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import torch

from . import skeleton
from .atomic import write_atomically
from .errors import MotionDataError, MotionFileError
from .motion import LARGEST, Motion
from .source_motion import MAX_FRAME_TIME, MIN_FRAME_TIME

BODY_JOINTS = 22  # joints shared by SMPL, SMPL-H and SMPL-X
POSE_WIDTHS = {72: "SMPL", 156: "SMPL-H", 165: "SMPL-X"}
FRAMERATE_KEYS = ("mocap_framerate", "mocap_frame_rate")  # AMASS SMPL-H, AMASS SMPL-X
# The largest axis-angle value read, in radians. A rotation needs at most pi; a few turns more
# are harmless, but values far beyond lose all precision and, past float32's range, become NaN.
MAX_ANGLE = 1e3
# The largest translation read, in metres: Motion's own bound, named here by the file's key.
MAX_METRES = LARGEST["translation"][0]
DTYPE_KINDS = {"b": "booleans", "c": "complex numbers", "S": "text", "U": "text"}


def read_npz(path: str | os.PathLike[str]) -> Motion:
    """Read an AMASS-style npz into a Motion; errors name the file and what was expected."""
    path = Path(path)
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise MotionFileError(
                f"{path}: not an npz archive but a single array (a .npy file); expected an "
                "archive of 'poses', 'trans' and 'mocap_framerate' arrays (numpy.savez)"
            )
        with data:
            # Only the arrays read: real AMASS SMPL-X files also hold pickled objects
            # ('markers_latent_vids'), which allow_pickle=False refuses to load.
            found = list(data.files)
            arrays = {key: data[key] for key in found if key in ("poses", "trans", *FRAMERATE_KEYS)}
    except FileNotFoundError:
        raise MotionFileError(f"{path}: no such file") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise MotionFileError(f"{path}: not a readable .npz file ({error})") from None

    if "poses" not in arrays:
        raise MotionFileError(
            f"{path}: no 'poses' array (found: {', '.join(sorted(found)) or 'nothing'}); "
            "expected AMASS layout with 'poses' (frames, 72|156|165), 'trans' and 'mocap_framerate'"
        )
    poses = _numbers(path, arrays, "poses")
    if poses.ndim != 2 or poses.shape[1] not in POSE_WIDTHS:
        raise MotionFileError(
            f"{path}: 'poses' has shape {poses.shape}; expected (frames, 72) for SMPL, "
            "(frames, 156) for SMPL-H or (frames, 165) for SMPL-X"
        )
    frames = poses.shape[0]
    if "trans" not in arrays:
        raise MotionFileError(f"{path}: no 'trans' array (root translation, (frames, 3) metres)")
    trans = _numbers(path, arrays, "trans")
    if trans.shape != (frames, 3):
        raise MotionFileError(f"{path}: 'trans' has shape {trans.shape}; expected ({frames}, 3)")
    _check_range(path, "poses", poses, MAX_ANGLE, f"axis-angle values within {MAX_ANGLE:g} radians")
    _check_range(path, "trans", trans, MAX_METRES, f"metres within {MAX_METRES:g}")
    rate_key = next((key for key in FRAMERATE_KEYS if key in arrays), None)
    if rate_key is None:
        raise MotionFileError(f"{path}: no 'mocap_framerate' (frames per second)")
    try:
        fps = float(_numbers(path, arrays, rate_key))
    except (TypeError, ValueError):
        raise MotionFileError(f"{path}: '{rate_key}' is not a number") from None
    if not 1 / MAX_FRAME_TIME <= fps <= 1 / MIN_FRAME_TIME:
        raise MotionFileError(
            f"{path}: '{rate_key}' is {fps:g}; expected a frame rate from {1 / MAX_FRAME_TIME:g} "
            f"to {1 / MIN_FRAME_TIME:g} frames per second"
        )

    body = torch.as_tensor(poses[:, : BODY_JOINTS * 3], dtype=torch.float32)
    rotations = torch.zeros(frames, skeleton.NUM_JOINTS, 3)
    rotations[:, :BODY_JOINTS] = body.reshape(frames, BODY_JOINTS, 3)
    if poses.shape[1] == 72:
        rotations[:, BODY_JOINTS:] = torch.as_tensor(
            poses[:, BODY_JOINTS * 3 :], dtype=torch.float32
        ).reshape(frames, skeleton.NUM_JOINTS - BODY_JOINTS, 3)
    try:
        return Motion(rotations, torch.as_tensor(trans, dtype=torch.float32), fps)
    except MotionDataError as error:
        raise MotionFileError(f"{path}: {error}") from None


def _numbers(path: Path, arrays: dict[str, np.ndarray], key: str) -> np.ndarray:
    """arrays[key] as native float64. It must hold real numbers (integers or floats, not text,
    booleans or complex numbers), of any byte order or precision: torch takes neither big-endian
    (">f8") nor float128 arrays."""
    values = arrays[key]
    if values.dtype.kind not in "iuf":
        kind = DTYPE_KINDS.get(values.dtype.kind, f"{values.dtype} values")
        raise MotionFileError(f"{path}: '{key}' holds {kind}; expected numbers")
    with np.errstate(over="ignore"):  # a float128 value past float64's range: named below
        converted = values.astype(np.float64, copy=False)
    if (np.isinf(converted) & np.isfinite(values)).any():
        raise MotionFileError(
            f"{path}: '{key}' holds {values.dtype} values past float64's range; expected numbers "
            "a motion can have"
        )
    return converted


def _check_range(path: Path, key: str, values: np.ndarray, limit: float, expected: str) -> None:
    """Raise, naming the key and the first bad frame, unless every value of the (frames, n)
    array is finite and within -limit..limit."""
    not_finite = ~np.isfinite(values)
    if not_finite.any():
        frame = int(not_finite.any(axis=1).nonzero()[0][0])
        raise MotionFileError(f"{path}: '{key}' has NaN or inf values (first at frame {frame})")
    too_large = np.abs(values) > limit
    if too_large.any():
        frame = int(too_large.any(axis=1).nonzero()[0][0])
        value = values[frame][too_large[frame]][0]
        raise MotionFileError(f"{path}: '{key}' frame {frame} holds {value:g}; expected {expected}")


def write_npz(motion: Motion, path: str | os.PathLike[str]) -> None:
    """Write an AMASS-style SMPL npz; a failure leaves no partial file (see write_atomically)."""
    path = Path(path)
    arrays = {
        "poses": motion.rotations.detach().cpu().reshape(motion.num_frames, -1).double().numpy(),
        "trans": motion.translation.detach().cpu().double().numpy(),
        "mocap_framerate": np.array(motion.fps, dtype=np.float64),
        "betas": np.zeros(10, dtype=np.float64),
        "gender": np.array("neutral"),
    }
    write_atomically(path, lambda handle: np.savez(handle, **arrays))
