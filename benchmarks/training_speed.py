"""What a trainer waits for: windows per second of whole training steps.

A step is what training.train repeats: the forward pass, the real training loss (every term its
configuration weights, from training.train.TrainingStep), the backward pass and the AdamW step
with gradient clipping. Batches are synthetic but shaped like prepared ones: random normalised
pose vectors of `seconds` at the model's rate and random caption (and, where the loss uses them,
image) embeddings. Training only ever sees precomputed embeddings, so no text encoder is loaded
and each model gets its text space's true dimension. The bundled size and the paper size run
interleaved in one process, so machine noise hits both alike.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from motionclip_blender.core.model import MotionClipModel
from motionclip_blender.core.pose_features import FEATURE_DIM, FeatureStatistics
from training.batches import Batch
from training.config import TrainConfig, load_config
from training.train import TrainingStep, loss_positions, model_config

from .timing import flop_count, interleaved, matmul_rate

CONFIGS = Path(__file__).resolve().parents[1] / "training" / "configs"
VARIANTS = {"bundled": CONFIGS / "small.toml", "paper": CONFIGS / "paper.toml"}
# Embedding sizes of the text spaces: CLIP ViT-B/32 and all-MiniLM-L6-v2.
TEXT_DIMENSIONS = {"clip": 512, "minilm": 384}
# Windows per step on a CPU, where the paper size manages about 4 windows per CPU second (the
# bundled one 25): a few small steps keep the run short. Elsewhere each configuration's own
# batch size.
CPU_BATCH = {"bundled": 32, "paper": 4}


def synthetic_batch(config: TrainConfig, size: int, frames: int, device: torch.device) -> Batch:
    """A batch of `size` windows of `frames` real frames each, every caption distinct."""
    generator = torch.Generator().manual_seed(0)
    dim = TEXT_DIMENSIONS[config.model.text_space]

    def embeddings() -> torch.Tensor:
        return F.normalize(torch.randn(size, dim, generator=generator), dim=-1)

    return Batch(
        features=torch.randn(size, frames, FEATURE_DIM, generator=generator),
        mask=torch.ones(size, frames, dtype=torch.bool),
        decoded=torch.ones(size, frames, dtype=torch.bool),
        texts=embeddings(),
        same_text=torch.eye(size, dtype=torch.bool),
        images=embeddings() if config.loss.image > 0 else None,
        windows=list(range(size)),
    ).to(device)


def training_step(config: TrainConfig, device: torch.device) -> TrainingStep:
    """A freshly initialised model of the configuration, its loss and optimiser."""
    torch.manual_seed(config.train.seed)
    dim = TEXT_DIMENSIONS[config.model.text_space]
    model = MotionClipModel(model_config(config, dim)).to(device)
    positions = loss_positions(config, device)
    return TrainingStep(config, model, model, FeatureStatistics.identity(), device, positions)


def training_throughput(
    steps: int,
    seconds: float = 4.0,
    device: str = "cpu",
    variants: dict[str, Path] = VARIANTS,
    cpu_batch: dict[str, int] = CPU_BATCH,
) -> dict[str, Any]:
    """Median windows per second of each variant's training steps (run interleaved, after one
    unmeasured step each), their ratio, and each step against the machine's FLOP floor."""
    chosen = torch.device(device)
    configs = {name: load_config(path) for name, path in variants.items()}
    results: dict[str, Any] = {"device": str(chosen), "seconds_per_window": seconds}
    work: dict[str, Callable[[], object]] = {}
    floors: dict[str, float] = {}
    for name, config in configs.items():
        step = training_step(config, chosen)
        size = cpu_batch[name] if chosen.type == "cpu" else config.train.batch_size
        frames = round(seconds * step.model.config.fps)
        batch = synthetic_batch(config, size, frames, chosen)
        flops = flop_count(lambda step=step, batch=batch: step.optimise(batch))
        rate = matmul_rate(size * frames, step.model.config.width, 10, chosen)
        floors[name] = flops / rate * 1000
        results[name] = {
            "config": variants[name].name,
            "text_dim": step.model.config.latent_dim,
            "width": step.model.config.width,
            "layers": step.model.config.layers,
            "batch": size,
            "frames": frames,
            "step_gflop": round(flops / 1e9, 3),
            "matmul_gflops_per_s": round(rate / 1e9, 2),
            "floor_ms": round(floors[name], 3),
        }
        work[name] = lambda step=step, batch=batch: step.optimise(batch)
    speeds = {}
    for name, timing in interleaved(work, steps).items():
        speeds[name] = results[name]["batch"] / (timing["p50_ms"] / 1000)
        results[name] |= {
            "step": timing,
            "windows_per_s": round(speeds[name], 3),
            "windows_per_cpu_s": round(results[name]["batch"] / (timing["cpu_p50_ms"] / 1000), 3),
            "times_the_floor": round(timing["p50_ms"] / floors[name], 1),
            "cpu_times_the_floor": round(timing["cpu_p50_ms"] / floors[name], 1),
        }
    first, second = list(variants)[:2]
    results[f"ratio_{first}_over_{second}"] = round(speeds[first] / speeds[second], 2)
    return results
