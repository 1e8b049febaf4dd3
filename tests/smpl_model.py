"""A synthetic SMPL model file in the real layout (6,890 vertices); the real one is licensed."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from motionclip_blender.core import skeleton
from motionclip_blender.core.smpl_body import VERTICES


def write_smpl_model(path: Path, seed: int = 0) -> np.ndarray:
    """Write SMPL_NEUTRAL.npz-like arrays; vertices cluster round the joints they follow.

    Each vertex is weighted 0.75 to its joint and 0.25 to that joint's parent (the root's
    vertices wholly to the root). The joint regressor averages each joint's vertices, whose
    offsets average to zero, so the model's joints are exactly skeleton.REST_JOINTS_YUP, as the
    real model's are. Returns the (6890, 24) weights written.
    """
    rng = np.random.default_rng(seed)
    owner = np.arange(VERTICES) % skeleton.NUM_JOINTS
    rest = np.array(skeleton.REST_JOINTS_YUP)
    offsets = rng.normal(scale=0.03, size=(VERTICES, 3))
    for joint in range(skeleton.NUM_JOINTS):
        offsets[owner == joint] -= offsets[owner == joint].mean(axis=0)
    v_template = rest[owner] + offsets
    weights = np.zeros((VERTICES, skeleton.NUM_JOINTS))
    parents = np.array(skeleton.PARENTS)
    weights[np.arange(VERTICES), owner] = 0.75
    weights[np.arange(VERTICES), np.maximum(parents[owner], 0)] += 0.25
    regressor = np.zeros((skeleton.NUM_JOINTS, VERTICES))
    regressor[owner, np.arange(VERTICES)] = 1.0
    regressor /= regressor.sum(axis=1, keepdims=True)
    kintree = np.stack([np.where(parents < 0, 4294967295, parents), np.arange(24)])
    np.savez(
        path,
        v_template=v_template,
        f=rng.integers(0, VERTICES, size=(13776, 3)).astype(np.uint32),
        weights=weights,
        J_regressor=regressor,
        shapedirs=np.zeros((VERTICES, 3, 10)),
        posedirs=np.zeros((VERTICES, 3, 207)),
        kintree_table=kintree.astype(np.int64),
    )
    return weights
