"""`motionclip search QUERY --library DIR [--k 5] [--json]`: nearest motions of a library."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..core import files
from ..core.inference import MotionClip
from ..core.library import index_library
from ..core.motion import Motion
from .common import add_checkpoint_argument, load_session, print_json, read_inputs, whole_number


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "search",
        help="find the library motions nearest to a text or a motion file",
        description="Find the motions of a library folder nearest to QUERY, a text or a motion "
        "file. The folder is encoded once and cached; later searches encode only changed files.",
    )
    parser.add_argument("query", metavar="QUERY", help="a text, or a motion file (.npz, .bvh)")
    parser.add_argument(
        "--library",
        required=True,
        type=Path,
        metavar="DIR",
        help="the folder of motion files to search, subfolders included",
    )
    parser.add_argument(
        "--k", type=whole_number(1), default=5, help="how many results, 1 or more (default 5)"
    )
    parser.add_argument(
        "--json", action="store_true", help='print a JSON array of {"path": PATH, "score": S}'
    )
    add_checkpoint_argument(parser)
    parser.set_defaults(run=run)


def read_query(query: str, session: MotionClip) -> str | Motion:
    """A motion when QUERY has a motion file suffix or names a file with a suffix, else the text
    itself (a file named like the word, such as a script called "run", does not make it one)."""
    path = Path(query)
    try:
        named_file = bool(path.suffix) and path.is_file()
    except OSError:  # a text too long for a file name, which is_file passes on
        named_file = False
    if path.suffix.lower() in files.READERS or named_file:
        return read_inputs((path,), session)[0]
    return query


def run(args: argparse.Namespace) -> int:
    session = load_session(args)
    query = read_query(args.query, session)
    library = index_library(args.library, session)
    for problem in library.skipped:
        print(f"motionclip: skipped {problem}", file=sys.stderr)
    if not library.names:
        print(f"motionclip: no motion files to search in {library.folder}", file=sys.stderr)
    hits = session.search(query, library, args.k)
    if args.json:
        print_json([{"path": hit.name, "score": hit.score} for hit in hits])
    else:
        for hit in hits:
            print(f"{hit.score:7.4f}  {hit.name}")
    return 0
