"""`motionclip edit IN --from TEXT --to TEXT [--strength S[,S...]] -o OUT`: text-driven editing."""

from __future__ import annotations

import argparse

from ..core import files
from ..core.inference import EDIT_STRENGTH, MAX_EDIT_STRENGTH
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
        "edit",
        help="edit a motion with text (latent arithmetic)",
        description="Move a motion's latent by strength * (latent(TO) - latent(FROM)) and "
        'decode it, e.g. --from "walk" --to "run". With several strengths the input is refined '
        "once and each edit goes to OUT with its strength added to the name (run.npz -> "
        "run_1.npz, run_1.5.npz, ...).",
    )
    parser.add_argument(
        "input", metavar="IN", help="motion file, 1 s or longer (its first 8 s are edited)"
    )
    parser.add_argument(
        "--from",
        dest="from_text",
        required=True,
        type=motion_text,
        metavar="TEXT",
        help='what the motion does, e.g. "walk"',
    )
    parser.add_argument(
        "--to",
        dest="to_text",
        required=True,
        type=motion_text,
        metavar="TEXT",
        help='what it should do instead, e.g. "run"',
    )
    parser.add_argument(
        "--strength",
        type=numbers(-MAX_EDIT_STRENGTH, MAX_EDIT_STRENGTH),
        default=[EDIT_STRENGTH],
        metavar="S[,S...]",
        help=f"how far to move, from -{MAX_EDIT_STRENGTH:g} to {MAX_EDIT_STRENGTH:g}: 0 keeps "
        f"the motion, 1 the paper's step (default {EDIT_STRENGTH}, measured with the bundled "
        "model: MODEL_CARD.md); several, comma-separated, give a file each; negative values need "
        "the = form: --strength=-1,2",
    )
    add_output_argument(parser)
    add_refine_argument(parser)
    add_checkpoint_argument(parser)
    parser.set_defaults(run=run)


def motion_text(text: str) -> str:
    """--from and --to: a blank text is named by its option as the arguments are read."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"expected words describing a motion, got {text!r}")
    return text


def run(args: argparse.Namespace) -> int:
    paths = paths_per_value(args.output, args.strength, "--strength")
    for path in paths:
        check_writable(path, files.WRITERS, inputs=(args.input,))
    session = load_session(args)
    (motion,) = read_inputs((args.input,), session)
    progress = refine_progress()
    edits = [  # the first refines the input's latent; the session keeps it for the others
        session.edit(motion, args.from_text, args.to_text, strength, args.refine_steps, progress)
        for strength in args.strength
    ]
    write_outputs([motion_output(edited, path) for edited, path in zip(edits, paths, strict=True)])
    report = session.edit_report(args.from_text, args.to_text)
    if report:
        print(report)
    return 0
