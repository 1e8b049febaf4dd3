"""Labelled clips of every data source: which file, which part of it, and what it shows.

A Clip names a file (and, for BABEL segments, a time span) with its content label (a verb phrase
in the base form, "walk backwards", shared across sources so that a walk is a walk everywhere),
the source's own raw label, an optional style, the group that must stay in one split (a clip and
its mirror, the segments of one AMASS file) and the licence of the data. Nothing is imported
here; prepare.py reads the files.
"""

from __future__ import annotations

import csv
import json
import logging
import lzma
import math
import re
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from motionclip_blender.core.captions import is_verb_phrase
from motionclip_blender.core.errors import MotionClipError

from .config import AmassFolder, BvhFolder

logger = logging.getLogger(__name__)

BANDAI_LICENCE = "CC BY-NC 4.0, Bandai Namco Research Inc. (non-commercial)"
LICENCES = {
    "bandai": BANDAI_LICENCE,
    "deepmimic": "MIT (DeepMimic)",
    "deepmimic-sie": "CC BY-NC 4.0, Sony Interactive Entertainment (non-commercial)",
    "cmu8": "CMU Graphics Lab Motion Capture Database (free to use)",
    "bvh": "user-supplied data",
    "amass": "AMASS and BABEL licences (non-commercial research)",
}

# Source labels -> shared verb phrases. Labels not listed become their words ("a-b_c" -> "a b c").
CONTENT_PHRASES = {
    # Bandai
    "walk-turn-left": "walk and turn left",
    "walk-turn-right": "walk and turn right",
    "wave-both-hands": "wave both hands",
    "wave-left-hand": "wave the left hand",
    "wave-right-hand": "wave the right hand",
    "raise-up-both-hands": "raise both hands",
    "raise-up-left-hand": "raise the left hand",
    "raise-up-right-hand": "raise the right hand",
    "bye": "wave goodbye with one hand",
    "byebye": "wave goodbye with both hands",
    "call": "call someone over",
    "dance-short": "dance",
    "dance-long": "dance",
    "guide": "guide someone the way",
    "respond": "respond to someone",
    "slash": "slash with a sword",
    "walk-back": "walk backwards",
    "walk-left": "walk to the left",
    "walk-right": "walk to the right",
    # DeepMimic
    "dance_a": "dance",
    "dance_b": "dance",
    "dance_spin": "dance and spin",
    "getup_facedown": "get up from lying face down",
    "getup_faceup": "get up from lying on the back",
    "spinkick": "do a spin kick",
    "backflip": "do a backflip",
    "sideflip": "do a side flip",
    "cartwheel": "do a cartwheel",
    "stealthy_walk": "sneak",
    "zombie_walk": "walk like a zombie",
    "zombie": "walk like a zombie",
    "ready_to_walk": "start walking",
    "walk_to_ready": "stop walking",
    "run_forward": "run forward",
    "run_left": "run and turn left",
    "run_right": "run and turn right",
    "punch_forward": "punch forward",
    "punch_left": "punch to the left",
    "punch_right": "punch to the right",
    # CMU8
    "walking": "walk",
    "walking_extra": "walk",
    "running": "run",
    "jumping": "jump",
    "basketball": "play basketball",
    "basketball_signal": "make basketball referee signals",
    "directing_traffic": "direct traffic",
    "soccer": "play soccer",
    "washwindow": "wash a window",
}


class DataSourceError(MotionClipError):
    """A data source that cannot be used: missing folder, bad label file, no usable clips."""


@dataclass(frozen=True)
class Clip:
    """One labelled motion.

    path: the file. source: bandai, deepmimic, cmu8, bvh or amass. content: shared verb phrase;
    raw_label: the source's own label; style: "" when the source has none; text: a caption the
    user wrote ("" when none); group: clips of one group are always in the same split;
    fixed_split: the split the source itself prescribes ("" when none); start, stop: the part of
    the file in seconds (BABEL segments).
    """

    path: Path
    source: str
    content: str
    raw_label: str
    style: str
    group: str
    licence: str
    text: str = ""
    fixed_split: str = ""
    start: float = 0.0
    stop: float = math.inf


