"""Measure mocap import on the shared datasets: failures, bone directions, feet, speed.

    python -m training.retarget_report --data .cache/data --out report/ [--limit N]

Imports every Bandai BVH, DeepMimic humanoid clip and CMU8 sequence under --data and writes
retarget_report.json and retarget_report.md with, per dataset:

- failures (file and message);
- the angle between each source bone and its SMPL bone, per frame (mean, 95th percentile, max),
  in two sets (retarget.SHARED_BONE_KINDS and ALIGNABLE_KINDS):
  - all shared bones: every bone both skeletons have, the issue's strict metric;
  - alignable bones: the segments a joint's rotation aims, so the ones retargeting can match:
    limbs, spine, and the hip-to-hip and shoulder lines that orient the pelvis and chest. It
    leaves out the pelvis-to-hip and chest-to-collar offsets, whose direction from their joint is
    a body proportion that no rotation changes, and the neck-to-head bone, which follows the
    source's rotation since its rest pose and so keeps on purpose the ~38 degrees by which SMPL's
    rest neck-to-head leans forward of a mocap skeleton's;
- feet: in standing frames (the source's lowest foot joint within 2 cm of its 5th percentile
  height over the clip, which a few glitched frames cannot drag down) the share of frames whose
  lowest SMPL foot joint is within 3 cm of the floor, its 95th percentile height, and the share
  whose SMPL foot height agrees within 3 cm with the source's (each above its own 5th percentile:
  this separates retargeting from a source floor that slopes or a calibration frame below it);
- import time per clip on one thread (read, map detection, retargeting) and per 5 s of motion.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from motionclip_blender.core import joint_maps, mocap, skeleton
from motionclip_blender.core.atomic import check_output_folder
from motionclip_blender.core.errors import MotionClipError, RequestError
from motionclip_blender.core.retarget import (
    ALIGNABLE_KINDS,
    SHARED_BONE_KINDS,
    Retargeted,
    direction_errors,
    retarget,
)

STANDING_MARGIN = 0.02  # metres above the source's lowest foot that count as standing
FLOOR_TOLERANCE = 0.03  # the goal: lowest SMPL foot joint within 3 cm in standing frames


def dataset_files(data: Path) -> dict[str, list[Path]]:
    """Every clip of the three datasets, sorted."""
    return {
        "bandai": sorted((data / "bandai").glob("*/*.bvh")),
        "deepmimic": sorted((data / "deepmimic" / "motions").rglob("*.txt")),
        "cmu8": sorted((data / "cmu8").glob("t*/*/*.txt")),
    }


@dataclass
class DatasetStats:
    clips: int = 0
    frames: int = 0
    seconds: float = 0.0
    failures: list[dict[str, str]] = field(default_factory=list)
    alignable: list[torch.Tensor] = field(default_factory=list)
    shared: list[torch.Tensor] = field(default_factory=list)
    standing_heights: list[torch.Tensor] = field(default_factory=list)
    standing_gaps: list[torch.Tensor] = field(default_factory=list)
    import_seconds: list[float] = field(default_factory=list)
    maps: dict[str, int] = field(default_factory=dict)

    def add(self, result: Retargeted, map_name: str, seconds: float) -> None:
        errors = direction_errors(result)
        kinds = [segment.kind for segment in result.segments]
        alignable = [index for index, kind in enumerate(kinds) if kind in ALIGNABLE_KINDS]
        shared = [index for index, kind in enumerate(kinds) if kind in SHARED_BONE_KINDS]
        self.alignable.append(errors[:, alignable].flatten())
        self.shared.append(errors[:, shared].flatten())
        heights, gaps = standing_foot_heights(result)
        self.standing_heights.append(heights)
        self.standing_gaps.append(gaps)
        self.clips += 1
        self.frames += result.motion.num_frames
        self.seconds += result.motion.duration
        self.import_seconds.append(seconds)
        self.maps[map_name] = self.maps.get(map_name, 0) + 1

    def summary(self) -> dict[str, object]:
        summary: dict[str, object] = {
            "clips_imported": self.clips,
            "failures": len(self.failures),
            "frames": self.frames,
            "motion_seconds": round(self.seconds, 1),
            "joint_maps": self.maps,
            "failed_files": self.failures,
        }
        if not self.clips:
            return summary
        alignable, shared = torch.cat(self.alignable), torch.cat(self.shared)
        heights, gaps = torch.cat(self.standing_heights), torch.cat(self.standing_gaps)
        clip_seconds = torch.tensor(self.import_seconds)
        summary |= {
            "alignable_bones_deg": _spread(alignable),
            "all_shared_bones_deg": _spread(shared),
            "standing_frames": int(heights.numel()),
            "standing_within_3cm": round(float((heights <= FLOOR_TOLERANCE).float().mean()), 4),
            "standing_lowest_foot_p95_m": round(float(_quantile(heights, 0.95)), 4),
            "standing_within_3cm_of_source_foot": round(
                float((gaps <= FLOOR_TOLERANCE).float().mean()), 4
            ),
            "import_s_per_clip_mean": round(float(clip_seconds.mean()), 4),
            "import_s_per_clip_max": round(float(clip_seconds.max()), 4),
            "import_s_per_5s_of_motion": round(5 * float(clip_seconds.sum()) / self.seconds, 4),
        }
        return summary


def standing_foot_heights(result: Retargeted) -> tuple[torch.Tensor, torch.Tensor]:
    """In the frames where the source stands on a foot: the lowest SMPL foot joint's height, and
    how much its height above its 5th percentile differs from the source's lowest foot joint's."""
    feet = [segment for segment in result.segments if segment.end in skeleton.FOOT_JOINTS]
    source_feet = sorted({segment.source_end for segment in feet})
    source_lowest = result.source_joints[:, source_feet, 2].min(dim=1).values
    standing = source_lowest - _quantile(source_lowest, 0.05) <= STANDING_MARGIN
    smpl_lowest = result.motion.joints()[:, skeleton.FOOT_JOINTS, 2].min(dim=1).values
    above_source_floor = source_lowest - _quantile(source_lowest, 0.05)
    above_smpl_floor = smpl_lowest - _quantile(smpl_lowest, 0.05)
    return smpl_lowest[standing], (above_smpl_floor - above_source_floor).abs()[standing]


def _quantile(values: torch.Tensor, q: float) -> torch.Tensor:
    """torch.quantile is limited to 16M values; sort instead."""
    ordered = values.sort().values
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _spread(values: torch.Tensor) -> dict[str, float]:
    return {
        "mean": round(float(values.mean()), 2),
        "p95": round(float(_quantile(values, 0.95)), 2),
        "max": round(float(values.max()), 2),
    }


def measure(files: dict[str, list[Path]]) -> dict[str, DatasetStats]:
    stats = {name: DatasetStats() for name in files}
    for name, paths in files.items():
        for path in paths:
            start = time.perf_counter()
            try:
                source = mocap.read_source(path)
                map_name, joint_map = joint_maps.detect(source.names)
                result = retarget(source, joint_map)
            except MotionClipError as error:
                stats[name].failures.append({"file": str(path), "error": str(error)})
                continue
            stats[name].add(result, map_name, time.perf_counter() - start)
        print(f"{name}: {stats[name].clips} imported, {len(stats[name].failures)} failed")
    return stats


def markdown(summaries: dict[str, dict[str, object]]) -> str:
    lines = [
        "# Mocap import report",
        "",
        "Angles in degrees between source and SMPL bone directions, per frame. All shared "
        "bones: every bone both skeletons have (the issue's metric). Alignable bones: the ones "
        "a joint rotation aims (limbs, spine, hip-to-hip and shoulder lines); they leave out "
        "the pelvis-to-hip and chest-to-collar offsets (a body-proportion difference no "
        "rotation changes) and neck-to-head (it follows the source's rotation since rest, so "
        "keeps the ~38 degree forward lean of SMPL's rest head). Feet: standing frames whose "
        "lowest SMPL foot joint is within 3 cm of the floor. Times on one thread.",
        "",
        "| dataset | clips | failed | alignable mean / p95 | all shared mean / p95 "
        "| feet within 3 cm "
        "| foot p95 (m) | within 3 cm of source foot | s per clip (mean / max) "
        "| s per 5 s of motion |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, summary in summaries.items():
        if not summary["clips_imported"]:
            lines.append(f"| {name} | 0 | {summary['failures']} | | | | | | | |")
            continue
        aligned, shared = summary["alignable_bones_deg"], summary["all_shared_bones_deg"]
        assert isinstance(aligned, dict) and isinstance(shared, dict)
        lines.append(
            f"| {name} | {summary['clips_imported']} | {summary['failures']} "
            f"| {aligned['mean']} / {aligned['p95']} | {shared['mean']} / {shared['p95']} "
            f"| {summary['standing_within_3cm']:.1%} | {summary['standing_lowest_foot_p95_m']} "
            f"| {summary['standing_within_3cm_of_source_foot']:.1%} "
            f"| {summary['import_s_per_clip_mean']} / {summary['import_s_per_clip_max']} "
            f"| {summary['import_s_per_5s_of_motion']} |"
        )
    for name, summary in summaries.items():
        failed = summary["failed_files"]
        assert isinstance(failed, list)
        for failure in failed:
            lines.append(f"- {name} failure: {failure['file']}: {failure['error']}")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.retarget_report", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--data", type=Path, required=True, help="folder with bandai/ etc.")
    parser.add_argument("--out", type=Path, required=True, help="folder for the report")
    parser.add_argument("--limit", type=int, help="at most this many clips per dataset")
    args = parser.parse_args(argv)
    try:
        files = report_files(args.data, args.out, args.limit)
    except MotionClipError as error:
        print(f"training.retarget_report: error: {error}", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    summaries = {name: stats.summary() for name, stats in measure(files).items()}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "retarget_report.json").write_text(json.dumps(summaries, indent=1) + "\n")
    (args.out / "retarget_report.md").write_text(markdown(summaries))
    print(markdown(summaries))
    return 0


def report_files(data: Path, out: Path, limit: int | None) -> dict[str, list[Path]]:
    """The clips to measure, at most `limit` per dataset, after checking the arguments: --data a
    folder with clips, --out a folder or a path that can become one, --limit 1 or more."""
    if limit is not None and limit < 1:
        raise RequestError(f"--limit must be 1 or more, got {limit}")
    if not data.is_dir():
        raise RequestError(f"--data {data}: no such folder")
    check_output_folder(out, "--out")
    files = dataset_files(data)
    if not any(files.values()):
        raise RequestError(f"--data {data}: no clips under bandai/, deepmimic/motions/ or cmu8/")
    return {name: paths[:limit] for name, paths in files.items()}


if __name__ == "__main__":
    raise SystemExit(main())
