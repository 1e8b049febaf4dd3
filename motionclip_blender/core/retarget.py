"""Retargeting a mocap skeleton's motion onto SMPL, independent of the source's rest pose.

The source's own forward kinematics gives world joint positions; they are turned into the Z-up
world and scaled to SMPL's size by leg length. Then each SMPL joint's world rotation is solved,
root first, so that its bones point where the source's corresponding bones point:

- a segment runs from a mapped SMPL joint to its nearest mapped descendant (through SMPL joints
  the source lacks, which keep their rest pose relative to their parent);
- a joint with several segments (pelvis, chest) gets the rotation that best aligns them
  (weighted Wahba problem). A left/right pair of segments (hips, collars) enters as the vector
  between the two ends, which is free of how the two skeletons place those joints up or down;
- a joint with one segment (a limb bone) points it exactly; its twist about the bone comes from
  the parent (a weak prior) and, for hips and shoulders, from the plane the knee or elbow bends in.

For the limbs and the trunk nothing depends on the source's rest pose: only joint positions are
used. The neck and head (REST_RELATIVE) are the exception: skeletons place those joints
differently (SMPL's neck-to-head bone leans about 38 degrees forward of the chest's up direction
at rest; a mocap skeleton's runs straight up), so aiming SMPL's bone along the source's would tilt
every SMPL head back. They follow the source joint's rotation since its rest pose instead, which
mocap formats define with the head upright on the chest: the source's rest pose is solved like a
frame, and a REST_RELATIVE joint's world rotation is the source joint's world rotation since rest
times that rest solution (where the joint keeps SMPL's rest pose relative to its parent). This
also carries the head's own turn, which no bone direction shows.

A source whose legs have no length (nothing to scale by) is refused with a MotionDataError, and
`upright_source` refuses a file whose body would lie down with the up axis it was read with (a
Z-up file read as Y-up), or turns to the axis that stands it up; Blender's rigs need no such
check, their world being Z-up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import roma
import torch

from . import preview, skeleton
from . import rotations as rot
from .errors import MotionDataError
from .joint_maps import JointMap, indices
from .kinematics import frame_chunks
from .motion import UPRIGHT_ROOT_AXIS_ANGLE, Motion
from .source_motion import UP_AXES, SourceMotion

# Rotation taking a source's world into ours (Z up): Y-up files turn +Y into +Z and +Z into -Y.
TO_Z_UP = {
    "y": torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]]),
    "z": torch.eye(3),
}
assert set(TO_Z_UP) == set(UP_AXES)

# The knee's and elbow's bending axis in SMPL's rest frame, for the joint above it: the shin
# swings back about +X; a forearm in T-pose swings forward about -Y (left) or +Y (right).
HINGE_AXES: dict[str, tuple[float, float, float]] = {
    "left_hip": (1.0, 0.0, 0.0),
    "right_hip": (1.0, 0.0, 0.0),
    "left_shoulder": (0.0, -1.0, 0.0),
    "right_shoulder": (0.0, 1.0, 0.0),
}
# Follow the source's rotation since its rest pose rather than a bone direction (module docstring).
REST_RELATIVE = tuple(skeleton.JOINT_INDEX[name] for name in ("neck", "head"))
PARENT_PRIOR_WEIGHT = 0.05  # keeps a bone's twist near its parent's where nothing else fixes it
PAIR_MIDPOINT_WEIGHT = 0.1  # where a left/right pair's midpoint lies: only breaks ties
# The floor is where the lowest foot joint is in all but the lowest 2% of frames: brief toe dips
# (pointed feet, marker noise) would otherwise lift every other frame off the floor (DeepMimic
# standing frames within 3 cm: 86.7% with the very lowest frame, 97% with this).
FLOOR_QUANTILE = 0.02
SMPL_REST_DEGREES = 1.0  # a skeleton whose rest bones all lie this near SMPL's is SMPL's own
SHORTEST_SEGMENT = 0.01  # segments under this fraction of the leg length have no direction
LEG_JOINTS = ("hip", "knee", "ankle")  # the chain whose length scales the source to SMPL
# The trunk's end for the up-axis check (upright_source): the highest of these the map drives.
TRUNK_TOPS = tuple(
    skeleton.JOINT_INDEX[name] for name in ("head", "neck", "spine3", "spine2", "spine1")
)
MAX_TRUNK_TILT = 60.0  # degrees between the trunk and up beyond which the body lies down


SegmentKind = Literal["bone", "offset", "span", "rest_relative"]
# What the two direction metrics measure (see Segment for the kinds). Shared bones: every bone
# the two skeletons share, as the issue defines the metric. Alignable: the segments a joint's
# rotation aims, so the ones a retargeting can match; it leaves out the offsets (pelvis to hip,
# chest to collar), whose direction from their joint is a body proportion, and the rest-relative
# neck-to-head bone, whose rest direction differs between skeletons on purpose.
SHARED_BONE_KINDS: tuple[SegmentKind, ...] = ("bone", "offset", "rest_relative")
ALIGNABLE_KINDS: tuple[SegmentKind, ...] = ("bone", "span")


@dataclass(frozen=True)
class Segment:
    """A direction both skeletons share: from SMPL joint `start` to `end`, which the source joints
    `source_start` and `source_end` map to, set by the world rotation of SMPL joint `joint`.

    kind: "bone", a joint to its only mapped descendant (a thigh, a forearm, the spine);
    "offset", a joint to one side of a left/right pair below it (pelvis to hip, chest to collar),
    whose direction is a body proportion that no rotation changes; "span", the line from the
    right to the left end of such a pair (hip to hip), which fixes the joint's orientation;
    "rest_relative", a bone of a REST_RELATIVE joint, which is not aimed (neck to head).
    """

    joint: int
    start: int
    end: int
    source_start: int
    source_end: int
    kind: SegmentKind


@dataclass(frozen=True)
class Retargeted:
    """A retargeted motion and what it was solved from.

    motion: the SMPL motion, on the floor (Motion.on_floor with FLOOR_QUANTILE).
    source_joints: (T, J, 3) the source's joints in the same Z-up world, scaled and shifted like
        the motion: for previews and for measuring the result.
    segments: the bones both skeletons share.
    """

    motion: Motion
    source_joints: torch.Tensor
    segments: tuple[Segment, ...]


def retarget(source: SourceMotion, joint_map: JointMap) -> Retargeted:
    """Retarget a source motion onto SMPL with a joint map {SMPL joint: source joint}."""
    found = _found_joints(source, joint_map)
    to_z_up = TO_Z_UP[source.up]
    following = [joint for joint in REST_RELATIVE if joint in found]
    turns, positions = source.forward_kinematics([found[joint] for joint in following])
    positions = positions.float() @ to_z_up.T
    smpl_legs = _leg_length(skeleton.rest_joints()[None], {joint: joint for joint in found})
    positions = positions * (smpl_legs / _source_leg_length(source, found, positions))
    segments = _segments(found, positions)
    rest_positions = source.rest_pose().joint_positions().float() @ to_z_up.T
    at_rest = _solve_rotations(found, rest_positions, segments, {})[0]
    followed = {
        joint: to_z_up @ turns[:, column].float() @ to_z_up.T @ at_rest[joint]
        for column, joint in enumerate(following)
    }
    local = torch.cat(
        [
            _local_rotations(found, positions, segments, followed, frames)
            for frames in frame_chunks(source.num_frames)
        ]
    )
    translation = positions[:, found[0]] - skeleton.rest_joints()[0]
    motion = Motion(local, translation, source.fps)
    on_floor = motion.on_floor(quantile=FLOOR_QUANTILE)
    shift = on_floor.translation[0] - motion.translation[0]
    return Retargeted(on_floor, positions + shift, tuple(segments))


def smpl_skeleton_motion(source: SourceMotion) -> Motion | None:
    """The motion of a Y-up source on SMPL's own skeleton, from its rotation channels as they
    are, put on the floor as retarget puts it; None for any other skeleton.

    SMPL's own skeleton: SMPL's 24 joint names and parents, every bone at rest along SMPL's
    (any unit), positions keyed on the root alone, as bvh.write_bvh writes it. Retargeting from
    joint positions cannot see a bone's twist about itself: it turned the spine's twist by up to
    15 degrees between spine2 and spine3, and the same motion encoded 0.94 cosine apart as BVH
    and as npz.
    """
    names = skeleton.JOINT_NAMES
    if source.up != "y" or not set(names) <= set(source.names):
        return None
    index = [source.names.index(name) for name in names]
    if [source.parents[joint] for joint in index] != [
        index[parent] if parent >= 0 else -1 for parent in skeleton.PARENTS
    ]:
        return None
    rest = skeleton.rest_joints(torch.float64)
    bones = rest[1:] - rest[list(skeleton.PARENTS[1:])]
    offsets = source.offsets[index[1:]].double()
    along = torch.nn.functional.cosine_similarity(offsets, bones, dim=-1)
    keyed = source.translations[:, index[1:]].double() != offsets
    if not bool((along > math.cos(math.radians(SMPL_REST_DEGREES))).all()) or keyed.any():
        return None
    scale = offsets.norm(dim=-1).sum() / bones.norm(dim=-1).sum()
    to_z_up = TO_Z_UP["y"].double()
    local = source.rotations[:, index].double().clone()
    local[:, 0] = to_z_up @ local[:, 0]
    translation = source.translations[:, index[0]].double() / scale @ to_z_up.T - rest[0]
    motion = Motion(rot.matrix_to_axis_angle(local), translation, source.fps)
    return motion.on_floor(quantile=FLOOR_QUANTILE)


def _local_rotations(
    found: dict[int, int],
    positions: torch.Tensor,
    segments: Sequence[Segment],
    followed: dict[int, torch.Tensor],
    frames: slice,
) -> torch.Tensor:
    """(F, 24, 3) SMPL's local axis-angle rotations in the frames `frames` of (T, J, 3)
    `positions`: _solve_rotations of those frames alone, each joint taken relative to its parent.
    Solved in slices because every frame's rotations would take gigabytes for a long capture."""
    turned = {joint: rotation[frames] for joint, rotation in followed.items()}
    global_rotations = _solve_rotations(found, positions[frames], segments, turned)
    parents = torch.tensor(skeleton.PARENTS[1:])
    local = global_rotations.clone()
    local[:, 1:] = global_rotations[:, parents].transpose(-1, -2) @ global_rotations[:, 1:]
    return rot.matrix_to_axis_angle(local)


