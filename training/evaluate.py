"""Evaluate a checkpoint on a split of the prepared data.

    python -m training.evaluate --checkpoint runs/small/model.pt --config CONFIG --split test

Writes evaluation-{split}.json and .md (a Markdown table) beside the checkpoint, into --out, or
for the bundled model into runs/bundled (never into the shipped weights folder):
- reconstruction: mean per-joint position error (mm), global, with the pelvis fixed
  (`mpjpe_local_mm`) and, in addition, with the real root orientation (`mpjpe_body_mm`), and
  local rotation error (degrees), over all windows, per data source (`mpjpe_local_mm[cmu8]`,
  ...) and per band of window length (`mpjpe_mm[4-6s]`, ...: the root path drifts further in
  longer windows); for a model with a corrector, the same again with the
  corrector's latents (`corrected_mpjpe_mm`, ...); with --refine-steps N, the same again with
  each latent (the corrector's, else the encoder's) refined by N steps through the fixed decoder,
  as blending and editing do (`refined_mpjpe_mm`, ...; minutes on a CPU, so only when asked);
- zero-shot recognition (the paper's protocol: cosine of the motion latent with the text latents
  of the label set): top-1 and top-5, for content labels and for style labels; a content label's
  latent is that of its phrasings together (MotionClip.label_latents, as the product ranks
  labels), and `content_top1[one_prompt]`, `content_top5[one_prompt]` give the figures with its
  one prompt ("a person walks") instead;
- retrieval between windows and their first captions: text-to-motion (a query's rank is that of
  the first window with its caption) and motion-to-text (among the distinct captions), R@1, R@5,
  R@10 and median rank;
- generation from each content label's prompt (GENERATED_PER_LABEL motions: the prompt's own
  latent and seeded variations): accuracy of the independent action classifier (trained on real
  training windows' joints), Frechet distance of its features to the real split's (and, for
  reference, the real split's own distance to the real training windows,
  `frechet_distance_real`; the generated set has GENERATED_PER_LABEL motions of each label, so
  `frechet_distance_matched` repeats them to the real split's label counts), diversity
  (mean feature distance of random pairs) of generated and real motions, and foot skating (mean
  horizontal speed of foot joints while within FOOT_CONTACT_HEIGHT of the floor), generated and
  real; the classifier's accuracy again under each other text-latent scaling
  (`generated_classifier_accuracy[raw]`, ...), so the checkpoint's default can be chosen by
  measurement; and the accuracy per prompted label (`generated_by_label[walk]`, ...) next to
  the classifier's accuracy on the real windows of that label (`real_by_label[walk]`) and its
  mean over labels (`real_classifier_label_accuracy`), the ceiling the generated figure, itself
  a mean over labels, is compared with; these figures of generated motions are left out, with a
  note, when none of the split's content labels was seen in training (the classifier knows only
  those), as when every BVH file has its own caption;
- prompts worded unlike any caption (UNSEEN_PROMPTS): the fraction of each one's generated motions
  that the classifier recognises as an accepted label (`unseen[prompt]`), and their mean; the
  same for a wider set of paraphrases (PARAPHRASE_PROMPTS: `paraphrase[prompt]`,
  `paraphrase_prompt_accuracy`), with the fraction of them whose closest training caption
  describes an accepted label (`paraphrase_understood`), which tells a prompt misunderstood
  from a motion decoded wrong.
"""

from __future__ import annotations

import argparse
import bisect
import dataclasses
import json
import logging
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

import torch
import torch.nn.functional as F

from motionclip_blender.core import captions, skeleton
from motionclip_blender.core import checkpoint as checkpoints
from motionclip_blender.core import rotations as rot
from motionclip_blender.core.atomic import check_output_folder, write_atomically
from motionclip_blender.core.checkpoint import TEXT_LATENT_SCALINGS, TextLatentScaling
from motionclip_blender.core.errors import MotionClipError
from motionclip_blender.core.inference import MotionClip
from motionclip_blender.core.kinematics import forward_kinematics
from motionclip_blender.core.model import MotionClipModel
from motionclip_blender.core.pose_features import FeatureStatistics, features_to_pose
from motionclip_blender.core.reconstruction import (
    FOOT_CONTACT_HEIGHT,
    REFINE_RATE,
    REFINE_WEIGHTS,
    decoded_latents,
    padded_windows,
)
from motionclip_blender.core.text_spaces import TextSpace, load_text_space

