"""Left-right mirroring of training windows, an augmentation: a mirrored motion is a plausible
motion done with the other side ("raise the left hand" becomes "raise the right hand"), so every
action is seen done with either side, twice the motions a label otherwise has.

The mirror is the reflection x -> -x of the canonical frame (+x is the subject's left at frame 0,
as it is in SMPL's body frame): each joint's rotation R becomes M R M with M = diag(-1, 1, 1), the
left and right joints trade places and the pelvis's x is negated. Captions trade the words "left"
and "right".
"""

from __future__ import annotations

import re

import torch

from motionclip_blender.core import rotations as rot
from motionclip_blender.core import skeleton
from motionclip_blender.core.pose_features import ROTATION_FEATURES

SIDE_WORDS = {"left": "right", "right": "left"}
_SIDE_PATTERN = re.compile(r"\b(left|right)\b", re.IGNORECASE)


def mirrored_joint_order() -> list[int]:
    """For each SMPL joint, the joint on the other side (itself for the spine, neck and head)."""
    names = skeleton.JOINT_NAMES
    order = []
    for name in names:
        side, _, part = name.partition("_")
        other = f"{SIDE_WORDS[side]}_{part}" if side in SIDE_WORDS else name
        order.append(names.index(other))
    return order


_MIRRORED_JOINTS = mirrored_joint_order()
_REFLECTION = torch.diag(torch.tensor([-1.0, 1.0, 1.0]))


def mirror_features(features: torch.Tensor) -> torch.Tensor:
    """(..., 147) pose vectors -> the same motion reflected left to right, (..., 147)."""
    shape = features.shape[:-1]
    sixd = features[..., :ROTATION_FEATURES].reshape(*shape, skeleton.NUM_JOINTS, 6)
    matrices = rot.sixd_to_matrix(sixd)[..., _MIRRORED_JOINTS, :, :]
    reflection = _REFLECTION.to(features)
    mirrored = rot.matrix_to_6d(reflection @ matrices @ reflection)
    # the pelvis (rest location plus translation) is reflected, not the translation alone
    pelvis_x = skeleton.REST_JOINTS_YUP[0][0]
    translation = features[..., ROTATION_FEATURES:] * reflection.diagonal()
    translation[..., 0] -= 2 * pelvis_x
    return torch.cat([mirrored.reshape(*shape, ROTATION_FEATURES), translation], dim=-1)


def mirror_text(text: str) -> str:
    """'a person raises the Left hand' -> 'a person raises the Right hand' (case kept)."""

    def swap(match: re.Match[str]) -> str:
        word = match.group(0)
        other = SIDE_WORDS[word.lower()]
        return other.capitalize() if word[0].isupper() else other

    return _SIDE_PATTERN.sub(swap, text)
