"""Training batches grouped by window length: same windows each epoch, less padding, and the
same batches again for a resumed run."""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import torch

from motionclip_blender.core.model import frame_mask
from motionclip_blender.core.pose_features import FEATURE_DIM, FeatureStatistics
from training.batches import BatchMaker, prefix_lengths
from training.config import ConfigError
from training.mirror import mirror_features, mirror_text
from training.prepared import PreparedData, WindowLabels


def varied_windows(count: int = 96) -> PreparedData:
    """`count` training windows of 20 to 160 frames, each with its own caption."""
    lengths = torch.randint(20, 161, (count,), generator=torch.Generator().manual_seed(0))
    offsets = torch.cat([torch.zeros(1, dtype=torch.long), lengths.cumsum(0)])
    labels = [
        WindowLabels("train", "test", f"g{i}", "walk", "walk", "", f"walk {i}", [f"walk {i}"], "")
        for i in range(count)
    ]
    features = torch.randn(int(offsets[-1]), FEATURE_DIM)
    return PreparedData("key", 20.0, features, offsets, labels)


def batch_maker(data: PreparedData, length_group: int = 1, **repeats: Any) -> BatchMaker:
    """Batches of 8 training windows of `data`; `repeats`: source_repeats, label_floor,
    replayed, replay_floor, prefix, shortest, time_warp, longest, crop and warp_speed."""
    captions = {text: torch.randn(8) for labels in data.labels for text in labels.captions}
    statistics = FeatureStatistics.identity()
    return BatchMaker(
        data, "train", statistics, captions, 8, 0, length_group=length_group, **repeats
    )


def epoch_batches(maker: BatchMaker, epoch: int) -> list[list[int]]:
    first = epoch * maker.batches_per_epoch + 1
    return [maker.batch(step).windows for step in range(first, first + maker.batches_per_epoch)]


def padded_over_real(maker: BatchMaker) -> float:
    batches = [maker.batch(step) for step in range(1, maker.batches_per_epoch + 1)]
    return sum(b.mask.numel() for b in batches) / sum(int(b.mask.sum()) for b in batches)


def test_grouping_keeps_every_window_once_per_epoch_and_pads_less() -> None:
    data = varied_windows()
    plain, grouped = batch_maker(data, 1), batch_maker(data, 4)
    for epoch in (0, 1):
        windows = [w for batch in epoch_batches(grouped, epoch) for w in batch]
        expected = [w for batch in epoch_batches(plain, epoch) for w in batch]
        assert sorted(windows) == sorted(expected)
        assert len(set(windows)) == len(windows)
    assert padded_over_real(plain) > 1.4
    assert padded_over_real(grouped) < 1.25


def test_grouped_batches_are_the_same_for_a_resumed_run() -> None:
    data = varied_windows()
    uninterrupted = epoch_batches(batch_maker(data, 4), 1)
    resumed = batch_maker(data, 4)  # a fresh process that starts in the second epoch
    assert epoch_batches(resumed, 1) == uninterrupted
    assert epoch_batches(resumed, 0) != uninterrupted


def test_source_repeats_put_a_small_source_that_many_times_into_each_epoch() -> None:
    data = varied_windows()
    labels = [
        dataclasses.replace(item, source="small" if i % 8 == 0 else "large")
        for i, item in enumerate(data.labels)
    ]
    data = dataclasses.replace(data, labels=labels)
    maker = batch_maker(data, 4, source_repeats={"small": 3})
    counts = Counter(w for batch in epoch_batches(maker, 0) for w in batch)
    assert maker.batches_per_epoch == (96 + 2 * 12) // 8  # 12 small windows, twice more each
    assert {counts[w] for w in range(0, 96, 8)} == {3}
    assert {counts[w] for w in range(96) if w % 8} == {1}
    with pytest.raises(
        ConfigError, match=r"train.source_repeats names \['tiny'\].*\['large', 'small'\]"
    ):
        batch_maker(data, source_repeats={"tiny": 2})


