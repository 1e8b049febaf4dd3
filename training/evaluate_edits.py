"""Measure text editing (MotionClip.edit) and blending (MotionClip.interpolate) on a split of
the prepared data.

    python -m training.evaluate_edits --config CONFIG --checkpoint runs/small/model.pt \\
        --split validation --strengths 0 1 1.5 2

For each pair of EDIT_PAIRS, up to --count windows of the split whose content is the pair's
source (from the --first-th on) are edited as `edit` does (latents refined by --refine-steps,
then moved by strength * (latent(to) - latent(from))) at every strength, and judged twice:
- `edit_reached@S`: the independent action classifier (the evaluation's) names one of the
  pair's accepted target labels;
- `edit_style_kept@S`: the model's own zero-shot style recognition (top-1 over the style
  prompts, as the evaluation's) still names the source window's style, over the windows that
  have one (Bandai's).
Per pair as `edit_reached[walk -> run]@S`.

For each pair of BLEND_PAIRS, the n-th window of its source and the n-th of its target (up to
--count such couples) are blended as `blend` does at BLEND_WEIGHTS:
- `blend_speed_monotone[walk ~ run]`: the fraction of couples whose blends' travel speed
  (horizontal distance from first to last frame per second) moves from the source's towards the
  target's without turning back by more than SPEED_TOLERANCE;
- `blend_reached[walk ~ run]@W`: the fraction of blends at weight W the judge takes for the
  target action.

Writes edits-{split}.json and .md where training.evaluate writes its reports (report_folder).
Minutes on a CPU: each window's latent is refined once (twice for a window in an edit pair and a
blend pair).
"""

from __future__ import annotations

import itertools
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

from motionclip_blender.core import captions, pose_features
from motionclip_blender.core.errors import MotionClipError
from motionclip_blender.core.inference import MotionClip
from motionclip_blender.core.motion import Motion
from motionclip_blender.core.reconstruction import REFINE_STEPS

from .action_classifier import ClassifierEnsemble, cached_classifier, joint_tracks
from .evaluate import evaluation_inputs, evaluation_parser, recognition, write_report
from .prepared import PreparedData

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EditPair:
    """Windows labelled `source`, edited from that text to `target`; `accepted`: the content
    labels that count as having reached it."""

    source: str
    target: str
    accepted: tuple[str, ...]


EDIT_PAIRS = (
    EditPair("walk", "run", ("run", "run forward", "dash")),
    EditPair("run", "walk", ("walk",)),
    EditPair("walk", "walk backwards", ("walk backwards",)),
    EditPair("raise the right hand", "wave the right hand", ("wave the right hand",)),
    EditPair("wave the right hand", "wave the left hand", ("wave the left hand",)),
)

BLEND_PAIRS = (EDIT_PAIRS[0],)  # walk ~ run: a blend's travel speed should move between theirs
BLEND_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
SPEED_TOLERANCE = 0.05  # m/s


def travel_speed(motion: Motion) -> float:
    """Horizontal distance (m) between the root's first and last positions per second."""
    path = motion.translation[:, :2]
    return float((path[-1] - path[0]).norm()) / motion.duration


def judged(
    classifier: ClassifierEnsemble, motions: list[Motion], fps: float, accepted: tuple[str, ...]
) -> int:
    """How many of the motions the classifier names with one of the `accepted` labels."""
    features = [pose_features.motion_to_features(motion, fps) for motion in motions]
    named = classifier(*joint_tracks(features)).argmax(-1).tolist()
    return sum(classifier.classes[label] in accepted for label in named)


def blend_metrics(
    session: MotionClip,
    data: PreparedData,
    split: str,
    classifier: ClassifierEnsemble,
    windows: slice,
    refine_steps: int,
) -> dict[str, float]:
    """The module docstring's blend metrics, for each pair with windows of both actions."""
    metrics: dict[str, float] = {}
    for pair in BLEND_PAIRS:
        ends = [
            [i for i in data.indices(split) if data.labels[i].content == content][windows]
            for content in (pair.source, pair.target)
        ]
        couples = list(zip(*ends, strict=False))
        if not couples:
            continue
        monotone, reached = 0, dict.fromkeys(BLEND_WEIGHTS, 0)
        for a, b in couples:
            a_motion, b_motion = (
                pose_features.features_to_motion(data.window(i), data.fps) for i in (a, b)
            )
            blends = session.interpolate(a_motion, b_motion, BLEND_WEIGHTS, refine_steps)
            speeds = [travel_speed(blend) for blend in blends]
            direction = 1.0 if travel_speed(b_motion) >= travel_speed(a_motion) else -1.0
            steps = [direction * (later - earlier) for earlier, later in itertools.pairwise(speeds)]
            monotone += all(step >= -SPEED_TOLERANCE for step in steps)
            for weight, blend in zip(BLEND_WEIGHTS, blends, strict=True):
                reached[weight] += judged(classifier, [blend], data.fps, pair.accepted)
        name = f"{pair.source} ~ {pair.target}"
        metrics[f"blend_speed_monotone[{name}]"] = monotone / len(couples)
        for weight, count in reached.items():
            metrics[f"blend_reached[{name}]@{weight:g}"] = count / len(couples)
    return metrics


