"""The maps from caption embeddings to motion latents: ridge regression and caption medoids."""

from __future__ import annotations

import torch

from training.text_to_latent import (
    DEFAULT_RIDGE,
    caption_medoid_rows,
    choose_ridge,
    fit_text_to_latent,
)


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


def test_captions_of_one_phrasing_hold_out_folds_of_captions() -> None:
    """Sentences (a BVH folder's captions) have one phrasing each: leaving "it" out would fit
    on nothing, so folds of captions are left out instead; one caption alone gets the default."""
    generator = torch.Generator().manual_seed(3)
    captions = torch.randn(12, 20, generator=generator)
    rows = torch.arange(36) % 12  # three windows per caption
    latents = captions[rows, :3] + 0.1 * torch.randn(36, 3, generator=generator)
    phrasings = torch.zeros(36, dtype=torch.long)
    chosen = choose_ridge(captions[rows], latents, phrasings, (1e-6, 1.0, 1e6))
    assert chosen in (1e-6, 1.0)  # a finite choice, not an error; an overwhelming ridge loses
    single = choose_ridge(captions[:1].expand(5, -1), latents[:5], phrasings[:5])
    assert single == DEFAULT_RIDGE
