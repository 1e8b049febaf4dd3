"""The BERT encoder of all-MiniLM-L6-v2, built from torch's own transformer layers.

It computes what transformers' `BertModel` returns as `last_hidden_state` for a post-norm, GELU,
absolute-position BERT, loading the same `model.safetensors` and `config.json`. It exists because
importing transformers costs about a second of every cold start (its import pulls in
torch._dynamo), more than the rest of loading the model and the checkpoint together.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn

from .errors import MotionClipError


class BertLoadError(MotionClipError):
    """A BERT model folder that cannot be read or is not the architecture this module builds."""


@dataclass(frozen=True)
class BertConfig:
    """The sizes of a BERT model, read from its config.json."""

    vocab_size: int
    hidden_size: int
    layers: int
    heads: int
    intermediate_size: int
    max_positions: int
    token_types: int
    layer_norm_eps: float

    @classmethod
    def read(cls, path: Path) -> BertConfig:
        """The configuration in `path`; refuses variants this module would compute wrongly."""
        values = json.loads(path.read_text())
        expected = {"hidden_act": "gelu", "position_embedding_type": "absolute"}
        for key, value in expected.items():
            if values.get(key, value) != value:
                raise BertLoadError(
                    f"{path}: {key} is {values[key]!r}; only {value!r} is supported"
                )
        try:
            return cls(
                vocab_size=values["vocab_size"],
                hidden_size=values["hidden_size"],
                layers=values["num_hidden_layers"],
                heads=values["num_attention_heads"],
                intermediate_size=values["intermediate_size"],
                max_positions=values["max_position_embeddings"],
                token_types=values["type_vocab_size"],
                layer_norm_eps=values["layer_norm_eps"],
            )
        except KeyError as error:
            raise BertLoadError(f"{path}: no {error.args[0]!r}") from None


def empty_table(rows: int, width: int) -> nn.Embedding:
    """An embedding table left uninitialised: load_bert fills it, and drawing MiniLM's 12 M
    random numbers first would cost a tenth of a second."""
    return nn.Embedding(rows, width, _weight=torch.empty(rows, width))


class BertEncoder(nn.Module):
    """Token, position and segment embeddings, then post-norm encoder layers."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.words = empty_table(config.vocab_size, config.hidden_size)
        self.positions = empty_table(config.max_positions, config.hidden_size)
        self.token_types = empty_table(config.token_types, config.hidden_size)
        self.norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        layer = nn.TransformerEncoderLayer(
            config.hidden_size,
            config.heads,
            config.intermediate_size,
            dropout=0.0,
            activation="gelu",
            layer_norm_eps=config.layer_norm_eps,
            batch_first=True,
        )
        self.encoder = nn.TransformerEncoder(layer, config.layers, enable_nested_tensor=False)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """ids (B, L) token ids, mask (B, L) true on real tokens -> (B, L, hidden) states."""
        positions = torch.arange(ids.shape[1], device=ids.device)
        embedded = self.words(ids) + self.positions(positions) + self.token_types.weight[0]
        return self.encoder(self.norm(embedded), src_key_padding_mask=~mask.bool())


# Each encoder layer's modules: torch's name -> BertModel's, below encoder.layer.N.
LAYER_NAMES = {
    "self_attn.out_proj": "attention.output.dense",
    "norm1": "attention.output.LayerNorm",
    "linear1": "intermediate.dense",
    "linear2": "output.dense",
    "norm2": "output.LayerNorm",
}


def encoder_state(weights: dict[str, torch.Tensor], layers: int) -> dict[str, torch.Tensor]:
    """BertModel's tensor names mapped onto BertEncoder's (query, key and value stacked into
    one input projection, as torch's attention keeps them); the pooler is not used."""
    state = {
        "words.weight": weights["embeddings.word_embeddings.weight"],
        "positions.weight": weights["embeddings.position_embeddings.weight"],
        "token_types.weight": weights["embeddings.token_type_embeddings.weight"],
        "norm.weight": weights["embeddings.LayerNorm.weight"],
        "norm.bias": weights["embeddings.LayerNorm.bias"],
    }
    for index in range(layers):
        source, target = f"encoder.layer.{index}.", f"encoder.layers.{index}."
        for kind in ("weight", "bias"):
            state[target + f"self_attn.in_proj_{kind}"] = torch.cat(
                [
                    weights[f"{source}attention.self.{part}.{kind}"]
                    for part in ("query", "key", "value")
                ]
            )
            for ours, theirs in LAYER_NAMES.items():
                state[f"{target}{ours}.{kind}"] = weights[f"{source}{theirs}.{kind}"]
    return state


def load_bert(folder: Path) -> BertEncoder:
    """The encoder of the BERT model in `folder` (config.json, model.safetensors), in eval mode
    and without gradients."""
    config = BertConfig.read(folder / "config.json")
    weights = {
        name.removeprefix("bert."): tensor
        for name, tensor in load_file(folder / "model.safetensors").items()
    }
    model = BertEncoder(config)
    try:
        model.load_state_dict(encoder_state(weights, config.layers))
    except (KeyError, RuntimeError) as error:
        raise BertLoadError(
            f"{folder / 'model.safetensors'}: not a BERT of this shape ({error})"
        ) from None
    return model.eval().requires_grad_(False)