def edit_metrics(
    session: MotionClip,
    data: PreparedData,
    split: str,
    classifier: ClassifierEnsemble,
    strengths: list[float],
    windows: slice,
    refine_steps: int,
) -> dict[str, float]:
    """The module docstring's metrics: fractions of the edited windows, per pair and overall."""
    styles = sorted({item.style for item in data.labels} - {""})
    if styles:
        style_prompts = session.encode_text([captions.style_prompt(style) for style in styles])
    reached = {strength: 0 for strength in strengths}
    kept = {strength: 0.0 for strength in strengths}
    edited_count = styled_count = 0
    metrics: dict[str, float] = {}
    for pair in EDIT_PAIRS:
        rows = [i for i in data.indices(split) if data.labels[i].content == pair.source][windows]
        if not rows:
            continue
        if not set(pair.accepted) & set(classifier.classes):
            logger.warning(
                "edit pair %s -> %s skipped: the judge knows none of %s (not in this data)",
                pair.source,
                pair.target,
                ", ".join(pair.accepted),
            )
            continue
        motions = [pose_features.features_to_motion(data.window(i), data.fps) for i in rows]
        latents = session.faithful_latents(motions, refine_steps)
        frames = [session.frames_for(motion.duration) for motion in motions]
        styled = [k for k, row in enumerate(rows) if data.labels[row].style]
        edited_count, styled_count = edited_count + len(rows), styled_count + len(styled)
        for strength in strengths:
            moved = session.edited_latents(latents, pair.source, pair.target, strength)
            edited = session.decode(moved, frames=frames)
            hits = judged(classifier, edited, data.fps, pair.accepted)
            metrics[f"edit_reached[{pair.source} -> {pair.target}]@{strength:g}"] = hits / len(rows)
            reached[strength] += hits
            if styled:
                style_latents = session.encode_motion([edited[k] for k in styled])
                source_styles = [data.labels[rows[k]].style for k in styled]
                top1 = recognition(style_latents, source_styles, styles, style_prompts, "style")
                kept[strength] += top1["style_top1"] * len(styled)
    if not edited_count:
        raise MotionClipError(f"the {split} split has no windows of any edit pair's source")
    for strength in strengths:
        metrics[f"edit_reached@{strength:g}"] = reached[strength] / edited_count
        if styled_count:
            metrics[f"edit_style_kept@{strength:g}"] = kept[strength] / styled_count
    return metrics


def main(argv: list[str] | None = None) -> int:
    parser = evaluation_parser("evaluate_edits", __doc__, "validation")
    parser.add_argument(
        "--strengths", type=float, nargs="+", default=[0.0, 1.0, 1.5, 2.0], metavar="S"
    )
    parser.add_argument("--first", type=int, default=0, help="skip this many windows a pair")
    parser.add_argument("--count", type=int, default=10, help="windows a pair (default 10)")
    parser.add_argument("--refine-steps", type=int, default=REFINE_STEPS, metavar="N")
    args = parser.parse_args(argv)
    try:
        if args.first < 0 or args.count < 1 or args.refine_steps < 0:
            raise MotionClipError("--first and --refine-steps must be 0 or more, --count 1 or more")
        config, checkpoint, data, space = evaluation_inputs(args)
        classifier = cached_classifier(data, Path(config.data.cache))
        session, windows = MotionClip(checkpoint, space), slice(args.first, args.first + args.count)
        metrics = edit_metrics(
            session, data, args.split, classifier, args.strengths, windows, args.refine_steps
        ) | blend_metrics(session, data, args.split, classifier, windows, args.refine_steps)
        write_report(metrics, args, f"edits-{args.split}")
    except MotionClipError as error:
        print(f"training.evaluate_edits: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
