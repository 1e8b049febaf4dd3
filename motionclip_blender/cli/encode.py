"""`motionclip encode IN... [--json]`: the latent of each motion file."""

from __future__ import annotations

import argparse

from .common import add_checkpoint_argument, load_session, print_json, read_inputs


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "encode",
        help="print the latent of motion files",
        description="Encode motion files into the model's text-aligned latent space.",
    )
    parser.add_argument("inputs", nargs="+", metavar="IN", help="motion files")
    parser.add_argument(
        "--json",
        action="store_true",
        help='print a JSON array of {"input": PATH, "latent": [...]}',
    )
    add_checkpoint_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    session = load_session(args)
    latents = session.encode_motion(read_inputs(args.inputs, session)).cpu().tolist()
    if args.json:
        print_json([{"input": p, "latent": z} for p, z in zip(args.inputs, latents, strict=True)])
    else:
        for path, latent in zip(args.inputs, latents, strict=True):
            print(f"{path}\t{' '.join(f'{value:.6f}' for value in latent)}")
    return 0
