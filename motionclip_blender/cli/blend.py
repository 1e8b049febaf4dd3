"""`motionclip blend A B --weight W -o OUT`: a motion between two, by latent interpolation."""

from __future__ import annotations

import argparse

from ..core import files
from .common import (
    add_checkpoint_argument,
    add_output_argument,
    add_refine_argument,
    check_writable,
    load_session,
    refine_progress,
    write_result,
)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "blend",
        help="blend two motions through the latent space",
        description="Decode the latent interpolated between two motions' latents.",
    )
    parser.add_argument("a", metavar="A", help="first motion file (weight 0)")
    parser.add_argument("b", metavar="B", help="second motion file (weight 1)")
    parser.add_argument(
        "--weight", type=float, default=0.5, help="0 gives A, 1 gives B (default 0.5)"
    )
    add_output_argument(parser)
    add_refine_argument(parser)
    add_checkpoint_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    check_writable(args.output, files.WRITERS)
    a, b = files.read_motion(args.a), files.read_motion(args.b)
    (motion,) = load_session(args).interpolate(
        a, b, [args.weight], args.refine_steps, refine_progress(args.refine_steps)
    )
    write_result(motion, args.output)
    return 0
