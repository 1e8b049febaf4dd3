"""An independent action classifier for judging generated motions.

It reads joint positions (forward kinematics of canonicalised windows), not the model's latents,
and is trained on the real training windows only: an ensemble of small temporal convolution
networks trained from different seeds, whose first member's pooled hidden features also serve for
the Frechet distance and diversity of generated motions. Its loss weighs each class by the inverse
square root of its window count: the training split holds 1 to 321 windows per label, and an
unweighted loss learnt to call rare labels by their common neighbours (a real dash "run").
Trained once per prepared dataset and cached (or kept, see KEPT).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from motionclip_blender.core.atomic import write_atomically
from motionclip_blender.core.kinematics import forward_kinematics
from motionclip_blender.core.model import frame_mask
from motionclip_blender.core.pose_features import FEATURE_DIM, features_to_pose

from .prepared import PreparedData

logger = logging.getLogger(__name__)

HIDDEN = 128
EPOCHS = 30
BATCH = 64
MEMBERS = 5  # networks (seeds) whose log-probabilities are averaged: no one draw decides
VERSION = 3  # of the recipe: a cached classifier of another version is retrained
KEPT = Path(__file__).parent / "judges"  # classifiers kept with the code, by prepared data content


def joint_tracks(features: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Windows' pose vectors [(T_i, 147)] -> padded joints (B, T, 72) and mask (B, T)."""
    padded = nn.utils.rnn.pad_sequence(features, batch_first=True)
    mask = frame_mask(torch.tensor([len(f) for f in features]), padded.shape[1])
    joints = forward_kinematics(*features_to_pose(padded.reshape(-1, FEATURE_DIM)))
    joints = joints.reshape(*padded.shape[:2], -1)
    return torch.where(mask[..., None], joints, 0.0), mask  # padding (zero 6D) gives NaN


class ActionClassifier(nn.Module):
    """Joints (B, T, 72) and mask (B, T) -> class logits (B, classes); `features` gives the
    pooled hidden vector (B, 2 * HIDDEN) before the last layer.

    Padding frames are zeroed at the input and after every convolution, so a window's logits
    are those it gets alone, whatever longer windows share its batch."""

    def __init__(self, classes: list[str]) -> None:
        super().__init__()
        self.classes = classes
        self.convolutions = nn.ModuleList(
            [
                nn.Conv1d(72 * 2, HIDDEN, 5, padding=2),
                nn.Conv1d(HIDDEN, HIDDEN, 5, padding=2),
                nn.Conv1d(HIDDEN, HIDDEN, 5, padding=4, dilation=2),
            ]
        )
        self.head = nn.Linear(2 * HIDDEN, len(classes))

    def features(self, joints: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        weights = mask[:, None].to(joints.dtype)  # (B, 1, T)
        velocity = torch.cat([torch.zeros_like(joints[:, :1]), joints.diff(dim=1)], dim=1)
        hidden = torch.cat([joints, velocity * 10], -1).transpose(1, 2) * weights
        for convolution in self.convolutions:
            hidden = F.relu(convolution(hidden)) * weights
        mean = hidden.sum(-1) / weights.sum(-1).clamp(min=1)
        peak = hidden.masked_fill(~mask[:, None], float("-inf")).amax(-1)
        return torch.cat([mean, peak], dim=-1)

    def forward(self, joints: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(joints, mask))


class ClassifierEnsemble(nn.Module):
    """ActionClassifiers of the same classes: joints (B, T, 72) and mask (B, T) -> the members'
    mean log-probabilities (B, classes); `features` gives the first member's pooled features."""

    def __init__(self, members: list[ActionClassifier]) -> None:
        super().__init__()
        self.classes = members[0].classes
        self.members = nn.ModuleList(members)

    def features(self, joints: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return cast(ActionClassifier, self.members[0]).features(joints, mask)

    def forward(self, joints: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        scores = [F.log_softmax(member(joints, mask), dim=-1) for member in self.members]
        return torch.stack(scores).mean(0)


def class_weights(targets: torch.Tensor, classes: int) -> torch.Tensor:
    """Loss weight of each class (classes,) for training targets (N,): the inverse square root
    of its count, scaled so that the mean weight over the windows is 1."""
    counts = torch.bincount(targets, minlength=classes).float()
    weights = counts.clamp(min=1).rsqrt()
    return weights * len(targets) / (weights * counts).sum()


def train_classifier(data: PreparedData, members: int = MEMBERS) -> ClassifierEnsemble:
    """An ensemble of `members` networks trained from seeds 0, 1, ... (train_member)."""
    windows = data.indices("train")
    classes = sorted({data.labels[i].content for i in windows})
    targets = torch.tensor([classes.index(data.labels[i].content) for i in windows])
    tracks = [joint_tracks([data.window(i)])[0][0] for i in windows]  # forward kinematics once
    trained = [train_member(classes, tracks, targets, seed) for seed in range(members)]
    return ClassifierEnsemble(trained).eval().requires_grad_(False)


def train_member(
    classes: list[str], tracks: list[torch.Tensor], targets: torch.Tensor, seed: int
) -> ActionClassifier:
    """One network fitted to joint tracks [(T_i, 72)] and their class indices (N,) with the
    class-weighted cross-entropy (Adam, EPOCHS epochs), initialised and shuffled by `seed`."""
    torch.manual_seed(seed)
    model = ActionClassifier(classes)
    weights = class_weights(targets, len(classes))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(EPOCHS):
        order = torch.randperm(len(tracks))
        for start in range(0, len(tracks), BATCH):
            chosen = order[start : start + BATCH].tolist()
            joints = nn.utils.rnn.pad_sequence([tracks[i] for i in chosen], batch_first=True)
            lengths = torch.tensor([len(tracks[i]) for i in chosen])
            mask = frame_mask(lengths, joints.shape[1])
            loss = F.cross_entropy(model(joints, mask), targets[chosen], weight=weights)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model


def load_classifier(path: Path) -> ClassifierEnsemble:
    """A classifier saved by cached_classifier (float16 weights), ready to judge in float32."""
    saved = torch.load(path, weights_only=True)
    members = [ActionClassifier(saved["classes"]) for _ in range(saved["members"])]
    model = ClassifierEnsemble(members)
    model.load_state_dict(saved["state"])
    return model.eval().requires_grad_(False)


def cached_classifier(data: PreparedData, cache: Path) -> ClassifierEnsemble:
    """The classifier of this prepared data: the one kept in KEPT for it, else the one cached,
    else trained now and cached. Kept because training it again on another CPU gives another
    classifier (float rounding): a single network's generated-motion figure moved by 10 points.
    Named by the data's content (PreparedData.content_key), so that an edit to the code that
    prepares the same data still finds it."""
    name = f"classifier-v{VERSION}-{data.content_key()}.pt"
    for path in (KEPT / name, cache / name):
        if path.is_file():
            return load_classifier(path)
    path = cache / name
    logger.info("training the independent action classifier")
    model = train_classifier(data)
    state = {name: value.half() for name, value in model.state_dict().items()}  # half the bytes
    payload = {"classes": model.classes, "members": len(model.members), "state": state}
    cache.mkdir(parents=True, exist_ok=True)
    write_atomically(path, lambda stream: torch.save(payload, stream))
    return load_classifier(path)  # the float16 weights, as every later load judges
