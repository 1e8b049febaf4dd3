"""The MotionCLIP auto-encoder (Tevet et al. 2022), for motions of 1 to 8 seconds.

Encoder: a transformer over per-frame pose vectors with a learned latent token prepended and
sinusoidal positional encodings; the latent is that token's output, projected to the text space's
dimension so it can be compared with text (and image) embeddings by cosine. Decoder: a transformer
whose queries are the sinusoidal encodings of the frame times and whose memory is the latent,
projected to one or more tokens; a linear layer maps each output to a pose vector. Unlike the
paper (60 frames, in place), sequences have any length up to `max_frames`, with padding masks in
both halves, and carry root translation. Optionally (`encoder_velocity`) the encoder also reads each
frame's root velocity, which it would otherwise have to work out as a difference of positions.

Optionally (`corrector`) a second encoder of the same shape, the corrector, reads a motion and its
residual against the decoding of the encoder's latent, and gives a latent that decodes closer to
the motion: refinement through the decoder done in one feed-forward pass (amortised inference).
The encoder's latent is the one aligned with text, for recognition and search; the corrector's
is for giving a motion back (reconstruction, blending, editing), and owes nothing to text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .pose_features import FEATURE_DIM, FeatureStatistics


@dataclass(frozen=True)
class ModelConfig:
    """Sizes and timing of a model; stored in its checkpoint.

    latent_dim: the text space's embedding dimension. width: transformer model width. layers:
    layers of the encoder and, as many, of the decoder. feedforward: their hidden size;
    decoder_feedforward, when given, the decoder's own, so that the decoder can grow while the
    encoder, whose latents recognition depends on, stays as trained. decoder_memory: how many
    tokens the latent becomes in the decoder's memory; with one, cross-attention adds the same
    vector to every frame, with several each frame can attend to its own mix of them (1, the
    paper's, in files written before it). fps: the frame rate the model works at; motions are
    resampled to it on the way in. min_seconds, max_seconds: motion lengths it handles.
    encoder_velocity: whether the encoder also reads each frame's root velocity (root_velocity),
    so that a motion's speed is an input rather than something worked out from positions (False
    in files written before it). corrector: whether the model has a corrector (module docstring;
    False in files written before it).
    """

    latent_dim: int
    width: int
    layers: int
    heads: int
    feedforward: int
    dropout: float
    fps: float = 20.0
    min_seconds: float = 1.0
    max_seconds: float = 8.0
    decoder_feedforward: int | None = None
    decoder_memory: int = 1
    encoder_velocity: bool = False
    corrector: bool = False

    def __post_init__(self) -> None:
        for name in ("latent_dim", "width", "layers", "heads", "feedforward", "decoder_memory"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value > 0):
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        wide = self.decoder_feedforward
        if wide is not None and not (isinstance(wide, int) and wide > 0):
            raise ValueError(
                f"decoder_feedforward must be a positive integer or None, got {wide!r}"
            )
        for name in ("encoder_velocity", "corrector"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if self.width % self.heads:
            raise ValueError(f"width {self.width} is not divisible by heads {self.heads}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if not (self.fps > 0 and 0 < self.min_seconds <= self.max_seconds):
            raise ValueError(
                f"need fps > 0 and 0 < min_seconds <= max_seconds, got fps {self.fps}, "
                f"seconds {self.min_seconds}..{self.max_seconds}"
            )

    @property
    def decoder_hidden(self) -> int:
        """The decoder layers' feed-forward size: decoder_feedforward, else feedforward."""
        return self.feedforward if self.decoder_feedforward is None else self.decoder_feedforward

    @property
    def min_frames(self) -> int:
        return max(1, round(self.min_seconds * self.fps))

    @property
    def max_frames(self) -> int:
        return round(self.max_seconds * self.fps)


def paper_config(latent_dim: int = 512) -> ModelConfig:
    """The paper's size: 8 layers, width 512, feed-forward 1024, 4 heads (about 42M parameters)."""
    return ModelConfig(latent_dim, width=512, layers=8, heads=4, feedforward=1024, dropout=0.1)


