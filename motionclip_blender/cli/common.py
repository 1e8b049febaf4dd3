"""What the model commands share: the --checkpoint and --refine-steps options, loading a session,
output checks, previews and JSON output.

The CLIP text space (for CLIP-space checkpoints) finds its weights in the standard cache
(~/.cache/clip/ViT-B-32.pt) or at $MOTIONCLIP_CLIP_WEIGHTS, and downloads them only when
$MOTIONCLIP_ALLOW_DOWNLOAD is 1 (or true, yes, on).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from ..core import files, preview, skeleton
from ..core.errors import MotionDataError, MotionFileError, RequestError
from ..core.inference import MotionClip, load
from ..core.motion import Motion
from ..core.reconstruction import REFINE_STEPS, StepProgress


def add_checkpoint_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--checkpoint",
        metavar="PATH",
        help="model checkpoint file (default: the bundled model)",
    )


def add_output_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        type=Path,
        metavar="OUT",
        help=f"motion file to write ({', '.join(sorted(files.WRITERS))})",
    )


def add_refine_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--refine-steps",
        type=whole_number(0),
        default=REFINE_STEPS,
        metavar="N",
        help="steps refining each input's latent so that it decodes back to the input, keeping "
        f"its path and pose (default {REFINE_STEPS}, a few seconds on a CPU; 0: the encoder's "
        "latent alone, instant but smoothed)",
    )


def refine_progress() -> StepProgress:
    """A progress callback printing to stderr at each quarter of the refining steps (done/total
    counts them over every batch of inputs): they take seconds, the rest of blend and edit
    milliseconds."""

    def report(done: int, total: int) -> None:
        if done % max(1, total // 4) == 0 or done == total:
            print(f"refining the latents: {done}/{total} steps", file=sys.stderr, flush=True)

    return report


ALLOW_WORDS = {"1", "true", "yes", "on"}


def load_session(args: argparse.Namespace) -> MotionClip:
    return load(
        args.checkpoint,
        clip_weights=os.environ.get("MOTIONCLIP_CLIP_WEIGHTS") or None,
        allow_download=os.environ.get("MOTIONCLIP_ALLOW_DOWNLOAD", "").lower() in ALLOW_WORDS,
    )


def check_writable(
    path: Path, suffixes: set[str] | dict[str, Any], inputs: Sequence[str | Path] = ()
) -> None:
    """Fail before any model work when an output file could not be written (a folder there, a
    type not written, a folder that is missing, a file or read-only, a name too long), or would
    replace one of the command's input files (user data is never overwritten)."""
    try:
        if path.is_dir():
            raise MotionFileError(f"{path}: is a folder; give a file name")
        if path.suffix.lower() not in suffixes:
            raise MotionFileError(
                f"{path}: cannot write files of type '{path.suffix}'; expected one of "
                f"{', '.join(sorted(suffixes))}"
            )
        # Making a file is the test: os.access says yes to root in read-only places (/sys).
        with tempfile.TemporaryFile(dir=files.existing_folder(path.parent, "output")):
            pass
        replaces_input = any(path.resolve() == Path(source).resolve() for source in inputs)
    except OSError as error:  # is_dir passes on some errors, such as a name too long
        raise MotionFileError(f"{path}: cannot write here ({error.strerror})") from None
    if replaces_input:
        raise MotionFileError(f"{path}: is also the input; write to another file to keep it")


def read_inputs(paths: Sequence[str | Path], session: MotionClip) -> list[Motion]:
    """The motion files, each checked to be long enough for the model, so that an error names
    the file it is about."""
    motions = []
    for path in paths:
        motion = files.read_motion(path)
        try:
            session.check_duration(motion)
        except MotionDataError as error:
            raise MotionDataError(f"{path}: {error}") from None
        motions.append(motion)
    return motions


def whole_number(low: int, high: int | None = None) -> Callable[[str], int]:
    """The type of an option taking a whole number from `low` (to `high`), checked as the
    arguments are read: an error names the option, before any model work."""
    expected = f"of {low} or more" if high is None else f"from {low} to {high}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected a whole number {expected}, got {text!r}")
        return value

    return parse


def numbers(low: float, high: float) -> Callable[[str], list[float]]:
    """The type of an option taking comma-separated numbers from `low` to `high` ("0.25,0.5"),
    as classify's --labels lists labels: a list in one word, so an option before the positional
    files cannot swallow them."""

    def parse(text: str) -> list[float]:
        try:
            values = [float(part) for part in text.split(",")]
        except ValueError:
            values = [math.nan]
        if not all(low <= value <= high for value in values):  # NaN compares false
            raise argparse.ArgumentTypeError(
                f"expected numbers from {low:g} to {high:g} separated by commas, such as "
                f"0.25,0.5; got {text!r}"
            )
        return values

    return parse


def paths_per_value(output: Path, values: list[float], option: str) -> list[Path]:
    """OUT for one value of a repeatable option; for several, OUT with each value before the
    suffix (blend.npz -> blend_0.25.npz), as %g writes it: values that differ past its six
    digits would write one file, so they are refused."""
    if len(values) == 1:
        return [output]
    paths = [output.with_name(f"{output.stem}_{value:g}{output.suffix}") for value in values]
    seen: dict[Path, float] = {}
    for value, path in zip(values, paths, strict=True):
        if path in seen:
            raise RequestError(
                f"{option}: {seen[path]} and {value} would both be written to {path}; give "
                "values that differ in their first 6 significant digits"
            )
        seen[path] = value
    return paths


@dataclass(frozen=True)
class Output:
    """A file a command writes: where, how, and the line printed once all are written."""

    path: Path
    write: Callable[[Path], None]
    report: str


def motion_output(motion: Motion, path: Path) -> Output:
    report = (
        f"wrote {path}: {motion.duration:.2f} s, {motion.num_frames} frames at {motion.fps:g} fps"
    )
    return Output(path, partial(files.write_motion, motion), report)


def preview_output(motion: Motion, path: Path, title: str) -> Output:
    """A looping GIF of the motion as a stick figure."""

    def write(path: Path) -> None:
        figure = preview.Figure(
            motion.joints(),
            skeleton.PARENTS,
            title,
            preview.sides_from_names(skeleton.JOINT_NAMES),
        )
        preview.write_gif(preview.render([figure]), path, motion.fps)

    return Output(path, write, f"wrote {path}")


def write_outputs(outputs: Sequence[Output]) -> None:
    """Write the outputs, then print their lines. When one fails, those this command made
    before it are removed, so that a failed command leaves no new file; one it replaced stays
    replaced, whole (a command replaces an existing output file that is not its input)."""
    made: list[Path] = []
    try:
        for output in outputs:
            existed = output.path.exists()
            output.write(output.path)
            if not existed:
                made.append(output.path)
    except BaseException:
        for path in made:
            path.unlink(missing_ok=True)
        raise
    for output in outputs:
        print(output.report)


def print_json(value: object) -> None:
    print(json.dumps(value, indent=2))
