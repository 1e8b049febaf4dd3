"""The `motionclip` command line.

Each subcommand lives in its own module with `add_parser(subparsers)`, which registers the
subcommand and sets `run(args) -> int` as its handler. Errors the user can fix (MotionClipError)
print one clear line and exit with status 2; they never show a traceback. So does a standard
output that is closed or cannot take what the command prints (a full disk).
"""

from __future__ import annotations

import argparse
import contextlib
import io
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
    if handler is None:  # no command: a usage error, so that a script missing one stops
        parser.print_help(sys.stderr)
        return 2
    if sys.stdout is None:  # started with it closed (`>&-`): the results would be lost
        _report("error: standard output is closed; redirect it to a file or to /dev/null")
        return 2
    # What the command prints is written at the end, so that an error in writing it is known
    # to be stdout's (a closed pipe, a full disk) and not one of the command's own.
    printed = io.StringIO()
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            with contextlib.redirect_stdout(printed):
                code = int(handler(args))
        except MotionClipError as error:
            _report(f"error: {error}")
            code = 2
        except KeyboardInterrupt:
            _report("interrupted")
            code = 130
    try:
        sys.stdout.write(printed.getvalue())
        sys.stdout.flush()
    except BrokenPipeError:  # the reader of stdout stopped (| head): stop quietly
        _discard_stdout()
        return 141
    except OSError as error:  # /dev/full, a disk full or gone
        _report(f"error: cannot write to standard output ({error.strerror})")
        _discard_stdout()
        return 2
    return code


def _report(message: str) -> None:
    """One line on stderr, if there is one that takes it (`2>&-` closes it)."""
    if sys.stderr is not None:
        with contextlib.suppress(OSError):
            print(f"motionclip: {message}", file=sys.stderr)


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so that Python's flush at exit does not fail again."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


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