from .action_classifier import ClassifierEnsemble, cached_classifier, joint_tracks
from .config import TrainConfig, command_parser, load_config
from .prepare import prepare
from .prepared import PreparedData

logger = logging.getLogger(__name__)

BATCH = 64
GENERATED_PER_LABEL = 4
VARIATION = 0.1
DIVERSITY_PAIRS = 300
UNSEEN_SECONDS = 4.0
LENGTH_BANDS_S = (2.0, 4.0, 6.0)  # edges (s) of the window-length bands errors are also given for
UNJUDGED = (  # logged with the split and what is left out when judged_labels finds none
    "no content label of the %s windows was seen in training, so the action classifier, which "
    "knows only those, cannot judge motions generated from them: %s"
)
# prompts worded unlike any training caption -> the content labels that count as a right answer
UNSEEN_PROMPTS: dict[str, tuple[str, ...]] = {
    "someone strolls forward": ("walk",),
    "a person jogs": ("run", "run forward"),
    "greet somebody with the right hand": ("wave the right hand", "wave goodbye with one hand"),
    "lift both arms over the head": ("raise both hands",),
}
# More prompts worded unlike any caption, one for each content label of the validation split,
# written (with what counts as right) before they were first measured: a wider probe of free
# wording than the four above, for reporting; no setting is chosen by it.
PARAPHRASE_PROMPTS: dict[str, tuple[str, ...]] = {
    "someone takes a stroll": ("walk",),
    "a man sprints as fast as he can": ("run", "run forward", "dash"),
    "someone jogs in a straight line": ("run forward", "run"),
    "a person retreats, stepping backwards": ("walk backwards",),
    "someone sidesteps to their left": ("walk to the left",),
    "a person moves sideways to the right": ("walk to the right",),
    "someone strolls and veers to the left": ("walk and turn left",),
    "a person heads off and bends right": ("walk and turn right",),
    "a person jogs and swings round to the left": ("run and turn left",),
    "someone runs, bending their path to the right": ("run and turn right",),
    "a person hops up into the air": ("jump",),
    "someone bends forward at the waist to greet": ("bow",),
    "a person creeps along quietly": ("sneak",),
    "someone throws a fist straight ahead": ("punch forward", "punch"),
    "a person dribbles and shoots hoops": ("play basketball",),
    "someone kicks a football around": ("play soccer", "kick"),
    "a person lifts the left arm up": ("raise the left hand",),
    "someone puts the right arm up in the air": ("raise the right hand",),
    "a person holds both arms up high": ("raise both hands",),
    "someone flaps the left hand in greeting": ("wave the left hand", "wave goodbye with one hand"),
    "a person greets with the right hand swinging side to side": (
        "wave the right hand",
        "wave goodbye with one hand",
    ),
    "someone swings both arms overhead to get attention": (
        "wave both hands",
        "wave goodbye with both hands",
    ),
    "a person bids farewell with both hands": ("wave goodbye with both hands", "wave both hands"),
    "someone says bye with a single hand": (
        "wave goodbye with one hand",
        "wave the right hand",
        "wave the left hand",
    ),
    "a person shows someone the direction with an arm": ("guide someone the way",),
    "a referee signals a foul": ("make basketball referee signals",),
    "someone dashes off": ("dash", "run", "run forward"),
}


def encode_windows(
    model: MotionClipModel, data: PreparedData, windows: Sequence[int], stats: FeatureStatistics
) -> torch.Tensor:
    """(N, latent_dim) latents of prepared windows."""
    return torch.cat(
        [
            _encode(model, [data.window(i) for i in windows[s : s + BATCH]], stats)
            for s in range(0, len(windows), BATCH)
        ]
    )


@torch.no_grad()
def _encode(
    model: MotionClipModel, features: list[torch.Tensor], stats: FeatureStatistics
) -> torch.Tensor:
    model.eval()
    device = next(model.parameters()).device
    return model.encode(*padded_windows(features, stats, device)).cpu()


