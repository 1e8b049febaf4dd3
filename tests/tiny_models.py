"""A tiny CLIP and a tiny MotionCLIP model, randomly initialised, saved as the real files are."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from motionclip_blender.core.checkpoint import from_model, save_checkpoint
from motionclip_blender.core.model import ModelConfig, MotionClipModel
from motionclip_blender.core.text_spaces import openai_clip_module

TINY_CLIP_DIM = 32
# build_model infers one head per 64 channels: 64 wide vision tower (1 head), 128 wide text (2).
TINY_CLIP = {
    "embed_dim": TINY_CLIP_DIM,
    "image_resolution": 32,
    "vision_layers": 1,
    "vision_width": 64,
    "vision_patch_size": 16,
    "context_length": 24,
    "vocab_size": 49408,  # the tokenizer's vocabulary
    "transformer_width": 128,
    "transformer_heads": 2,
    "transformer_layers": 1,
}


def tiny_clip(seed: int = 0, half: bool = False) -> torch.nn.Module:
    """A random CLIP whose weights are fp16 values, as in the released files: converted to fp16
    the way clip.model.convert_weights does, then back to float32 unless `half`."""
    clip_model = openai_clip_module("model")
    torch.manual_seed(seed)
    model = clip_model.CLIP(**TINY_CLIP)
    clip_model.convert_weights(model)
    return model.eval() if half else model.float().eval()


def save_tiny_clip_torchscript(model: torch.nn.Module, path: Path) -> None:
    """Save as the released ViT-B-32.pt is stored: a TorchScript archive."""
    image = torch.zeros(1, 3, TINY_CLIP["image_resolution"], TINY_CLIP["image_resolution"])
    text = torch.zeros(1, TINY_CLIP["context_length"], dtype=torch.long)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.trace is deprecated; the released files use it
        torch.jit.trace(model, (image, text)).save(str(path))


def tiny_config(latent_dim: int = TINY_CLIP_DIM) -> ModelConfig:
    return ModelConfig(latent_dim, width=32, layers=2, heads=2, feedforward=64, dropout=0.1)


def save_tiny_checkpoint(
    path: Path, text_space: str = "clip", seed: int = 0, latent_dim: int = TINY_CLIP_DIM
) -> None:
    torch.manual_seed(seed)
    model = MotionClipModel(tiny_config(latent_dim))
    save_checkpoint(
        from_model(
            model,
            text_space,
            text_latent_scaling="unit",
            motion_latent_norm=3.0,
            training_data="random initialisation (tests)",
            licence="test",
            metrics={"mpjpe_mm": 999.0},
        ),
        path,
    )


def relative_change(actual: torch.Tensor, expected: torch.Tensor) -> float:
    """RMS of actual - expected over the RMS of expected: how far a grown model's output moved."""
    return float((actual - expected).square().mean().sqrt() / expected.square().mean().sqrt())
