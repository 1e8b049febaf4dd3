"""The motion container: local rotations of the 24 SMPL joints, root translation and frame rate.

World convention (as AMASS): Z up. The SMPL body is defined in its own Y-up frame; the root (global)
orientation maps it into the world, so a body standing upright and facing the canonical forward
direction, -Y (Blender's "front" view looks along +Y at it), has root axis-angle (pi/2, 0, 0).
The root joint rotates about its rest location and the translation is added after (see
kinematics.forward_kinematics).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from . import rotations as rot
from . import skeleton
from .errors import MotionDataError
from .kinematics import forward_kinematics, frame_chunks

UP_AXIS = 2  # Z
FORWARD = (0.0, -1.0, 0.0)  # the way a canonical body faces
UPRIGHT_ROOT_AXIS_ANGLE = (math.pi / 2, 0.0, 0.0)  # SMPL's Y-up body standing in the Z-up world
# Values no body's motion has, which overflow float32 maths downstream (a latent of NaN).
LARGEST = {"rotations": (1e4, "radians"), "translation": (1e5, "metres")}


@dataclass(frozen=True)
class Motion:
    """A motion on the SMPL skeleton.

    rotations: (T, 24, 3) local joint rotations as axis-angle, joint 0 the global orientation.
    translation: (T, 3) root translation in metres, Z-up world.
    fps: frames per second, > 0.
    Both tensors are kept in float32 (given in float64, from numpy say, they are converted), the
    dtype the model and every conversion here work in.
    """

    rotations: torch.Tensor
    translation: torch.Tensor
    fps: float

    def __post_init__(self) -> None:
        for name in ("rotations", "translation"):
            values = getattr(self, name)
            if not (isinstance(values, torch.Tensor) and values.dtype.is_floating_point):
                raise MotionDataError(f"{name} must be a tensor of floating-point numbers")
            object.__setattr__(self, name, values.float())
        rotations, translation = self.rotations, self.translation
        if rotations.ndim != 3 or rotations.shape[1:] != (skeleton.NUM_JOINTS, 3):
            raise MotionDataError(
                f"rotations must have shape (frames, 24, 3), got {tuple(rotations.shape)}"
            )
        if translation.shape != (rotations.shape[0], 3):
            raise MotionDataError(
                f"translation must have shape ({rotations.shape[0]}, 3) to match the rotations, "
                f"got {tuple(translation.shape)}"
            )
        if rotations.shape[0] == 0:
            raise MotionDataError("a motion needs at least one frame, got zero")
        if not (math.isfinite(self.fps) and self.fps > 0):
            raise MotionDataError(f"frame rate must be a positive number, got {self.fps}")
        for name, values in (("rotations", rotations), ("translation", translation)):
            bad = ~torch.isfinite(values)
            if bad.any():
                frame = int(bad.reshape(values.shape[0], -1).any(dim=1).nonzero()[0])
                raise MotionDataError(f"NaN or inf values in {name} (first at frame {frame})")
            limit, unit = LARGEST[name]
            huge = values.abs() > limit
            if huge.any():
                frame = int(huge.reshape(values.shape[0], -1).any(dim=1).nonzero()[0])
                raise MotionDataError(
                    f"{name} values beyond {limit:g} {unit} (first at frame {frame}): not a "
                    "body's motion (check the file's units)"
                )

    @property
    def num_frames(self) -> int:
        return int(self.rotations.shape[0])

    @property
    def duration(self) -> float:
        """Seconds covered by the frames: num_frames / fps."""
        return self.num_frames / self.fps

    def rotation_matrices(self) -> torch.Tensor:
        """(T, 24, 3, 3) local rotation matrices."""
        return rot.axis_angle_to_matrix(self.rotations)

    def joints(self) -> torch.Tensor:
        """(T, 24, 3) world joint positions, Z up (posed in frame_chunks, to bound the memory)."""
        return torch.cat(
            [
                forward_kinematics(
                    rot.axis_angle_to_matrix(self.rotations[frames]), self.translation[frames]
                )
                for frames in frame_chunks(self.num_frames)
            ]
        )

    def slice(self, start: int, stop: int | None = None) -> Motion:
        """Frames [start, stop), Python slice rules; raises if the result would be empty."""
        return Motion(self.rotations[start:stop], self.translation[start:stop], self.fps)

    def frames_at(self, fps: float) -> int:
        """How many frames resample(fps) gives, without resampling."""
        if fps == self.fps:
            return self.num_frames
        return max(1, round(self.num_frames * fps / self.fps))

    def resample(self, fps: float, frames: int | None = None) -> Motion:
        """The same motion at another frame rate: slerp for rotations, linear for translation.

        The duration (frames / fps) is kept, unless `frames` asks for another count (a length
        the caller must keep, which the source's own frame rate rounded): frame k samples time
        k / fps and the first frame is kept exactly. A sample past the last source frame
        continues the motion of the last interval, for at most one more interval (then holds).
        """
        if not (math.isfinite(fps) and fps > 0):
            raise MotionDataError(f"target frame rate must be a positive number, got {fps}")
        count = self.frames_at(fps) if frames is None else frames
        if count < 1:
            raise MotionDataError(f"a resampled motion needs at least one frame, got {count}")
        if fps == self.fps and count == self.num_frames:
            return Motion(self.rotations, self.translation, float(fps))
        if self.num_frames == 1:  # one pose, held
            rotations, translation = self.rotations.repeat(count, 1, 1), self.translation
            return Motion(rotations, translation.repeat(count, 1), float(fps))
        position = torch.arange(count, dtype=torch.float64) * (self.fps / fps)
        position = position.clamp(max=self.num_frames)
        lower = position.floor().long().clamp(max=self.num_frames - 2)
        weight = (position - lower).to(self.rotations.dtype)
        quats = rot.axis_angle_to_quaternion(self.rotations)
        blended = rot.quaternion_slerp(
            quats[lower], quats[lower + 1], weight[:, None].expand(-1, skeleton.NUM_JOINTS)
        )
        translation = torch.lerp(
            self.translation[lower], self.translation[lower + 1], weight[:, None]
        )
        return Motion(rot.quaternion_to_axis_angle(blended), translation, float(fps))

    def on_floor(self, quantile: float = 0.0) -> Motion:
        """Shift vertically so the lowest foot joint over the whole motion is at height 0.

        quantile > 0 puts that quantile of the frames' lowest foot heights at 0 instead, so a few
        frames where a toe dips (mocap noise, a pointed foot) may go below the floor rather than
        lift every other frame off it.
        """
        per_frame = self.joints()[:, skeleton.FOOT_JOINTS, UP_AXIS].min(dim=1).values
        lowest = torch.quantile(per_frame.double(), quantile).to(self.translation.dtype)
        shift = torch.zeros(3, dtype=self.translation.dtype)
        shift[UP_AXIS] = lowest
        return Motion(self.rotations, self.translation - shift, self.fps)

    def canonicalize(self) -> Motion:
        """Frame 0's pelvis above the origin, body facing -Y at frame 0, lowest foot on the floor.

        The heading is that of the pelvis' left axis (SMPL +x) projected on the floor, which stays
        defined while the body is upright or bent forward. A body lying on its side at frame 0
        (left axis near vertical) gets a heading that flips as the roll crosses 90 degrees: every
        rule from orientation to heading that turns with the body has such a flip somewhere (a
        full turn of the body is a loop that a heading cannot follow continuously); this rule
        puts it at a pose rare at the start of a motion, and it is the one the model learnt.
        """
        rotations, pelvis = self._turned(self.facing_turn())
        pelvis = pelvis - torch.stack([pelvis[0, 0], pelvis[0, 1], pelvis.new_zeros(())])
        rest_root = skeleton.rest_joints(self.translation.dtype)[0]
        return Motion(rotations, pelvis - rest_root, self.fps).on_floor()

    def placed_like(self, other: Motion) -> Motion:
        """This motion turned about the up axis and moved along the floor so that its frame 0
        faces the way `other`'s frame 0 faces (canonicalize's heading) with the pelvis above
        the same point; heights are kept. So a motion made from `other` in the canonical frame
        (an edit) goes back where `other` stands."""
        rotations, pelvis = self._turned(other.facing_turn().T @ self.facing_turn())
        rest_root = skeleton.rest_joints(self.translation.dtype)[0]
        shift = other.translation[0] + rest_root - pelvis[0]
        shift[UP_AXIS] = 0.0
        return Motion(rotations, pelvis + shift - rest_root, self.fps)

    def facing_turn(self) -> torch.Tensor:
        """(3, 3) the turn about the up axis that makes frame 0 face -Y (canonicalize)."""
        root = rot.axis_angle_to_matrix(self.rotations[:, 0])
        left = root[0, :, 0]
        yaw = torch.atan2(left[1], left[0])
        return rot.axis_angle_to_matrix(
            torch.stack([torch.zeros_like(yaw), torch.zeros_like(yaw), -yaw])
        )

    def _turned(self, turn: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Rotations (T, 24, 3) and pelvis positions (T, 3) of the motion turned by `turn`
        (3, 3, about the up axis) about the world origin."""
        root = rot.axis_angle_to_matrix(self.rotations[:, 0])
        rest_root = skeleton.rest_joints(self.translation.dtype)[0]
        pelvis = (self.translation + rest_root) @ turn.T
        rotations = self.rotations.clone()
        rotations[:, 0] = rot.matrix_to_axis_angle(turn @ root)
        return rotations, pelvis

    def in_place(self) -> Motion:
        """The motion with its horizontal root travel removed (height kept)."""
        translation = self.translation.clone()
        horizontal = [axis for axis in range(3) if axis != UP_AXIS]
        translation[:, horizontal] = translation[:1, horizontal]
        return Motion(self.rotations, translation, self.fps)


def concatenate(motions: Sequence[Motion]) -> Motion:
    """Frames of several motions one after another; all must share one frame rate."""
    if not motions:
        raise MotionDataError("nothing to concatenate: no motions given")
    rates = {m.fps for m in motions}
    if len(rates) > 1:
        raise MotionDataError(
            f"cannot concatenate motions at different frame rates {sorted(rates)}; resample first"
        )
    return Motion(
        torch.cat([m.rotations for m in motions]),
        torch.cat([m.translation for m in motions]),
        motions[0].fps,
    )


def rest_motion(num_frames: int = 1, fps: float = 30.0) -> Motion:
    """The SMPL rest pose standing upright in the Z-up world, facing -Y, on the floor."""
    rotations = torch.zeros(num_frames, skeleton.NUM_JOINTS, 3)
    rotations[:, 0] = torch.tensor(UPRIGHT_ROOT_AXIS_ANGLE)
    return Motion(rotations, torch.zeros(num_frames, 3), fps).on_floor()
