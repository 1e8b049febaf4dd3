"""Start a model with a wider decoder feed-forward from a narrower checkpoint, unchanged.

A decoder layer's feed-forward is linear2(gelu(linear1(x))). Widening it from n to m hidden
units keeps the checkpoint's n units, gives the m - n new ones the model's fresh random input
weights and zero output weights, so the grown model computes exactly what the checkpoint did and
training adds capacity from there (the new output weights get gradients at once; their input
weights once those are non-zero).
"""

from __future__ import annotations

import re

import torch
from torch import nn

from motionclip_blender.core.errors import MotionClipError

_DECODER_FEEDFORWARD = re.compile(r"decoder\.transformer\.layers\.\d+\.linear[12]\.(weight|bias)")


def widened_state(state: dict[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """A state dict for `model` from `state`, whose decoder feed-forward may be narrower.

    Every tensor but the decoder's feed-forward weights must have the model's shape.
    """
    target = model.state_dict()
    if state.keys() != target.keys():
        raise MotionClipError(
            f"--init: weights differ in names: missing {sorted(target.keys() - state.keys())}, "
            f"unexpected {sorted(state.keys() - target.keys())}"
        )
    grown: dict[str, torch.Tensor] = {}
    for name, fresh in target.items():
        given = state[name]
        if given.shape == fresh.shape:
            grown[name] = given
        elif _DECODER_FEEDFORWARD.fullmatch(name) and _fits_inside(given.shape, fresh.shape):
            grown[name] = _embed(given, fresh, zero_rest=name.endswith("linear2.weight"))
        else:
            raise MotionClipError(
                f"--init: {name} has shape {tuple(given.shape)}, the model {tuple(fresh.shape)}; "
                "only the decoder's feed-forward can grow"
            )
    return grown


def _fits_inside(small: torch.Size, large: torch.Size) -> bool:
    return len(small) == len(large) and all(a <= b for a, b in zip(small, large, strict=True))


def _embed(given: torch.Tensor, fresh: torch.Tensor, zero_rest: bool) -> torch.Tensor:
    """`fresh` (or zeros) with `given` in its leading corner."""
    out = torch.zeros_like(fresh) if zero_rest else fresh.clone()
    out[tuple(slice(0, size) for size in given.shape)] = given
    return out