def direction_errors(result: Retargeted) -> torch.Tensor:
    """(T, S) angle in degrees between each shared bone in the source and on SMPL, per frame."""
    joints = result.motion.joints()
    starts = torch.tensor([segment.start for segment in result.segments])
    ends = torch.tensor([segment.end for segment in result.segments])
    source_starts = torch.tensor([segment.source_start for segment in result.segments])
    source_ends = torch.tensor([segment.source_end for segment in result.segments])
    smpl = joints[:, ends] - joints[:, starts]
    source = result.source_joints[:, source_ends] - result.source_joints[:, source_starts]
    cosine = torch.nn.functional.cosine_similarity(smpl, source, dim=-1)
    return torch.rad2deg(torch.acos(cosine.clamp(-1.0, 1.0)))


def comparison_figures(result: Retargeted) -> list[preview.Figure]:
    """Stick figures of the source (its shared bones only) and of the SMPL result, side by side.

    The source figure joins each shared bone's source joints, so it shows exactly what the SMPL
    bones were aimed at; both are in the same world, scaled and on the same floor.
    """
    tree = [segment for segment in result.segments if segment.kind != "span"]
    points = sorted({segment.start for segment in tree} | {segment.end for segment in tree})
    source_index = {segment.end: segment.source_end for segment in tree}
    source_index |= {segment.start: segment.source_start for segment in tree}
    parent_of = {segment.end: points.index(segment.start) for segment in tree}
    names = [skeleton.JOINT_NAMES[point] for point in points]
    source = preview.Figure(
        result.source_joints[:, [source_index[point] for point in points]],
        [parent_of.get(point, -1) for point in points],
        "source",
        preview.sides_from_names(names),
    )
    smpl = preview.Figure(
        result.motion.joints(),
        skeleton.PARENTS,
        "SMPL",
        preview.sides_from_names(skeleton.JOINT_NAMES),
    )
    return [source, smpl]


