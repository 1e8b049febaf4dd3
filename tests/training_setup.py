"""Small labelled datasets and configurations for the training package's tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from motionclip_blender.core import bvh
from motionclip_blender.core.motion import Motion

from .motions import smooth_motion

LABELS = ("walk", "wave", "jump", "kick")


def bvh_dataset(folder: Path, labels: tuple[str, ...] = LABELS, seconds: float = 2.0) -> Path:
    """One BVH file of a smooth motion per label, and their `file,text` CSV."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["file,text"]
    for number, label in enumerate(labels):
        name = f"{label}.bvh"
        bvh.write_bvh(smooth_motion(seconds, seed=number), folder / name)
        rows.append(f"{name},{label}")
    path = folder / "labels.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def amass_dataset(
    folder: Path,
    sequences_per_label: int = 2,
    seconds: float = 4.0,
    labels: tuple[str, ...] = LABELS,
) -> Path:
    """AMASS SMPL-H .npz files of smooth motions (two distinct motions per label) and a BABEL
    JSON file labelling each whole sequence; returns the JSON's path."""
    babel: dict[str, object] = {}
    for number, label in enumerate(labels):
        for index in range(sequences_per_label):
            motion = smooth_motion(seconds, seed=100 * number + index % 2)
            relative = Path("ACCAD", "ACCAD", f"s{number}", f"{label}_{index}_poses.npz")
            write_smplh_npz(motion, folder / Path(*relative.parts[1:]))
            babel[str(len(babel))] = {
                "feat_p": str(relative),
                "dur": seconds,
                "seq_ann": {
                    "labels": [{"raw_label": label, "proc_label": label, "act_cat": [label]}]
                },
                "frame_ann": None,
            }
    path = folder / "train.json"
    path.write_text(json.dumps(babel))
    return path


def write_smplh_npz(motion: Motion, path: Path) -> None:
    """An AMASS SMPL-H file: poses (T, 156) with the 22 body joints first, trans, frame rate."""
    path.parent.mkdir(parents=True, exist_ok=True)
    poses = np.zeros((motion.num_frames, 156))
    poses[:, :66] = motion.rotations[:, :22].reshape(motion.num_frames, 66).numpy()
    np.savez(
        path,
        poses=poses,
        trans=motion.translation.numpy(),
        mocap_framerate=np.array(motion.fps),
        betas=np.zeros(16),
        gender=np.array("male"),
    )


def write_config(
    path: Path, folder: Path, clip_weights: Path, **sections: dict[str, object]
) -> Path:
    """A TOML configuration of a tiny model on the AMASS dataset in `data`; `sections` override
    or add keys (e.g. train={"steps": 4})."""
    tables: dict[str, dict[str, object]] = {
        "data": {
            "sets": [],
            "amass": [{"folder": str(folder), "babel": [str(folder / "train.json")]}],
            "cache": str(path.parent / "cache"),
            "validation_fraction": 0.0,
            "test_fraction": 0.0,
        },
        "model": {
            "text_space": "clip",
            "clip_weights": str(clip_weights),
            "fps": 10.0,
            "max_seconds": 2.0,
            "width": 64,
            "layers": 2,
            "heads": 2,
            "feedforward": 128,
            "dropout": 0.0,
        },
        "optim": {"lr": 3e-3, "warmup_steps": 0},
        "train": {
            "steps": 2,
            "batch_size": 16,
            "out": str(path.parent / "run"),
            "progress": False,
            "checkpoint_every": 1000,
        },
    }
    for name, values in sections.items():
        tables.setdefault(name, {}).update(values)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(_table(name, values) for name, values in tables.items()))
    return path


def _table(name: str, values: dict[str, object]) -> str:
    lines = [f"[{name}]"]
    for key, value in values.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            continue
        lines.append(f"{key} = {_toml(value)}")
    for key, value in values.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            for item in value:
                lines.append(f"[[{name}.{key}]]")
                lines += [f"{k} = {_toml(v)}" for k, v in item.items()]
    return "\n".join(lines) + "\n"


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\") + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)
