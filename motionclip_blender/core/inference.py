"""Using a trained model: encode text and motions, decode latents, generate, blend, edit, classify,
search. No Blender here; the command line and the Blender operators are thin layers over this.

    session = load("model.pt")
    walk = session.generate("a person walks forward", seconds=4.0)

Motions of any frame rate go in (they are resampled to the model's rate); decoded motions come out
at the model's rate (`session.fps`) and callers resample them. Latents live in the text space and
are compared by cosine.
"""

from __future__ import annotations

import hashlib
import math
import numbers
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TypeGuard, cast

import torch
import torch.nn.functional as F

from . import captions, pose_features
from .checkpoint import (
    TEXT_LATENT_SCALINGS,
    Checkpoint,
    TextLatentScaling,
    load_checkpoint,
    resolve_checkpoint_path,
)
from .errors import CheckpointError, MotionDataError, PromptError, RequestError
from .model import frame_mask
from .motion import Motion
from .reconstruction import (
    REFINE_RATE,
    REFINE_STEPS,
    REFINE_WEIGHTS,
    StepProgress,
    decoded_latents,
    padded_windows,
)
from .text_spaces import TextSpace, load_text_space


@dataclass(frozen=True)
class LabelScore:
    label: str
    score: float  # cosine similarity of motion and label latents, -1..1


@dataclass(frozen=True)
class SearchHit:
    name: str
    score: float  # cosine similarity with the query, -1..1


@dataclass(frozen=True)
class CaptionMatch:
    text: str  # a training caption
    similarity: float  # cosine of its text embedding with the prompt's, -1..1


# Below this cosine with every training caption, a prompt is unlike anything the model learnt and
# generation only replays the nearest known action. Measured for MiniLM on the bundled model's
# captions: unseen but sensible prompts ("someone strolls forward", "lift both arms over the
# head") reach 0.61 to 0.81, prompts about absent actions ("a person plays the piano", "a person
# swims", "a dog barks", nonsense) 0.21 to 0.49. Not measured for CLIP, whose weights are absent.
FAMILIAR_SIMILARITY = {"minilm": 0.5}

# edit's default strength: the paper's arithmetic at strength 1 reached the asked-for action in
# 30 of 50 validation edits (five pairs, refined latents) with the bundled model, at 1.5 in 40,
# at 2 in 37, while the source's style was kept in 86, 76 and 54 % (MODEL_CARD.md, "Editing
# strength")
EDIT_STRENGTH = 1.5
MAX_EDIT_STRENGTH = 100.0  # far past any useful edit; larger ones overflow the decoded rotations
SEED_RANGE = (0, 2**32 - 1)  # torch's CPU generator keeps 32 bits of a seed: 2**32 variants


# Twice a bound on the error of a cosine between unit vectors rounded to float16 and summed in
# float32 (2 * 2**-11 for the roundings, under 1e-4 for the sums of up to 1,024 dimensions): every
# row of the exact top k has a float16 score of at least the k-th best one minus twice the error.
COSINE_SLACK = 2.5e-3


