"""Which source joint drives which SMPL joint: built-in maps, detection from names, JSON maps.

A joint map is {SMPL joint name: source joint name}. SMPL joints it leaves out follow their parent
(see retarget). Source names are matched without case and without a namespace prefix, so
"mixamorig:Hips", "mixamorig1:Hips" and "hips" all match "Hips".
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from . import skeleton
from .errors import MotionDataError, MotionFileError, first_of

JointMap = dict[str, str]

# Every map must drive these, or the retargeted body would be missing a limb or the head.
REQUIRED: tuple[str, ...] = (
    *(
        f"{side}_{joint}"
        for joint in ("hip", "knee", "ankle", "shoulder", "elbow", "wrist")
        for side in ("left", "right")
    ),
    "pelvis",
    "neck",
    "head",
)
SHOWN_NAMES = 12  # source joint names an error lists (a character rig has hundreds)
HOW_TO_MAP = (
    'On the command line, give a joint map (import --map): a JSON file {"smpl joint": "source '
    "joint\"} or a built-in map's name. In Blender, read the motion from a rig whose bones are "
    "named as a built-in map names them (Mixamo's, SMPL's, CMU BVH's); bones that follow others "
    "by constraints (a Rigify rig's deform bones) are read as keyed, so bake the action first."
)
ARM = ("collar", "shoulder", "elbow", "wrist", "hand")
LEG = ("hip", "knee", "ankle", "foot")


def _limbs(arm: str, leg: str, left: str, right: str) -> JointMap:
    """Both sides' limb joints from two space-separated name patterns (ARM and LEG order),
    "{side}" standing for `left` or `right` and "-" for a joint the source lacks."""
    names = dict(zip(ARM + LEG, arm.split() + leg.split(), strict=True))
    return {
        f"{side}_{joint}": name.format(side=label)
        for side, label in (("left", left), ("right", right))
        for joint, name in names.items()
        if name != "-"
    }


BUILT_IN: dict[str, JointMap] = {
    "smpl": {name: name for name in skeleton.JOINT_NAMES},
    "smpl_meshcapade": {
        "pelvis": "Pelvis",
        "spine1": "Spine1",
        "spine2": "Spine2",
        "spine3": "Spine3",
        "neck": "Neck",
        "head": "Head",
    }
    | _limbs(
        "{side}_Collar {side}_Shoulder {side}_Elbow {side}_Wrist {side}_Hand",
        "{side}_Hip {side}_Knee {side}_Ankle {side}_Foot",
        "L",
        "R",
    ),
    "mixamo": {
        "pelvis": "mixamorig:Hips",
        "spine1": "mixamorig:Spine",
        "spine2": "mixamorig:Spine1",
        "spine3": "mixamorig:Spine2",
        "neck": "mixamorig:Neck",
        "head": "mixamorig:Head",
    }
    | _limbs(
        "{side}Shoulder {side}Arm {side}ForeArm {side}Hand {side}HandMiddle1",
        "{side}UpLeg {side}Leg {side}Foot {side}ToeBase",
        "mixamorig:Left",
        "mixamorig:Right",
    ),
    # CMU mocap as BVH (the cgspeed conversion): LowerBack sits on the hips, Neck on Spine1.
    "cmu_bvh": {"pelvis": "Hips", "spine1": "Spine", "spine2": "Spine1", "neck": "Neck1"}
    | {"head": "Head"}
    | _limbs(
        "{side}Shoulder {side}Arm {side}ForeArm {side}Hand {side}FingerBase",
        "{side}UpLeg {side}Leg {side}Foot {side}ToeBase",
        "Left",
        "Right",
    ),
    "bandai": {"pelvis": "Hips", "spine1": "Spine", "spine2": "Chest", "neck": "Neck"}
    | {"head": "Head"}
    | _limbs(
        "Shoulder_{side} UpperArm_{side} LowerArm_{side} Hand_{side} -",
        "UpperLeg_{side} LowerLeg_{side} Foot_{side} Toes_{side}",
        "L",
        "R",
    ),
    # DeepMimic's humanoid3d; "head" and the toes are points on its bodies that the reader adds.
    "deepmimic": {"pelvis": "root", "spine2": "chest", "neck": "neck", "head": "head"}
    | _limbs(
        "- {side}_shoulder {side}_elbow {side}_wrist -",
        "{side}_hip {side}_knee {side}_ankle {side}_toe",
        "left",
        "right",
    ),
    # The CMU 8-action set in CMU ASF naming: each name is the point where that bone starts
    # (lfemur is the hip joint). lowerback sits on the root, lowerneck and lclavicle on thorax.
    "cmu8": {"pelvis": "root", "spine1": "upperback", "spine2": "thorax", "neck": "upperneck"}
    | {"head": "head"}
    | _limbs(
        "{side}clavicle {side}humerus {side}radius {side}wrist {side}fingers",
        "{side}femur {side}tibia {side}foot {side}toes",
        "l",
        "r",
    ),
}


def normalize(name: str) -> str:
    """The form names are matched in: no namespace prefix ("mixamorig:"), lower case."""
    return name.rsplit(":", 1)[-1].strip().lower()


def indices(joint_map: JointMap, names: Sequence[str]) -> dict[str, int]:
    """{SMPL joint: index into `names`} for the map's entries whose source joint exists."""
    by_name = {normalize(name): index for index, name in enumerate(names)}
    return {
        smpl: by_name[normalize(source)]
        for smpl, source in joint_map.items()
        if normalize(source) in by_name
    }


