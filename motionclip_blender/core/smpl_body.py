"""The SMPL body mesh from the user's own licensed model file, loaded through smplx.

The model files are never shipped: the user points the extension at the folder holding one.
Both the .npz layout and a .pkl without chumpy objects load through smplx's SMPL class (chumpy,
which the original .pkl files pickle, is unmaintained; such a file must be converted to .npz).
"""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from smplx import SMPL
from smplx.utils import Struct

from . import skeleton
from .errors import MotionFileError
from .files import existing_folder
from .mannequin import Mesh
from .rig import Y_UP_TO_Z_UP, Armature

VERTICES = 6890
MODEL_FILES = (  # looked for in the folder and in its smpl/ subfolder, in this order
    "SMPL_NEUTRAL.npz",
    "SMPL_NEUTRAL.pkl",
    "basicmodel_neutral_lbs_10_207_0_v1.1.0.pkl",
    "basicModel_neutral_lbs_10_207_0_v1.0.0.pkl",
)


def find_model_file(folder: str | os.PathLike[str]) -> Path:
    """The neutral SMPL model file in `folder` or folder/smpl; the error lists the names sought."""
    folder = existing_folder(folder, "SMPL model")
    for place in (folder, folder / "smpl"):
        for name in MODEL_FILES:
            if (place / name).is_file():
                return place / name
    raise MotionFileError(
        f"{folder}: no SMPL model file; expected one of {', '.join(MODEL_FILES)} "
        "(from the SMPL website, neutral body) here or in a 'smpl' subfolder"
    )


def load_smpl(folder: str | os.PathLike[str]) -> SMPL:
    """smplx's SMPL body of the neutral model file in `folder` (see find_model_file), checked to
    have 6,890 vertices weighted to the 24 joints; any other file is a MotionFileError."""
    path = find_model_file(folder)
    try:
        model = SMPL(model_path=str(path), data_struct=Struct(**_read_arrays(path)))
    except (
        AttributeError,
        KeyError,
        ValueError,
        TypeError,
        EOFError,  # an empty or cut file
        pickle.UnpicklingError,
        zipfile.BadZipFile,
        OSError,
    ) as error:
        raise MotionFileError(f"{path}: not an SMPL model file ({error or 'empty'})") from None
    vertices, weights = model.v_template, model.lbs_weights
    if vertices.shape != (VERTICES, 3) or weights.shape != (VERTICES, skeleton.NUM_JOINTS):
        raise MotionFileError(
            f"{path}: expected {VERTICES} vertices weighted to {skeleton.NUM_JOINTS} joints, got "
            f"{tuple(vertices.shape)} vertices and weights {tuple(weights.shape)}"
        )
    return model


def smpl_body(folder: str | os.PathLike[str], armature: Armature) -> Mesh:
    """The SMPL template mesh (zero shape) in the armature's rest pose, with SMPL's skinning."""
    model = load_smpl(folder)
    vertices = model.v_template.to(armature.heads.dtype)
    weights = model.lbs_weights.to(armature.heads.dtype)
    floor = armature.heads[0] - armature.heads.new_tensor(_rest_pelvis_z_up(model, armature))
    placed = vertices @ Y_UP_TO_Z_UP.to(vertices.dtype).T + floor
    faces = [tuple(int(index) for index in face) for face in np.asarray(model.faces)]
    return Mesh(placed, faces, weights)


def _rest_pelvis_z_up(model: SMPL, armature: Armature) -> list[float]:
    """The model's own pelvis (joint regressor on the template), turned Z up."""
    pelvis = model.J_regressor[0] @ model.v_template
    return (pelvis.to(armature.heads.dtype) @ Y_UP_TO_Z_UP.to(armature.heads.dtype).T).tolist()


def _read_arrays(path: Path) -> dict[str, Any]:
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    try:
        with path.open("rb") as stream:
            loaded = pickle.load(stream, encoding="latin1")
    except ModuleNotFoundError as error:
        raise MotionFileError(
            f"{path}: this SMPL file stores '{error.name}' objects; convert it to .npz "
            "(numpy arrays of the same names) and point the extension at that"
        ) from None
    return dict(loaded)
