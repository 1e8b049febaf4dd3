"""Train / validation / test split by clip group, stratified by source and content label.

Within each stratum (one source's clips of one content label) groups are shuffled with the seed
and then ordered by style, and the validation and test picks are spread evenly along that order:
so every content label with enough clips is in every split and the styles of a label are spread
across splits (the Bandai stratification by content and style). A group never spans two splits.
A source's own prescribed split (CMU8's test folder) is kept, and such a source gets no other
test clips. A source none of whose labels has MIN_STRATUM groups (every file its own caption)
is split as one stratum.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence

from .sources import Clip

SPLITS = ("train", "validation", "test")
MIN_STRATUM = 3  # smaller strata go to training whole: a label seen once is better learnt


def assign_splits(
    clips: Sequence[Clip], validation: float, test: float, seed: int
) -> dict[str, str]:
    """Split name ("train", "validation", "test") for each clip group."""
    rng = random.Random(seed)
    first_of_group: dict[str, Clip] = {}
    for clip in sorted(clips, key=lambda c: c.group):
        first_of_group.setdefault(clip.group, clip)
    splits: dict[str, str] = {}
    strata: dict[tuple[str, str], list[Clip]] = defaultdict(list)
    for group, clip in first_of_group.items():
        if clip.fixed_split:
            splits[group] = clip.fixed_split
        else:
            strata[clip.source, clip.content].append(clip)
    fixed_test = {c.source for c in first_of_group.values() if c.fixed_split == "test"}
    for (source, _), members in sorted(_pool_unsplittable_sources(strata).items()):
        rng.shuffle(members)
        members.sort(key=lambda c: c.style)  # stable: random order within each style
        test_share = 0.0 if source in fixed_test else test
        remaining = list(members)
        for split, share in (("test", test_share), ("validation", validation)):
            for clip in _spread_picks(remaining, _count(len(members), share), rng):
                splits[clip.group] = split
                remaining.remove(clip)
        for clip in remaining:
            splits[clip.group] = "train"
    return splits


def _pool_unsplittable_sources(
    strata: dict[tuple[str, str], list[Clip]],
) -> dict[tuple[str, str], list[Clip]]:
    """The strata, with each source none of whose labels has MIN_STRATUM groups (a folder
    whose every file has its own caption) made one stratum, so that it is split too."""
    sources = {source for source, _ in strata}
    unsplittable = {
        source
        for source in sources
        if all(len(m) < MIN_STRATUM for (s, _), m in strata.items() if s == source)
    }
    pooled: dict[tuple[str, str], list[Clip]] = {}
    for (source, content), members in sorted(strata.items()):
        key = (source, "") if source in unsplittable else (source, content)
        pooled.setdefault(key, []).extend(members)
    return pooled


def _count(size: int, share: float) -> int:
    if size < MIN_STRATUM or share <= 0:
        return 0
    return max(1, round(size * share))


def _spread_picks(members: list[Clip], count: int, rng: random.Random) -> list[Clip]:
    """`count` members evenly spaced along the list, starting at a random offset."""
    if count == 0:
        return []
    step = len(members) / count
    offset = rng.random() * step
    return [members[int(offset + index * step)] for index in range(count)]
