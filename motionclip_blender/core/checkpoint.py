"""Checkpoints: one file holding a model's weights and everything needed to use them.

The file is a `torch.save` archive of plain data (dicts, strings, numbers, tensors), read back with
`weights_only=True`, so loading never runs pickled code. The model's weights are stored in float16
(half the file, which lets the bundled model grow within its 30 MB) and computed with in float32:
a Checkpoint holds them rounded so, made from a model or read from a file of any precision, what
it evaluates is what it saves. Loading is strict: the format name and
version, every metadata field, the configuration and every weight's name and shape are checked, and
any problem raises CheckpointError naming the file and what is wrong.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast, get_args

import torch
import torch.nn.functional as F

from . import pose_features
from .atomic import write_atomically
from .errors import CheckpointError
from .model import ModelConfig, MotionClipModel
from .pose_features import FeatureStatistics
from .text_spaces import is_torchscript

FORMAT = "motionclip-blender-checkpoint"
FORMAT_VERSION = 1
WEIGHTS_FOLDER = Path(__file__).resolve().parents[1] / "weights"
BUNDLED_NAME = "motionclip-minilm.pt"
STORED_WEIGHTS = torch.float16

# How a text embedding is turned into a latent for the decoder: as it is ("raw", as the paper
# does), scaled to unit length ("unit"), scaled to the mean norm of training motion latents
# ("motion_norm"), through an affine map fitted on the training captions ("regressed"), or as the
# latents of the training captions nearest to it ("nearest_captions", see CaptionLatents). Which
# generates best is measured on a trained model and stored as its default.
TextLatentScaling = Literal["raw", "unit", "motion_norm", "regressed", "nearest_captions"]
TEXT_LATENT_SCALINGS: tuple[TextLatentScaling, ...] = get_args(TextLatentScaling)

_TOP_LEVEL_KEYS = {
    "format",
    "format_version",
    "config",
    "text_space",
    "text_dim",
    "pose_representation",
    "feature_dim",
    "statistics",
    "text_latent_scaling",
    "motion_latent_norm",
    "training_data",
    "licence",
    "metrics",
    "state_dict",
}
_OPTIONAL_KEYS = {"text_to_latent", "caption_latents"}  # absent from files written before them


@dataclass(frozen=True)
class CaptionLatents:
    """The training captions' text embeddings (K, text_dim) and, for each, the latent (K,
    latent_dim) of a training motion it describes. "nearest_captions" decodes
    softmax(cosine(prompt, captions) / temperature) @ latents: a prompt worded unlike any caption
    still lands on the motions of the captions that mean the same, where a map fitted to the
    captions' wording may not. texts: the captions themselves (K,), so a prompt can be shown
    what it was understood as; empty in files written before they were stored."""

    embeddings: torch.Tensor
    latents: torch.Tensor
    temperature: float
    texts: tuple[str, ...] = ()

    def latents_for(self, embeddings: torch.Tensor) -> torch.Tensor:
        """(N, text_dim) prompt embeddings -> (N, latent_dim) latents."""
        similarity = F.normalize(embeddings, dim=-1) @ F.normalize(self.embeddings, dim=-1).T
        return torch.softmax(similarity / self.temperature, dim=-1) @ self.latents


@dataclass(frozen=True)
class Checkpoint:
    """A model's weights and metadata.

    text_space: name of the text space the latents live in ("clip", "minilm"); its dimension is
    config.latent_dim. statistics: pose-vector normalisation. text_latent_scaling and
    motion_latent_norm: how text embeddings become decoder inputs (see TextLatentScaling).
    text_to_latent: (latent_dim + 1, latent_dim) affine map, bias in the last row, fitted from
    training captions' embeddings to their motions' latents; "regressed" scaling decodes
    [embedding, 1] @ text_to_latent. caption_latents: what "nearest_captions" decodes (see
    CaptionLatents). Each is None when the checkpoint has none.
    training_data, licence: a summary of what the model was trained on and the weights' licence.
    metrics: evaluation results by name. identity: SHA-256 of the file it was loaded from (empty
    before saving); caches of encoded motions are keyed by it.
    """

    config: ModelConfig
    text_space: str
    state_dict: dict[str, torch.Tensor]
    statistics: FeatureStatistics = field(default_factory=FeatureStatistics.identity)
    text_latent_scaling: TextLatentScaling = "raw"
    motion_latent_norm: float = 1.0
    text_to_latent: torch.Tensor | None = None
    caption_latents: CaptionLatents | None = None
    training_data: str = "untrained"
    licence: str = "none"
    metrics: dict[str, float] = field(default_factory=dict)
    identity: str = ""

    def build_model(self) -> MotionClipModel:
        """The model with these weights, in evaluation mode and without gradients."""
        model = MotionClipModel(self.config)
        model.load_state_dict(self.state_dict, strict=True)
        return model.eval().requires_grad_(False)


def from_model(model: MotionClipModel, text_space: str, **metadata: Any) -> Checkpoint:
    """A Checkpoint of a model's current weights (copied to the CPU, rounded to the float16 a
    file stores) and the given metadata."""
    state = {name: _float16(name, value).float() for name, value in model.state_dict().items()}
    return Checkpoint(model.config, text_space, state, **metadata)


def _float16(name: str, weight: torch.Tensor) -> torch.Tensor:
    """`weight` on the CPU as the float16 a file stores; an error if float16 cannot hold it."""
    stored = weight.detach().cpu().to(STORED_WEIGHTS)
    if not bool(torch.isfinite(stored).all()):
        raise CheckpointError(
            f"weight {name} has values that are not finite or beyond float16's range "
            f"(largest magnitude {weight.detach().abs().max().item():g}); a checkpoint holds "
            "its weights in float16"
        )
    return stored


def bundled_checkpoint_path() -> Path:
    """Where the extension's own model lives (motionclip_blender/weights/motionclip-minilm.pt)."""
    return WEIGHTS_FOLDER / BUNDLED_NAME