def small_config(latent_dim: int = 384) -> ModelConfig:
    """A size that trains on a 2-core CPU: 4 layers, width 256, feed-forward 512, 4 heads."""
    return ModelConfig(latent_dim, width=256, layers=4, heads=4, feedforward=512, dropout=0.1)


PRESETS = {"paper": paper_config, "small": small_config}


def sinusoidal_encoding(length: int, width: int) -> torch.Tensor:
    """(length, width) positional encodings of Vaswani et al.: sin on even, cos on odd channels."""
    position = torch.arange(length, dtype=torch.float32)[:, None]
    frequency = torch.exp(torch.arange(0, width, 2, dtype=torch.float32) * (-math.log(1e4) / width))
    encoding = torch.zeros(length, width)
    encoding[:, 0::2] = torch.sin(position * frequency)
    encoding[:, 1::2] = torch.cos(position * frequency[: width // 2])
    return encoding


def layer_options(config: ModelConfig, feedforward: int) -> dict[str, Any]:
    """Settings of every encoder and decoder layer: post-norm with GELU, as in the paper."""
    return {
        "d_model": config.width,
        "nhead": config.heads,
        "dim_feedforward": feedforward,
        "dropout": config.dropout,
        "activation": "gelu",
        "batch_first": True,
    }


def frame_mask(lengths: torch.Tensor, frames: int) -> torch.Tensor:
    """(B,) frame counts -> (B, frames) bool, True on real frames, False on padding."""
    return torch.arange(frames, device=lengths.device)[None, :] < lengths[:, None]


VELOCITY_FEATURES = 4  # root velocity along x, y and z, and horizontal speed (m/s)


def root_velocity(
    features: torch.Tensor, translation_std: torch.Tensor, fps: float
) -> torch.Tensor:
    """(B, T, 147) normalised pose vectors -> (B, T, 4) root velocity in m/s (x, y, z, then the
    horizontal speed), by backward difference, 0 at the first frame. translation_std (3,): the
    spread the root translation was normalised with, which the difference does not need the
    mean of."""
    translation = features[..., -3:] * translation_std
    step = torch.diff(translation, dim=-2, prepend=translation[..., :1, :]) * fps
    return torch.cat([step, step[..., :2].norm(dim=-1, keepdim=True)], dim=-1)


class MotionEncoder(nn.Module):
    """Pose vectors (B, T, 147) and frame mask (B, T) -> latents (B, latent_dim); with
    `reads_residual` (the corrector) also the residual (B, T, 147) of the pose vectors against a
    decoding, through an embedding of its own that starts at zero."""

    positions: torch.Tensor  # (max_frames + 1, width), a buffer computed from the config
    translation_std: torch.Tensor  # (3,), with encoder_velocity: set by MotionClipModel

    def __init__(self, config: ModelConfig, reads_residual: bool = False) -> None:
        super().__init__()
        self.fps = config.fps
        self.pose_embedding = nn.Linear(FEATURE_DIM, config.width)
        # Zero weights: a model given this input starts out computing what it did without it.
        self.velocity_embedding: nn.Linear | None = None
        if config.encoder_velocity:
            self.velocity_embedding = nn.Linear(VELOCITY_FEATURES, config.width)
            nn.init.zeros_(self.velocity_embedding.weight)
            nn.init.zeros_(self.velocity_embedding.bias)
            self.register_buffer("translation_std", torch.ones(3))
        self.residual_embedding: nn.Linear | None = None
        if reads_residual:
            self.residual_embedding = nn.Linear(FEATURE_DIM, config.width)
            nn.init.zeros_(self.residual_embedding.weight)
            nn.init.zeros_(self.residual_embedding.bias)
        self.latent_token = nn.Parameter(torch.randn(config.width) * 0.02)
        layer = nn.TransformerEncoderLayer(**layer_options(config, config.feedforward))
        self.transformer = nn.TransformerEncoder(layer, config.layers, enable_nested_tensor=False)
        self.to_latent = nn.Linear(config.width, config.latent_dim)
        positions = sinusoidal_encoding(config.max_frames + 1, config.width)
        self.register_buffer("positions", positions, persistent=False)

    def forward(
        self, features: torch.Tensor, mask: torch.Tensor, residual: torch.Tensor | None = None
    ) -> torch.Tensor:
        batch, frames, _ = features.shape
        embedded = self.pose_embedding(features)
        if (residual is None) != (self.residual_embedding is None):
            raise ValueError("the corrector, and only it, reads a residual")
        if self.residual_embedding is not None:
            embedded = embedded + self.residual_embedding(residual)
        if self.velocity_embedding is not None:
            velocity = root_velocity(features, self.translation_std, self.fps)
            embedded = embedded + self.velocity_embedding(velocity)
        tokens = torch.cat([self.latent_token.expand(batch, 1, -1), embedded], dim=1)
        tokens = tokens + self.positions[: frames + 1]
        padding = torch.cat([mask.new_zeros(batch, 1), ~mask], dim=1)
        encoded = self.transformer(tokens, src_key_padding_mask=padding)
        return self.to_latent(encoded[:, 0])


class MotionDecoder(nn.Module):
    """Latents (B, latent_dim) and frame mask (B, T) -> pose vectors (B, T, 147), 0 on padding."""

    positions: torch.Tensor  # (max_frames, width), a buffer computed from the config

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.memory_tokens = config.decoder_memory
        self.from_latent = nn.Linear(config.latent_dim, config.width * config.decoder_memory)
        layer = nn.TransformerDecoderLayer(**layer_options(config, config.decoder_hidden))
        self.transformer = nn.TransformerDecoder(layer, config.layers)
        self.to_pose = nn.Linear(config.width, FEATURE_DIM)
        positions = sinusoidal_encoding(config.max_frames, config.width)
        self.register_buffer("positions", positions, persistent=False)

    def forward(self, latents: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        batch, frames = mask.shape
        queries = self.positions[:frames].expand(batch, -1, -1)
        memory = self.from_latent(latents).view(batch, self.memory_tokens, -1)
        decoded = self.transformer(queries, memory, tgt_key_padding_mask=~mask)
        return self.to_pose(decoded) * mask[..., None]


class MotionClipModel(nn.Module):
    """Encoder and decoder of one configuration; works on normalised pose vectors."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = MotionEncoder(config)
        self.decoder = MotionDecoder(config)
        self.corrector = MotionEncoder(config, reads_residual=True) if config.corrector else None

    def adopt_statistics(self, statistics: FeatureStatistics) -> None:
        """Take the spread of the root translation from the statistics that normalise this
        model's pose vectors, for the encoder's root velocity input (stored with the weights);
        without that input there is nothing to take."""
        if self.config.encoder_velocity:
            for encoder in (self.encoder, self.corrector):
                if encoder is not None:
                    encoder.translation_std.copy_(statistics.std[-3:])

    def encode(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, T, 147), (B, T) -> (B, latent_dim)."""
        return self.encoder(features, mask)

    def decode(self, latents: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, latent_dim), (B, T) -> (B, T, 147)."""
        return self.decoder(latents, mask)

    def corrected(
        self, features: torch.Tensor, mask: torch.Tensor, latents: torch.Tensor
    ) -> torch.Tensor:
        """(B, T, 147), (B, T) and their encoder's latents (B, latent_dim) -> latents that decode
        closer to the motions: the corrector's, given the motions' residual against the
        decoding of `latents` (no gradient flows into that decoding); `latents` unchanged when
        the model has no corrector."""
        if self.corrector is None:
            return latents
        with torch.no_grad():
            residual = (features - self.decode(latents, mask)) * mask[..., None]
        return self.corrector(features, mask, residual)

    def forward(
        self, features: torch.Tensor, mask: torch.Tensor, decoded: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Reconstruction (B, T, 147) and latents (B, latent_dim) of (B, T, 147) pose vectors;
        `decoded` (B, T), the frames to rebuild, defaults to `mask`. With a corrector, the
        latents are the corrector's (corrected), from which the reconstruction is decoded."""
        latents = self.corrected(features, mask, self.encode(features, mask))
        return self.decode(latents, mask if decoded is None else decoded), latents


def parameter_count(model: nn.Module) -> int:
    return sum(parameter.numel() for parameter in model.parameters())
