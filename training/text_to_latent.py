"""The maps from text embeddings to motion latents that "regressed" and "nearest_captions"
generation decode.

The auto-encoder aligns motion latents with text only by direction (cosine), so a text embedding
itself lies away from the latents the decoder was trained on. A ridge regression from every
training caption's embedding to its window's latent puts a prompt where the motions described
like it lie. Users word prompts unlike any caption, so the ridge is chosen by how well the map
predicts the latents from a phrasing it was not fitted on (leave one phrasing out; captions
with one phrasing, such as sentences, leave out folds of captions), not by its fit to the
training captions, which a near-zero ridge wins by memorising their wording.

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
DEFAULT_RIDGE = 1.0  # for a single caption, where no held-out choice can be made
CAPTION_FOLDS = 5
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


def held_out_error(
    embeddings: torch.Tensor, latents: torch.Tensor, groups: torch.Tensor, ridge: float
) -> float:
    """Mean squared error of latents predicted for each group of rows (N,) by a map fitted on
    the other groups: embeddings (N, D), latents (N, L)."""
    total = 0.0
    for group in groups.unique():
        held = groups == group
        weights = fit_text_to_latent(embeddings[~held], latents[~held], ridge)
        predicted = embeddings[held] @ weights[:-1] + weights[-1]
        total += float((predicted - latents[held]).square().sum())
    return total / len(embeddings)


def held_out_groups(embeddings: torch.Tensor, phrasings: torch.Tensor) -> torch.Tensor | None:
    """(N,) the groups to hold out in turn: the phrasings, or, when every caption has one
    phrasing (sentences, as a BVH folder's CSV gives), CAPTION_FOLDS folds of the distinct
    captions (rows of one caption share its embedding, so none is fitted on its own wording);
    None when there are not two captions to tell apart."""
    if phrasings.unique().numel() > 1:
        return phrasings
    captions = torch.unique(embeddings, dim=0, return_inverse=True)[1]
    return captions % CAPTION_FOLDS if int(captions.max()) > 0 else None


def choose_ridge(
    embeddings: torch.Tensor,
    latents: torch.Tensor,
    phrasings: torch.Tensor,
    ridges: tuple[float, ...] = RIDGES,
) -> float:
    """The ridge of `ridges` with the least held_out_error over held_out_groups (DEFAULT_RIDGE
    when there are none)."""
    groups = held_out_groups(embeddings, phrasings)
    if groups is None:
        return DEFAULT_RIDGE
    return min(ridges, key=lambda r: held_out_error(embeddings, latents, groups, r))


def caption_medoid_rows(latents: torch.Tensor, rows: list[list[int]]) -> list[int]:
    """For each caption, given the rows of `latents` (N, L) of the windows it describes, the row
    whose latent is nearest to their mean: K row indices for K captions."""
    medoids = []
    for caption_rows in rows:
        own = latents[caption_rows]
        medoids.append(caption_rows[int((own - own.mean(0)).norm(dim=-1).argmin())])
    return medoids