def _found_joints(source: SourceMotion, joint_map: JointMap) -> dict[int, int]:
    """{SMPL joint index: source joint index} for the joints the map finds in the source."""
    return {
        skeleton.JOINT_INDEX[name]: index
        for name, index in indices(joint_map, source.names).items()
    }


def _leg_length(positions: torch.Tensor, found: dict[int, int]) -> torch.Tensor:
    """Median over frames of hip-knee plus knee-ankle, averaged over both legs.

    positions: (T, J, 3); found: {SMPL joint: index into J}.
    """
    lengths = []
    for side in ("left", "right"):
        chain = [skeleton.JOINT_INDEX[f"{side}_{joint}"] for joint in LEG_JOINTS]
        points = [positions[:, found[joint]] for joint in chain]
        lengths.append((points[1] - points[0]).norm(dim=-1) + (points[2] - points[1]).norm(dim=-1))
    return torch.stack(lengths).mean(dim=0).median()


def _source_leg_length(
    source: SourceMotion, found: dict[int, int], positions: torch.Tensor
) -> float:
    """The source's leg length (_leg_length), which the motion is scaled by; MotionDataError when
    it is zero (a map putting hip, knee and ankle on one joint, or legs of zero-length bones)."""
    length = _leg_length(positions, found)
    if length > 0:
        return float(length)
    legs = ", ".join(
        f"{name} -> '{source.names[found[skeleton.JOINT_INDEX[name]]]}'"
        for name in (f"{side}_{joint}" for side in ("left", "right") for joint in LEG_JOINTS)
    )
    raise MotionDataError(
        f"cannot scale the source to SMPL's size: its legs have no length ({legs}). Map SMPL's "
        "hips, knees and ankles to three different source joints down each leg, with bones of "
        "non-zero length between them"
    )