def resolve_checkpoint_path(path: str | os.PathLike[str] | None) -> Path:
    """The given checkpoint path, or the bundled model's when None; errors if there is none."""
    if path is not None:
        return Path(path).expanduser()
    bundled = bundled_checkpoint_path()
    if not bundled.is_file():
        raise CheckpointError(
            f"no checkpoint given and no bundled model at {bundled}; pass a checkpoint file "
            "(--checkpoint PATH on the command line)"
        )
    return bundled


def save_checkpoint(checkpoint: Checkpoint, path: str | os.PathLike[str]) -> None:
    """Write a checkpoint file; a failure leaves no partial file."""
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": dataclasses.asdict(checkpoint.config),
        "text_space": checkpoint.text_space,
        "text_dim": checkpoint.config.latent_dim,
        "pose_representation": pose_features.REPRESENTATION,
        "feature_dim": pose_features.FEATURE_DIM,
        "statistics": {"mean": checkpoint.statistics.mean, "std": checkpoint.statistics.std},
        "text_latent_scaling": checkpoint.text_latent_scaling,
        "motion_latent_norm": float(checkpoint.motion_latent_norm),
        "text_to_latent": checkpoint.text_to_latent,
        "caption_latents": _stored_caption_latents(checkpoint.caption_latents),
        "training_data": checkpoint.training_data,
        "licence": checkpoint.licence,
        "metrics": {name: float(value) for name, value in checkpoint.metrics.items()},
        "state_dict": {
            name: _float16(name, value) for name, value in checkpoint.state_dict.items()
        },
    }
    write_atomically(Path(path), lambda stream: torch.save(payload, stream))


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read and validate a checkpoint file; every problem raises CheckpointError."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint file") from None
    except OSError as error:
        raise CheckpointError(f"{path}: cannot read the checkpoint ({error})") from None
    if is_torchscript(io.BytesIO(data)):
        raise CheckpointError(
            f"{path}: a TorchScript file, such as CLIP's ViT-B-32.pt, not a MotionCLIP "
            "checkpoint (CLIP's weights go in the CLIP weights setting)"
        )
    try:
        payload = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as error:  # torch's unpickler raises many kinds on damaged files
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        if not data.startswith((b"PK", b"\x80")):  # neither torch.save's zip nor its pickle
            reason = "not a file torch.save wrote"  # torch's words say only a byte's code
        raise CheckpointError(
            f"{path}: not a readable checkpoint; the file is truncated, corrupt or of another "
            f"kind ({reason})"
        ) from None
    try:
        checkpoint = _parse(payload, identity=hashlib.sha256(data).hexdigest())
        checkpoint.build_model()
    except CheckpointError as error:
        raise CheckpointError(f"{path}: {error}") from None
    except (RuntimeError, ValueError, TypeError) as error:
        raise CheckpointError(f"{path}: inconsistent checkpoint: {error}") from None
    return checkpoint