def test_label_floor_repeats_the_windows_of_rare_labels_only() -> None:
    data = varied_windows()
    labels = [
        dataclasses.replace(
            item, content="jump" if i < 3 else "walk", source="small" if i < 2 else "large"
        )
        for i, item in enumerate(data.labels)
    ]
    data = dataclasses.replace(data, labels=labels)
    maker = batch_maker(data, source_repeats={"small": 2}, label_floor=12)
    counts = Counter(maker.windows)
    # jump appears 2 * 2 + 1 = 5 times with the source repeats, so each of its windows 3 times more
    assert [counts[w] for w in range(3)] == [6, 6, 3]
    assert {counts[w] for w in range(3, 96)} == {1}  # walk is over the floor
    assert maker.batches_per_epoch == (93 + 15) // 8
    assert len(batch_maker(data, source_repeats={"small": 2}).windows) == 93 + 5


def test_replay_floor_lists_the_replayed_windows_at_least_that_many_times() -> None:
    data = varied_windows()
    labels = [
        dataclasses.replace(item, source="small" if i < 2 else "large")
        for i, item in enumerate(data.labels)
    ]
    data = dataclasses.replace(data, labels=labels)
    maker = batch_maker(
        data, source_repeats={"small": 3}, replayed=frozenset({1, 5, 7}), replay_floor=4
    )
    counts = Counter(maker.windows)
    # window 1 is already listed 3 times by its source's repeats, so it gains one
    assert [counts[w] for w in (0, 1, 5, 7)] == [3, 4, 4, 4]
    assert {counts[w] for w in range(96) if w not in (0, 1, 5, 7)} == {1}
    assert maker.batches_per_epoch == (94 + 6 + 1 + 3 + 3) // 8
    assert len(batch_maker(data, replayed=frozenset({1, 5}), replay_floor=0).windows) == 96
    with pytest.raises(ValueError, match=r"replayed windows \[200\] are not among"):
        batch_maker(data, replayed=frozenset({200}), replay_floor=2)


def test_length_group_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="length_group must be at least 1"):
        batch_maker(varied_windows(), 0)


def sided_windows() -> PreparedData:
    """varied_windows() whose captions name a side."""
    data = varied_windows(32)
    labels = [
        dataclasses.replace(item, captions=[f"wave the left hand {i}"])
        for i, item in enumerate(data.labels)
    ]
    return dataclasses.replace(data, labels=labels)


def test_mirror_reflects_windows_and_swaps_their_captions_sides() -> None:
    data = sided_windows()
    texts = [t for labels in data.labels for t in labels.captions]
    captions = {text: torch.randn(8) for text in texts + [mirror_text(t) for t in texts]}

    def maker(mirror: float) -> BatchMaker:
        identity = FeatureStatistics.identity()
        return BatchMaker(data, "train", identity, captions, 8, 0, mirror=mirror)

    always, never, half = maker(1.0).batch(1), maker(0.0).batch(1), maker(0.5)
    assert always.windows == never.windows
    for row, window in enumerate(always.windows):
        frames = int(always.mask[row].sum())
        assert torch.allclose(always.features[row, :frames], mirror_features(data.window(window)))
        assert torch.equal(always.texts[row], captions[f"wave the right hand {window}"])
        assert torch.equal(never.features[row, :frames], data.window(window))
        assert torch.equal(never.texts[row], captions[f"wave the left hand {window}"])
    flips = [
        bool(torch.equal(b.texts[r], captions[f"wave the right hand {w}"]))
        for b in (half.batch(step) for step in range(1, 5))
        for r, w in enumerate(b.windows)
    ]
    assert 0 < sum(flips) < len(flips)
    again = maker(0.5).batch(3)  # a resumed run mirrors the same windows
    assert torch.equal(again.features, half.batch(3).features)


def test_mirror_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match=r"mirror must be a probability in \[0, 1\], got 2"):
        batch_maker(varied_windows(), mirror=2)


