"""What the model commands share: the --checkpoint and --refine-steps options, loading a session,
output checks, previews and JSON output.

The CLIP text space (for CLIP-space checkpoints) finds its weights in the standard cache
(~/.cache/clip/ViT-B-32.pt) or at $MOTIONCLIP_CLIP_WEIGHTS, and downloads them only when
$MOTIONCLIP_ALLOW_DOWNLOAD is 1 (or true, yes, on).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
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
        type=int,
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
    """Fail before any model work when an output file could not be written, or would replace
    one of the command's input files (user data is never overwritten)."""
    if path.suffix.lower() not in suffixes:
        raise MotionFileError(
            f"{path}: cannot write files of type '{path.suffix}'; expected one of "
            f"{', '.join(sorted(suffixes))}"
        )
    if not path.parent.is_dir():
        raise MotionFileError(f"{path}: folder {path.parent} does not exist")
    if path.is_dir():
        raise MotionFileError(f"{path}: is a folder; give a file name")
    if any(path.resolve() == Path(source).resolve() for source in inputs):
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


def numbers(text: str) -> list[float]:
    """An option's comma-separated numbers ("0.25,0.5"), as classify's --labels lists labels:
    a list in one word, so an option before the positional files cannot swallow them."""
    try:
        return [float(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected numbers separated by commas, such as 0.25,0.5; got {text!r}"
        ) from None


def paths_per_value(output: Path, values: list[float], option: str) -> list[Path]:
    """OUT for one value of a repeatable option; for several, OUT with each value before the
    suffix (blend.npz -> blend_0.25.npz)."""
    if len(values) == 1:
        return [output]
    paths = [output.with_name(f"{output.stem}_{value:g}{output.suffix}") for value in values]
    if len(set(paths)) < len(paths):
        raise RequestError(f"{option}: give each value once, got {values}")
    return paths


def write_result(motion: Motion, path: Path) -> None:
    files.write_motion(motion, path)
    print(
        f"wrote {path}: {motion.duration:.2f} s, {motion.num_frames} frames at {motion.fps:g} fps"
    )


def write_preview(motion: Motion, path: Path, title: str) -> None:
    """A looping GIF of the motion as a stick figure."""
    figure = preview.Figure(
        motion.joints(), skeleton.PARENTS, title, preview.sides_from_names(skeleton.JOINT_NAMES)
    )
    preview.write_gif(preview.render([figure]), path, motion.fps)
    print(f"wrote {path}")


def print_json(value: object) -> None:
    print(json.dumps(value, indent=2))