def _parse(payload: object, identity: str) -> Checkpoint:
    """A Checkpoint from the loaded payload, every field checked."""
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"not a MotionCLIP for Blender checkpoint (no '{FORMAT}' marker)")
    version = payload.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint format version {version!r}; this version of motionclip-blender reads "
            f"version {FORMAT_VERSION}"
        )
    missing = _TOP_LEVEL_KEYS - payload.keys()
    unknown = payload.keys() - _TOP_LEVEL_KEYS - _OPTIONAL_KEYS
    if missing or unknown:
        raise CheckpointError(
            f"fields missing: {sorted(missing) or 'none'}; "
            f"unknown fields: {sorted(unknown) or 'none'}"
        )
    config_fields = {f.name for f in dataclasses.fields(ModelConfig)}
    required = {f.name for f in dataclasses.fields(ModelConfig) if f.default is dataclasses.MISSING}
    config_data = _typed(payload, "config", dict)
    if not required <= config_data.keys() <= config_fields:  # older files lack the newer fields
        raise CheckpointError(
            f"model configuration has fields {sorted(config_data)}; "
            f"expected {sorted(required)}, optionally {sorted(config_fields - required)}"
        )
    config = ModelConfig(**config_data)
    text_dim = _typed(payload, "text_dim", int)
    if text_dim != config.latent_dim:
        raise CheckpointError(
            f"text space dimension {text_dim} differs from the latent dimension {config.latent_dim}"
        )
    representation = (payload["pose_representation"], payload["feature_dim"])
    if representation != (pose_features.REPRESENTATION, pose_features.FEATURE_DIM):
        raise CheckpointError(
            f"pose representation {payload['pose_representation']!r} with "
            f"{payload['feature_dim']!r} features; expected {pose_features.REPRESENTATION!r} "
            f"with {pose_features.FEATURE_DIM}"
        )
    scaling = _typed(payload, "text_latent_scaling", str)
    if scaling not in TEXT_LATENT_SCALINGS:
        raise CheckpointError(
            f"text latent scaling {scaling!r}; expected one of {', '.join(TEXT_LATENT_SCALINGS)}"
        )
    norm = _typed(payload, "motion_latent_norm", float)
    if not (math.isfinite(norm) and norm > 0):
        raise CheckpointError(f"motion latent norm must be a positive number, got {norm}")
    text_to_latent = payload.get("text_to_latent")
    dim = config.latent_dim
    if text_to_latent is not None and (
        not isinstance(text_to_latent, torch.Tensor) or text_to_latent.shape != (dim + 1, dim)
    ):
        raise CheckpointError(f"text_to_latent must be a ({dim + 1}, {dim}) tensor or absent")
    if scaling == "regressed" and text_to_latent is None:
        raise CheckpointError("text latent scaling 'regressed' needs a text_to_latent map")
    caption_latents = _caption_latents(payload.get("caption_latents"), dim)
    if scaling == "nearest_captions" and caption_latents is None:
        raise CheckpointError("text latent scaling 'nearest_captions' needs caption_latents")
    statistics = _typed(payload, "statistics", dict)
    if statistics.keys() != {"mean", "std"} or not all(
        isinstance(value, torch.Tensor) for value in statistics.values()
    ):
        raise CheckpointError("statistics must hold the tensors 'mean' and 'std', nothing else")
    metrics = _typed(payload, "metrics", dict)
    if not all(isinstance(k, str) and isinstance(v, float) for k, v in metrics.items()):
        raise CheckpointError("metrics must map names to numbers")
    state_dict = _typed(payload, "state_dict", dict)
    if not all(isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise CheckpointError("state_dict must hold only tensors")
    state_dict = {name: _float16(name, value).float() for name, value in state_dict.items()}
    return Checkpoint(
        config=config,
        text_space=_typed(payload, "text_space", str),
        state_dict=state_dict,
        statistics=FeatureStatistics(**statistics),
        text_latent_scaling=cast(TextLatentScaling, scaling),
        motion_latent_norm=norm,
        text_to_latent=text_to_latent,
        caption_latents=caption_latents,
        training_data=_typed(payload, "training_data", str),
        licence=_typed(payload, "licence", str),
        metrics=metrics,
        identity=identity,
    )


def _stored_caption_latents(captions: CaptionLatents | None) -> dict[str, Any] | None:
    """CaptionLatents as plain data, each distinct latent once: many captions describe the same
    motion (the bundled model's 1,022 captions, 219 motions), so the file stores the (U, dim)
    distinct latents and, per caption, the (K,) index of its own."""
    if captions is None:
        return None
    latents, index = torch.unique(captions.latents, dim=0, return_inverse=True)
    return {
        "embeddings": captions.embeddings,
        "latents": latents,
        "latent_index": index,
        "temperature": captions.temperature,
        "texts": list(captions.texts),
    }


def _caption_latents(stored: object, dim: int) -> CaptionLatents | None:
    """The stored caption latents, checked: embeddings (K, dim), K > 0, their latents (K, dim)
    or, with a latent_index (K,), (U, dim) distinct ones it selects from, a positive
    temperature and, when stored, K caption texts."""
    if stored is None:
        return None
    fields = {"embeddings", "latents", "temperature"}
    optional = {"texts", "latent_index"}
    if not isinstance(stored, dict) or not fields <= stored.keys() <= fields | optional:
        raise CheckpointError(
            f"caption_latents must hold {sorted(fields)} and optionally {sorted(optional)}, "
            "nothing else"
        )
    embeddings, latents = stored["embeddings"], stored["latents"]
    if not (
        isinstance(embeddings, torch.Tensor)
        and isinstance(latents, torch.Tensor)
        and embeddings.is_floating_point()
        and latents.is_floating_point()
        and embeddings.ndim == latents.ndim == 2
        and len(embeddings) > 0
        and embeddings.shape[1] == latents.shape[1] == dim
    ):
        raise CheckpointError(
            f"caption_latents needs two (K, {dim}) tensors of floating-point numbers with K > 0"
        )
    embeddings, latents = embeddings.float(), latents.float()  # what the text space gives
    if "latent_index" in stored:
        latents = _selected_latents(latents, stored["latent_index"], len(embeddings))
    elif len(latents) != len(embeddings):
        raise CheckpointError(
            f"caption_latents has {len(embeddings)} embeddings but {len(latents)} latents"
        )
    temperature = stored["temperature"]
    if not (isinstance(temperature, float) and math.isfinite(temperature) and temperature > 0):
        raise CheckpointError(f"caption_latents temperature must be positive, got {temperature!r}")
    texts = stored.get("texts", [])
    if not (
        isinstance(texts, list)
        and all(isinstance(text, str) for text in texts)
        and len(texts) in (0, len(embeddings))
    ):
        raise CheckpointError(
            f"caption_latents texts must be a list of {len(embeddings)} strings, one per caption"
        )
    return CaptionLatents(embeddings, latents, temperature, tuple(texts))


def _selected_latents(latents: torch.Tensor, index: object, captions: int) -> torch.Tensor:
    """(K, dim) latents of K captions from (U, dim) distinct ones and their (K,) index."""
    if not (
        isinstance(index, torch.Tensor)
        and index.shape == (captions,)
        and index.dtype == torch.int64
        and bool(((index >= 0) & (index < len(latents))).all())
    ):
        raise CheckpointError(
            f"caption_latents latent_index must be {captions} integers in 0..{len(latents) - 1}"
        )
    return latents[index]


def _typed(payload: dict[str, Any], key: str, kind: type) -> Any:
    """payload[key], checked to be of `kind` (an int is accepted as a float)."""
    value = payload[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise CheckpointError(
            f"field '{key}' must be a {kind.__name__}, got {type(value).__name__}"
        )
    return value