@pytest.mark.parametrize(
    ("option", "allowed"),
    [
        ("time_warp", lambda before, after: 20 <= after <= 150),
        ("crop", lambda before, after: max(20, math.ceil(before / 2)) <= after <= before),
    ],
)
def test_batches_warp_or_crop_windows_with_the_given_chance_reproducibly(
    option: str, allowed: Callable[[int, int], bool]
) -> None:
    data = varied_windows()
    options = {option: 1.0, "shortest": 20, "longest": 150}
    plain, always = batch_maker(data), batch_maker(data, **options)
    changed_rows = 0
    for step in range(1, 4):
        a, b = plain.batch(step), always.batch(step)
        assert a.windows == b.windows
        for row in range(len(a.windows)):
            before, after = int(a.mask[row].sum()), int(b.mask[row].sum())
            assert allowed(before, after)
            changed_rows += before != after
    assert changed_rows > 12  # of 24 windows; a 20-frame window sped up is kept as it is
    resumed = batch_maker(data, **options).batch(2)
    assert torch.equal(resumed.features, always.batch(2).features)
    unchanged = always.make(a.windows)  # batches made without a generator (validation) are not
    assert torch.equal(unchanged.features, plain.make(a.windows).features)


@pytest.mark.parametrize("option", ["time_warp", "crop"])
def test_warp_or_crop_chances_outside_zero_to_one_are_refused(option: str) -> None:
    with pytest.raises(ValueError, match=rf"{option} must be a probability in \[0, 1\], got 2"):
        batch_maker(varied_windows(), **{option: 2})


def test_a_wider_warp_speed_warps_the_same_windows_further() -> None:
    data = varied_windows()
    options = {"time_warp": 1.0, "shortest": 20, "longest": 150}
    plain, mild, wide = (
        batch_maker(data),
        batch_maker(data, **options),
        batch_maker(data, **options, warp_speed=1.6),
    )
    mild_change = wide_change = 0
    for step in range(1, 4):
        a, b, c = plain.batch(step), mild.batch(step), wide.batch(step)
        assert a.windows == b.windows == c.windows
        for row in range(len(a.windows)):
            before = int(a.mask[row].sum())
            mild_change += abs(int(b.mask[row].sum()) - before)
            wide_change += abs(int(c.mask[row].sum()) - before)
    assert wide_change > 1.5 * mild_change
    with pytest.raises(ValueError, match=r"warp_speed must be at least 1, got 0\.5"):
        batch_maker(data, warp_speed=0.5)


def test_prefix_decodes_the_start_of_some_windows_from_the_whole_window() -> None:
    data = varied_windows()
    whole, cut = batch_maker(data), batch_maker(data, prefix=1.0, shortest=30)
    shortened = 0
    for step in range(1, 4):
        a, b = whole.batch(step), cut.batch(step)
        # the encoder sees the same windows; only what is decoded changes
        assert a.windows == b.windows
        assert torch.equal(a.features, b.features) and torch.equal(a.mask, b.mask)
        assert torch.equal(a.decoded, a.mask)
        kept, lengths = b.decoded.sum(1), b.mask.sum(1)
        assert torch.equal(b.decoded, frame_mask(kept, b.mask.shape[1]))  # a prefix
        assert bool(((kept >= lengths.clamp(max=30)) & (kept <= lengths)).all())
        shortened += int((kept < lengths).sum())
    assert shortened > 12  # of 24 windows
    resumed = batch_maker(data, prefix=1.0, shortest=30).batch(2)
    assert torch.equal(resumed.decoded, cut.batch(2).decoded)
    validation = cut.make(b.windows)  # batches made without a generator decode whole windows
    assert torch.equal(validation.decoded, validation.mask)
    with pytest.raises(ValueError, match=r"prefix must be a probability in \[0, 1\], got 2"):
        batch_maker(data, prefix=2)


def test_prefix_lengths_cut_with_the_given_chance_down_to_the_shortest() -> None:
    lengths = torch.tensor([5, 40, 160] * 200)
    kept = prefix_lengths(lengths, 0.5, 20, torch.Generator().manual_seed(0))
    assert bool((kept[lengths == 5] == 5).all())  # shorter than the shortest: kept whole
    long = lengths > 5
    assert bool(((kept[long] >= 20) & (kept[long] <= lengths[long])).all())
    cut = float((kept[long] < lengths[long]).float().mean())
    assert 0.4 < cut < 0.55  # cut half the time, sometimes to the whole length again
    assert int(kept[lengths == 160].min()) == 20 and int(kept[lengths == 160].max()) == 160