def upright_source(source: SourceMotion, joint_map: JointMap, detect: bool = False) -> SourceMotion:
    """`source`, when its body stands with the up axis it was read with; else, with `detect`,
    the source read with the other axis when that one stands it (a BVH written Z-up); else a
    MotionDataError. The body lies down when its trunk (pelvis to head, or the highest trunk
    joint mapped) is more than MAX_TRUNK_TILT degrees off up both in the rest pose and in the
    median frame.

    Either pose alone may lie down: Bandai's rest pose lies along +X (its joints' rotations stand
    it up), and a clip of getting up lies down in most frames. A skeleton of zero OFFSETs rests as
    its position channels place its joints (SourceMotion.rest_pose).
    """
    found = _found_joints(source, joint_map)
    top = next((joint for joint in TRUNK_TOPS if joint in found), None)
    if 0 not in found or top is None:
        return source
    rest, positions = source.rest_pose().joint_positions(), source.joint_positions()
    start, end = found[0], found[top]
    rest_trunk, trunk = rest[:, end] - rest[:, start], positions[:, end] - positions[:, start]
    if _upright(rest_trunk, trunk, source.up):  # a zero rest trunk counts as lying (_tilt)
        return source
    standing = [axis for axis in UP_AXES if axis != source.up and _upright(rest_trunk, trunk, axis)]
    if detect and standing:
        return replace(source, up=standing[0])
    hint = " ".join(
        f"The file looks {axis.upper()}-up: pass up='{axis}' (on the command line, import --up "
        f"{axis}), or leave the axis to be detected."
        for axis in standing
    )
    raise MotionDataError(
        f"with up='{source.up}' the body would lie down: its trunk, from '{source.names[start]}' "
        f"to '{source.names[end]}', is {_tilt(rest_trunk, source.up):.0f} degrees from the up "
        f"axis in the rest pose (OFFSETs) and a median {_tilt(trunk, source.up):.0f} over the "
        f"frames (at most {MAX_TRUNK_TILT:g} stands). {hint or 'Check the joint map.'}"
    )