@dataclass(frozen=True)
class EncodedMotions:
    """Motions encoded once to search many times: names (N,) and latents (N, latent_dim)."""

    names: Sequence[str]
    latents: torch.Tensor

    def __post_init__(self) -> None:
        if self.latents.ndim != 2 or self.latents.shape[0] != len(self.names):
            raise ValueError(
                f"need one latent row per name: {len(self.names)} names, latents of shape "
                f"{tuple(self.latents.shape)}"
            )

    @cached_property
    def unit_latents_half(self) -> torch.Tensor:
        """(N, latent_dim) latents scaled to unit length, in float16 on the CPU: scoring many
        latents waits on reading them, and float16 halves the bytes (6x faster than float32 for
        100,000 latents on a 2-core CPU)."""
        return F.normalize(self.latents.detach().float().cpu(), dim=-1).half()

    def nearest(self, query: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Cosines (k,) and row indices (k,) of the k latents nearest to `query` (latent_dim,),
        best first, as float32 ranks them (k is capped at N): every row is scored in float16,
        and the rows whose float16 score could be in the top k (within COSINE_SLACK of the k-th
        best) are scored again in float32."""
        unit = F.normalize(query.detach().float().cpu(), dim=0)
        coarse = (self.unit_latents_half @ unit.half()).float()
        k = min(k, len(coarse))
        rows = (coarse >= coarse.topk(k).values[-1] - COSINE_SLACK).nonzero()[:, 0]
        exact = F.normalize(self.latents[rows].detach().float().cpu(), dim=-1) @ unit
        best = exact.topk(k)
        return best.values, rows[best.indices]


REFINED_CACHE_SIZE = 32  # motions whose refined latents a session keeps


def fingerprint(motion: Motion) -> str:
    """A digest of a motion's frames and rate: equal motions, and only they (short of a SHA-256
    collision), share it. It keys the refined-latent cache. (Not a Motion method: motion.py is
    one of the files whose bytes key the prepared training data and the kept judge.)"""
    digest = hashlib.sha256(repr(float(motion.fps)).encode())
    for values in (motion.rotations, motion.translation):
        array = values.detach().to("cpu", torch.float64).contiguous().numpy()
        digest.update(repr(array.shape).encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


class RefinedLatentCache:
    """The refined latents (faithful_latents) of the last REFINED_CACHE_SIZE motions, keyed by
    the motion's fingerprint and the step count. Refining takes seconds and is deterministic,
    and users come back to the same motions: a blend tried at another weight, an edit at another
    strength. Guarded by a lock, since Blender's jobs use a session from worker threads."""

    def __init__(self, capacity: int = REFINED_CACHE_SIZE) -> None:
        self.capacity = capacity
        self._latents: OrderedDict[tuple[str, int], torch.Tensor] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._latents)

    def get(self, key: tuple[str, int]) -> torch.Tensor | None:
        """The latent (latent_dim,) stored under `key`, now the most recently used; or None."""
        with self._lock:
            latent = self._latents.get(key)
            if latent is not None:
                self._latents.move_to_end(key)
            return latent

    def put(self, key: tuple[str, int], latent: torch.Tensor) -> None:
        """Store `latent` (latent_dim,) under `key`, dropping the least recently used beyond
        capacity."""
        with self._lock:
            self._latents[key] = latent.detach().clone()
            self._latents.move_to_end(key)
            while len(self._latents) > self.capacity:
                self._latents.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._latents.clear()


def load(
    checkpoint: str | os.PathLike[str] | None = None,
    *,
    text_space: TextSpace | None = None,
    clip_weights: str | os.PathLike[str] | None = None,
    allow_download: bool = False,
    device: str | torch.device = "cpu",
) -> MotionClip:
    """A session on a checkpoint file (the bundled model when None).

    The text space is loaded on first use, unless given; `clip_weights` and `allow_download`
    are passed to it for CLIP-space checkpoints (see text_spaces.find_clip_weights).
    """
    loaded = load_checkpoint(resolve_checkpoint_path(checkpoint))
    return MotionClip(
        loaded,
        text_space,
        clip_weights=clip_weights,
        allow_download=allow_download,
        device=device,
    )


# The training captions re-encoded to check a text space, and the least cosine with their stored
# embeddings that counts as the same encoder (stored in float16: cosines of about 0.9999).
CAPTIONS_CHECKED = 8
SAME_SPACE_COSINE = 0.99
CLIP_MISMATCH = (
    "CLIP checkpoints need OpenAI's ViT-B/32 (ViT-B-32.pt); another CLIP model has the same "
    "width, and a damaged file can be deleted to be downloaded again"
)


def usable_device(device: str | torch.device) -> torch.device:
    """The device to run on; a RequestError when torch cannot use it: CUDA in a CPU-only torch
    (every package build.py makes) or on a machine without an NVIDIA GPU."""
    try:
        chosen = torch.device(device)
    except RuntimeError:
        raise RequestError(f"unknown device {device!r}: expected 'cpu' or 'cuda'") from None
    if chosen.type == "cuda" and not torch.cuda.is_available():
        why = "a CPU-only torch" if torch.version.cuda is None else "no GPU found"
        raise RequestError(f"the device 'cuda' cannot be used ({why}): choose the CPU")
    return chosen


