"""The `motionclip` command line.

Each subcommand lives in its own module with `add_parser(subparsers)`, which registers the
subcommand and sets `run(args) -> int` as its handler. Errors the user can fix (MotionClipError)
print one clear line and exit with status 2; they never show a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence
from typing import TextIO

from .. import __version__
from ..core.errors import MotionClipError

SUBCOMMAND_MODULES: tuple[str, ...] = (
    "generate",
    "encode",
    "classify",
    "search",
    "blend",
    "edit",
    "import_export",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="motionclip",
        description="MotionCLIP for Blender: generate, recognise, search and blend human motion "
        "in a text-aligned latent space.",
    )
    parser.add_argument("--version", action="version", version=f"motionclip {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        module = __import__(f"{__name__}.{name}", fromlist=["add_parser"])
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "run", None)
    if handler is None:
        parser.print_help()
        return 0
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            code = int(handler(args))
            sys.stdout.flush()  # a closed pipe shows here, not at exit
            return code
        except MotionClipError as error:
            print(f"motionclip: error: {error}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("motionclip: interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:  # the reader of stdout stopped (| head): stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 141


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """Warnings (a prompt cut to the encoder's context, ...) as one plain line on stderr."""
    print(f"motionclip: warning: {message}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