def content_phrase(label: str) -> str:
    """A source label as a shared verb phrase: "walk-back" -> "walk backwards"."""
    key = label.strip().lower()
    return CONTENT_PHRASES.get(key, re.sub(r"[-_\s]+", " ", key).strip())


def unpack_shared_set(name: str, root: Path, archives: Path) -> Path:
    """root/NAME, unpacked from archives/NAME.tar.xz first when it is not there yet.

    The archive is unpacked into a hidden folder beside root/NAME and renamed into place, so an
    unpack that fails or is interrupted leaves no folder that looks complete."""
    target = root / name
    archive = archives / f"{name}.tar.xz"
    if target.is_dir():
        if not any(target.iterdir()):
            raise DataSourceError(
                f"shared set '{name}': {target} is empty; remove it to unpack {archive} again"
            )
        return target
    if not archive.is_file():
        raise DataSourceError(
            f"shared set '{name}': neither {target} nor the archive {archive} exists"
        )
    created_root = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-unpacking-", dir=root))
    logger.warning("unpacking %s into %s", archive, root)
    try:
        with tarfile.open(archive, "r:xz") as tar:
            tar.extractall(staging, filter="data")
        if not (staging / name).is_dir():
            raise DataSourceError(f"{archive}: expected a top-level folder '{name}' in the archive")
        (staging / name).rename(target)
    except (tarfile.TarError, lzma.LZMAError, EOFError, OSError) as error:
        raise DataSourceError(f"{archive}: cannot unpack it into {root} ({error})") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if created_root and not target.is_dir():
            shutil.rmtree(root, ignore_errors=True)
    return target


def bandai_clips(folder: Path) -> list[Clip]:
    """dataset-N_{content}_{style}_{id}.bvh files; style is part of the label."""
    clips = []
    for path in sorted(folder.glob("*/dataset-*_*_*_*.bvh")):
        _, content, style, _ = path.stem.split("_")
        style = "masculine" if style == "masculinity" else style
        clips.append(
            Clip(path, "bandai", content_phrase(content), content, style, path.stem, BANDAI_LICENCE)
        )
    return clips


def deepmimic_clips(folder: Path) -> list[Clip]:
    """motions/**/*.txt, labelled by file name; a clip and its mirror share a group."""
    clips = []
    for path in sorted((folder / "motions").rglob("*.txt")):
        name = re.sub(r"^(sie_)?humanoid3d_", "", path.stem)
        group = name.removesuffix("_mirror")
        label = re.sub(r"^long_|\d+$", "", group)
        licence = LICENCES["deepmimic-sie" if path.parent.name == "sie" else "deepmimic"]
        clips.append(
            Clip(
                path,
                "deepmimic",
                content_phrase(label),
                label,
                "",
                f"{path.parent.name}/{group}",
                licence,
            )
        )
    return clips


def cmu8_clips(folder: Path) -> list[Clip]:
    """{train,test}/{action}/{action}_{n}.txt; the set's own test folder stays the test split."""
    clips = []
    for path in sorted(folder.glob("t*/*/*.txt")):
        split, action = path.parent.parent.name, path.parent.name
        clips.append(
            Clip(
                path,
                "cmu8",
                content_phrase(action),
                action,
                "",
                f"{split}/{path.stem}",
                LICENCES["cmu8"],
                fixed_split="test" if split == "test" else "",
            )
        )
    return clips


SHARED_READERS = {"bandai": bandai_clips, "deepmimic": deepmimic_clips, "cmu8": cmu8_clips}


