"""BVH files: a reader for any skeleton (into a SourceMotion) and a writer for SMPL motions.

Our own numpy parser rather than a library: `pybvh` 0.9 refuses position channels on non-root
joints (every Bandai joint has them) and `bvhio` 1.5, though correct, builds per-joint Python
objects over two extra dependencies (pyglm, spatial-transform) and is slower.

Reading rules: any channel order; rotation channels compose in the order listed (intrinsic, so
"Zrotation Xrotation Yrotation" is Rz @ Rx @ Ry); position channels, on any joint, replace that
joint's OFFSET (so a root OFFSET is ignored when the root has position channels); End Sites become
joints named "<parent>_end" ("End Site" in any case, a name after it ignored); a joint's name is
the rest of its ROOT/JOINT line, words joined with "_" as Blender does; a channel listed twice in
one joint, two joints of one name (without case or namespace prefix, as joint maps match them)
and anything but MOTION after the ROOT block (a second ROOT) are errors; CRLF line ends, tabs, a
UTF-8 byte-order mark and Latin-1 text are fine. BVH is Y-up by convention.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, NoReturn

import numpy as np
import roma
import torch

from . import joint_maps, skeleton
from .atomic import write_atomically
from .errors import MotionDataError, MotionFileError
from .frame_rows import MAX_VALUE, first_unusable, read_lines, to_array
from .kinematics import frame_chunks
from .motion import Motion
from .source_motion import SourceMotion, frame_rate

CHANNEL_NAMES = tuple(f"{axis}{kind}" for kind in ("position", "rotation") for axis in "XYZ")
WRITTEN_ROTATION_ORDER = "ZYX"
Y_UP_FROM_Z_UP = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])


@dataclass
class _Joint:
    name: str
    parent: int
    offset: tuple[float, float, float]
    channels: list[str] = field(default_factory=list)


class _Tokens:
    """The hierarchy's words with their line numbers, for error messages that name the line."""

    def __init__(self, path: Path, lines: list[str]) -> None:
        self.path = path
        self.words = [
            (word, number) for number, line in enumerate(lines, 1) for word in line.split()
        ]
        self.position = 0  # index of the next word
        self.line = 0

    def next(self, expected: str) -> str:
        if self.done():
            raise MotionFileError(
                f"{self.path}: the hierarchy ends early (line {self.line}); expected {expected}"
            )
        word, self.line = self.words[self.position]
        self.position += 1
        return word

    def rest_of_line(self) -> list[str]:
        """The words left on the current line, up to a '{' (which stays for the next read)."""
        words = []
        while self.position < len(self.words):
            word, number = self.words[self.position]
            if number != self.line or word == "{":
                break
            words.append(word)
            self.position += 1
        return words

    def expect(self, keyword: str) -> None:
        word = self.next(f"'{keyword}'")
        if word != keyword:
            self.fail(f"expected '{keyword}', found '{word}'")

    def number(self, what: str) -> float:
        """The next word as a finite number within ±MAX_VALUE (no motion's positions reach it)."""
        word = self.next(what)
        try:
            value = float(word)
        except ValueError:
            self.fail(f"expected {what}, found '{word}'")
        if not abs(value) <= MAX_VALUE:  # NaN and infinities too
            self.fail(f"expected {what} within ±{MAX_VALUE:g}, found '{word}'")
        return value

    def count(self, what: str) -> int:
        """The next word as a whole number, 0 or more."""
        value = self.number(what)
        if not (value.is_integer() and value >= 0):
            self.fail(f"expected {what} (a whole number, 0 or more), found '{value:g}'")
        return int(value)

    def done(self) -> bool:
        """Whether every word has been read."""
        return self.position == len(self.words)

    def fail(self, message: str) -> NoReturn:
        raise MotionFileError(f"{self.path}, line {self.line}: {message}")


