"""The auto-encoder: sizes of the presets, shapes, padding masks."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from motionclip_blender.core.model import (
    ModelConfig,
    MotionClipModel,
    frame_mask,
    paper_config,
    parameter_count,
    root_velocity,
    small_config,
)
from motionclip_blender.core.pose_features import FEATURE_DIM, FeatureStatistics
from tests.tiny_models import tiny_config


def test_paper_preset_has_the_paper_size_and_small_fits_the_bundle_limit() -> None:
    paper = parameter_count(MotionClipModel(paper_config(512)))
    small = parameter_count(MotionClipModel(small_config(384)))
    assert 40e6 < paper < 45e6  # the paper: about 42M
    assert small * 4 < 30e6  # float32 weights within the 30 MB bundled-model budget


def test_shapes_and_padding_do_not_change_results() -> None:
    torch.manual_seed(0)
    model = MotionClipModel(tiny_config(16)).eval()
    features = torch.randn(3, 50, FEATURE_DIM)
    mask = frame_mask(torch.tensor([50, 20, 35]), 50)
    with torch.no_grad():
        reconstruction, latents = model(features, mask)
        alone = model.encode(features[1:2, :20], mask[1:2, :20])
        decoded_alone = model.decode(latents[1:2], mask[1:2, :20])
    assert reconstruction.shape == (3, 50, FEATURE_DIM) and latents.shape == (3, 16)
    assert torch.all(reconstruction[1, 20:] == 0)
    torch.testing.assert_close(alone[0], latents[1], atol=1e-5, rtol=0)
    torch.testing.assert_close(decoded_alone[0], reconstruction[1, :20], atol=1e-5, rtol=0)


@pytest.mark.parametrize("encoder_velocity", [False, True])
def test_training_mode_has_gradients_everywhere(encoder_velocity: bool) -> None:
    model = MotionClipModel(replace(tiny_config(16), encoder_velocity=encoder_velocity)).train()
    features = torch.randn(2, 30, FEATURE_DIM)
    reconstruction, latents = model(features, frame_mask(torch.tensor([30, 25]), 30))
    (reconstruction.square().mean() + latents.square().mean()).backward()
    assert all(p.grad is not None for p in model.parameters())


def test_decoder_feedforward_sizes_the_decoder_only() -> None:
    config = ModelConfig(8, width=16, layers=2, heads=2, feedforward=16, dropout=0.0)
    wide = MotionClipModel(replace(config, decoder_feedforward=48))
    assert (config.decoder_hidden, wide.config.decoder_hidden) == (16, 48)
    assert {layer.linear1.out_features for layer in wide.encoder.transformer.layers} == {16}
    assert {layer.linear1.out_features for layer in wide.decoder.transformer.layers} == {48}
    extra = parameter_count(wide) - parameter_count(MotionClipModel(config))
    assert extra == 2 * (16 * 32 * 2 + 32)  # two layers: 32 more hidden units, in and out


def test_root_velocity_is_the_root_speed_in_metres_per_second() -> None:
    # A root that walks 1.5 m/s along -y and bobs 0.1 m up and down, normalised as pose vectors are.
    fps, frames = 20.0, 30
    seconds = torch.arange(frames) / fps
    translation = torch.stack(
        [torch.zeros(frames), -1.5 * seconds, 0.9 + 0.1 * torch.sin(seconds)], dim=-1
    )
    statistics = FeatureStatistics(torch.rand(FEATURE_DIM), torch.rand(FEATURE_DIM) + 0.5)
    features = statistics.normalize(
        torch.cat([torch.randn(frames, FEATURE_DIM - 3), translation], dim=-1)
    )
    velocity = root_velocity(features[None], statistics.std[-3:], fps)[0]
    assert velocity.shape == (frames, 4) and torch.all(velocity[0] == 0)
    torch.testing.assert_close(velocity[1:, 1], torch.full((frames - 1,), -1.5))
    torch.testing.assert_close(velocity[1:, 3], torch.full((frames - 1,), 1.5))
    expected_up = torch.diff(0.1 * torch.sin(seconds)) * fps
    torch.testing.assert_close(velocity[1:, 2], expected_up, atol=1e-4, rtol=0)


def test_the_encoder_reads_root_velocity_only_when_configured() -> None:
    """Two motions with the same first frame and poses whose roots travel at different speeds
    differ in their positions (which every encoder reads) and in their velocity; a velocity
    input with zero weights changes nothing, with weights it changes the latent."""
    torch.manual_seed(0)
    config = tiny_config(16)
    plain = MotionClipModel(config).eval()
    reading = MotionClipModel(replace(config, encoder_velocity=True)).eval()
    reading.load_state_dict({**reading.state_dict(), **plain.state_dict()})
    reading.adopt_statistics(
        FeatureStatistics(torch.zeros(FEATURE_DIM), torch.full((FEATURE_DIM,), 2.0))
    )
    assert torch.equal(reading.encoder.translation_std, torch.full((3,), 2.0))
    features = torch.randn(2, 25, FEATURE_DIM)
    mask = frame_mask(torch.tensor([25, 25]), 25)
    with torch.no_grad():
        torch.testing.assert_close(reading.encode(features, mask), plain.encode(features, mask))
        assert reading.encoder.velocity_embedding is not None
        reading.encoder.velocity_embedding.weight.normal_()
        assert (reading.encode(features, mask) - plain.encode(features, mask)).abs().max() > 1e-3
    plain.adopt_statistics(FeatureStatistics.identity())  # nothing to take: no error


def first_cross_attention(model: MotionClipModel) -> tuple[torch.Tensor, torch.Tensor]:
    """The memory (B, tokens, width) the first decoder layer attends to and what it gets from it
    (B, T, width), decoding random latents of two motions."""
    seen: list[tuple[torch.Tensor, torch.Tensor]] = []
    attention = model.decoder.transformer.layers[0].multihead_attn
    hook = attention.register_forward_hook(
        lambda _module, inputs, output: seen.append((inputs[1], output[0]))
    )
    latents = torch.randn(2, model.config.latent_dim)
    model.eval().decode(latents, frame_mask(torch.tensor([20, 9]), 20))
    hook.remove()
    return seen[0]


def test_several_memory_tokens_let_frames_attend_to_different_parts_of_the_latent() -> None:
    torch.manual_seed(0)
    config = ModelConfig(8, width=16, layers=1, heads=2, feedforward=16, dropout=0.0)
    single, several = MotionClipModel(config), MotionClipModel(replace(config, decoder_memory=3))
    extra = parameter_count(several) - parameter_count(single)
    assert extra == 2 * (8 * 16 + 16)  # two more tokens' projections

    # With one token, cross-attention adds the same vector to every frame; with several, not.
    for model, tokens, differs in ((single, 1, False), (several, 3, True)):
        memory, attended = first_cross_attention(model)
        assert memory.shape == (2, tokens, 16)
        assert bool((attended - attended[:, :1]).abs().max() > 1e-4) is differs


def test_frame_limits_follow_the_config() -> None:
    config = ModelConfig(8, width=16, layers=1, heads=2, feedforward=16, dropout=0.0, fps=20.0)
    assert (config.min_frames, config.max_frames) == (20, 160)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"heads": 3}, "divisible"),
        ({"layers": 0}, "positive integer"),
        ({"dropout": 1.0}, "dropout"),
        ({"max_seconds": 0.5}, "min_seconds <= max_seconds"),
        ({"decoder_feedforward": 0}, "decoder_feedforward must be a positive integer or None"),
        ({"decoder_memory": 0}, "decoder_memory must be a positive integer"),
        ({"encoder_velocity": "yes"}, "encoder_velocity must be true or false"),
    ],
)
def test_bad_configs_are_refused(changes: dict[str, float], message: str) -> None:
    values = {"latent_dim": 8, "width": 16, "layers": 1, "heads": 2, "feedforward": 16}
    with pytest.raises(ValueError, match=message):
        ModelConfig(**{**values, "dropout": 0.1, **changes})  # type: ignore[arg-type]
