"""`motionclip import` (mocap of any skeleton -> SMPL npz) and `motionclip export` (-> BVH)."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from ..core import files, joint_maps, mocap
from ..core.source_motion import UP_AXES
from .common import check_writable


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    importer = subparsers.add_parser(
        "import",
        help="retarget a BVH, DeepMimic or CMU8 file onto SMPL and write it",
        description="Read a mocap file on its own skeleton, retarget it onto SMPL (joint map "
        "detected from the joint names unless --map is given) and write an AMASS-style npz.",
    )
    importer.add_argument("source", help="a .bvh file, a DeepMimic motion or a CMU8 sequence")
    importer.add_argument("-o", "--output", required=True, help="the .npz (or .bvh) to write")
    importer.add_argument(
        "--map",
        dest="joint_map",
        metavar="NAME|FILE.json",
        help=f"joint map: one of {', '.join(joint_maps.BUILT_IN)}, or a JSON file "
        '{"smpl joint": "source joint"}',
    )
    importer.add_argument("--fps", type=frame_rate, help="resample to this frame rate, 1 to 1000")
    importer.add_argument(
        "--up",
        choices=tuple(UP_AXES),
        default=None,
        help="the BVH file's up axis (default: y, the BVH convention, or z when the body lies "
        "down read Y-up and stands read Z-up, as some exporters write it)",
    )
    importer.set_defaults(run=run_import)

    exporter = subparsers.add_parser(
        "export",
        help="write an SMPL motion as BVH",
        description="Write an SMPL motion (.npz or .bvh) as a Y-up BVH on the SMPL skeleton.",
    )
    exporter.add_argument("source", help="the SMPL motion to read (.npz or .bvh)")
    exporter.add_argument("-o", "--output", required=True, help="the .bvh (or .npz) to write")
    exporter.set_defaults(run=run_export)


def frame_rate(text: str) -> float:
    """--fps: a number of frames a second from 1 to 1000 (resampling keeps the duration, so a
    rate outside that gives a motion of one frame or millions)."""
    try:
        fps = float(text)
    except ValueError:
        fps = math.nan
    if not 1.0 <= fps <= 1000.0:
        raise argparse.ArgumentTypeError(f"expected a frame rate from 1 to 1000, got {text!r}")
    return fps


def run_import(args: argparse.Namespace) -> int:
    check_writable(Path(args.output), files.WRITERS, inputs=(args.source,))
    motion = mocap.import_motion(args.source, args.joint_map, args.fps, args.up)
    files.write_motion(motion, args.output)
    print(f"{args.output}: {motion.num_frames} frames at {motion.fps:g} fps")
    return 0


def run_export(args: argparse.Namespace) -> int:
    check_writable(Path(args.output), files.WRITERS, inputs=(args.source,))
    motion = files.read_motion(args.source)
    files.write_motion(motion, args.output)
    print(f"{args.output}: {motion.num_frames} frames at {motion.fps:g} fps")
    return 0
