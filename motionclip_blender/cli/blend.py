"""`motionclip blend A B --weight W[,W...] -o OUT`: motions between two, by latent blending."""

from __future__ import annotations

import argparse

from ..core import files
from .common import (
    add_checkpoint_argument,
    add_output_argument,
    add_refine_argument,
    check_writable,
    load_session,
    motion_output,
    numbers,
    paths_per_value,
    read_inputs,
    refine_progress,
    write_outputs,
)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "blend",
        help="blend two motions through the latent space",
        description="Decode the latents interpolated between two motions' latents. With several "
        "weights the inputs are refined once and each blend goes to OUT with its weight added to "
        "the name (blend.npz -> blend_0.25.npz, blend_0.5.npz, ...).",
    )
    parser.add_argument("a", metavar="A", help="first motion file (weight 0)")
    parser.add_argument("b", metavar="B", help="second motion file (weight 1)")
    parser.add_argument(
        "--weight",
        type=numbers(0.0, 1.0),
        default=[0.5],
        metavar="W[,W...]",
        help="0 gives A, 1 gives B (default 0.5); several, comma-separated, give a file each",
    )
    add_output_argument(parser)
    add_refine_argument(parser)
    add_checkpoint_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    paths = paths_per_value(args.output, args.weight, "--weight")
    for path in paths:
        check_writable(path, files.WRITERS, inputs=(args.a, args.b))
    session = load_session(args)
    a, b = read_inputs((args.a, args.b), session)
    blends = session.interpolate(a, b, args.weight, args.refine_steps, refine_progress())
    write_outputs([motion_output(motion, path) for motion, path in zip(blends, paths, strict=True)])
    return 0