def _upright(rest_trunk: torch.Tensor, trunk: torch.Tensor, up: str) -> bool:
    """Whether the trunk stands within MAX_TRUNK_TILT of the up axis `up`, at rest or mostly."""
    return bool(min(_tilt(rest_trunk, up), _tilt(trunk, up)) <= MAX_TRUNK_TILT)


def _tilt(vectors: torch.Tensor, up: str) -> float:
    """Median over frames of the angle in degrees between (T, 3) vectors in the file's axes and
    the up axis `up` (zero-length vectors count as 90 degrees)."""
    cosine = vectors[:, UP_AXES[up]] / vectors.norm(dim=-1).clamp_min(1e-12)
    return float(torch.rad2deg(torch.acos(cosine.clamp(-1.0, 1.0))).median())


def _segments(found: dict[int, int], positions: torch.Tensor) -> list[Segment]:
    """Each mapped SMPL joint's segments to its nearest mapped descendants with a usable length.

    A mapped descendant whose source joint sits on the start joint (CMU's clavicles start at the
    thorax) is passed through to its own descendants.
    """
    shortest = SHORTEST_SEGMENT * _leg_length(positions, found)

    def ends(start: int, joint: int) -> list[int]:
        result = []
        for child in skeleton.children(joint):
            if child in found:
                length = positions[:, found[child]] - positions[:, found[start]]
                if length.norm(dim=-1).median() > shortest:
                    result.append(child)
                    continue
            result += ends(start, child)
        return result

    segments = []
    for joint in sorted(found):
        below = ends(joint, joint)
        names = [skeleton.JOINT_NAMES[end] for end in below]
        for end, name in zip(below, names, strict=True):
            if name.startswith("left_") and f"right_{name[5:]}" in names:
                right = below[names.index(f"right_{name[5:]}")]
                segments.append(Segment(joint, right, end, found[right], found[end], "span"))
            kind: SegmentKind = "bone"
            if joint in REST_RELATIVE:
                kind = "rest_relative"
            elif name[name.find("_") + 1 :] in _sides(names):
                kind = "offset"
            segments.append(Segment(joint, joint, end, found[joint], found[end], kind))
    return segments


def _sides(names: Sequence[str]) -> set[str]:
    """Joint names (without side) that appear on both sides among `names`."""
    return {name[5:] for name in names if name.startswith("left_")} & {
        name[6:] for name in names if name.startswith("right_")
    }


def _solve_rotations(
    found: dict[int, int],
    positions: torch.Tensor,
    segments: Sequence[Segment],
    followed: dict[int, torch.Tensor],
) -> torch.Tensor:
    """(T, 24, 3, 3) world rotations of the SMPL joints, root first (see the module docstring).

    followed: {REST_RELATIVE joint: (T, 3, 3) its world rotation}; a REST_RELATIVE joint left
    out keeps its rest pose relative to its parent (as in solving the source's rest pose).
    """
    frames = positions.shape[0]
    rest = skeleton.rest_joints()
    upright = rot.axis_angle_to_matrix(torch.tensor(UPRIGHT_ROOT_AXIS_ANGLE)).expand(frames, 3, 3)
    solved: list[torch.Tensor] = []
    for joint, parent in enumerate(skeleton.PARENTS):
        parent_rotation = solved[parent] if parent >= 0 else upright
        own = [
            segment
            for segment in segments
            if segment.joint == joint and segment.kind != "rest_relative"
        ]
        if joint in followed:
            solved.append(followed[joint])
            continue
        if not own:
            solved.append(parent_rotation)
            continue
        vectors = _vectors(own, found[joint], rest, positions)
        primary = [vector for vector in vectors if vector[2] == 1.0]
        if len(primary) == 1:
            vectors += _twist_hints(joint, parent_rotation, positions, segments)
        rest_vectors = torch.stack([vector[0] for vector in vectors]).expand(frames, -1, -1)
        targets = torch.stack([vector[1] for vector in vectors], dim=1)
        weights = torch.stack(
            [torch.as_tensor(vector[2]).expand(frames) for vector in vectors], dim=1
        )
        rotation = rot.vectors_registration(_unit(rest_vectors), _unit(targets), weights)
        if len(primary) == 1:
            rest_direction, target, _ = primary[0]
            rotation = _swing(rotation @ _unit(rest_direction), _unit(target)) @ rotation
        solved.append(rotation)
    return torch.stack(solved, dim=1)


