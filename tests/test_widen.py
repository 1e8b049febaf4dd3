"""Growing a checkpoint's feed-forward or memory tokens: the same function, then more capacity."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
import torch

from motionclip_blender.core.errors import MotionClipError
from motionclip_blender.core.model import MotionClipModel, frame_mask
from motionclip_blender.core.pose_features import FEATURE_DIM
from tests.tiny_models import relative_change, tiny_config
from training.widen import widened_state


def grown_from_tiny(seed: int = 0, **growth: int) -> tuple[MotionClipModel, MotionClipModel]:
    """A tiny model and one grown from it by `growth` (ModelConfig fields), both in eval mode."""
    torch.manual_seed(0)
    small = MotionClipModel(tiny_config(16)).eval()
    grown = MotionClipModel(replace(tiny_config(16), **growth)).eval()
    grown.load_state_dict(widened_state(small.state_dict(), grown, seed=seed), strict=True)
    return small, grown


def narrow_and_wide() -> tuple[MotionClipModel, MotionClipModel]:
    return grown_from_tiny(decoder_feedforward=96)


ENCODER_GROWTH = {"feedforward": 96, "decoder_feedforward": 64}  # the encoder's alone


def single_and_several_tokens(seed: int = 0) -> tuple[MotionClipModel, MotionClipModel]:
    return grown_from_tiny(seed, decoder_memory=4)


def reconstructions(small: MotionClipModel, grown: MotionClipModel) -> tuple[torch.Tensor, ...]:
    """Both models' reconstructions and latents of the same random motions: (small's
    reconstruction, grown's, small's latents, grown's)."""
    features = torch.randn(3, 30, FEATURE_DIM)
    mask = frame_mask(torch.tensor([30, 12, 21]), 30)
    with torch.no_grad():
        expected, expected_latents = small(features, mask)
        actual, latents = grown(features, mask)
    return expected, actual, expected_latents, latents


def test_the_grown_model_computes_what_the_checkpoint_did() -> None:
    narrow, wide = narrow_and_wide()
    assert wide.decoder.transformer.layers[0].linear1.out_features == 96
    assert wide.encoder.transformer.layers[0].linear1.out_features == 64  # the encoder keeps its
    expected, actual, expected_latents, latents = reconstructions(narrow, wide)
    torch.testing.assert_close(latents, expected_latents, atol=0, rtol=0)
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=0)


def test_a_grown_encoder_computes_what_the_checkpoint_did() -> None:
    narrow, wide = grown_from_tiny(**ENCODER_GROWTH)
    assert wide.encoder.transformer.layers[0].linear1.out_features == 96
    assert wide.decoder.transformer.layers[0].linear1.out_features == 64
    expected, actual, expected_latents, latents = reconstructions(narrow, wide)
    torch.testing.assert_close(latents, expected_latents, atol=1e-5, rtol=0)
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize(
    ("growth", "half"), [({"decoder_feedforward": 96}, "decoder"), (ENCODER_GROWTH, "encoder")]
)
def test_the_new_units_learn(growth: dict[str, int], half: str) -> None:
    _, wide = grown_from_tiny(**growth)
    wide.train()
    features = torch.randn(2, 20, FEATURE_DIM)
    reconstruction, _ = wide(features, frame_mask(torch.tensor([20, 15]), 20))
    reconstruction.square().mean().backward()
    output = getattr(wide, half).transformer.layers[0].linear2.weight
    assert output.grad is not None and bool(output.grad[:, 64:].abs().sum() > 0)


def test_a_root_velocity_input_starts_silent_and_learns() -> None:
    plain, reading = grown_from_tiny(encoder_velocity=True)
    expected, actual, expected_latents, latents = reconstructions(plain, reading)
    torch.testing.assert_close(latents, expected_latents, atol=0, rtol=0)
    torch.testing.assert_close(actual, expected, atol=0, rtol=0)
    reading.train()
    features = torch.randn(2, 20, FEATURE_DIM)
    _, latents = reading(features, frame_mask(torch.tensor([20, 15]), 20))
    latents.square().mean().backward()
    assert reading.encoder.velocity_embedding is not None
    gradient = reading.encoder.velocity_embedding.weight.grad
    assert gradient is not None and bool(gradient.abs().sum() > 0)


def test_only_the_feed_forward_and_memory_can_differ() -> None:
    narrow, _ = narrow_and_wide()
    other_latent = MotionClipModel(tiny_config(24))
    named = re.escape("encoder.to_latent.weight")
    with pytest.raises(MotionClipError, match=named):
        widened_state(narrow.state_dict(), other_latent)
    for smaller in ({"decoder_feedforward": 32}, {"feedforward": 32, "decoder_feedforward": 64}):
        shrunk = MotionClipModel(replace(tiny_config(16), **smaller))
        with pytest.raises(MotionClipError, match="only the feed-forward and the decoder's memory"):
            widened_state(narrow.state_dict(), shrunk)
    missing = {k: v for k, v in narrow.state_dict().items() if not k.startswith("decoder.to_pose")}
    with pytest.raises(MotionClipError, match=re.escape("missing ['decoder.to_pose.bias'")):
        widened_state(missing, narrow)


def test_grown_memory_tokens_start_near_the_checkpoint_and_apart_from_each_other() -> None:
    single, several = single_and_several_tokens()
    expected, actual, expected_latents, latents = reconstructions(single, several)
    torch.testing.assert_close(latents, expected_latents, atol=0, rtol=0)
    assert 0 < relative_change(actual, expected) < 0.05

    tokens = several.decoder.from_latent.weight.detach().view(4, -1, 16)
    original = single.decoder.from_latent.weight
    torch.testing.assert_close(tokens.mean(dim=0), original, atol=1e-6, rtol=0)
    assert all(not torch.equal(tokens[0], copy) for copy in tokens[1:])
    _, again = single_and_several_tokens(seed=0)
    _, other = single_and_several_tokens(seed=1)
    grown = several.decoder.from_latent.weight
    assert torch.equal(grown, again.decoder.from_latent.weight)
    assert not torch.equal(grown, other.decoder.from_latent.weight)


def test_grown_memory_tokens_learn_apart() -> None:
    _, several = single_and_several_tokens()  # in eval mode: no dropout to tell tokens apart
    features = torch.randn(2, 20, FEATURE_DIM)
    reconstruction, _ = several(features, frame_mask(torch.tensor([20, 15]), 20))
    reconstruction.square().mean().backward()
    grad = several.decoder.from_latent.weight.grad
    assert grad is not None
    per_token = grad.view(4, -1, 16)
    assert all(not torch.allclose(per_token[0], g, atol=1e-8, rtol=1e-3) for g in per_token[1:])


def test_memory_tokens_grow_only_to_a_multiple() -> None:
    torch.manual_seed(0)
    two = MotionClipModel(replace(tiny_config(16), decoder_memory=2))
    three = MotionClipModel(replace(tiny_config(16), decoder_memory=3))
    with pytest.raises(MotionClipError, match=re.escape("decoder.from_latent.weight")):
        widened_state(two.state_dict(), three)
    with pytest.raises(MotionClipError, match=re.escape("decoder.from_latent.weight")):
        widened_state(three.state_dict(), MotionClipModel(tiny_config(16)))
