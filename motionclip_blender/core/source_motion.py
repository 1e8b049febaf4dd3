"""A motion on any skeleton, as a mocap file stores it, before retargeting onto SMPL.

The BVH, DeepMimic and CMU readers all produce a SourceMotion; `retarget.retarget` turns it into
a Motion on SMPL. Lengths are in the file's own unit (retargeting scales by leg length).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch

from .errors import MotionDataError
from .kinematics import frame_chunks

UP_AXES = {"y": 1, "z": 2}
# Frame times a file may store, in seconds: 10000 down to 0.1 frames per second. Outside this a
# frame time is a corrupt value, not a capture rate (1 / 1e-320 s overflows).
MIN_FRAME_TIME = 1e-4
MAX_FRAME_TIME = 10.0
FRAME_TIME_RANGE = (
    f"between {MIN_FRAME_TIME:g} and {MAX_FRAME_TIME:g} seconds "
    f"({1 / MIN_FRAME_TIME:g} to {1 / MAX_FRAME_TIME:g} frames per second)"
)


def frame_rate(seconds_per_frame: float) -> float:
    """Frames per second from a stored frame time, snapped to a whole number when within 0.01
    (files store 1/30 s as 0.0333333, which would otherwise give 30.00003 fps).

    A frame time outside MIN_FRAME_TIME..MAX_FRAME_TIME (NaN too) raises MotionDataError; readers
    add the file and line.
    """
    if not MIN_FRAME_TIME <= seconds_per_frame <= MAX_FRAME_TIME:
        raise MotionDataError(
            f"frame time must be {FRAME_TIME_RANGE}, got {float(seconds_per_frame)} seconds"
        )
    fps = 1.0 / seconds_per_frame
    return float(round(fps)) if abs(fps - round(fps)) < 0.01 else fps


@dataclass(frozen=True)
class SourceMotion:
    """Joint names, tree and per-frame local transforms of a mocap skeleton.

    names: J joint names (End Sites are joints too, named after their parent, e.g. "Head_end").
    parents: J parent indices, -1 for the root; every parent precedes its children.
    offsets: (J, 3) rest offset of each joint from its parent (the root's from the origin).
    rotations: (T, J, 3, 3) local rotation of each joint's frame relative to its parent's.
    translations: (T, J, 3) each joint's position in its parent's frame: its offset, or the
        values of its position channels where a file has them.
    fps: frames per second. up: the file's up axis, "y" or "z".
    """

    names: tuple[str, ...]
    parents: tuple[int, ...]
    offsets: torch.Tensor
    rotations: torch.Tensor
    translations: torch.Tensor
    fps: float
    up: str = "y"

    def __post_init__(self) -> None:
        joints = len(self.names)
        if len(self.parents) != joints or any(
            not -1 <= parent < index for index, parent in enumerate(self.parents)
        ):
            raise MotionDataError("parents must give each joint an earlier joint (or -1)")
        frames = self.rotations.shape[0]
        if frames == 0:
            raise MotionDataError("a motion needs at least one frame, got zero")
        if self.rotations.shape != (frames, joints, 3, 3) or self.translations.shape != (
            frames,
            joints,
            3,
        ):
            raise MotionDataError(
                f"expected rotations ({frames}, {joints}, 3, 3) and translations "
                f"({frames}, {joints}, 3), got {tuple(self.rotations.shape)} and "
                f"{tuple(self.translations.shape)}"
            )
        if not (math.isfinite(self.fps) and self.fps > 0):
            raise MotionDataError(f"frame rate must be a positive number, got {self.fps}")
        if self.up not in UP_AXES:
            raise MotionDataError(f"up axis must be one of {', '.join(UP_AXES)}, got {self.up!r}")

    @property
    def num_frames(self) -> int:
        return int(self.rotations.shape[0])

    def joint_positions(self) -> torch.Tensor:
        """Forward kinematics: (T, J, 3) world joint positions in the file's own axes and unit."""
        return self.forward_kinematics()[1]

    def forward_kinematics(self, turning: Sequence[int] = ()) -> tuple[torch.Tensor, torch.Tensor]:
        """(T, K, 3, 3) world rotations of the K joints `turning`, identity in the rest pose, and
        (T, J, 3) world positions of every joint, both in the file's own axes (and unit).

        Posed in frame_chunks, keeping only the rotations asked for: every joint's world
        rotation in float64 for a 20-minute capture at 120 fps would take 0.4 GB.
        """
        turns, positions = zip(
            *(self._posed(frames, turning) for frames in frame_chunks(self.num_frames)),
            strict=True,
        )
        return torch.cat(turns), torch.cat(positions)

    def _posed(self, frames: slice, turning: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """forward_kinematics of the frames `frames` alone."""
        rotations: list[torch.Tensor] = []
        positions: list[torch.Tensor] = []
        for joint, parent in enumerate(self.parents):
            local, offset = self.rotations[frames, joint], self.translations[frames, joint]
            if parent < 0:
                rotations.append(local)
                positions.append(offset)
                continue
            parent_rotation = rotations[parent]
            rotations.append(parent_rotation @ local)
            positions.append(positions[parent] + (parent_rotation @ offset[..., None])[..., 0])
        turns = [rotations[joint] for joint in turning]
        empty = self.rotations.new_empty(positions[0].shape[0], 0, 3, 3)
        return (torch.stack(turns, dim=1) if turns else empty), torch.stack(positions, dim=1)

    def rest_pose(self) -> SourceMotion:
        """One frame of the skeleton's rest pose: no rotations, every joint at its offset (a
        file's position channels ignored), as the file defines its skeleton. A skeleton whose
        offsets are all zero keeps its bones in its position channels instead: it rests at
        their median values (a single point would leave the rest pose's directions undefined)."""
        joints = len(self.names)
        eye = torch.eye(3, dtype=self.rotations.dtype).expand(1, joints, 3, 3)
        offsets = self.offsets if self.offsets[1:].any() else self.translations.median(dim=0)[0]
        return replace(self, rotations=eye, translations=offsets[None].to(eye.dtype))
