"""Prepared data: every window's pose vectors and labels, in one cached file.

Windows are stored back to back: `features` (F, 147) holds all frames and window i is
features[offsets[i]:offsets[i + 1]]. Per window: its split, source, clip group, content label,
raw label, style, user text and captions. `key` identifies the inputs and code that made it.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from motionclip_blender.core.atomic import write_atomically
from motionclip_blender.core.errors import MotionClipError
from motionclip_blender.core.pose_features import FeatureStatistics

FORMAT = "motionclip-blender-prepared-data"


@dataclass(frozen=True)
class WindowLabels:
    """The labels of one window."""

    split: str
    source: str
    group: str
    content: str
    raw_label: str
    style: str
    text: str
    captions: list[str]
    licence: str


LABEL_FIELDS = tuple(f.name for f in dataclasses.fields(WindowLabels))


def joined_licences(licences: Iterable[str]) -> str:
    """Licences, each once, most restrictive (non-commercial) first, '; '-joined; a licence that
    is itself such a list (a checkpoint's) counts as its parts, so joining it again repeats none."""
    names = {name for licence in licences for name in licence.split("; ")}
    return "; ".join(sorted(names, key=lambda name: ("non-commercial" not in name, name)))


@dataclass
class PreparedData:
    """All windows of a dataset at the model's frame rate (see the module docstring)."""

    key: str
    fps: float
    features: torch.Tensor
    offsets: torch.Tensor
    labels: list[WindowLabels]
    summary: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.labels)

    def window(self, index: int) -> torch.Tensor:
        """(T, 147) pose vectors of window `index`."""
        return self.features[self.offsets[index] : self.offsets[index + 1]]

    def lengths(self) -> torch.Tensor:
        """(N,) frames per window."""
        return self.offsets[1:] - self.offsets[:-1]

    def indices(self, split: str) -> list[int]:
        """Windows of one split, in order."""
        return [i for i, labels in enumerate(self.labels) if labels.split == split]

    def statistics(self) -> FeatureStatistics:
        """Normalisation statistics over the training windows' frames."""
        train = self.indices("train")
        if not train:
            raise MotionClipError("the prepared data has no training windows")
        return FeatureStatistics.of(torch.cat([self.window(i) for i in train]))

    def licence(self, split: str = "train") -> str:
        """The licences of a split's data, most restrictive first, '; '-joined."""
        return joined_licences(labels.licence for labels in self.labels if labels.split == split)

    def content_key(self) -> str:
        """A digest (20 hex digits) of what the data holds: frame rate, windows and labels. Unlike
        `key`, which changes with any edit to the code that prepares data, it changes only when
        the prepared data does; results that depend on the data alone (the kept judge) are named
        by it."""
        digest = hashlib.sha256(repr(float(self.fps)).encode())
        for values in (self.features, self.offsets):
            digest.update(values.contiguous().numpy().tobytes())
        for labels in self.labels:
            digest.update(repr(dataclasses.astuple(labels)).encode())
        return digest.hexdigest()[:20]

    def save(self, path: Path) -> None:
        payload = {
            "format": FORMAT,
            "key": self.key,
            "fps": self.fps,
            "features": self.features,
            "offsets": self.offsets,
            "summary": self.summary,
        }
        for name in LABEL_FIELDS:
            payload[name] = [getattr(labels, name) for labels in self.labels]
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, lambda stream: torch.save(payload, stream))

    @classmethod
    def load(cls, path: Path) -> PreparedData:
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise MotionClipError(
                f"{path}: no prepared data; run python -m training.prepare first"
            ) from None
        except Exception as error:  # torch's unpickler raises many kinds on damaged files
            raise MotionClipError(f"{path}: unreadable prepared data ({error})") from None
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise MotionClipError(f"{path}: not a prepared-data file")
        columns = [payload[name] for name in LABEL_FIELDS]
        labels = [
            WindowLabels(**dict(zip(LABEL_FIELDS, row, strict=True)))
            for row in zip(*columns, strict=True)
        ]
        return cls(
            payload["key"],
            payload["fps"],
            payload["features"],
            payload["offsets"],
            labels,
            payload["summary"],
        )