def read_bvh(path: str | os.PathLike[str], up: str = "y") -> SourceMotion:
    """Read a BVH file of any skeleton; errors name the file, the line and what was expected.

    up: the file's up axis, "y" (the BVH convention) or "z" (some exporters).
    """
    path = Path(path)
    lines = read_lines(path)
    motion_line = next((i for i, line in enumerate(lines) if line.strip() == "MOTION"), None)
    if motion_line is None:
        raise MotionFileError(f"{path}: no MOTION section; is this a BVH file?")
    tokens = _Tokens(path, lines[:motion_line])
    tokens.expect("HIERARCHY")
    tokens.expect("ROOT")
    joints = _read_hierarchy(tokens)
    _check_hierarchy_ends(tokens)
    values, fps = _read_frames(path, lines, motion_line, joints)
    return _source_motion(joints, values, fps, up)


def _read_hierarchy(tokens: _Tokens) -> list[_Joint]:
    """The joints of the ROOT block (its ROOT word read), each after its parent.

    A loop over the open joints rather than recursion: a chain of a thousand joints would pass
    Python's recursion limit.
    """
    joints: list[_Joint] = []
    seen: dict[str, tuple[str, int]] = {}  # each name as matched: the name and its line
    open_joints = [_start_joint(tokens, joints, seen, parent=-1)]
    while open_joints:
        index = open_joints[-1]
        joint = joints[index]
        word = tokens.next("'}'")
        if word == "OFFSET":
            joint.offset = _read_offset(tokens)
        elif word == "CHANNELS":
            _read_channels(tokens, joint)
        elif word == "JOINT":
            open_joints.append(_start_joint(tokens, joints, seen, index))
        elif word.lower() == "end":
            _read_end_site(tokens, joints, seen, index, word)
        elif word == "}":
            open_joints.pop()
        else:
            tokens.fail(f"unexpected '{word}' in joint '{joint.name}'")
    return joints


def _start_joint(
    tokens: _Tokens, joints: list[_Joint], seen: dict[str, tuple[str, int]], parent: int
) -> int:
    """Add the joint whose ROOT/JOINT word was just read, up to its '{'; its index.

    The name is the rest of the ROOT/JOINT line, its words joined with "_" as Blender does
    ("Bip01 L Thigh" -> "Bip01_L_Thigh").
    """
    name = "_".join(tokens.rest_of_line())
    if not name:
        tokens.fail("expected a joint name after ROOT or JOINT, on the same line")
    _add_joint(tokens, joints, seen, _Joint(name, parent, (0.0, 0.0, 0.0)))
    tokens.expect("{")
    return len(joints) - 1


def _add_joint(
    tokens: _Tokens, joints: list[_Joint], seen: dict[str, tuple[str, int]], joint: _Joint
) -> None:
    """Append a joint whose name no other joint has: joint maps match names without case or
    namespace prefix, so of two such joints one would silently drive the SMPL joint."""
    key = joint_maps.normalize(joint.name)
    if key in seen:
        other, line = seen[key]
        tokens.fail(
            f"joint '{joint.name}' has the same name as joint '{other}' at line {line} (names "
            "match without case or namespace prefix); a joint map could not tell them apart"
        )
    seen[key] = (joint.name, tokens.line)
    joints.append(joint)


def _read_offset(tokens: _Tokens) -> tuple[float, float, float]:
    """The three numbers after OFFSET."""
    x, y, z = (tokens.number("an OFFSET number") for _ in range(3))
    return x, y, z


def _read_channels(tokens: _Tokens, joint: _Joint) -> None:
    """The count and names after CHANNELS, into joint.channels."""
    line = tokens.line
    count = tokens.count("the number of channels")
    for listed in range(count):
        channel = tokens.next("a channel name")
        if channel.capitalize() not in CHANNEL_NAMES:
            tokens.line = line
            tokens.fail(
                f"CHANNELS of joint '{joint.name}' says {count} channels but lists {listed} "
                f"before '{channel}'; channel names are {', '.join(CHANNEL_NAMES)}"
            )
        if channel.capitalize() in joint.channels:  # its values would overwrite others
            tokens.fail(f"channel '{channel.capitalize()}' listed twice in joint '{joint.name}'")
        joint.channels.append(channel.capitalize())


