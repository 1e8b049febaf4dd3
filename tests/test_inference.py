"""The inference API on a random small model in the tiny CLIP's space."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest
import torch

from motionclip_blender.core import inference
from motionclip_blender.core import rotations as rot
from motionclip_blender.core.checkpoint import CaptionLatents, load_checkpoint
from motionclip_blender.core.errors import (
    CheckpointError,
    MotionDataError,
    PromptError,
    RequestError,
)
from motionclip_blender.core.inference import EncodedMotions, MotionClip, usable_device
from motionclip_blender.core.motion import Motion
from motionclip_blender.core.reconstruction import decoded_latents
from motionclip_blender.core.text_spaces import ClipSpace, PromptTruncatedWarning
from tests.motions import smooth_motion
from tests.tiny_models import TINY_CLIP_DIM, tiny_clip


@pytest.fixture(scope="module")
def session(tiny_checkpoint: Path, tiny_clip_path: Path) -> MotionClip:
    return inference.load(tiny_checkpoint, clip_weights=tiny_clip_path)


def test_load_finds_the_text_space_lazily(tiny_checkpoint: Path, tiny_clip_path: Path) -> None:
    session = inference.load(tiny_checkpoint, clip_weights=tiny_clip_path)
    assert session._text_space is None  # decoding and encoding motions need no text encoder
    assert session.text_space.name == "clip" and session.fps == 20.0


def test_two_threads_asking_for_the_text_space_load_it_once(
    tiny_checkpoint: Path, tiny_clip_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two Blender jobs may start on a fresh session together: one load, one space."""
    import threading
    import time

    session = inference.load(tiny_checkpoint, clip_weights=tiny_clip_path)
    loads = []
    real = inference.load_text_space

    def slow_load(*args: object, **kwargs: object) -> object:
        loads.append(1)
        time.sleep(0.2)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(inference, "load_text_space", slow_load)
    spaces = []
    threads = [threading.Thread(target=lambda: spaces.append(session.text_space)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(loads) == 1 and len(spaces) == 3 and all(s is spaces[0] for s in spaces)


def test_a_text_space_of_another_kind_is_refused(tiny_checkpoint: Path) -> None:
    class Other(ClipSpace):
        name = "minilm"

    with pytest.raises(CheckpointError, match="trained in the 'clip' text space"):
        MotionClip(load_checkpoint(tiny_checkpoint), Other(tiny_clip()))


def test_encode_text_and_motion_shapes(session: MotionClip) -> None:
    assert session.encode_text(["walk", "run", "jump"]).shape == (3, TINY_CLIP_DIM)
    motions = [smooth_motion(2.0, fps=30.0), smooth_motion(1.0, fps=60.0, seed=1)]
    latents = session.encode_motion(motions)
    assert latents.shape == (2, TINY_CLIP_DIM)
    alone = session.encode_motion(motions[1:])
    torch.testing.assert_close(alone[0], latents[1], atol=1e-5, rtol=0)


def test_long_motions_are_encoded_as_the_mean_of_their_windows(session: MotionClip) -> None:
    long = smooth_motion(12.0, fps=20.0)  # two 8 s windows: frames 0-160 and 80-240
    windows = [long.slice(0, 160), long.slice(80, 240)]
    expected = session.encode_motion(windows).mean(0)
    torch.testing.assert_close(session.encode_motion([long])[0], expected, atol=1e-5, rtol=0)


def test_decode_lengths_and_frame_rate(session: MotionClip) -> None:
    latents = torch.randn(3, TINY_CLIP_DIM, generator=torch.Generator().manual_seed(0))
    motions = session.decode(latents, seconds=[1.0, 4.0, 8.0])
    assert [m.num_frames for m in motions] == [20, 80, 160]
    assert all(isinstance(m, Motion) and m.fps == 20.0 for m in motions)
    assert [m.num_frames for m in session.decode(latents, frames=33)] == [33, 33, 33]
    batch_of_one = session.decode(latents[1:2], seconds=4.0)[0]
    # float32 kernels of other widths (batched, padded) differ by about 1e-5 on some CPUs;
    # padding leaking into the motion would differ by tenths
    torch.testing.assert_close(
        batch_of_one.rotation_matrices(), motions[1].rotation_matrices(), atol=1e-4, rtol=0
    )


@pytest.mark.parametrize("seconds", [0.5, 8.5, -1.0, float("nan")])
def test_durations_outside_the_model_range_are_refused(session: MotionClip, seconds: float) -> None:
    with pytest.raises(RequestError, match="seconds must be between 1 and 8"):
        session.generate("a person walks", seconds=seconds)
    with pytest.raises(RequestError):
        session.decode(torch.zeros(1, TINY_CLIP_DIM), seconds=seconds)


def test_generate_is_deterministic_and_seeds_give_variants(session: MotionClip) -> None:
    plain = session.generate("a person walks forward", seconds=4.0)
    assert plain.num_frames == 80 and plain.fps == 20.0
    again = session.generate("a person walks forward", seconds=4.0)
    assert torch.equal(plain.rotations, again.rotations)
    seeded = session.generate("a person walks forward", seconds=4.0, seed=7)
    same_seed = session.generate("a person walks forward", seconds=4.0, seed=7)
    other_seed = session.generate("a person walks forward", seconds=4.0, seed=8)
    assert torch.equal(seeded.rotations, same_seed.rotations)
    assert not torch.equal(seeded.rotations, other_seed.rotations)
    assert not torch.equal(seeded.rotations, plain.rotations)


def test_generate_refuses_empty_prompts(session: MotionClip) -> None:
    with pytest.raises(PromptError):
        session.generate("  ", seconds=2.0)


def test_text_latent_scalings(session: MotionClip) -> None:
    raw = session.text_latents(["a person jumps"], "raw")
    torch.testing.assert_close(raw, session.encode_text(["a person jumps"]))
    assert session.text_latents(["a person jumps"], "unit").norm() == pytest.approx(1.0)
    norm = session.text_latents(["a person jumps"], "motion_norm").norm()
    assert norm == pytest.approx(session.checkpoint.motion_latent_norm)
    assert session.text_latent_scaling == "unit"  # the checkpoint's default
    with pytest.raises(RequestError, match="scaling"):
        session.text_latents(["a"], "huge")  # type: ignore[arg-type]
    with pytest.raises(RequestError, match="no text-to-latent map"):
        session.text_latents(["a"], "regressed")


def test_regressed_latents_apply_the_checkpoints_affine_map(session: MotionClip) -> None:
    dim = session.config.latent_dim
    weights = torch.randn(dim + 1, dim)
    checkpoint = dataclasses.replace(
        session.checkpoint, text_to_latent=weights, text_latent_scaling="regressed"
    )
    mapped = MotionClip(checkpoint, session.text_space)
    embedding = session.encode_text(["a person jumps"])
    torch.testing.assert_close(
        mapped.text_latents(["a person jumps"]), embedding @ weights[:-1] + weights[-1]
    )


def test_nearest_captions_decode_the_latents_of_the_closest_captions(session: MotionClip) -> None:
    prompts = ["a person jumps", "a person sits down", "someone waves"]
    latents = torch.randn(3, session.config.latent_dim)
    captions = CaptionLatents(session.encode_text(prompts), latents, temperature=1e-4)
    checkpoint = dataclasses.replace(
        session.checkpoint, caption_latents=captions, text_latent_scaling="nearest_captions"
    )
    nearest = MotionClip(checkpoint, session.text_space)
    torch.testing.assert_close(nearest.text_latents(prompts), latents)  # each its own caption
    blended = dataclasses.replace(captions, temperature=1e4)  # all captions alike: their mean
    mean = MotionClip(dataclasses.replace(checkpoint, caption_latents=blended), session.text_space)
    torch.testing.assert_close(mean.text_latents(["anything"])[0], latents.mean(0))
    with pytest.raises(RequestError, match="no caption latents"):
        session.text_latents(["a"], "nearest_captions")


def test_a_prompt_is_told_its_closest_training_captions(
    session: MotionClip, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = ("a person jumps", "a person sits down", "someone waves")
    latents = torch.randn(3, session.config.latent_dim)
    captions = CaptionLatents(session.encode_text(texts), latents, 0.01, texts)
    checkpoint = dataclasses.replace(session.checkpoint, caption_latents=captions)
    described = MotionClip(checkpoint, session.text_space)
    matches = described.closest_captions("someone waves", k=5)
    assert matches[0].text == "someone waves" and len(matches) == 3
    assert matches[0].similarity == pytest.approx(1.0)
    assert matches[0].similarity >= matches[1].similarity >= matches[2].similarity
    assert described.prompt_report("someone waves") == (
        "closest training caption: 'someone waves' (cosine 1.00)"
    )
    with pytest.warns(PromptTruncatedWarning):
        long = described.prompt_report("someone waves and then " * 10)
    assert long.endswith(
        f"(only the prompt's first {session.text_space.context_length} tokens were read)"
    )
    monkeypatch.setitem(inference.FAMILIAR_SIMILARITY, "clip", 0.999)
    closest = described.closest_captions("a dog barks", k=1)[0]
    assert described.prompt_report("a dog barks").startswith(
        f"the prompt is unlike every training caption; the closest is '{closest.text}'"
    )
    with pytest.raises(RequestError, match="k must be a whole number of 1 or more"):
        described.closest_captions("someone waves", k=0)
    assert described.edit_report("someone waves", "a dog barks") == (
        "from: closest training caption: 'someone waves' (cosine 1.00); "
        f"to: {described.prompt_report('a dog barks')}"
    )
    assert session.closest_captions("someone waves") == []  # no caption texts stored
    assert session.prompt_report("someone waves") == ""
    assert session.edit_report("someone waves", "a dog barks") == ""


def joint_error(a: Motion, b: Motion) -> float:
    """Mean joint distance (m) of two motions at the same rate, over b's frames."""
    frames = b.num_frames
    return float((a.joints()[:frames] - b.joints()[:frames]).norm(dim=-1).mean())


def test_faithful_latents_decode_closer_to_their_motions(session: MotionClip) -> None:
    motions = [smooth_motion(2.0, seed=3), smooth_motion(3.0, fps=30.0, seed=4)]
    before = {name: value.clone() for name, value in session.model.state_dict().items()}
    encoded = session.encode_motion(motions)
    assert torch.equal(session.faithful_latents(motions, refine_steps=0), encoded)
    refined = session.faithful_latents(motions, refine_steps=60)
    session.refined_cache.clear()
    assert torch.equal(session.faithful_latents(motions, refine_steps=60), refined)
    for row, motion in enumerate(motions):
        target = motion.resample(session.fps).canonicalize()  # as the model sees it
        plain, faithful = (
            session.decode(latents[row : row + 1], frames=target.num_frames)[0]
            for latents in (encoded, refined)
        )
        # a random decoder draws few motions near these; the bundled model's test asks more
        assert joint_error(faithful, target) < 0.95 * joint_error(plain, target)
    assert all(
        torch.equal(value, before[name]) for name, value in session.model.state_dict().items()
    )
    for steps in (-1, 2.5, True):
        with pytest.raises(RequestError, match="refine_steps must be a whole number"):
            session.faithful_latents(motions, refine_steps=steps)  # type: ignore[arg-type]


def test_refined_latents_are_kept_per_motion_and_step_count(
    session: MotionClip, monkeypatch: pytest.MonkeyPatch
) -> None:
    refined_rows: list[int] = []

    def counting(model, windows, *args, **kwargs):  # type: ignore[no-untyped-def]
        refined_rows.append(len(windows))
        return decoded_latents(model, windows, *args, **kwargs)

    monkeypatch.setattr(inference, "decoded_latents", counting)
    session.refined_cache.clear()
    a, b = smooth_motion(2.0, seed=7), smooth_motion(3.0, seed=8)
    first = session.interpolate(a, b, [0.5], refine_steps=10)[0]
    again = session.interpolate(a, b, [0.5, 0.25], refine_steps=10)
    assert refined_rows == [2]  # the second blend reuses both refined latents
    ab = session.faithful_latents([a, b], refine_steps=10)
    torch.testing.assert_close(again[0].rotations, first.rotations)
    session.edit(a, "walk", "run", refine_steps=10)
    session.faithful_latents([b, b], refine_steps=20)  # another step count; b once
    assert refined_rows == [2, 1]
    changed = a.rotations.clone()
    changed[5, 3, 0] += 0.1  # one joint of one frame: another motion
    latents = session.faithful_latents([a, Motion(changed, a.translation, a.fps)], 10)
    assert refined_rows == [2, 1, 1]
    assert len(session.refined_cache) == 4
    torch.testing.assert_close(latents[0], ab[0], rtol=0, atol=0)  # a's, as first refined


def test_fingerprint_tells_motions_apart_and_equal_ones_alike() -> None:
    motion = smooth_motion(1.0, fps=30.0, seed=2)
    copy = Motion(motion.rotations.clone(), motion.translation.clone(), 30)
    assert inference.fingerprint(copy) == inference.fingerprint(motion)
    moved = motion.translation.clone()
    moved[3, 0] += 1e-6
    others = [
        Motion(motion.rotations, moved, motion.fps),
        Motion(motion.rotations, motion.translation, 60.0),
        motion.slice(0, motion.num_frames - 1),
        Motion(motion.rotations.flip(0), motion.translation.flip(0), motion.fps),
    ]
    prints = {inference.fingerprint(other) for other in [*others, motion]}
    assert len(prints) == len(others) + 1


def test_the_refined_cache_drops_the_least_recently_used() -> None:
    cache = inference.RefinedLatentCache(capacity=2)
    cache.put(("a", 1), torch.ones(3))
    cache.put(("b", 1), torch.zeros(3))
    assert cache.get(("a", 1)) is not None  # now more recent than b
    cache.put(("c", 1), torch.ones(3))
    assert cache.get(("b", 1)) is None and len(cache) == 2
    assert cache.get(("a", 1)) is not None and cache.get(("a", 2)) is None


def test_a_long_motions_faithful_latent_decodes_its_first_window(session: MotionClip) -> None:
    long = smooth_motion(12.0, fps=20.0, seed=5)
    first = long.slice(0, 160).canonicalize()
    refined = session.faithful_latents([long], refine_steps=60)
    decoded = session.decode(refined, frames=160)[0]
    start = session.decode(session.encode_motion([long]), frames=160)[0]
    assert joint_error(decoded, first) < joint_error(start, first)


def test_interpolate_decodes_between_the_two_latents(session: MotionClip) -> None:
    a, b = smooth_motion(2.0, seed=1), smooth_motion(4.0, seed=2)
    for steps in (0, 20):
        blends = session.interpolate(a, b, [0.0, 0.5, 1.0], refine_steps=steps)
        assert [m.num_frames for m in blends] == [40, 60, 80]
        latents = session.faithful_latents([a, b], refine_steps=steps)
        expected = session.decode(latents.mean(0, keepdim=True), frames=60)[0]
        torch.testing.assert_close(
            blends[1].rotation_matrices(), expected.rotation_matrices(), atol=1e-4, rtol=0
        )
    long = smooth_motion(11.0)  # decoded as its first 8 s: a half-way blend with 4 s lasts 6 s
    (half,) = session.interpolate(long, smooth_motion(4.0), [0.5], refine_steps=0)
    assert half.num_frames == 120
    with pytest.raises(RequestError, match="weights"):
        session.interpolate(a, b, [1.5])
    with pytest.raises(RequestError, match="refine_steps"):
        session.interpolate(a, b, [0.5], refine_steps=-3)


def test_edit_moves_the_latent_along_the_text_direction(session: MotionClip) -> None:
    motion = smooth_motion(3.0, fps=30.0)
    for steps in (0, 20):
        unchanged = session.edit(motion, "walk", "run", strength=0.0, refine_steps=steps)
        latent = session.faithful_latents([motion], refine_steps=steps)
        reconstruction = session.decode(latent, frames=60)[0].placed_like(motion)
        torch.testing.assert_close(unchanged.rotations, reconstruction.rotations)
        edited = session.edit(motion, "walk", "run", strength=2.0, refine_steps=steps)
        assert edited.num_frames == 60 and not torch.equal(edited.rotations, unchanged.rotations)
        text = session.text_latents(["walk", "run"])  # edited_latents: the paper's arithmetic
        moved = session.edited_latents(latent, "walk", "run", 2.0)
        torch.testing.assert_close(moved, latent + 2.0 * (text[1] - text[0]))
        again = session.decode(moved, seconds=3.0)[0]
        torch.testing.assert_close(edited.rotations[:, 1:], again.rotations[:, 1:])
    long = smooth_motion(9.0)  # edited over its first 8 s, the part a latent decodes to
    edited = session.edit(long, "walk", "run", strength=2.0, refine_steps=0)
    latent = session.edited_latents(session.faithful_latents([long], 0), "walk", "run", 2.0)
    decoded = session.decode(latent, seconds=8.0)[0]
    torch.testing.assert_close(edited.rotations[:, 1:], decoded.rotations[:, 1:])


def test_an_edit_starts_where_the_motion_starts_facing_its_way(session: MotionClip) -> None:
    """The decoder makes motions in the canonical frame (frame 0 at the origin, facing -Y): an
    edit of a walk elsewhere jumped back to the origin and turned."""
    motion = smooth_motion(3.0, fps=30.0, seed=6)
    turn = torch.tensor([0.0, 0.0, 2.0])  # about the up axis
    root = rot.matrix_to_axis_angle(
        rot.axis_angle_to_matrix(turn) @ rot.axis_angle_to_matrix(motion.rotations[:, 0])
    )
    rotations = motion.rotations.clone()
    rotations[:, 0] = root
    translation = motion.translation @ rot.axis_angle_to_matrix(turn).T + torch.tensor(
        [4.0, 1.0, 0.0]
    )
    away = Motion(rotations, translation, motion.fps)
    for strength in (0.0, 1.5):
        edited = session.edit(away, "walk", "run", strength=strength, refine_steps=0)
        pelvis = edited.joints()[0, 0, :2]
        torch.testing.assert_close(pelvis, away.joints()[0, 0, :2], atol=1e-4, rtol=0)
        torch.testing.assert_close(edited.facing_turn(), away.facing_turn(), atol=1e-4, rtol=0)
    with pytest.raises(MotionDataError, match="too short"):
        session.edit(smooth_motion(0.5), "walk", "run")
    with pytest.raises(PromptError):
        session.edit(motion, "", "run")


def test_classify_ranks_all_labels(session: MotionClip) -> None:
    labels = ["walk", "run", "jump", "wave"]
    ranking = session.classify(smooth_motion(2.0), labels)
    assert sorted(entry.label for entry in ranking) == sorted(labels)
    scores = [entry.score for entry in ranking]
    assert scores == sorted(scores, reverse=True) and all(-1 <= s <= 1 for s in scores)
    with pytest.raises(PromptError, match="non-empty"):
        session.classify(smooth_motion(2.0), ["walk", ""])
    with pytest.raises(PromptError, match="distinct"):
        session.classify(smooth_motion(2.0), ["walk", "walk "])


def test_classify_scores_a_label_by_the_mean_of_its_phrasings(session: MotionClip) -> None:
    phrasings = ["a person walks", "someone is walking", "a human walks", "walking"]
    mean = torch.nn.functional.normalize(session.encode_text(phrasings), dim=-1).mean(0)
    expected = torch.nn.functional.normalize(mean, dim=0)
    label_latents = session.label_latents(["walk", "a man waves"])
    torch.testing.assert_close(label_latents[0], expected, atol=1e-5, rtol=0)
    sentence = torch.nn.functional.normalize(session.encode_text(["a man waves"])[0], dim=0)
    torch.testing.assert_close(label_latents[1], sentence, atol=1e-5, rtol=0)
    motion = smooth_motion(2.0)
    motion_latent = torch.nn.functional.normalize(session.encode_motion([motion])[0], dim=0)
    (score,) = session.classify(motion, ["walk"])
    assert score.score == pytest.approx(float(motion_latent @ expected), abs=1e-5)


def test_search_by_text_and_by_motion(session: MotionClip) -> None:
    motions = [smooth_motion(2.0 + i, seed=i) for i in range(5)]
    library = EncodedMotions([f"m{i}" for i in range(5)], session.encode_motion(motions))
    hits = session.search(motions[3], library, k=3)
    assert len(hits) == 3 and hits[0].name == "m3" and hits[0].score == pytest.approx(1.0)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert len(session.search("a person walks", library, k=10)) == 5
    with pytest.raises(RequestError, match="k must be"):
        session.search("walk", library, k=0)


def test_search_ranks_as_float32_does_even_among_near_duplicates() -> None:
    """The float16 first pass must not change the result: 5,000 latents within float16 rounding
    of each other, and exact cosines far apart."""
    generator = torch.Generator().manual_seed(0)
    base = torch.randn(384, generator=generator)
    latents = base + 2e-3 * torch.randn(5000, 384, generator=generator)
    latents[:50] = torch.randn(50, 384, generator=generator)
    library = EncodedMotions([f"m{i}" for i in range(5000)], latents)
    for query in (base, latents[7], -base):
        unit = torch.nn.functional.normalize(query, dim=0)
        expected = (torch.nn.functional.normalize(latents, dim=-1) @ unit).topk(10)
        scores, rows = library.nearest(query, 10)
        assert rows.tolist() == expected.indices.tolist()
        assert torch.allclose(scores, expected.values, atol=1e-6)
    assert library.nearest(base, 10_000)[1].shape == (5000,)


def test_bad_motions_are_refused(session: MotionClip) -> None:
    with pytest.raises(MotionDataError, match="too short"):
        session.encode_motion([smooth_motion(0.8)])
    with pytest.raises(MotionDataError, match="no motions"):
        session.encode_motion([])
    rotations = torch.zeros(30, 24, 3)
    rotations[3, 4, 0] = float("nan")
    with pytest.raises(MotionDataError, match="NaN"):
        Motion(rotations, torch.zeros(30, 3), 30.0)


def test_numpy_numbers_and_float64_motions_work_and_wrong_kinds_are_named(
    session: MotionClip,
) -> None:
    import numpy as np

    motion = smooth_motion(2.0)
    wide = Motion(motion.rotations.double(), motion.translation.double(), motion.fps)
    assert wide.rotations.dtype == torch.float32  # kept in the dtype the model works in
    torch.testing.assert_close(session.encode_motion([wide]), session.encode_motion([motion]))
    with pytest.raises(MotionDataError, match="tensor of floating-point numbers"):
        Motion(motion.rotations.long(), motion.translation, motion.fps)

    plain = session.generate("walk", seconds=2, seed=5)
    numpy = session.generate("walk", seconds=np.float32(2.0), seed=np.int64(5))
    torch.testing.assert_close(plain.rotations, numpy.rotations)
    latent = session.text_latents(["walk"])
    assert session.decode(latent, frames=np.int64(30))[0].num_frames == 30
    assert session.decode(latent[:0], seconds=2.0) == []
    (blend,) = session.interpolate(motion, motion, np.array([0.5]), refine_steps=0)
    assert blend.num_frames == 40
    for call, message in [
        (lambda: session.generate("walk", seed=1.5), "seed must be a whole number from 0"),
        (lambda: session.generate("walk", seed=True), "seed must be a whole number"),
        (lambda: session.generate("walk", seed=2**32), "to 4294967295"),
        (lambda: session.generate("walk", seed=1, variation=math.nan), "variation must be"),
        (lambda: session.decode(latent, frames=40.5), "frames must be between"),
        (lambda: session.decode(latent), "either seconds or frames"),
        (lambda: session.decode(latent[0], seconds=2.0), "latents must have shape"),
        (lambda: session.decode(latent, seconds=[1.0, 2.0]), "2 lengths given for 1"),
        (lambda: session.closest_captions("walk", k=2.5), "k must be a whole number"),
    ]:
        with pytest.raises(RequestError, match=message):
            call()
    with pytest.raises(PromptError, match="labels must be a list of texts"):
        session.classify(motion, "walk")  # type: ignore[arg-type]


def test_a_device_torch_cannot_use_is_refused_in_words(
    tiny_checkpoint: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # as every shipped package
    with pytest.raises(RequestError, match=r"the device 'cuda' cannot be used \(.*\): choose"):
        inference.load(tiny_checkpoint, device="cuda")
    with pytest.raises(RequestError, match="unknown device 'tpu'"):
        usable_device("tpu")
    assert usable_device("cpu") == torch.device("cpu")


def test_a_text_encoder_other_than_the_trained_one_is_refused(
    captioned_checkpoint: Path, tmp_path: Path
) -> None:
    """Another CLIP of the same width (ViT-B/16 for a ViT-B/32 checkpoint, or a damaged file)
    would load and give wrong motions: the stored captions' embeddings tell them apart."""
    assert load_checkpoint(captioned_checkpoint).caption_latents is not None
    other = tmp_path / "other-clip.pt"
    torch.save(tiny_clip(seed=1).state_dict(), other)
    session = inference.load(captioned_checkpoint, clip_weights=other)
    with pytest.raises(CheckpointError, match="not the one the checkpoint was trained with"):
        session.generate("a person walks")
