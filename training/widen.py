"""Start a model with a grown encoder or decoder from a smaller checkpoint, (nearly) unchanged.

Feed-forward: an encoder or decoder layer's is linear2(gelu(linear1(x))). Widening it from n to
m hidden units keeps the checkpoint's n units, gives the m - n new ones the model's fresh random
input weights and zero output weights, so the grown model computes exactly what the checkpoint
did and training adds capacity from there (the new output weights get gradients at once; their
input weights once those are non-zero).

Memory: the decoder's from_latent projects the latent to one memory token per `width` rows.
Growing from one token to k repeats the checkpoint's projection k times. Identical tokens would
attend and learn identically for ever, so the copies are perturbed by noise of MEMORY_NOISE
times the projection's own spread, the k perturbations summing to zero: while attention over
the tokens is near uniform its output is the values' mean, which is the checkpoint's, so the
function changes only to second order while the tokens' differences, the signal that teaches
frames to attend to their own mix, are first order. (Perturbing copies independently, at a
tenth of this scale, changed the bundled model's output by as much and its tokens did not
learn apart in 1,100 steps: TRAINING_HISTORY.md, the twenty-sixth sitting.)

Root velocity input (core.model.ModelConfig.encoder_velocity): a checkpoint without it gives the
model's fresh zero weights for it, so the model computes what the checkpoint did, and its
translation spread is set by MotionClipModel.adopt_statistics.

Corrector (core.model.ModelConfig.corrector): a checkpoint without one gives the model a corrector
that is a copy of its encoder, with the fresh zero weights of the residual input, so that at the
start it gives the encoder's latent and training it moves from there.
"""

from __future__ import annotations

import re

import torch
from torch import nn

from motionclip_blender.core.errors import MotionClipError

_FEEDFORWARD = re.compile(
    r"(encoder|decoder|corrector)\.transformer\.layers\.\d+\.linear[12]\.(weight|bias)"
)
_DECODER_MEMORY = re.compile(r"decoder\.from_latent\.(weight|bias)")
_VELOCITY_INPUT = re.compile(r"encoder\.(velocity_embedding\.(weight|bias)|translation_std)")
_RESIDUAL_INPUT = re.compile(r"corrector\.residual_embedding\.(weight|bias)")
MEMORY_NOISE = 1.0


def widened_state(
    state: dict[str, torch.Tensor], model: nn.Module, seed: int = 0
) -> dict[str, torch.Tensor]:
    """A state dict for `model` from `state`, whose encoder and decoder feed-forward may be
    narrower, whose decoder memory may have fewer tokens (seed: of the memory copies' noise),
    whose encoder may lack the root velocity input and which may have no corrector.

    Every other tensor must have the model's shape.
    """
    target = model.state_dict()
    added = {name for name in target.keys() - state.keys() if _VELOCITY_INPUT.fullmatch(name)}
    state = {**state, **{name: target[name] for name in added}}
    if not any(name.startswith("corrector.") for name in state):
        state |= _copied_corrector(state, target)
    if state.keys() != target.keys():
        raise MotionClipError(
            f"--init: weights differ in names: missing {sorted(target.keys() - state.keys())}, "
            f"unexpected {sorted(state.keys() - target.keys())}"
        )
    grown: dict[str, torch.Tensor] = {}
    generator = torch.Generator().manual_seed(seed)
    for name, fresh in target.items():
        given = state[name]
        if given.shape == fresh.shape:
            grown[name] = given
        elif _FEEDFORWARD.fullmatch(name) and _fits_inside(given.shape, fresh.shape):
            grown[name] = _embed(given, fresh, zero_rest=name.endswith("linear2.weight"))
        elif _DECODER_MEMORY.fullmatch(name) and _repeats(given.shape, fresh.shape):
            grown[name] = _repeated(given, fresh.shape[0] // given.shape[0], generator)
        else:
            raise MotionClipError(
                f"--init: {name} has shape {tuple(given.shape)}, the model {tuple(fresh.shape)}; "
                "only the feed-forward and the decoder's memory tokens can grow"
            )
    return grown


def _copied_corrector(
    state: dict[str, torch.Tensor], target: dict[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """The model's corrector weights (none when it has no corrector) as copies of the encoder's in
    `state`, the residual input's as the model's fresh zeros."""
    copied = {}
    for name in target:
        if _RESIDUAL_INPUT.fullmatch(name):
            copied[name] = target[name]
        elif (
            name.startswith("corrector.")
            and (source := "encoder." + name.removeprefix("corrector.")) in state
        ):
            copied[name] = state[source]
    return copied


def _fits_inside(small: torch.Size, large: torch.Size) -> bool:
    return len(small) == len(large) and all(a <= b for a, b in zip(small, large, strict=True))


def _embed(given: torch.Tensor, fresh: torch.Tensor, zero_rest: bool) -> torch.Tensor:
    """`fresh` (or zeros) with `given` in its leading corner."""
    out = torch.zeros_like(fresh) if zero_rest else fresh.clone()
    out[tuple(slice(0, size) for size in given.shape)] = given
    return out


def _repeats(small: torch.Size, large: torch.Size) -> bool:
    return small[1:] == large[1:] and large[0] > small[0] and large[0] % small[0] == 0


def _repeated(given: torch.Tensor, times: int, generator: torch.Generator) -> torch.Tensor:
    """`given` stacked `times` times along its first axis, perturbed by noise that sums to zero
    over the copies."""
    noise = torch.randn((times, *given.shape), generator=generator, dtype=given.dtype)
    copies = given + (noise - noise.mean(dim=0)) * (MEMORY_NOISE * given.std())
    return torch.cat(list(copies))