def _read_end_site(
    tokens: _Tokens, joints: list[_Joint], seen: dict[str, tuple[str, int]], parent: int, word: str
) -> None:
    """An End Site block (its first word, `word`, read) as the joint "<parent>_end"."""
    site = tokens.next("'Site'")
    if site.lower() != "site":
        tokens.fail(f"expected 'Site' after '{word}', found '{site}'")
    tokens.rest_of_line()  # a name after End Site, which Blender ignores too
    end = _Joint(f"{joints[parent].name}_end", parent, (0.0, 0.0, 0.0))
    _add_joint(tokens, joints, seen, end)
    tokens.expect("{")
    tokens.expect("OFFSET")
    end.offset = _read_offset(tokens)
    tokens.expect("}")


def _check_hierarchy_ends(tokens: _Tokens) -> None:
    """Nothing but MOTION may follow the ROOT block: anything else would be ignored unread."""
    if not tokens.done():
        word = tokens.next("MOTION")
        if word == "ROOT":
            tokens.fail("a second ROOT is not supported; a BVH file is read as one skeleton")
        tokens.fail(f"unexpected '{word}' after the ROOT joint's closing brace; expected MOTION")


def _read_frames(
    path: Path, lines: list[str], motion_line: int, joints: list[_Joint]
) -> tuple[np.ndarray, float]:
    """The MOTION section: (frames, channels) values and the frame rate."""
    header: list[tuple[str, int]] = []  # the value after each key, and its 1-based line
    number = motion_line + 1
    for key in ("Frames:", "Frame Time:"):
        while number < len(lines) and not lines[number].strip():
            number += 1
        # Any run of whitespace counts as one space, so "Frame\tTime:" is fine.
        text = " ".join(lines[number].split()) if number < len(lines) else ""
        if not text.startswith(key):
            raise MotionFileError(f"{path}, line {number + 1}: expected '{key} ...'")
        header.append((text[len(key) :].strip(), number + 1))
        number += 1
    (frames_text, frames_line), (time_text, time_line) = header
    try:
        frames = int(frames_text)
    except ValueError:
        raise MotionFileError(
            f"{path}, line {frames_line}: 'Frames:' needs a whole number, found '{frames_text}'"
        ) from None
    if frames <= 0:
        raise MotionFileError(f"{path}, line {frames_line}: the file has no frames")
    try:
        fps = frame_rate(float(time_text))
    except ValueError:
        raise MotionFileError(
            f"{path}, line {time_line}: 'Frame Time:' needs a number of seconds, found "
            f"'{time_text}'"
        ) from None
    except MotionDataError as error:
        raise MotionFileError(f"{path}, line {time_line}: {error}") from None

    width = sum(len(joint.channels) for joint in joints)
    values = _well_formed_frames(lines[number:], frames, width)
    if values is not None:
        return values, fps
    # Something is wrong: read word by word, to name the line.
    numbered = [(n, line.split()) for n, line in enumerate(lines[number:], number + 1)]
    rows = [(n, words) for n, words in numbered if words]
    if len(rows) != frames:
        last = len(lines)
        raise MotionFileError(
            f"{path}: 'Frames: {frames}' but {len(rows)} frame lines follow (file ends at line "
            f"{last}); the file is truncated or its header is wrong"
        )
    values = to_array(path, rows, width, "one per channel of the hierarchy")
    return values, fps


