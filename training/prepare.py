"""Prepare training data once: import, retarget, resample, cut windows, split, caption, cache.

    python -m training.prepare --config training/configs/small.toml [--set data.root=DIR]

Every clip is imported through core.mocap (AMASS files through core.amass), resampled to the
model's frame rate and cut into windows of min_seconds..max_seconds (a clip up to max_seconds is
one window; a longer one is cut into equal windows covering it). Each window is canonicalised
(core.pose_features). The cache file's name is a hash of the input files (path, size, time),
the settings that shape windows and splits, the source code of every core module the data passes
through and of the labelling modules, and PIPELINE_VERSION (bump it when this file changes what
it writes): a change to retargeting prepares again, and stale data is never used.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import sys
import time
from collections import Counter
from pathlib import Path

import torch

import motionclip_blender
from motionclip_blender.core import amass, captions, mocap, pose_features
from motionclip_blender.core.atomic import check_output_folder
from motionclip_blender.core.errors import MotionClipError
from motionclip_blender.core.motion import Motion

from . import sources
from .config import TrainConfig, command_parser, load_config
from .prepared import PreparedData, WindowLabels
from .splits import assign_splits

logger = logging.getLogger(__name__)

PIPELINE_VERSION = 1
CORE = Path(motionclip_blender.__file__).parent / "core"
PIPELINE_SOURCES = [
    *(
        CORE / f"{name}.py"
        for name in (
            "amass",
            "bvh",
            "captions",
            "cmu8",
            "deepmimic",
            "frame_rows",
            "joint_maps",
            "kinematics",
            "mocap",
            "motion",
            "pose_features",
            "retarget",
            "rotations",
            "skeleton",
            "source_motion",
        )
    ),
    *(Path(__file__).parent / f"{name}.py" for name in ("prepare", "sources", "splits")),
]


def collect_clips(config: TrainConfig) -> list[sources.Clip]:
    """Every labelled clip of the configured sources; errors when there is none."""
    data = config.data
    clips: list[sources.Clip] = []
    for name in data.sets:
        unpacked = sources.unpack_shared_set(name, Path(data.root), Path(data.archives))
        clips += sources.SHARED_READERS[name](unpacked)
    for bvh_folder in data.bvh:
        clips += sources.bvh_folder_clips(bvh_folder)
    for amass_folder in data.amass:
        clips += sources.amass_clips(amass_folder)
    if not clips:
        raise sources.DataSourceError(
            "no labelled clips found in the configured data sources "
            f"(sets {data.sets}, {len(data.bvh)} BVH folder(s), {len(data.amass)} AMASS folder(s))"
        )
    return clips


def cache_path(config: TrainConfig, clips: list[sources.Clip]) -> Path:
    """Where the prepared data of these clips and settings lives (see the module docstring)."""
    digest = hashlib.sha256()
    settings = {
        "version": PIPELINE_VERSION,
        "fps": config.model.fps,
        "seconds": [config.model.min_seconds, config.model.max_seconds],
        "split": [config.data.validation_fraction, config.data.test_fraction, config.data.seed],
    }
    digest.update(json.dumps(settings, sort_keys=True).encode())
    for source in PIPELINE_SOURCES:
        digest.update(source.read_bytes())
    for clip in clips:
        stat = clip.path.stat()
        # The absolute path: a root written relative or absolute finds the same cache.
        absolute = dataclasses.replace(clip, path=clip.path.resolve())
        digest.update(f"{absolute}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return Path(config.data.cache) / f"prepared-{digest.hexdigest()[:20]}.pt"


def read_clip(clip: sources.Clip, fps: float) -> Motion:
    """The clip's motion (its time span only) on SMPL at `fps`."""
    if clip.path.suffix.lower() == ".npz":
        motion = amass.read_npz(clip.path)
    else:
        motion = mocap.import_motion(clip.path)
    if clip.start > 0 or math.isfinite(clip.stop):
        start = max(0, round(clip.start * motion.fps))
        stop = min(motion.num_frames, round(clip.stop * motion.fps))
        if stop <= start:
            raise MotionClipError(f"{clip.path}: segment {clip.start}..{clip.stop} s is empty")
        motion = motion.slice(start, stop)
    return motion.resample(fps)


def cut_windows(motion: Motion, min_frames: int, max_frames: int) -> list[Motion]:
    """Equal windows of at most max_frames covering the motion; none if it is too short."""
    if motion.num_frames < min_frames:
        return []
    count = math.ceil(motion.num_frames / max_frames)
    length = motion.num_frames // count
    return [motion.slice(i * length, (i + 1) * length) for i in range(count)]