def frame_errors(
    decoded: tuple[torch.Tensor, torch.Tensor], real: tuple[torch.Tensor, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """Per-frame errors (...) of a decoded pose against the real one, each given as local
    rotations (..., 24, 3, 3) and root translation (..., 3): mean joint distance in metres,
    global (`position`), with both pelvises at the origin (`local`) and, in addition, with the
    real root orientation put on the decoded body (`body`: what is left of `local` once the
    body's facing and lean are right), and mean joint rotation angle in radians (`angle`)."""
    (rot_a, trans_a), (rot_b, trans_b) = decoded, real
    with_real_root = torch.cat([rot_b[..., :1, :, :], rot_a[..., 1:, :, :]], dim=-3)
    joints_a = forward_kinematics(rot_a, trans_a)
    joints_b = forward_kinematics(rot_b, trans_b)
    joints_body = forward_kinematics(with_real_root, trans_a)

    def centred(joints: torch.Tensor) -> torch.Tensor:
        return joints - joints[..., :1, :]

    return {
        "position": (joints_a - joints_b).norm(dim=-1).mean(-1),
        "local": (centred(joints_a) - centred(joints_b)).norm(dim=-1).mean(-1),
        "body": (centred(joints_body) - centred(joints_b)).norm(dim=-1).mean(-1),
        "angle": rot.angle_between(rot_a, rot_b).mean(-1),
    }


def window_error_sums(
    model: MotionClipModel,
    data: PreparedData,
    windows: Sequence[int],
    stats: FeatureStatistics,
    refine_steps: int = 0,
    corrected: bool = False,
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Each window's frame_errors summed over its frames after encode-decode (name -> (N,)),
    and its frame count (N,). With `corrected`, the latents are the corrector's (the encoder's
    when the model has none); with `refine_steps`, those are first refined through the fixed
    decoder, from the corrector's, as blending and editing do (MotionClip.faithful_latents)."""
    model.eval()
    device = next(model.parameters()).device
    sums: dict[str, list[torch.Tensor]] = {}
    counts = []
    for start in range(0, len(windows), BATCH):
        features = [data.window(i) for i in windows[start : start + BATCH]]
        normalized, mask = padded_windows(features, stats, device)
        with torch.no_grad():
            latents = model.encode(normalized, mask)
            if corrected or refine_steps:
                latents = model.corrected(normalized, mask, latents)
        if refine_steps:
            latents = decoded_latents(
                model, features, latents, stats, REFINE_WEIGHTS, refine_steps, rate=REFINE_RATE
            )
        with torch.no_grad():
            decoded = stats.denormalize(model.decode(latents, mask)).cpu()
        target = torch.nn.utils.rnn.pad_sequence(features, batch_first=True)
        real = mask.cpu()
        errors = frame_errors(features_to_pose(decoded), features_to_pose(target))
        for name, error in errors.items():
            sums.setdefault(name, []).append(torch.where(real, error, 0.0).sum(-1))
        counts.append(real.sum(-1))
    return {name: torch.cat(parts) for name, parts in sums.items()}, torch.cat(counts)


def mean_errors(sums: dict[str, torch.Tensor], counts: torch.Tensor) -> dict[str, float]:
    """Mean per-joint position errors (mm) and rotation error (degrees) over every frame of the
    windows whose window_error_sums are given."""
    frames = float(counts.sum())
    return {
        "mpjpe_mm": 1000 * float(sums["position"].sum()) / frames,
        "mpjpe_local_mm": 1000 * float(sums["local"].sum()) / frames,
        "mpjpe_body_mm": 1000 * float(sums["body"].sum()) / frames,
        "rotation_error_deg": math.degrees(float(sums["angle"].sum()) / frames),
    }


def reconstruction_errors(
    model: MotionClipModel,
    data: PreparedData,
    windows: Sequence[int],
    stats: FeatureStatistics,
    refine_steps: int = 0,
    corrected: bool = False,
) -> dict[str, float]:
    """Mean per-joint position error (mm) and rotation error (degrees) after encode-decode;
    also the position error with both bodies' pelvises put at the origin (`mpjpe_local_mm`), the
    paper's in-place setting, so root drift and pose error can be told apart, and that error
    with the real root orientation (`mpjpe_body_mm`), so the share of the body's facing and
    lean can be told apart from that of the joints (see frame_errors). The same again for each
    data source's windows (`mpjpe_local_mm[cmu8]`, ...): the sources were captured and
    retargeted differently, and the small ones show how motions unlike the bulk of the training
    data fare; and for each band of window length (`mpjpe_mm[4-6s]`, ...: length_band), as the
    root path drifts further in longer windows. `refine_steps`, `corrected`: as
    window_error_sums."""
    sums, counts = window_error_sums(model, data, windows, stats, refine_steps, corrected)
    metrics = mean_errors(sums, counts)
    sources = [data.labels[window].source for window in windows]
    bands = [length_band(int(frames), data.fps) for frames in counts]
    for groups in (sources, bands):
        for group in sorted(set(groups)):
            rows = torch.tensor([found == group for found in groups])
            own = mean_errors({name: value[rows] for name, value in sums.items()}, counts[rows])
            metrics |= {f"{name}[{group}]": value for name, value in own.items()}
    return metrics


def length_band(frames: int, fps: float) -> str:
    """The band of LENGTH_BANDS_S a window of `frames` at `fps` falls in: "0-2s", "2-4s", "4-6s"
    or "6s+" (a band holds its lower edge; the names sort in order of length)."""
    edges = (0.0, *LENGTH_BANDS_S)
    band = bisect.bisect_right(edges, frames / fps) - 1
    if band == len(edges) - 1:
        return f"{edges[-1]:g}s+"
    return f"{edges[band]:g}-{edges[band + 1]:g}s"


def ranks(scores: torch.Tensor, relevant: torch.Tensor) -> torch.Tensor:
    """1-based rank of the best-scoring relevant item per row: scores, relevant (Q, N)."""
    best_relevant = scores.masked_fill(~relevant, float("-inf")).amax(-1, keepdim=True)
    return (scores > best_relevant).sum(-1) + 1


def rank_metrics(prefix: str, values: torch.Tensor) -> dict[str, float]:
    return {
        **{f"{prefix}_r@{k}": float((values <= k).float().mean()) for k in (1, 5, 10)},
        f"{prefix}_median_rank": float(values.float().median()),
    }


def recognition(
    latents: torch.Tensor,
    labels: list[str],
    label_set: list[str],
    prompts: torch.Tensor,
    prefix: str,
) -> dict[str, float]:
    """Top-1 and top-5 zero-shot accuracy: latents (N, D), prompts (L, D) of label_set."""
    scores = F.normalize(latents, dim=-1) @ F.normalize(prompts, dim=-1).T
    truth = torch.tensor([label_set.index(label) for label in labels])
    relevant = F.one_hot(truth, len(label_set)).bool()
    found = ranks(scores, relevant)
    return {
        f"{prefix}_top1": float((found <= 1).float().mean()),
        f"{prefix}_top5": float((found <= 5).float().mean()),
    }


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """Frechet distance between Gaussians fitted to feature rows of a (N, F) and b (M, F)."""
    a, b = a.double(), b.double()
    mean_a, mean_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.cov(a.T), torch.cov(b.T)
    # trace of sqrtm(cov_a cov_b): the product's eigenvalues are real and non-negative; the
    # general solver stays stable where degenerate (e.g. near-identical) features make the
    # symmetric one fail
    eigenvalues = torch.linalg.eigvals(cov_a @ cov_b).real.clamp(min=0)
    middle = eigenvalues.sqrt().sum()
    return float((mean_a - mean_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * middle)


def diversity(features: torch.Tensor, seed: int = 0) -> float:
    """Mean distance between DIVERSITY_PAIRS random pairs of feature rows."""
    generator = torch.Generator().manual_seed(seed)
    first = torch.randint(len(features), (DIVERSITY_PAIRS,), generator=generator)
    second = torch.randint(len(features), (DIVERSITY_PAIRS,), generator=generator)
    return float((features[first] - features[second]).norm(dim=-1).mean())


def foot_skating(joints: torch.Tensor, mask: torch.Tensor, fps: float) -> float:
    """Mean horizontal speed (m/s) of foot joints in frames where they touch the floor.

    joints (B, T, 72), mask (B, T)."""
    feet = joints.reshape(*joints.shape[:2], skeleton.NUM_JOINTS, 3)[:, :, skeleton.FOOT_JOINTS]
    speed = feet[:, 1:, :, :2].sub(feet[:, :-1, :, :2]).norm(dim=-1) * fps
    contact = (feet[:, 1:, :, 2] < FOOT_CONTACT_HEIGHT) & (mask[:, 1:] & mask[:, :-1])[..., None]
    return float(speed[contact].mean()) if contact.any() else 0.0


def evaluate_checkpoint(
    checkpoint: checkpoints.Checkpoint,
    data: PreparedData,
    split: str,
    space: TextSpace,
    config: TrainConfig,
    refine_steps: int = 0,
) -> dict[str, float]:
    """Every metric of the module docstring on one split; the `corrected_` reconstruction
    metrics for a model with a corrector, the `refined_` ones with `refine_steps` > 0."""
    windows = data.indices(split)
    if not windows:
        raise MotionClipError(f"the prepared data has no {split} windows")
    session = MotionClip(checkpoint, space)
    model, stats = session.model, checkpoint.statistics
    metrics = reconstruction_errors(model, data, windows, stats)
    if model.corrector is not None:
        corrected = reconstruction_errors(model, data, windows, stats, corrected=True)
        metrics |= {f"corrected_{name}": value for name, value in corrected.items()}
    if refine_steps:
        refined = reconstruction_errors(model, data, windows, stats, refine_steps)
        metrics |= {f"refined_{name}": value for name, value in refined.items()}
    latents = encode_windows(model, data, windows, stats)
    labels = [data.labels[i] for i in windows]

    contents = sorted({item.content for item in data.labels})
    truth = [item.content for item in labels]
    metrics |= recognition(
        latents, truth, contents, session.label_latents(contents).cpu(), "content"
    )
    prompts = session.encode_text([captions.content_prompt(c) for c in contents]).cpu()
    one_prompt = recognition(latents, truth, contents, prompts, "content")
    metrics |= {f"{name}[one_prompt]": value for name, value in one_prompt.items()}
    styled = [row for row, item in enumerate(labels) if item.style]
    if styled:
        styles = sorted({item.style for item in data.labels} - {""})
        style_prompts = session.encode_text([captions.style_prompt(s) for s in styles]).cpu()
        metrics |= recognition(
            latents[styled], [labels[r].style for r in styled], styles, style_prompts, "style"
        )

    texts = [item.captions[0] for item in labels]
    gallery = sorted(set(texts))
    text_latents = session.encode_text(gallery).cpu()
    scores = F.normalize(latents, dim=-1) @ F.normalize(text_latents, dim=-1).T  # (N, C)
    relevant = torch.tensor([[text == caption for caption in gallery] for text in texts])
    metrics |= rank_metrics("m2t", ranks(scores, relevant))
    metrics |= rank_metrics("t2m", ranks(scores.T, relevant.T))
    metrics |= generation_metrics(session, data, windows, config)
    return metrics


def generation_metrics(
    session: MotionClip, data: PreparedData, windows: list[int], config: TrainConfig
) -> dict[str, float]:
    """Classifier accuracy, Frechet distance, diversity and foot skating of motions generated
    with the checkpoint's text-latent scaling, and the accuracy under every other scaling; the
    metrics of generated motions only where some content label of `windows` is one the
    classifier knows (judged_labels), the others always."""
    classifier = cached_classifier(data, Path(config.data.cache))
    real_joints, real_mask = joint_tracks([data.window(i) for i in windows])
    real_features = classifier.features(real_joints, real_mask)
    training_features = window_features(classifier, data, data.indices("train"))
    metrics = {
        "frechet_distance_real": frechet_distance(real_features, training_features),
        "diversity_real": diversity(real_features),
        "foot_skating_real_m_s": foot_skating(real_joints, real_mask, session.fps),
    }
    if judged_labels(data, windows, classifier.classes):
        metrics |= judged_generation_metrics(
            session, data, windows, classifier, (real_joints, real_mask, real_features)
        )
    else:
        split = data.labels[windows[0]].split
        logger.warning(UNJUDGED, split, "its generated motions' metrics are left out")
    metrics |= prompt_accuracies(session, classifier, UNSEEN_PROMPTS, "unseen")
    metrics |= prompt_accuracies(session, classifier, PARAPHRASE_PROMPTS, "paraphrase")
    metrics |= prompt_understanding(session, data, PARAPHRASE_PROMPTS, "paraphrase")
    return metrics


def judged_generation_metrics(
    session: MotionClip,
    data: PreparedData,
    windows: list[int],
    classifier: ClassifierEnsemble,
    real: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
) -> dict[str, float]:
    """generation_metrics' figures that need a label the classifier knows: those of the motions
    generated from the judged labels of `windows`, and the classifier's accuracy on the real
    ones; `real`: joint_tracks of the windows and the classifier's features of them."""
    real_joints, real_mask, real_features = real
    real_targets = torch.tensor(
        [
            classifier.classes.index(data.labels[i].content)
            if data.labels[i].content in classifier.classes
            else -1
            for i in windows
        ]
    )
    generated, targets = label_generations(session, data, windows, classifier.classes)
    joints, mask = joint_tracks(generated)
    features = classifier.features(joints, mask)
    logits = classifier(joints, mask)
    real_logits = classifier(real_joints, real_mask)
    known = real_targets >= 0
    real_by_label = label_accuracies(
        real_logits[known], real_targets[known], classifier.classes, "real_by_label"
    )
    metrics = {
        "generated_classifier_accuracy": accuracy(logits, targets),
        "real_classifier_accuracy": accuracy(real_logits, real_targets),
        "real_classifier_label_accuracy": sum(real_by_label.values()) / len(real_by_label),
        "frechet_distance": frechet_distance(features, real_features),
        "frechet_distance_matched": frechet_distance(
            features[label_matched_rows(targets, real_targets[known])], real_features[known]
        ),
        "diversity_generated": diversity(features),
        "foot_skating_generated_m_s": foot_skating(joints, mask, session.fps),
    }
    metrics |= label_accuracies(logits, targets, classifier.classes, "generated_by_label")
    metrics |= real_by_label
    for scaling in available_scalings(session):
        if scaling != session.text_latent_scaling:
            metrics[f"generated_classifier_accuracy[{scaling}]"] = generated_accuracy(
                session, data, windows, classifier, scaling
            )
    return metrics


def label_matched_rows(labels: torch.Tensor, wanted: torch.Tensor) -> torch.Tensor:
    """Rows of `labels` (N,) with the label of each entry of `wanted` (M,), cycling through the
    rows of each label: a set resampled to another set's label counts. Every wanted label must
    occur in `labels`."""
    seen: dict[int, int] = {}
    rows = []
    for label in wanted.tolist():
        own = (labels == label).nonzero()[:, 0]
        rows.append(int(own[seen.get(label, 0) % len(own)]))
        seen[label] = seen.get(label, 0) + 1
    return torch.tensor(rows, dtype=torch.long)


def window_features(
    classifier: ClassifierEnsemble, data: PreparedData, windows: list[int]
) -> torch.Tensor:
    """The classifier's features (N, F) of real windows, BATCH at a time."""
    batches = [windows[start : start + BATCH] for start in range(0, len(windows), BATCH)]
    return torch.cat(
        [classifier.features(*joint_tracks([data.window(i) for i in rows])) for rows in batches]
    )


def generated_accuracy(
    session: MotionClip,
    data: PreparedData,
    windows: list[int],
    classifier: ClassifierEnsemble,
    scaling: TextLatentScaling | None = None,
) -> float:
    """Fraction of the motions generated from the content labels of `windows` (label_generations)
    that the classifier recognises as their label; `windows` must have a judged label."""
    generated, targets = label_generations(session, data, windows, classifier.classes, scaling)
    return accuracy(classifier(*joint_tracks(generated)), targets)


def best_text_latent_scaling(
    metrics: dict[str, float], current: TextLatentScaling
) -> TextLatentScaling:
    """The scaling whose generated motions the classifier recognised best (`current` on ties, and
    when `metrics` hold no generated motions' accuracy: no label was judged)."""
    if "generated_classifier_accuracy" not in metrics:
        return current
    accuracies = {
        scaling: metrics[f"generated_classifier_accuracy[{scaling}]"]
        for scaling in TEXT_LATENT_SCALINGS
        if f"generated_classifier_accuracy[{scaling}]" in metrics
    }
    accuracies[current] = metrics["generated_classifier_accuracy"]
    return max(accuracies, key=lambda scaling: (accuracies[scaling], scaling == current))


def available_scalings(session: MotionClip) -> list[TextLatentScaling]:
    """The text-latent scalings the session's checkpoint supports."""
    missing = {
        "regressed": session.checkpoint.text_to_latent is None,
        "nearest_captions": session.checkpoint.caption_latents is None,
    }
    return [s for s in TEXT_LATENT_SCALINGS if not missing.get(s, False)]


def accuracy(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """Fraction of rows of logits (N, C) whose arg-max is the target (N,)."""
    return float((logits.argmax(-1) == targets).float().mean())


def label_accuracies(
    logits: torch.Tensor, targets: torch.Tensor, classes: list[str], name: str
) -> dict[str, float]:
    """Accuracy (logits (N, C), targets (N,)) within each target class: {"name[class]": value}."""
    rows = {target: targets == target for target in targets.unique().tolist()}
    return {
        f"{name}[{classes[target]}]": accuracy(logits[row], targets[row])
        for target, row in rows.items()
    }


def label_generations(
    session: MotionClip,
    data: PreparedData,
    windows: list[int],
    classes: list[str],
    scaling: TextLatentScaling | None = None,
) -> tuple[list[torch.Tensor], torch.Tensor]:
    """GENERATED_PER_LABEL motions from the prompt of each content label of `windows` that the
    classifier knows, as long as the label's median window: pose vectors [(T_i, 147)] and the
    class index (N,) of each."""
    generated, targets = [], []
    for label in judged_labels(data, windows, classes):
        lengths = [len(data.window(i)) for i in windows if data.labels[i].content == label]
        seconds = sorted(lengths)[len(lengths) // 2] / session.fps
        generated += generations(session, captions.content_prompt(label), seconds, scaling)
        targets += [classes.index(label)] * GENERATED_PER_LABEL
    return generated, torch.tensor(targets)


def judged_labels(data: PreparedData, windows: list[int], classes: list[str]) -> list[str]:
    """The content labels of `windows` that the classifier knows (`classes`, the training split's
    labels), sorted: only motions generated from those can be judged. None when every window's
    label is unseen in training, as when every file of a BVH folder has its own caption."""
    return sorted({data.labels[i].content for i in windows} & set(classes))


def generations(
    session: MotionClip, prompt: str, seconds: float, scaling: TextLatentScaling | None = None
) -> list[torch.Tensor]:
    """GENERATED_PER_LABEL pose-vector tracks (T, 147) from a prompt: its own latent, then
    seeded variations; `seconds` is clamped to the model's range."""
    seconds = min(max(seconds, session.config.min_seconds), session.config.max_seconds)
    motions = [
        session.generate(
            prompt,
            seconds,
            seed=None if sample == 0 else sample,
            variation=VARIATION,
            scaling=scaling,
        )
        for sample in range(GENERATED_PER_LABEL)
    ]
    return [
        torch.cat([rot.axis_angle_to_6d(m.rotations).flatten(1), m.translation], dim=-1)
        for m in motions
    ]


@torch.no_grad()
def prompt_accuracies(
    session: MotionClip,
    classifier: ClassifierEnsemble,
    prompts: dict[str, tuple[str, ...]],
    name: str,
) -> dict[str, float]:
    """For each prompt (-> its accepted labels) with an accepted label the classifier knows: the
    fraction of its generated motions (UNSEEN_SECONDS long) classified as one of them
    (`name[prompt]`), and their mean (`name_prompt_accuracy`)."""
    results = {}
    for prompt, accepted in prompts.items():
        known = [
            classifier.classes.index(label) for label in accepted if label in classifier.classes
        ]
        if known:
            predicted = classifier(
                *joint_tracks(generations(session, prompt, UNSEEN_SECONDS))
            ).argmax(-1)
            results[f"{name}[{prompt}]"] = float(
                torch.isin(predicted, torch.tensor(known)).float().mean()
            )
    if results:
        results[f"{name}_prompt_accuracy"] = sum(results.values()) / len(results)
    return results


def prompt_understanding(
    session: MotionClip, data: PreparedData, prompts: dict[str, tuple[str, ...]], name: str
) -> dict[str, float]:
    """The fraction of prompts (-> their accepted labels) whose closest training caption
    describes a training window of an accepted label (`name_understood`); nothing when the
    checkpoint stores no caption texts."""
    described: dict[str, set[str]] = {}
    for window in data.indices("train"):
        for text in data.labels[window].captions:
            described.setdefault(text, set()).add(data.labels[window].content)
    understood = []
    for prompt, accepted in prompts.items():
        closest = session.closest_captions(prompt, k=1)
        if not closest:
            return {}
        understood.append(bool(described.get(closest[0].text, set()) & set(accepted)))
    return {f"{name}_understood": sum(understood) / len(understood)} if understood else {}


def markdown_table(metrics: dict[str, float], title: str) -> str:
    lines = [f"# {title}", "", "| metric | value |", "|---|---|"]
    lines += [f"| {name} | {value:.4g} |" for name, value in metrics.items()]
    return "\n".join(lines) + "\n"


def _write(stream: BinaryIO, text: str) -> None:
    stream.write(text.encode())


BUNDLED_REPORTS = Path("runs") / "bundled"


def report_folder(out: str | None, checkpoint: str) -> Path:
    """--out, else the checkpoint's folder; but never the package's weights folder, whose every
    file the extension ships (build.py): reports on the bundled model go to runs/bundled."""
    if out:
        return Path(out)
    folder = Path(checkpoint).resolve().parent
    return BUNDLED_REPORTS if folder == checkpoints.WEIGHTS_FOLDER else folder


def write_report(metrics: dict[str, float], args: argparse.Namespace, stem: str) -> None:
    """stem.json and stem.md (a Markdown table) in report_folder; the table is printed too."""
    out = report_folder(args.out, args.checkpoint)
    title = f"{stem} of {Path(args.checkpoint).name}"
    out.mkdir(parents=True, exist_ok=True)
    write_atomically(out / f"{stem}.json", lambda s: _write(s, json.dumps(metrics, indent=1)))
    write_atomically(out / f"{stem}.md", lambda s: _write(s, markdown_table(metrics, title)))
    print(markdown_table(metrics, title))


def evaluation_inputs(
    args: argparse.Namespace,
) -> tuple[TrainConfig, checkpoints.Checkpoint, PreparedData, TextSpace]:
    """What an evaluation command reads from its --config, --set and --checkpoint: the
    configuration, the checkpoint, the prepared data and the checkpoint's text space; seeds
    torch so that what it samples repeats."""
    config = load_config(args.config, args.set)
    check_output_folder(report_folder(args.out, args.checkpoint), "--out")
    checkpoint = checkpoints.load_checkpoint(args.checkpoint)
    timing = {name: getattr(config.model, name) for name in ("fps", "min_seconds", "max_seconds")}
    differing = [
        f"model.{name} {value:g} (the checkpoint's: {getattr(checkpoint.config, name):g})"
        for name, value in timing.items()
        if value != getattr(checkpoint.config, name)
    ]
    if differing:
        raise MotionClipError(
            "the configuration prepares windows unlike those the checkpoint works on: "
            + ", ".join(differing)
        )
    data = prepare(config)
    space = load_text_space(checkpoint.text_space, clip_weights=config.model.clip_weights or None)
    torch.manual_seed(0)
    return config, checkpoint, data, space


def evaluation_parser(program: str, description: str | None, split: str) -> argparse.ArgumentParser:
    """command_parser with what evaluation_inputs and write_report read: --checkpoint, --split
    (default `split`) and --out."""
    parser = command_parser(program, description)
    parser.add_argument("--checkpoint", required=True, help="model checkpoint (.pt)")
    parser.add_argument("--split", default=split, choices=("train", "validation", "test"))
    parser.add_argument(
        "--out",
        help="reports' folder (default: the checkpoint's; for the bundled model, runs/bundled)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = evaluation_parser("evaluate", __doc__, "test")
    parser.add_argument(
        "--store",
        action="store_true",
        help="also store the metrics (prefixed with the split) in the checkpoint",
    )
    parser.add_argument(
        "--refine-steps",
        type=int,
        default=0,
        metavar="N",
        help="also measure reconstruction with latents refined by N steps (default 0: not)",
    )
    args = parser.parse_args(argv)
    try:
        if args.refine_steps < 0:
            raise MotionClipError(f"--refine-steps must be 0 or more, got {args.refine_steps}")
        config, checkpoint, data, space = evaluation_inputs(args)
        metrics = evaluate_checkpoint(
            checkpoint, data, args.split, space, config, args.refine_steps
        )
        write_report(metrics, args, f"evaluation-{args.split}")
        if args.store:
            stored = checkpoint.metrics | {f"{args.split}_{k}": v for k, v in metrics.items()}
            checkpoints.save_checkpoint(
                dataclasses.replace(checkpoint, metrics=stored), args.checkpoint
            )
    except MotionClipError as error:
        print(f"training.evaluate: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