def _well_formed_frames(lines: list[str], frames: int, width: int) -> np.ndarray | None:
    """(frames, width) float64 values when the frame lines hold exactly that many usable numbers,
    read by numpy's parser: a long capture's words, split one by one, take seconds and many
    times the file's size in memory. None when anything is amiss."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numpy warns of an empty input, which fails below
            # the lines themselves, not their joined text: a StringIO holds four bytes a character
            values = np.loadtxt(lines, dtype=np.float64, comments=None, ndmin=2)
    except ValueError:
        return None
    if values.shape != (frames, width) or first_unusable(values) is not None:
        return None
    return values


def _source_motion(joints: list[_Joint], values: np.ndarray, fps: float, up: str) -> SourceMotion:
    """Turn per-channel values into local rotations and translations."""
    frames = values.shape[0]
    data = torch.from_numpy(values)
    offsets = torch.tensor([joint.offset for joint in joints], dtype=torch.float64)
    translations = offsets.expand(frames, -1, -1).clone()
    rotations = torch.eye(3, dtype=torch.float64).expand(frames, len(joints), 3, 3).clone()
    by_order: dict[str, tuple[list[int], list[list[int]]]] = {}
    column = 0
    for index, joint in enumerate(joints):
        order, rotation_columns = "", []
        for channel in joint.channels:
            axis = "XYZ".index(channel[0])
            if channel.endswith("position"):
                translations[:, index, axis] = data[:, column]
            else:
                order += channel[0]
                rotation_columns.append(column)
            column += 1
        if order:
            group = by_order.setdefault(order, ([], []))
            group[0].append(index)
            group[1].append(rotation_columns)
    for order, (indices, columns) in by_order.items():
        for chunk in frame_chunks(frames):  # roma's intermediates are several times its result
            angles = data[chunk, torch.tensor(columns)]  # (frames, joints in group, len(order))
            rotations[chunk, indices] = roma.euler_to_rotmat(order, angles, degrees=True)
    return SourceMotion(
        names=tuple(joint.name for joint in joints),
        parents=tuple(joint.parent for joint in joints),
        offsets=offsets,
        rotations=rotations,
        translations=translations,
        fps=fps,
        up=up,
    )


def write_bvh(motion: Motion, path: str | os.PathLike[str]) -> None:
    """Write an SMPL motion as a Y-up BVH in metres; no partial file on failure.

    The SMPL rest skeleton is the hierarchy (SMPL's own frame is Y-up, +Z the body's forward), so
    Blender's importer with its default axes (forward -Z, up Y) shows the motion in the same Z-up
    world as ours. The root has position channels and OFFSET 0, so readers that add positions to
    the OFFSET and readers that replace it agree. Leaf joints get an End Site half their bone long.
    """
    path = Path(path)
    rest = skeleton.rest_joints(torch.float64)
    lines = ["HIERARCHY"]
    order: list[int] = []  # joints in hierarchy order, which the frame values follow
    _write_joint(lines, order, 0, rest, depth=0)
    rotations = motion.rotation_matrices().double()
    to_bvh = Y_UP_FROM_Z_UP.double()
    rotations[:, 0] = to_bvh @ rotations[:, 0]
    root = (motion.translation.double() + rest[0]) @ to_bvh.T
    angles = roma.rotmat_to_euler(WRITTEN_ROTATION_ORDER, rotations, degrees=True)
    values = torch.cat([root, angles[:, order].reshape(motion.num_frames, -1)], dim=1).numpy()
    lines += ["MOTION", f"Frames: {motion.num_frames}", f"Frame Time: {1.0 / motion.fps:.9f}"]
    header = "\n".join(lines) + "\n"

    def write(stream: BinaryIO) -> None:
        stream.write(header.encode("ascii"))
        np.savetxt(stream, values, fmt="%.6f")

    write_atomically(path, write)


def _write_joint(
    lines: list[str], order: list[int], joint: int, rest: torch.Tensor, depth: int
) -> None:
    order.append(joint)
    indent = "  " * depth
    parent = skeleton.PARENTS[joint]
    offset = rest[joint] - rest[parent] if parent >= 0 else torch.zeros(3, dtype=rest.dtype)
    rotation_channels = " ".join(f"{axis}rotation" for axis in WRITTEN_ROTATION_ORDER)
    channels = (
        f"CHANNELS 6 Xposition Yposition Zposition {rotation_channels}"
        if parent < 0
        else f"CHANNELS 3 {rotation_channels}"
    )
    lines += [
        f"{indent}{'ROOT' if parent < 0 else 'JOINT'} {skeleton.JOINT_NAMES[joint]}",
        f"{indent}{{",
        f"{indent}  OFFSET {_numbers(offset)}",
        f"{indent}  {channels}",
    ]
    children = skeleton.children(joint)
    for child in children:
        _write_joint(lines, order, child, rest, depth + 1)
    if not children:
        lines += [
            f"{indent}  End Site",
            f"{indent}  {{",
            f"{indent}    OFFSET {_numbers(0.5 * offset)}",
            f"{indent}  }}",
        ]
    lines.append(f"{indent}}}")


def _numbers(vector: torch.Tensor) -> str:
    return " ".join(f"{float(value):.6f}" for value in vector)
