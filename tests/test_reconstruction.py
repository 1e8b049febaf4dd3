"""Latents fitted to decode given windows (decoded_latents), which caption latents and the
refinement of a motion's latent at inference use."""

from __future__ import annotations

import pytest
import torch

from motionclip_blender.core.model import MotionClipModel
from motionclip_blender.core.pose_features import FEATURE_DIM, FeatureStatistics, rest_features
from motionclip_blender.core.reconstruction import (
    adam_step,
    decoded_latents,
    padded_windows,
    reconstruction_losses,
)

from .tiny_models import tiny_config


def fitting_problem() -> tuple[
    MotionClipModel, list[torch.Tensor], torch.Tensor, FeatureStatistics
]:
    """A random tiny model, three windows of different lengths (in no length order) that it
    decodes from hidden latents, initial latents away from those, and statistics centred on the
    rest pose (padding decodes to it, as in real data, not to degenerate rotations)."""
    torch.manual_seed(0)
    model = MotionClipModel(tiny_config(16)).eval()
    statistics = FeatureStatistics(rest_features(), torch.ones(FEATURE_DIM))
    hidden = torch.randn(3, 16)
    with torch.no_grad():
        windows = [
            statistics.denormalize(
                model.decode(latent[None], torch.ones(1, frames, dtype=torch.bool))
            )[0]
            for latent, frames in zip(hidden, (30, 12, 21), strict=True)
        ]
    return model, windows, hidden + torch.randn(3, 16), statistics


def window_losses(
    model: MotionClipModel,
    windows: list[torch.Tensor],
    latents: torch.Tensor,
    statistics: FeatureStatistics,
) -> list[float]:
    """Each window's weighted reconstruction loss from its latent."""
    losses = []
    for window, latent in zip(windows, latents, strict=True):
        target, mask = padded_windows([window], statistics, torch.device("cpu"))
        with torch.no_grad():
            terms = reconstruction_losses(
                model.decode(latent[None], mask), target, mask, statistics, model.config.fps
            )
        losses.append(sum(WEIGHTS[name] * float(value) for name, value in terms.items()))
    return losses


WEIGHTS = {
    "rotation": 100.0,
    "joints": 100.0,
    "in_place": 0.0,
    "velocity": 100.0,
    "foot_contact": 0.0,
}


def test_fitted_latents_decode_their_own_windows_better_and_leave_the_model_alone() -> None:
    model, windows, initial, statistics = fitting_problem()
    before = {name: value.clone() for name, value in model.state_dict().items()}
    fitted = decoded_latents(model, windows, initial, statistics, WEIGHTS, steps=60)
    start = window_losses(model, windows, initial, statistics)
    end = window_losses(model, windows, fitted, statistics)
    assert all(e < s / 2 for s, e in zip(start, end, strict=True)), (start, end)
    for name, value in model.state_dict().items():
        assert torch.equal(value, before[name])
    assert all(parameter.grad is None for parameter in model.parameters())

    # row i is window i's latent, whatever order the windows come in
    order = [2, 0, 1]
    permuted = decoded_latents(
        model, [windows[i] for i in order], initial[order], statistics, WEIGHTS, steps=60
    )
    torch.testing.assert_close(permuted, fitted[order])
    assert torch.equal(decoded_latents(model, windows, initial, statistics, WEIGHTS, 0), initial)


def test_fitting_reports_each_step_and_stops_when_its_progress_raises() -> None:
    model, windows, initial, statistics = fitting_problem()
    heard: list[tuple[int, int]] = []

    def record(done: int, total: int) -> None:
        heard.append((done, total))

    decoded_latents(
        model, windows * 12, initial.repeat(12, 1), statistics, WEIGHTS, 3, progress=record
    )
    assert heard == [(done, 6) for done in range(1, 7)]  # 36 windows: 2 batches of 3 steps

    class Stop(Exception):
        pass

    def stop_at_two(done: int, total: int) -> None:
        if done == 2:
            raise Stop

    with pytest.raises(Stop):
        decoded_latents(model, windows, initial, statistics, WEIGHTS, 50, progress=stop_at_two)


def test_adam_step_follows_torch_optim_adam() -> None:
    torch.manual_seed(0)
    start = torch.randn(4, 16)
    mine, theirs = start.clone(), start.clone().requires_grad_(True)
    optimiser = torch.optim.Adam([theirs], lr=0.05)
    moments = torch.zeros_like(mine), torch.zeros_like(mine)
    for step in range(1, 31):
        gradient = torch.sin(3 * mine) + mine**3  # a gradient that changes as the values move
        theirs.grad = torch.sin(3 * theirs.detach()) + theirs.detach() ** 3
        adam_step(mine, gradient, moments, step, 0.05)
        optimiser.step()
    torch.testing.assert_close(mine, theirs.detach(), rtol=1e-5, atol=1e-6)
    assert (mine - start).abs().max() > 0.5  # it moved


def test_a_foot_contact_weight_makes_the_fit_follow_the_planted_feet_more_closely() -> None:
    model, exact, initial, statistics = fitting_problem()
    # every pose feature offset by a constant: no latent decodes these exactly, so the fit
    # trades its terms against each other
    noise = torch.Generator().manual_seed(5)
    windows = [window + 0.3 * torch.randn(window.shape[-1], generator=noise) for window in exact]

    def foot_contact(latents: torch.Tensor) -> float:
        target, mask = padded_windows(windows, statistics, torch.device("cpu"))
        with torch.no_grad():
            decoded = model.decode(latents, mask)
        terms = reconstruction_losses(decoded, target, mask, statistics, model.config.fps)
        return float(terms["foot_contact"])

    plain = decoded_latents(model, windows, initial, statistics, WEIGHTS, steps=30)
    feet = decoded_latents(
        model, windows, initial, statistics, WEIGHTS | {"foot_contact": 1e4}, steps=30
    )
    assert foot_contact(feet) < 0.9 * foot_contact(plain), (foot_contact(feet), foot_contact(plain))


def test_padding_under_a_zero_mean_leaves_the_terms_and_gradients_finite() -> None:
    # identity statistics decode padding to zero 6D columns, a degenerate rotation
    torch.manual_seed(0)
    model = MotionClipModel(tiny_config(16)).eval()
    statistics = FeatureStatistics.identity()
    windows = [rest_features() + 0.1 * torch.randn(frames, FEATURE_DIM) for frames in (12, 20)]
    target, mask = padded_windows(windows, statistics, torch.device("cpu"))
    latents = torch.randn(2, 16, requires_grad=True)
    terms = reconstruction_losses(
        model.decode(latents, mask), target, mask, statistics, model.config.fps
    )
    torch.stack(list(terms.values())).sum().backward()
    assert all(torch.isfinite(value) for value in terms.values()), terms
    assert latents.grad is not None and torch.isfinite(latents.grad).all()