class MotionClip:
    """A loaded model and its text space."""

    def __init__(
        self,
        checkpoint: Checkpoint,
        text_space: TextSpace | None = None,
        *,
        clip_weights: str | os.PathLike[str] | None = None,
        allow_download: bool = False,
        device: str | torch.device = "cpu",
    ) -> None:
        self.checkpoint = checkpoint
        self.config = checkpoint.config
        self.device = usable_device(device)
        self.model = checkpoint.build_model().to(self.device)
        self.text_latent_scaling: TextLatentScaling = checkpoint.text_latent_scaling
        self._clip_weights = clip_weights
        self._allow_download = allow_download
        self._text_space = None if text_space is None else self._checked_space(text_space)
        self._text_space_lock = threading.Lock()  # Blender's jobs may ask for it at once
        self.refined_cache = RefinedLatentCache()

    @property
    def fps(self) -> float:
        """The frame rate the model works at; decoded motions come at this rate."""
        return self.config.fps

    @property
    def text_space(self) -> TextSpace:
        """The checkpoint's text space, loaded on first use, once even when two threads ask."""
        with self._text_space_lock:
            if self._text_space is None:
                space = load_text_space(
                    self.checkpoint.text_space,
                    clip_weights=self._clip_weights,
                    allow_download=self._allow_download,
                    device=self.device,
                )
                self._text_space = self._checked_space(space)
            return self._text_space

    def _checked_space(self, space: TextSpace) -> TextSpace:
        """The space, when it is the one the checkpoint was trained in: its name and width,
        and, when the checkpoint stores its training captions, their embeddings (another CLIP
        file, such as ViT-B/16, or a damaged one, has the width but not the embeddings)."""
        expected = (self.checkpoint.text_space, self.config.latent_dim)
        if (space.name, space.dim) != expected:
            raise CheckpointError(
                f"the checkpoint was trained in the '{expected[0]}' text space ({expected[1]} "
                f"dimensions), not in the '{space.name}' space ({space.dim} dimensions)"
            )
        captions = self.checkpoint.caption_latents
        if captions is not None and captions.texts:
            count = min(CAPTIONS_CHECKED, len(captions.texts))
            fresh = space.encode_text(list(captions.texts[:count])).cpu()
            stored = captions.embeddings[:count].to(fresh)
            agreement = float(F.cosine_similarity(fresh, stored, dim=-1).min())
            if agreement < SAME_SPACE_COSINE:
                raise CheckpointError(
                    f"the '{space.name}' text encoder loaded is not the one the checkpoint was "
                    f"trained with: it embeds the checkpoint's training captions differently "
                    f"(cosine {agreement:.2f}, expected 1)"
                    + (f". {CLIP_MISMATCH}" if space.name == "clip" else "")
                )
        return space

    # --- encoding ------------------------------------------------------------------------------

    def encode_text(self, texts: Sequence[str]) -> torch.Tensor:
        """(N,) texts -> (N, latent_dim) text-space embeddings (for comparing by cosine)."""
        return self.text_space.encode_text(texts).to(self.device)

    def label_latents(self, labels: Sequence[str]) -> torch.Tensor:
        """(L,) recognition labels -> (L, latent_dim) unit text latents: the normalised mean of
        each label's unit embeddings over its phrasings (captions.label_phrasings)."""
        phrasings = [captions.label_phrasings(label) for label in labels]
        embeddings = F.normalize(
            self.encode_text([p for group in phrasings for p in group]), dim=-1
        )
        groups = embeddings.split([len(group) for group in phrasings])
        return F.normalize(torch.stack([group.mean(0) for group in groups]), dim=-1)

    def text_latents(
        self, texts: Sequence[str], scaling: TextLatentScaling | None = None
    ) -> torch.Tensor:
        """(N,) texts -> (N, latent_dim) latents to decode.

        scaling: "raw" (the embedding as it is, as the paper), "unit" (unit length),
        "motion_norm" (the mean norm of the training motions' latents), "regressed" (the
        checkpoint's affine map fitted from training captions to their motions' latents, which
        lands text among the motion latents the decoder knows) or "nearest_captions" (the
        latents of the training captions closest in meaning, see checkpoint.CaptionLatents);
        the checkpoint's default (`self.text_latent_scaling`) when None.
        """
        scaling = scaling or self.text_latent_scaling
        if scaling not in TEXT_LATENT_SCALINGS:
            raise RequestError(f"scaling must be one of {TEXT_LATENT_SCALINGS}, got {scaling!r}")
        embeddings = self.encode_text(texts)
        if scaling == "raw":
            return embeddings
        if scaling == "regressed":
            if self.checkpoint.text_to_latent is None:
                raise RequestError("this checkpoint has no text-to-latent map for 'regressed'")
            weights = self.checkpoint.text_to_latent.to(embeddings)
            return embeddings @ weights[:-1] + weights[-1]
        if scaling == "nearest_captions":
            if self.checkpoint.caption_latents is None:
                raise RequestError("this checkpoint has no caption latents for 'nearest_captions'")
            return self.checkpoint.caption_latents.latents_for(embeddings.cpu()).to(embeddings)
        unit = F.normalize(embeddings, dim=-1)
        return unit if scaling == "unit" else unit * self.checkpoint.motion_latent_norm

    def encode_motion(self, motions: Sequence[Motion]) -> torch.Tensor:
        """(N,) motions -> (N, latent_dim) latents.

        Each motion is resampled to the model's rate and canonicalised. One longer than the
        model's window (max_seconds) is cut into evenly spaced windows that cover it, and its
        latent is the mean of theirs. Motions shorter than min_seconds raise MotionDataError.
        """
        if not motions:
            raise MotionDataError("no motions to encode")
        windows: list[torch.Tensor] = []
        owners: list[int] = []
        for index, motion in enumerate(motions):
            for window in self._windows(motion):
                windows.append(pose_features.motion_to_features(window, self.fps))
                owners.append(index)
        lengths = torch.tensor([len(window) for window in windows], device=self.device)
        features = torch.nn.utils.rnn.pad_sequence(windows, batch_first=True).to(self.device)
        mask = frame_mask(lengths, features.shape[1])
        with torch.inference_mode():
            normalized = self.checkpoint.statistics.normalize(features) * mask[..., None]
            window_latents = self.model.encode(normalized, mask)
            owner = torch.tensor(owners, device=self.device)
            sums = torch.zeros(len(motions), self.config.latent_dim, device=self.device)
            sums.index_add_(0, owner, window_latents)
            counts = torch.bincount(owner, minlength=len(motions))
            return sums / counts[:, None]

    def corrected_latents(self, motions: Sequence[Motion]) -> torch.Tensor:
        """(N,) motions -> (N, latent_dim) latents that decode closer to them than the encoder's:
        the corrector's, of each motion's first max_seconds (the part a latent decodes to); the
        encoder's (encode_motion) when the model has no corrector."""
        if self.model.corrector is None or not motions:
            return self.encode_motion(motions)
        with torch.inference_mode():
            normalized, mask = padded_windows(
                self._first_windows(motions), self.checkpoint.statistics, self.device
            )
            return self.model.corrected(normalized, mask, self.model.encode(normalized, mask))

    def _first_windows(self, motions: Sequence[Motion]) -> list[torch.Tensor]:
        """Each motion's first max_seconds, the part a latent decodes to, as pose vectors."""
        return [
            pose_features.motion_to_features(self._windows(motion)[0], self.fps)
            for motion in motions
        ]

    def check_duration(self, motion: Motion) -> None:
        """MotionDataError when the motion, at the model's rate, is too short to encode."""
        if motion.frames_at(self.fps) < self.config.min_frames:
            raise MotionDataError(
                f"a motion of {motion.duration:.2f} s is too short: the model needs at least "
                f"{self.config.min_seconds:g} s"
            )

    def _windows(self, motion: Motion) -> list[Motion]:
        """The motion at the model's rate, as one window or several of max_frames covering it."""
        self.check_duration(motion)
        resampled = motion if motion.fps == self.fps else motion.resample(self.fps)
        frames = resampled.num_frames
        window = self.config.max_frames
        count = math.ceil(frames / window)
        if count == 1:
            return [resampled]
        starts = torch.linspace(0, frames - window, count).round().long().tolist()
        return [resampled.slice(start, start + window) for start in starts]

    # --- decoding ------------------------------------------------------------------------------

    def frames_for(self, seconds: float) -> int:
        """Frames at the model's rate for a duration; seconds outside the model's range raise."""
        low, high = self.config.min_seconds, self.config.max_seconds
        if not (is_number(seconds) and low <= seconds <= high):
            raise RequestError(f"seconds must be between {low:g} and {high:g}, got {seconds}")
        return self._clamped_frames(seconds)

    def _clamped_frames(self, seconds: float) -> int:
        return max(self.config.min_frames, min(self.config.max_frames, round(seconds * self.fps)))

    def decode(
        self,
        latents: torch.Tensor,
        seconds: float | Sequence[float] | None = None,
        frames: int | Sequence[int] | None = None,
    ) -> list[Motion]:
        """(N, latent_dim) latents -> N motions at the model's rate.

        Give the length as `seconds` or `frames` (model frames), one value for all or one per
        latent; lengths outside the model's range (min_seconds..max_seconds) raise.
        """
        if latents.ndim != 2 or latents.shape[1] != self.config.latent_dim:
            raise RequestError(
                f"latents must have shape (N, {self.config.latent_dim}), got {tuple(latents.shape)}"
            )
        count = latents.shape[0]
        if count == 0:
            return []
        lengths = self._lengths(count, seconds, frames)
        mask = frame_mask(torch.tensor(lengths, device=self.device), max(lengths))
        with torch.inference_mode():
            decoded = self.model.decode(latents.to(self.device).float(), mask)
            features = self.checkpoint.statistics.denormalize(decoded).cpu()
        return [
            pose_features.features_to_motion(features[row, :length], self.fps)
            for row, length in enumerate(lengths)
        ]

    def _lengths(
        self,
        count: int,
        seconds: float | Sequence[float] | None,
        frames: int | Sequence[int] | None,
    ) -> list[int]:
        if (seconds is None) == (frames is None):
            raise RequestError("give the length as either seconds or frames")
        if frames is not None:
            values = [frames] * count if is_number(frames) else list(cast(Sequence[int], frames))
            for value in values:
                if not (
                    is_whole(value) and self.config.min_frames <= value <= self.config.max_frames
                ):
                    raise RequestError(
                        f"frames must be between {self.config.min_frames} and "
                        f"{self.config.max_frames} at {self.fps:g} fps, got {value}"
                    )
            lengths = [int(value) for value in values]
        else:
            assert seconds is not None
            durations = (
                [seconds] * count if is_number(seconds) else list(cast(Sequence[float], seconds))
            )
            lengths = [self.frames_for(value) for value in durations]
        if len(lengths) != count:
            raise RequestError(f"{len(lengths)} lengths given for {count} latents")
        return lengths

    # --- what users do -------------------------------------------------------------------------

    def generate(
        self,
        prompt: str,
        seconds: float = 4.0,
        seed: int | None = None,
        variation: float = 0.1,
        scaling: TextLatentScaling | None = None,
    ) -> Motion:
        """A motion of `seconds` from a text prompt.

        Without a seed the prompt's own latent is decoded, so a prompt always gives the same
        motion. With a seed, the latent is moved by seeded Gaussian noise of `variation` times
        its norm, giving a variant that the same seed always reproduces.
        """
        frames = self.frames_for(seconds)
        if seed is not None and not (is_whole(seed) and SEED_RANGE[0] <= seed <= SEED_RANGE[1]):
            raise RequestError(
                f"seed must be a whole number from {SEED_RANGE[0]} to {SEED_RANGE[1]}, got {seed!r}"
            )
        if not (is_number(variation) and 0 <= variation < math.inf):
            raise RequestError(f"variation must be a number of 0 or more, got {variation!r}")
        latent = self.text_latents([prompt], scaling)
        if seed is not None:
            generator = torch.Generator().manual_seed(int(seed))
            noise = torch.randn(latent.shape, generator=generator).to(latent)
            latent = latent + variation * latent.norm() * noise / math.sqrt(latent.shape[1])
        return self.decode(latent, frames=frames)[0]

    def closest_captions(self, prompt: str, k: int = 3) -> list[CaptionMatch]:
        """The k training captions nearest the prompt in the text space, best first: the
        motions "nearest_captions" generation replays, so a user can see what a prompt was
        understood as. Empty when the checkpoint stores no caption texts."""
        if not (is_whole(k) and k >= 1):
            raise RequestError(f"k must be a whole number of 1 or more, got {k!r}")
        captions = self.checkpoint.caption_latents
        if captions is None or not captions.texts:
            return []
        unit = F.normalize(self.encode_text([prompt]).cpu(), dim=-1)[0]
        similarity = F.normalize(captions.embeddings, dim=-1) @ unit
        best = similarity.topk(min(k, len(captions.texts)))
        return [
            CaptionMatch(captions.texts[index], float(value))
            for value, index in zip(best.values.tolist(), best.indices.tolist(), strict=True)
        ]

    def prompt_report(self, prompt: str) -> str:
        """One sentence for the user on what the prompt was understood as: its closest training
        caption, whether the prompt is unlike everything learnt (FAMILIAR_SIMILARITY), and whether
        it was too long to read whole; empty when the checkpoint stores no caption texts."""
        matches = self.closest_captions(prompt, k=1)
        if not matches:
            return ""
        closest = matches[0]
        quoted = f"'{closest.text}' (cosine {closest.similarity:.2f})"
        familiar = FAMILIAR_SIMILARITY.get(self.checkpoint.text_space)
        if familiar is not None and closest.similarity < familiar:
            report = (
                f"the prompt is unlike every training caption; the closest is {quoted}, so "
                f"expect the nearest action the model knows, not the one asked for"
            )
        else:
            report = f"closest training caption: {quoted}"
        space = self.text_space
        if not space.fits(prompt):
            report += f" (only the prompt's first {space.context_length} tokens were read)"
        return report

    def edit_report(self, from_text: str, to_text: str) -> str:
        """prompt_report of edit's two texts, as "from: ...; to: ...", so that a user sees what
        each was understood as; empty when the checkpoint stores no caption texts."""
        reports = [self.prompt_report(text) for text in (from_text, to_text)]
        return f"from: {reports[0]}; to: {reports[1]}" if all(reports) else ""

    def faithful_latents(
        self,
        motions: Sequence[Motion],
        refine_steps: int = REFINE_STEPS,
        progress: StepProgress | None = None,
    ) -> torch.Tensor:
        """(N,) motions -> (N, latent_dim) latents that decode back to them, for blending and
        editing: the corrector's latents, or the encoder's when the model has none
        (corrected_latents), refined by `refine_steps` Adam steps (of size REFINE_RATE) through
        the fixed decoder to decode each motion's first max_seconds, the most a decoded motion
        lasts (core.reconstruction). The encoder's latent alone (refine_steps 0, no corrector)
        decodes to a smoothed copy that loses much of the root's path; recognition and search
        keep it, since it is the one aligned with text.
        Refined latents are kept in `refined_cache`, so only motions it lacks are refined (a
        kept latent is the one refined first: fitted with other motions, whose frames weigh
        the terms a little differently, it differs from a lone fit by about 1e-4 of its
        length); progress(done, total) is called after each of their steps; what it raises
        stops them.
        """
        if not (is_whole(refine_steps) and refine_steps >= 0):
            raise RequestError(f"refine_steps must be a whole number >= 0, got {refine_steps!r}")
        if refine_steps == 0 or not motions:
            return self.corrected_latents(motions)
        keys = [(fingerprint(motion), refine_steps) for motion in motions]
        found = {key: latent for key in keys if (latent := self.refined_cache.get(key)) is not None}
        pairs = zip(keys, motions, strict=True)
        missing = {key: motion for key, motion in pairs if key not in found}
        if missing:
            fresh = list(missing.values())
            refined = decoded_latents(
                self.model,
                self._first_windows(fresh),
                self.corrected_latents(fresh),
                self.checkpoint.statistics,
                REFINE_WEIGHTS,
                refine_steps,
                rate=REFINE_RATE,
                progress=progress,
            )
            for key, latent in zip(missing, refined, strict=True):
                self.refined_cache.put(key, latent)
                found[key] = latent
        return torch.stack([found[key] for key in keys]).to(self.device)

    def interpolate(
        self,
        a: Motion,
        b: Motion,
        weights: Sequence[float],
        refine_steps: int = REFINE_STEPS,
        progress: StepProgress | None = None,
    ) -> list[Motion]:
        """Motions between a (weight 0) and b (weight 1), one per weight, by linear interpolation
        of their latents (faithful_latents, refined by `refine_steps`, reporting to `progress`);
        each lasts the interpolated duration of what the two latents decode to (a motion over
        max_seconds counts as its first max_seconds)."""
        if len(weights) == 0 or not all(0.0 <= weight <= 1.0 for weight in weights):
            raise RequestError(f"weights must be one or more numbers in [0, 1], got {weights}")
        latents = self.faithful_latents([a, b], refine_steps, progress)
        blend = torch.tensor(weights, dtype=latents.dtype, device=self.device)[:, None]
        mixed = torch.lerp(latents[0:1], latents[1:2], blend)
        frames = [self._clamped_frames(seconds) for seconds in self.blend_seconds(a, b, weights)]
        return self.decode(mixed, frames=frames)

    def blend_seconds(self, a: Motion, b: Motion, weights: Sequence[float]) -> list[float]:
        """How long each of interpolate's motions lasts, before the model's frame rate rounds it:
        a's and b's durations (at most max_seconds each) interpolated by the weights."""
        longest = self.config.max_seconds
        a_seconds, b_seconds = min(a.duration, longest), min(b.duration, longest)
        return [(1 - w) * a_seconds + w * b_seconds for w in weights]

    def edit(
        self,
        motion: Motion,
        from_text: str,
        to_text: str,
        strength: float = EDIT_STRENGTH,
        refine_steps: int = REFINE_STEPS,
        progress: StepProgress | None = None,
    ) -> Motion:
        """The paper's latent arithmetic: motion latent (faithful_latents, refined by
        `refine_steps`, reporting to `progress`) + strength * (latent(to) - latent(from)).

        The result has the motion's duration and starts where the motion starts, facing its way
        (Motion.placed_like), so it can replace it; a motion longer than max_seconds is edited
        over its first max_seconds, the part a latent decodes to (as interpolate does). One
        shorter than min_seconds raises MotionDataError.
        """
        if not abs(strength) <= MAX_EDIT_STRENGTH:
            raise RequestError(
                f"strength must be a number from -{MAX_EDIT_STRENGTH:g} to "
                f"{MAX_EDIT_STRENGTH:g}, got {strength}"
            )
        direction = self.edit_direction(from_text, to_text)  # bad texts fail before refining
        latent = self.faithful_latents([motion], refine_steps, progress)
        edited = latent + strength * direction
        return self.decode(edited, frames=self._clamped_frames(motion.duration))[0].placed_like(
            motion
        )

    def edited_latents(
        self, latents: torch.Tensor, from_text: str, to_text: str, strength: float
    ) -> torch.Tensor:
        """(N, latent_dim) latents moved by strength * (latent(to) - latent(from)): edit's step."""
        return latents + strength * self.edit_direction(from_text, to_text)

    def edit_direction(self, from_text: str, to_text: str) -> torch.Tensor:
        """(latent_dim,) latent(to) - latent(from), the direction edit moves a latent along."""
        text = self.text_latents([from_text, to_text])
        return text[1] - text[0]

    def classify(self, motion: Motion, labels: Sequence[str]) -> list[LabelScore]:
        """Zero-shot recognition: labels ranked by the cosine of the motion's latent with theirs
        (label_latents: a verb phrase such as "walk backwards" is scored over several sentences,
        one that starts with who moves, such as "a man waves", as it is), best first."""
        return self.classify_many([motion], labels)[0]

    def classify_many(
        self, motions: Sequence[Motion], labels: Sequence[str]
    ) -> list[list[LabelScore]]:
        """classify for several motions, encoding the labels once."""
        if isinstance(labels, str):
            raise PromptError(f"labels must be a list of texts, got the text {labels!r}")
        names = [label.strip() for label in labels]
        if not names or not all(names):
            raise PromptError(f"labels must be one or more non-empty texts, got {list(labels)}")
        if len(set(names)) != len(names):
            raise PromptError(f"labels must be distinct, got {names}")
        scores = F.normalize(self.encode_motion(motions), dim=-1) @ self.label_latents(names).T
        return [
            [LabelScore(names[i], float(row[i])) for i in row.argsort(descending=True).tolist()]
            for row in scores.cpu()
        ]

    def search(self, query: str | Motion, library: EncodedMotions, k: int = 5) -> list[SearchHit]:
        """The k library motions nearest to a text or motion query by cosine, best first."""
        if not (is_whole(k) and k >= 1):
            raise RequestError(f"k must be a whole number of 1 or more, got {k!r}")
        if isinstance(query, str):
            latent = self.encode_text([query])
        else:
            latent = self.encode_motion([query])
        if not library.names:
            return []
        scores, rows = library.nearest(latent[0], k)
        return [
            SearchHit(library.names[row], score)
            for score, row in zip(scores.tolist(), rows.tolist(), strict=True)
        ]


def is_number(value: object) -> TypeGuard[float]:
    """A real number (Python's or numpy's), not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def is_whole(value: object) -> TypeGuard[int]:
    """A whole number (Python's or numpy's), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)