def prepare(config: TrainConfig, force: bool = False) -> PreparedData:
    """The prepared data of a configuration, from its cache file or made (and cached) now."""
    check_output_folder(config.data.cache, "data.cache")
    clips = collect_clips(config)
    path = cache_path(config, clips)
    if path.is_file() and not force:
        logger.info("using prepared data %s", path)
        return PreparedData.load(path)
    started = time.perf_counter()
    splits = assign_splits(
        clips, config.data.validation_fraction, config.data.test_fraction, config.data.seed
    )
    model = config.model
    min_frames = max(1, round(model.min_seconds * model.fps))
    max_frames = round(model.max_seconds * model.fps)
    windows: list[torch.Tensor] = []
    labels: list[WindowLabels] = []
    failed: list[str] = []
    too_short = 0
    for clip in clips:
        try:
            motion = read_clip(clip, model.fps)
        except MotionClipError as error:
            failed.append(str(error))
            continue
        pieces = cut_windows(motion, min_frames, max_frames)
        too_short += not pieces
        phrasings = captions.captions(clip.content, clip.style, clip.text)
        for piece in pieces:
            windows.append(pose_features.motion_to_features(piece, model.fps))
            labels.append(
                WindowLabels(
                    splits[clip.group],
                    clip.source,
                    clip.group,
                    clip.content,
                    clip.raw_label,
                    clip.style,
                    clip.text,
                    phrasings,
                    clip.licence,
                )
            )
    if failed:
        logger.warning(
            "skipped %d of %d clip(s) (files, or BABEL segments of them) that could not be "
            "imported, e.g. %s",
            len(failed),
            len(clips),
            "; ".join(failed[:3]),
        )
    if too_short:
        logger.warning("skipped %d clip(s) shorter than %g s", too_short, model.min_seconds)
    if not windows:
        raise sources.DataSourceError(
            f"no usable motion in {len(clips)} clip(s): {len(failed)} could not be imported, "
            f"{too_short} were shorter than {model.min_seconds:g} s"
        )
    lengths = torch.tensor([len(window) for window in windows])
    offsets = torch.cat([torch.zeros(1, dtype=torch.long), lengths.cumsum(0)])
    summary = summarise(labels, lengths, model.fps)
    summary |= {
        "files": len({clip.path for clip in clips}),
        "clips": len(clips),
        "failed_clips": len(failed),
        "too_short_clips": too_short,
        "prepare_seconds": round(time.perf_counter() - started, 1),
    }
    data = PreparedData(
        path.stem.removeprefix("prepared-"), model.fps, torch.cat(windows), offsets, labels, summary
    )
    data.save(path)
    logger.info("prepared %d windows in %s", len(labels), path)
    return data


def summarise(labels: list[WindowLabels], lengths: torch.Tensor, fps: float) -> dict:
    """Windows, clip groups and seconds per source and split; label counts."""
    table: dict[str, dict[str, dict[str, float]]] = {}
    groups: dict[tuple[str, str], set[str]] = {}
    for labels_of, frames in zip(labels, lengths.tolist(), strict=True):
        cell = table.setdefault(labels_of.source, {}).setdefault(
            labels_of.split, {"windows": 0, "clips": 0, "seconds": 0.0}
        )
        cell["windows"] += 1
        cell["seconds"] = round(cell["seconds"] + frames / fps, 1)
        groups.setdefault((labels_of.source, labels_of.split), set()).add(labels_of.group)
    for (source, split), members in groups.items():
        table[source][split]["clips"] = len(members)
    return {
        "per_source": table,
        "windows": len(labels),
        "content_labels": len(Counter(labels_of.content for labels_of in labels)),
        "style_labels": len({labels_of.style for labels_of in labels} - {""}),
    }


def training_data_description(data: PreparedData) -> str:
    """One line for a checkpoint: training windows and hours per source."""
    parts = []
    for source, splits in sorted(data.summary["per_source"].items()):
        train = splits.get("train", {"windows": 0, "seconds": 0.0})
        parts.append(f"{source}: {train['windows']} windows, {train['seconds'] / 60:.0f} min")
    return f"train split of prepared data {data.key} at {data.fps:g} fps ({'; '.join(parts)})"


def main(argv: list[str] | None = None) -> int:
    parser = command_parser("prepare", __doc__)
    parser.add_argument("--force", action="store_true", help="prepare again even when cached")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        data = prepare(load_config(args.config, args.set), force=args.force)
    except MotionClipError as error:
        print(f"training.prepare: error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(data.summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
