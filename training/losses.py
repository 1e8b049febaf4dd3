"""The training losses: the paper's reconstruction and alignment terms, plus InfoNCE.

Reconstruction: the terms of motionclip_blender.core.reconstruction, which inference uses too.
Alignment: 1 - cosine between the motion latent and the caption's (text) or a rendered frame's
(image) embedding, as in the paper; and a symmetric InfoNCE over the batch's motion and caption
latents (TMR), where windows with the same caption are not counted as negatives.
"""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F

from motionclip_blender.core.smpl_body import load_smpl


class SmplVertices:
    """Mesh vertices of the SMPL body (neutral shape) from a user's licensed model folder.

    The folder is the one the extension's preferences take (core.smpl_body.find_model_file:
    SMPL_NEUTRAL.npz, or a .pkl without chumpy objects, in it or in its smpl/ subfolder); a
    missing or unusable model is a MotionFileError naming it. The root rotates about the model's
    own root joint and the translation is added, as in AMASS: the vertices lie where the
    Blender body (core.smpl_body) skinned to the same motion puts them.
    """

    def __init__(self, model_folder: str | os.PathLike[str], device: torch.device) -> None:
        self.body = load_smpl(model_folder).to(device).requires_grad_(False)

    def __call__(self, rotations: torch.Tensor, translation: torch.Tensor) -> torch.Tensor:
        """(..., 24, 3, 3) local rotations and (..., 3) root translation -> (..., 6890, 3)."""
        lead = rotations.shape[:-3]
        flat = rotations.reshape(-1, 24, 3, 3)
        output = self.body(
            global_orient=flat[:, :1],
            body_pose=flat[:, 1:],
            transl=translation.reshape(-1, 3),
            pose2rot=False,
        )
        return output.vertices.reshape(*lead, -1, 3)


def cosine_loss(latents: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean of 1 - cos over rows of (B, D) and (B, D)."""
    return (1 - F.cosine_similarity(latents, targets.to(latents), dim=-1)).mean()


def info_nce(
    latents: torch.Tensor, texts: torch.Tensor, same_text: torch.Tensor, temperature: float
) -> torch.Tensor:
    """Symmetric InfoNCE of (B, D) motion and text latents; same_text (B, B) marks pairs that
    share a caption, which are left out as negatives."""
    logits = F.normalize(latents, dim=-1) @ F.normalize(texts.to(latents), dim=-1).T / temperature
    eye = torch.eye(len(logits), dtype=torch.bool, device=logits.device)
    logits = logits.masked_fill(same_text & ~eye, float("-inf"))
    target = torch.arange(len(logits), device=logits.device)
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
