"""Training batches: padded, normalised windows with a caption (and rendered frame) target each.

The order of windows is a DistributedSampler's (each process its own share, reshuffled every
epoch from the seed), and the caption of each window is drawn with a generator seeded by the step,
so a run resumed at step s sees exactly the batches an uninterrupted run would. With a length
group of G > 1, each run of G batches of that order is regrouped by window length before it is cut
into batches (and the batches shuffled), so a batch pads its windows less: windows of 1 to 8 s
drawn at random pad to about 1.8 times their frames, and padded frames cost as much as real ones.
Source repeats ({"cmu8": 4}) put every window of a source that many times into each epoch, so a
small source is not drowned by a large one; a label floor (`train.label_floor`, e.g. 32; 0, the
default, is off) then repeats the windows of each content label with fewer than that many in an
epoch until it has at least that many, so a rare action is not drowned by the frequent ones.
A replay floor (`train.replay_floor`, e.g. 16; 0 is off) lists each of a given set of windows, the
ones "nearest_captions" generation replays (training.train), at least that many times an epoch.
A mirror probability (`train.mirror`, e.g. 0.5; 0, the default, is off) reflects each drawn window
left to right with that chance, its caption's "left" and "right" swapped (training/mirror.py).
A prefix probability (`train.prefix`, e.g. 0.5; 0 is off) has the decoder rebuild, with that chance,
only a prefix of a drawn window (its length drawn uniformly from the model's shortest motion up to
the window's), from the latent of the whole window: the loss then compares those frames only, so
the motion a latent decodes to does not change with the length asked for.
A time-warp probability (`train.time_warp`, e.g. 0.5; 0 is off) plays each drawn window, with that
chance, a little faster or slower (training/time_warp.py; speeds from 1 / `train.time_warp_speed`
to it, 1.25 unless set), unless that would leave it shorter than the model's shortest motion.
A crop probability (`train.crop`, e.g. 0.5; 0 is off) keeps, with that chance, a random stretch of
each drawn window, canonicalised again (training/crop.py), at least the model's shortest motion.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import torch
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DistributedSampler

from motionclip_blender.core.model import frame_mask
from motionclip_blender.core.pose_features import FeatureStatistics

from .config import TIME_WARP_SPEED, ConfigError
from .crop import cropped, drawn_stretch
from .mirror import mirror_features, mirror_text
from .prepared import PreparedData
from .time_warp import drawn_speeds, time_warped


@dataclass(frozen=True)
class Batch:
    """features (B, T, 147) normalised, 0 on padding; mask (B, T); decoded (B, T) the frames
    the decoder rebuilds and the loss compares, the mask or a prefix of it (train.prefix); texts
    (B, D) caption embeddings; same_text (B, B) pairs sharing a caption; images (B, D) frame
    embeddings or None; windows (B,) indices into the prepared data."""

    features: torch.Tensor
    mask: torch.Tensor
    decoded: torch.Tensor
    texts: torch.Tensor
    same_text: torch.Tensor
    images: torch.Tensor | None
    windows: list[int]

    def to(self, device: torch.device) -> Batch:
        images = None if self.images is None else self.images.to(device)
        return Batch(
            self.features.to(device),
            self.mask.to(device),
            self.decoded.to(device),
            self.texts.to(device),
            self.same_text.to(device),
            images,
            self.windows,
        )


def prefix_lengths(
    lengths: torch.Tensor, probability: float, shortest: int, generator: torch.Generator
) -> torch.Tensor:
    """Each of `lengths` (B,), with chance `probability`, cut to a length drawn uniformly from
    `shortest` (or itself, if shorter) up to itself; the others unchanged."""
    cut = torch.rand(len(lengths), generator=generator) < probability
    low = lengths.clamp(max=shortest)
    drawn = low + (torch.rand(len(lengths), generator=generator) * (lengths - low + 1)).long()
    return torch.where(cut, drawn.clamp(max=lengths), lengths)


def repeated_by_source(
    data: PreparedData, windows: list[int], repeats: dict[str, int]
) -> list[int]:
    """`windows` with each one listed repeats[its source] times (once for unnamed sources)."""
    present = {data.labels[window].source for window in windows}
    unknown = sorted(set(repeats) - present)
    if unknown:
        raise ConfigError(
            f"train.source_repeats names {unknown}, which the windows do not come from; "
            f"their sources: {sorted(present)}"
        )
    return [w for w in windows for _ in range(repeats.get(data.labels[w].source, 1))]


def repeated_up_to_label_floor(data: PreparedData, windows: list[int], floor: int) -> list[int]:
    """`windows` (source repeats included) with every window of a content label that appears
    fewer than `floor` times listed ceil(floor / appearances) times as often; 0 changes nothing."""
    appearances = Counter(data.labels[window].content for window in windows)
    times = {label: max(1, math.ceil(floor / n)) for label, n in appearances.items()}
    return [w for w in windows for _ in range(times[data.labels[w].content])]


def repeated_up_to_replay_floor(
    windows: list[int], replayed: frozenset[int], floor: int
) -> list[int]:
    """`windows` with each window of `replayed` added until it appears at least `floor` times
    (its appearances in `windows` count); 0 changes nothing."""
    appearances = Counter(windows)
    missing = sorted(replayed - set(appearances))
    if missing:
        raise ValueError(f"replayed windows {missing[:5]} are not among the training windows")
    extra = [w for w in sorted(replayed) for _ in range(max(0, floor - appearances[w]))]
    return windows + extra


class BatchMaker:
    """Batches of one split for one process of `world` (see the module docstring)."""

    def __init__(
        self,
        data: PreparedData,
        split: str,
        statistics: FeatureStatistics,
        captions: dict[str, torch.Tensor],
        batch_size: int,
        seed: int,
        rank: int = 0,
        world: int = 1,
        images: torch.Tensor | None = None,
        length_group: int = 1,
        source_repeats: dict[str, int] | None = None,
        label_floor: int = 0,
        mirror: float = 0.0,
        replayed: frozenset[int] = frozenset(),
        replay_floor: int = 0,
        prefix: float = 0.0,
        shortest: int = 1,
        time_warp: float = 0.0,
        longest: int = 10**9,
        crop: float = 0.0,
        warp_speed: float = TIME_WARP_SPEED,
    ) -> None:
        """shortest, longest: the fewest frames a prefix, a warped or a cropped window keeps and
        the most a warped window keeps (the model's shortest and longest motions)."""
        self.data, self.statistics, self.captions = data, statistics, captions
        by_source = repeated_by_source(data, data.indices(split), source_repeats or {})
        by_label = repeated_up_to_label_floor(data, by_source, label_floor)
        self.windows = repeated_up_to_replay_floor(by_label, replayed, replay_floor)
        if len(self.windows) < batch_size * world:
            raise ConfigError(
                f"the {split} split has {len(self.windows)} windows, fewer than one batch of "
                f"{batch_size} for each of {world} process(es) (train.batch_size)"
            )
        if length_group < 1:
            raise ValueError(f"length_group must be at least 1, got {length_group}")
        self.batch_size, self.seed, self.images = batch_size, seed, images
        self.length_group = length_group
        if not 0 <= mirror <= 1:
            raise ValueError(f"mirror must be a probability in [0, 1], got {mirror}")
        self.mirror = mirror
        if not 0 <= prefix <= 1:
            raise ValueError(f"prefix must be a probability in [0, 1], got {prefix}")
        self.prefix, self.shortest = prefix, shortest
        if not 0 <= time_warp <= 1:
            raise ValueError(f"time_warp must be a probability in [0, 1], got {time_warp}")
        if warp_speed < 1:
            raise ValueError(f"warp_speed must be at least 1, got {warp_speed}")
        self.time_warp, self.longest, self.warp_speed = time_warp, longest, warp_speed
        if not 0 <= crop <= 1:
            raise ValueError(f"crop must be a probability in [0, 1], got {crop}")
        self.crop = crop
        self.sampler: DistributedSampler[int] = DistributedSampler(
            range(len(self.windows)),  # type: ignore[arg-type]  # any sized sequence works
            num_replicas=world,
            rank=rank,
            shuffle=True,
            seed=seed,
            drop_last=True,
        )
        self.batches_per_epoch = len(self.sampler) // batch_size
        self._epoch = -1
        self._order: list[int] = []

    def batch(self, step: int) -> Batch:
        """The batch of training step `step` (1-based)."""
        epoch, position = divmod(step - 1, self.batches_per_epoch)
        if epoch != self._epoch:
            self.sampler.set_epoch(epoch)
            self._order, self._epoch = self.grouped_by_length(list(self.sampler), epoch), epoch
        chosen = self._order[position * self.batch_size : (position + 1) * self.batch_size]
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + step)
        return self.make([self.windows[i] for i in chosen], generator)

    def grouped_by_length(self, order: list[int], epoch: int) -> list[int]:
        """`order` (positions in self.windows) with each run of length_group batches sorted by
        window length, then its whole batches shuffled (seeded by the epoch); unchanged for 1."""
        if self.length_group == 1:
            return order
        usable = self.batches_per_epoch * self.batch_size
        run = self.length_group * self.batch_size
        lengths = self.data.lengths()
        frames = [int(lengths[self.windows[i]]) for i in order[:usable]]
        grouped: list[int] = []
        for start in range(0, usable, run):
            chunk = range(start, min(start + run, usable))
            grouped += [order[i] for i in sorted(chunk, key=frames.__getitem__)]
        generator = torch.Generator().manual_seed(2**40 + self.seed * 1_000_003 + epoch)
        batches = torch.randperm(self.batches_per_epoch, generator=generator).tolist()
        size = self.batch_size
        return [i for b in batches for i in grouped[b * size : (b + 1) * size]]

    def make(self, windows: list[int], generator: torch.Generator | None = None) -> Batch:
        """A batch of the given windows; captions, mirroring, frames, prefixes, speeds and crops
        drawn with `generator` (the first captions, no mirroring, whole windows at their speed,
        when None)."""
        mirrored = [False] * len(windows)
        if generator is not None and self.mirror > 0:
            mirrored = (torch.rand(len(windows), generator=generator) < self.mirror).tolist()
        motions = [
            mirror_features(self.data.window(i)) if flip else self.data.window(i)
            for i, flip in zip(windows, mirrored, strict=True)
        ]
        if generator is not None and self.time_warp > 0:
            motions = [
                self.warped(motion, speed)
                for motion, speed in zip(
                    motions,
                    drawn_speeds(len(motions), self.time_warp, generator, self.warp_speed),
                    strict=True,
                )
            ]
        if generator is not None and self.crop > 0:
            motions = [self.maybe_cropped(motion, generator) for motion in motions]
        features = pad_sequence(motions, batch_first=True)
        lengths = torch.tensor([len(motion) for motion in motions])
        mask = frame_mask(lengths, features.shape[1])
        normalized = self.statistics.normalize(features) * mask[..., None]
        texts = []
        for window, flip in zip(windows, mirrored, strict=True):
            phrasings = self.data.labels[window].captions
            pick = (
                0
                if generator is None
                else int(torch.randint(len(phrasings), (), generator=generator))
            )
            texts.append(mirror_text(phrasings[pick]) if flip else phrasings[pick])
        same = torch.tensor([[a == b for b in texts] for a in texts])
        embeddings = torch.stack([self.captions[text] for text in texts])
        images = None
        if self.images is not None:
            frame = torch.zeros(len(windows), dtype=torch.long)
            if generator is not None:
                frame = torch.randint(self.images.shape[1], (len(windows),), generator=generator)
            images = self.images[windows, frame]
        decoded = mask
        if generator is not None and self.prefix > 0:
            kept = prefix_lengths(lengths, self.prefix, self.shortest, generator)
            decoded = frame_mask(kept, features.shape[1])
        return Batch(normalized, mask, decoded, embeddings, same, images, windows)

    def warped(self, window: torch.Tensor, speed: float) -> torch.Tensor:
        """`window` (T, 147) played `speed` times as fast, or as it is if that is too short."""
        if speed == 1 or round(len(window) / speed) < self.shortest:
            return window
        return time_warped(window, speed, self.data.fps, self.longest)

    def maybe_cropped(self, window: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """`window` (T, 147), or with chance `crop` a random stretch of it (training/crop.py)."""
        start, length = drawn_stretch(len(window), self.crop, self.shortest, generator)
        if length == len(window):
            return window
        return cropped(window, start, length, self.data.fps)
