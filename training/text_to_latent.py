"""The maps from text embeddings to motion latents that "regressed" and "nearest_captions"
generation decode.

The auto-encoder aligns motion latents with text only by direction (cosine), so a text embedding
itself lies away from the latents the decoder was trained on. A ridge regression from every
training caption's embedding to its window's latent puts a prompt where the motions described
like it lie. Users word prompts unlike any caption, so the ridge is chosen by how well the map
predicts the latents from a phrasing it was not fitted on (leave one phrasing out), not by its
fit to the training captions, which a near-zero ridge wins by memorising their wording.

"nearest_captions" keeps one latent per training caption instead (checkpoint.CaptionLatents),
for the caption's medoid window, a real motion, since an average of motions decodes to a blur of
them. The encoder's latent of that window decodes to a smoothed copy of it, losing what makes
rare actions recognisable, so the stored latent is fitted with the decoder fixed to decode the
window itself (core.reconstruction.decoded_latents), as GAN inversion refines an encoder's
guess. Its temperature is chosen by how well the validation split's generated motions are
recognised (training.train).
"""

from __future__ import annotations

import torch

RIDGES = (0.01, 0.1, 1.0, 3.0, 10.0, 30.0, 100.0)
TEMPERATURES = (0.003, 0.01, 0.03)  # of nearest_captions' softmax over cosine similarities


def fit_text_to_latent(
    embeddings: torch.Tensor, latents: torch.Tensor, ridge: float
) -> torch.Tensor:
    """Least squares with a ridge penalty: embeddings (N, D), latents (N, L) -> (D + 1, L), the
    weights with the bias as the last row (the bias is not penalised)."""
    inputs = torch.cat([embeddings, torch.ones(len(embeddings), 1)], dim=1).double()
    penalty = torch.eye(inputs.shape[1], dtype=torch.float64) * ridge
    penalty[-1, -1] = 0.0
    solution = torch.linalg.solve(inputs.T @ inputs + penalty, inputs.T @ latents.double())
    return solution.float()


def held_out_phrasing_error(
    embeddings: torch.Tensor, latents: torch.Tensor, phrasings: torch.Tensor, ridge: float
) -> float:
    """Mean squared error of latents predicted for each phrasing (N,) by a map fitted on the
    other phrasings: embeddings (N, D), latents (N, L)."""
    total = 0.0
    for phrasing in phrasings.unique():
        held = phrasings == phrasing
        weights = fit_text_to_latent(embeddings[~held], latents[~held], ridge)
        predicted = embeddings[held] @ weights[:-1] + weights[-1]
        total += float((predicted - latents[held]).square().sum())
    return total / len(embeddings)


def choose_ridge(
    embeddings: torch.Tensor,
    latents: torch.Tensor,
    phrasings: torch.Tensor,
    ridges: tuple[float, ...] = RIDGES,
) -> float:
    """The ridge of `ridges` with the least held_out_phrasing_error."""
    return min(ridges, key=lambda r: held_out_phrasing_error(embeddings, latents, phrasings, r))


def caption_medoid_rows(latents: torch.Tensor, rows: list[list[int]]) -> list[int]:
    """For each caption, given the rows of `latents` (N, L) of the windows it describes, the row
    whose latent is nearest to their mean: K row indices for K captions."""
    medoids = []
    for caption_rows in rows:
        own = latents[caption_rows]
        medoids.append(caption_rows[int((own - own.mean(0)).norm(dim=-1).argmin())])
    return medoids
