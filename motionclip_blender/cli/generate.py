"""`motionclip generate "PROMPT" --seconds S -o OUT [--seed N] [--preview OUT.gif]`."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..core import files
from ..core.errors import RequestError
from ..core.inference import SEED_RANGE
from .common import (
    add_checkpoint_argument,
    add_output_argument,
    check_writable,
    load_session,
    motion_output,
    preview_output,
    whole_number,
    write_outputs,
)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="generate a motion from a text prompt",
        description="Generate a motion from a text prompt and write it as a motion file.",
    )
    parser.add_argument("prompt", help='what the body does, e.g. "a person walks forward"')
    parser.add_argument("--seconds", type=float, default=4.0, help="duration, 1 to 8 (default 4)")
    add_output_argument(parser)
    parser.add_argument(
        "--seed",
        type=whole_number(*SEED_RANGE),
        help=f"make a seeded variant, 1 to {SEED_RANGE[1]} (the same seed gives the same "
        "motion); 0, as no --seed and as Blender's Seed 0, gives the prompt's own motion",
    )
    parser.add_argument("--preview", type=Path, metavar="OUT.gif", help="also write a GIF preview")
    add_checkpoint_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    check_writable(args.output, files.WRITERS)
    if args.preview is not None:
        check_writable(args.preview, {".gif"})
    session = load_session(args)
    low, high = session.config.min_seconds, session.config.max_seconds
    if not low <= args.seconds <= high:  # NaN too
        raise RequestError(f"--seconds: expected {low:g} to {high:g} seconds, got {args.seconds:g}")
    motion = session.generate(args.prompt, seconds=args.seconds, seed=args.seed or None)
    outputs = [motion_output(motion, args.output)]
    if args.preview is not None:
        outputs.append(preview_output(motion, args.preview, args.prompt))
    write_outputs(outputs)
    report = session.prompt_report(args.prompt)
    if report:
        print(report)
    return 0