def missing(joint_map: JointMap, names: Sequence[str]) -> list[str]:
    """The REQUIRED SMPL joints that the map does not drive from one of `names`."""
    found = indices(joint_map, names)
    return [joint for joint in REQUIRED if joint not in found]


def detect(names: Sequence[str]) -> tuple[str, JointMap]:
    """The built-in map that covers every REQUIRED joint and matches the most source joints."""
    ranked = sorted(
        BUILT_IN,
        key=lambda name: (not missing(BUILT_IN[name], names), len(indices(BUILT_IN[name], names))),
        reverse=True,
    )
    best = ranked[0]
    if not indices(BUILT_IN[best], names):
        raise MotionDataError(
            "cannot map this skeleton onto SMPL: its joint names follow none of the built-in "
            "maps' namings, in which it looks for the pelvis, hips, knees, ankles, shoulders, "
            f"elbows, wrists, neck and head. Source joints seen: {first_of(names, SHOWN_NAMES)}. "
            f"{HOW_TO_MAP}"
        )
    _check_covers(f"closest built-in map '{best}'", BUILT_IN[best], names)
    return best, BUILT_IN[best]


def resolve(spec: str | None, names: Sequence[str]) -> tuple[str, JointMap]:
    """The map a user asked for: None detects one, else a built-in name or a JSON file path."""
    if spec is None:
        return detect(names)
    if spec in BUILT_IN:
        joint_map = BUILT_IN[spec]
    elif spec.lower().endswith(".json"):
        joint_map = read_map(spec)
        _check_sources(spec, joint_map, names)
    else:
        raise MotionDataError(
            f"unknown joint map '{spec}': use one of {', '.join(BUILT_IN)} or a .json file"
        )
    _check_covers(f"joint map '{spec}'", joint_map, names)
    return spec, joint_map


def read_map(path: str | os.PathLike[str]) -> JointMap:
    """A user's JSON map, {"pelvis": "Hips", "left_hip": "LeftUpLeg", ...}, in UTF-8 (a
    byte-order mark, which some Windows editors write, skipped)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise MotionFileError(f"{path}: no such joint map file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise MotionFileError(f"{path}: not a readable JSON joint map ({error})") from None
    if not isinstance(data, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in data.items()
    ):
        raise MotionFileError(
            f"{path}: a joint map is a JSON object of SMPL joint name -> source joint name"
        )
    unknown = sorted(set(data) - set(skeleton.JOINT_NAMES))
    if unknown:
        raise MotionFileError(
            f"{path}: {', '.join(unknown)} are not SMPL joints; SMPL joints are "
            f"{', '.join(skeleton.JOINT_NAMES)}"
        )
    return data


def _check_sources(spec: str, joint_map: JointMap, names: Sequence[str]) -> None:
    """Every entry of a user's map names a source joint: one that does not (a typo, another
    skeleton's map) would otherwise leave its SMPL joint silently following its parent."""
    seen = {normalize(name) for name in names}
    unknown = [
        f'"{smpl}": "{source}"'
        for smpl, source in joint_map.items()
        if normalize(source) not in seen
    ]
    if unknown:
        raise MotionDataError(
            f"cannot map this skeleton onto SMPL: the joint map '{spec}' names source joints "
            f"that are not in this skeleton: {', '.join(unknown)} (names match without case or "
            f"namespace prefix). Source joints seen: {', '.join(names)}"
        )


def _check_covers(label: str, joint_map: JointMap, names: Sequence[str]) -> None:
    lacking = missing(joint_map, names)
    if lacking:
        raise MotionDataError(
            f"cannot map this skeleton onto SMPL: the {label} finds no source joint for SMPL "
            f"joints {', '.join(lacking)}. Source joints seen: {first_of(names, SHOWN_NAMES)}. "
            f"{HOW_TO_MAP}"
        )
