"""Frozen-encoder targets, computed once and cached: caption embeddings of the text space.

The cache file is keyed by the text space (its name, dimension and the embedding of a probe
sentence, which tells two sets of weights apart) and the exact captions.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import torch

from motionclip_blender.core.atomic import write_atomically
from motionclip_blender.core.text_spaces import TextSpace

logger = logging.getLogger(__name__)
BATCH = 256


def space_fingerprint(space: TextSpace) -> str:
    """Short hash that differs between text spaces and between weights of one space."""
    probe = space.encode_text(["a person walks forward"])
    digest = hashlib.sha256(f"{space.name}|{space.dim}".encode())
    digest.update(probe.numpy().round(4).tobytes())
    return digest.hexdigest()[:16]


def caption_embeddings(
    captions: list[str], space: TextSpace, cache: Path
) -> dict[str, torch.Tensor]:
    """Embedding (dim,) of every distinct caption, from the cache or encoded now and cached."""
    texts = sorted(set(captions))
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    path = cache / f"text-{space.name}-{space_fingerprint(space)}-{digest}.pt"
    if path.is_file():
        table = torch.load(path, weights_only=True)
    else:
        logger.info("encoding %d captions in the %s text space", len(texts), space.name)
        table = torch.cat(
            [space.encode_text(texts[i : i + BATCH]) for i in range(0, len(texts), BATCH)]
        )
        cache.mkdir(parents=True, exist_ok=True)
        write_atomically(path, lambda stream: torch.save(table, stream))
    return dict(zip(texts, table, strict=True))
