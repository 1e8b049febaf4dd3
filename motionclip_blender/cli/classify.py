"""`motionclip classify IN... --labels "walk,run,..." [--label TEXT]... [--json]`: zero-shot
recognition."""

from __future__ import annotations

import argparse

from .common import (
    RequestError,
    add_checkpoint_argument,
    load_session,
    print_json,
    read_inputs,
)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "classify",
        help="rank text labels for motion files",
        description="Rank the labels by how well they describe each motion (cosine similarity "
        "of latents), best first.",
    )
    parser.add_argument("inputs", nargs="+", metavar="IN", help="motion files")
    parser.add_argument(
        "--labels",
        default="",
        help='comma-separated verb phrases or sentences, e.g. "walk,run,jump,a man waves"',
    )
    parser.add_argument(
        "--label",
        action="append",
        default=[],
        metavar="TEXT",
        help='one more label, taken whole (so it may hold commas: "stand up, then sit"); '
        "repeat it for several",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help='print a JSON array of {"input": PATH, "labels": [{"label", "score"}, ...]}',
    )
    add_checkpoint_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    labels = (args.labels.split(",") if args.labels else []) + args.label
    if not labels:
        raise RequestError("give the labels to rank: --labels walk,run or --label TEXT")
    session = load_session(args)
    rankings = session.classify_many(read_inputs(args.inputs, session), labels)
    results = [
        {"input": path, "labels": [{"label": s.label, "score": s.score} for s in ranking]}
        for path, ranking in zip(args.inputs, rankings, strict=True)
    ]
    if args.json:
        print_json(results)
        return 0
    for result in results:
        print(result["input"])
        for entry in result["labels"]:
            print(f"  {entry['score']:7.4f}  {entry['label']}")
    return 0