def bvh_folder_clips(source: BvhFolder) -> list[Clip]:
    """Clips of a BVH folder labelled by a CSV of `file,text` rows (a header row is optional)."""
    folder, labels = Path(source.folder), Path(source.labels)
    if not folder.is_dir():
        raise DataSourceError(f"{folder}: no such BVH folder")
    clips, missing = [], []
    for number, row in _label_rows(labels):
        header = [cell.strip().lower() for cell in row] == ["file", "text"]
        if not any(cell.strip() for cell in row) or (number == 1 and header):
            continue
        if len(row) != 2 or not row[0].strip() or not row[1].strip():
            raise DataSourceError(
                f"{labels}, line {number}: expected two columns `file,text`, got {row}"
            )
        path, text = folder / row[0].strip(), " ".join(row[1].split())
        if not path.is_file():
            missing.append(f"line {number}: {row[0].strip()}")
            continue
        clips.append(
            Clip(path, "bvh", content_phrase(text), text, "", str(path), LICENCES["bvh"], text=text)
        )
    if missing:
        raise DataSourceError(
            f"{labels} names {len(missing)} file(s) that are not in {folder}: "
            + "; ".join(missing[:10])
            + (" ..." if len(missing) > 10 else "")
        )
    if not clips:
        raise DataSourceError(f"{labels}: no `file,text` rows; it labels no BVH file")
    return clips


def _label_rows(labels: Path) -> list[tuple[int, list[str]]]:
    """The rows of a label CSV, each with the line it starts on. csv itself splits the file
    (opened with newline=""), so a quoted field keeps its line breaks and a label keeps the
    characters str.splitlines() would also split at (U+0085, U+2028)."""
    rows = []
    try:
        with labels.open(encoding="utf-8-sig", newline="") as file:
            reader = csv.reader(file)
            start = 1
            for row in reader:
                rows.append((start, row))
                start = reader.line_num + 1
    except FileNotFoundError:
        raise DataSourceError(f"{labels}: no such label file") from None
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DataSourceError(f"{labels}: cannot read the label CSV ({error})") from None
    return rows


def amass_clips(source: AmassFolder) -> list[Clip]:
    """One clip per BABEL label of each AMASS sequence that is present in the folder.

    BABEL files map ids to {"feat_p": "CMU/CMU/86/86_05_poses.npz", "seq_ann": {"labels": [...]},
    "frame_ann": {"labels": [{"proc_label", "act_cat", "start_t", "end_t"}, ...]} or null}. Frame
    labels give segments; sequences without them get their sequence label. The text is the
    processed label, and so is the content when it is a verb phrase (_babel_content_label).
    Sequences whose file is absent are counted and reported in one warning; an entry that yields
    no clip at all is an error (a folder one level off, no BABEL file), as training would go on
    without its data. Every entry is checked, present or not: one of another layout is an error
    naming the BABEL file and the entry's id.
    """
    folder = Path(source.folder)
    if not folder.is_dir():
        raise DataSourceError(f"{folder}: no such AMASS folder")
    clips: list[Clip] = []
    absent: list[Path] = []
    sequences = 0
    for babel_path in map(Path, source.babel):
        for key, sequence in _babel_sequences(babel_path).items():
            sequences += 1
            where = f"{babel_path}, sequence {key}"
            feat_p = sequence["feat_p"]
            if not isinstance(feat_p, str) or not feat_p.strip():
                raise DataSourceError(f"{where}: 'feat_p' must be a file path, got {feat_p!r}")
            relative = Path(feat_p)
            # feat_p starts with the archive's folder ("CMU/CMU/..."); users unpack either level.
            candidates = [folder / relative, folder / Path(*relative.parts[1:])]
            path = next((c for c in candidates if c.is_file()), None)
            sequence_clips = [  # checked whether its file is present or not
                _babel_clip(
                    path or relative, str(relative), label, f"{where}, {what} label {number}"
                )
                for what, number, label in _babel_labels(sequence, where)
            ]
            if path is None:
                absent.append(relative)
            else:
                clips += sequence_clips
    if not clips:
        raise DataSourceError(
            f"[[data.amass]] folder {folder}, babel {source.babel}: no clips, "
            + _why_no_amass_clips(folder, sequences, absent)
        )
    if absent:
        logger.warning(
            "%d BABEL sequence(s) skipped: their .npz is not under %s", len(absent), folder
        )
    return clips