Vector = tuple[torch.Tensor, torch.Tensor, torch.Tensor | float]  # rest (3,), target (T, 3), weight


def _vectors(
    own: Sequence[Segment], source_joint: int, rest: torch.Tensor, positions: torch.Tensor
) -> list[Vector]:
    """Rest and target directions of one joint's bones and spans (offsets only through the
    midpoint of their span, with a small weight)."""
    vectors: list[Vector] = []
    for segment in own:
        if segment.kind == "offset":
            continue
        vectors.append(
            (
                rest[segment.end] - rest[segment.start],
                positions[:, segment.source_end] - positions[:, segment.source_start],
                1.0,
            )
        )
        if segment.kind == "span":
            source_midpoint = (
                positions[:, segment.source_start] + positions[:, segment.source_end]
            ) / 2
            vectors.append(
                (
                    (rest[segment.start] + rest[segment.end]) / 2 - rest[segment.joint],
                    source_midpoint - positions[:, source_joint],
                    PAIR_MIDPOINT_WEIGHT,
                )
            )
    return vectors


def _twist_hints(
    joint: int,
    parent_rotation: torch.Tensor,
    positions: torch.Tensor,
    segments: Sequence[Segment],
) -> list[Vector]:
    """What fixes a one-bone joint's twist: the plane its limb bends in (hips and shoulders, when
    the knee or elbow is bent), else a weak pull towards its parent's twist."""
    hinge = _hinge(joint, positions, segments)
    bent = hinge[2] if hinge else torch.zeros(())
    prior = PARENT_PRIOR_WEIGHT * (1.0 - bent) + 1e-3
    hints: list[Vector] = [(axis, parent_rotation @ axis, prior) for axis in torch.eye(3)]
    return hints + ([hinge] if hinge else [])


def _hinge(joint: int, positions: torch.Tensor, segments: Sequence[Segment]) -> Vector | None:
    """The knee's or elbow's bending axis for the hip or shoulder above it, weighted by the bend
    (none below about 3 degrees, full from about 17), or None where there is no such limb."""
    name = skeleton.JOINT_NAMES[joint]
    upper = [segment for segment in segments if segment.joint == joint]
    if name not in HINGE_AXES or len(upper) != 1:
        return None
    lower = [segment for segment in segments if segment.joint == upper[0].end]
    if len(lower) != 1:
        return None
    first = positions[:, upper[0].source_end] - positions[:, upper[0].source_start]
    second = positions[:, lower[0].source_end] - positions[:, lower[0].source_start]
    bend = torch.linalg.cross(first, second)
    sine = bend.norm(dim=-1) / (first.norm(dim=-1) * second.norm(dim=-1)).clamp_min(1e-9)
    weight = ((sine - 0.05) / 0.25).clamp(0.0, 1.0)
    return torch.tensor(HINGE_AXES[name]), bend, weight


def _unit(vectors: torch.Tensor) -> torch.Tensor:
    return vectors / vectors.norm(dim=-1, keepdim=True).clamp_min(1e-9)


def _swing(current: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) shortest rotation taking unit vectors `current` onto `target` (..., 3)."""
    axis = torch.linalg.cross(current, target)
    angle = torch.atan2(axis.norm(dim=-1), (current * target).sum(dim=-1))
    return roma.rotvec_to_rotmat(_unit(axis) * angle[..., None])
