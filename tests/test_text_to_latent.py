"""The maps from caption embeddings to motion latents: ridge regression, caption medoids and
their fitted latents."""

from __future__ import annotations

import torch

from motionclip_blender.core import rotations as rot
from motionclip_blender.core.model import MotionClipModel
from motionclip_blender.core.pose_features import FEATURE_DIM, FeatureStatistics
from training.evaluate import padded_windows
from training.losses import reconstruction_losses
from training.text_to_latent import (
    caption_medoid_rows,
    choose_ridge,
    decoded_latents,
    fit_text_to_latent,
)

from .tiny_models import tiny_config


def test_an_affine_relation_is_recovered_and_the_bias_is_not_shrunk() -> None:
    generator = torch.Generator().manual_seed(0)
    embeddings = torch.randn(500, 8, generator=generator)
    weights, bias = torch.randn(8, 6, generator=generator), torch.full((6,), 40.0)
    fitted = fit_text_to_latent(embeddings, embeddings @ weights + bias, ridge=1e-6)
    torch.testing.assert_close(fitted[:-1], weights, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(fitted[-1], bias, atol=1e-4, rtol=1e-4)


def test_the_ridge_shrinks_weights_towards_zero() -> None:
    generator = torch.Generator().manual_seed(1)
    embeddings = torch.randn(50, 8, generator=generator)
    latents = torch.randn(50, 6, generator=generator)
    loose = fit_text_to_latent(embeddings, latents, ridge=1e-6)[:-1].norm()
    tight = fit_text_to_latent(embeddings, latents, ridge=100.0)[:-1].norm()
    assert tight < loose / 2


def test_the_chosen_ridge_ignores_what_only_one_phrasing_says() -> None:
    # latents follow the first 4 embedding dimensions; one phrasing of each window adds a
    # spurious private feature whose fit does not carry over to the other phrasings
    generator = torch.Generator().manual_seed(2)
    meaning = torch.randn(200, 4, generator=generator)
    latents = meaning @ torch.randn(4, 3, generator=generator)
    embeddings, targets, phrasings = [], [], []
    for phrasing in range(3):
        noise = 0.05 * torch.randn(200, 20, generator=generator)
        embeddings.append(torch.cat([meaning, noise], dim=1))
        targets.append(latents)
        phrasings += [phrasing] * 200
    inputs, outputs = torch.cat(embeddings), torch.cat(targets)
    outputs = outputs + 0.3 * torch.randn(outputs.shape, generator=generator)
    chosen = choose_ridge(inputs, outputs, torch.tensor(phrasings), (1e-6, 1.0, 1e6))
    assert chosen == 1.0  # neither no penalty (fits noise) nor an overwhelming one


def test_caption_medoids_are_the_rows_nearest_each_captions_mean() -> None:
    latents = torch.tensor([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0], [5.0, 5.0], [6.0, 5.0]])
    # mean of the first caption's latents is (4/3, 0): the row (1, 0) is nearest, not the mean;
    # the rows are those of `latents`, not positions within a caption's own list
    assert caption_medoid_rows(latents, [[0, 1, 2], [3, 4], [2]]) == [1, 3, 2]
    assert caption_medoid_rows(latents, [[4, 2, 1]]) == [2]


def fitting_problem() -> tuple[
    MotionClipModel, list[torch.Tensor], torch.Tensor, FeatureStatistics
]:
    """A random tiny model, three windows of different lengths (in no length order) that it
    decodes from hidden latents, initial latents away from those, and statistics centred on the
    rest pose (padding decodes to it, as in real data, not to degenerate rotations)."""
    torch.manual_seed(0)
    model = MotionClipModel(tiny_config(16)).eval()
    rest = torch.cat([rot.axis_angle_to_6d(torch.zeros(24, 3)).flatten(), torch.zeros(3)])
    statistics = FeatureStatistics(rest, torch.ones(FEATURE_DIM))
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