def _why_no_amass_clips(folder: Path, sequences: int, absent: list[Path]) -> str:
    """Why an [[data.amass]] entry yields no clip, for its error message."""
    if sequences == 0:
        return "its BABEL file list names no sequence (babel = [] or empty files)"
    if absent and len(absent) == sequences:
        first = absent[0]
        return (
            f"none of its {sequences} BABEL sequence(s) has its .npz under the folder: the "
            f"first, {first}, is neither {folder / first} nor {folder / Path(*first.parts[1:])}"
        )
    return "the sequences whose .npz is present have no labels"


def _babel_sequences(path: Path) -> dict[str, dict[str, Any]]:
    """The sequences of a BABEL file by id, each an object with 'feat_p'."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataSourceError(f"{path}: no such BABEL file") from None
    except (OSError, ValueError) as error:
        raise DataSourceError(f"{path}: not a readable BABEL JSON file ({error})") from None
    if not isinstance(data, dict):
        raise DataSourceError(
            f"{path}: expected BABEL's layout, an object of sequences each with 'feat_p'"
        )
    for key, entry in data.items():
        if not isinstance(entry, dict) or "feat_p" not in entry:
            raise DataSourceError(
                f"{path}, sequence {key}: expected an object with 'feat_p', got {entry!r:.80}"
            )
    return data


def _babel_labels(sequence: dict[str, Any], where: str) -> list[tuple[str, int, Any]]:
    """The labels to use of a sequence, as (annotation, number, label): its frame labels, or
    its sequence labels when it has none."""
    chosen: list[tuple[str, int, Any]] = []
    for annotation in ("frame_ann", "seq_ann"):
        value = sequence.get(annotation)
        if value is None:
            continue
        if not isinstance(value, dict):
            raise DataSourceError(f"{where}: '{annotation}' must be an object or null")
        labels = value.get("labels")
        if labels is None:
            continue
        if not isinstance(labels, list):
            raise DataSourceError(f"{where}: '{annotation}.labels' must be a list or null")
        if not chosen:
            chosen = [(annotation, number, label) for number, label in enumerate(labels, 1)]
    return chosen


def _babel_clip(path: Path, group: str, label: Any, where: str) -> Clip:
    """The clip of one BABEL label; `where` names the file, sequence and label for errors."""
    if not isinstance(label, dict):
        raise DataSourceError(f"{where}: expected an object, got {label!r:.80}")
    text = str(label.get("proc_label") or label.get("raw_label") or "").strip()
    if not text:
        raise DataSourceError(f"{where}: no proc_label or raw_label")
    categories = label.get("act_cat") or []
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        raise DataSourceError(f"{where}: 'act_cat' must be a list of strings, got {categories!r}")
    raw = _babel_content_label(text, categories)
    start = _babel_time(label, "start_t", 0.0, where)
    stop = _babel_time(label, "end_t", math.inf, where)
    return Clip(
        path,
        "amass",
        content_phrase(raw),
        raw,
        "",
        group,
        LICENCES["amass"],
        text=text,
        start=start,
        stop=stop,
    )


def _babel_content_label(text: str, categories: list[str]) -> str:
    """The label a BABEL clip's content is made from: its processed label ("walk forward"),
    the more specific, when it is a verb phrase captions can phrase; else its first action
    category ("walk"), BABEL's coarser class; else the processed label as it is."""
    if categories and not is_verb_phrase(content_phrase(text)):
        return categories[0]
    return text


def _babel_time(label: dict[str, Any], key: str, default: float, where: str) -> float:
    """A label's time in seconds: a finite number, or `default` when absent or null."""
    value = label.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise DataSourceError(f"{where}: '{key}' must be a number of seconds, got {value!r}")
    return float(value)
