"""Shared test set-up.

Blender (the bpy package) must write nothing into the home folder: its user resources and caches
go to a temporary folder made before any test imports bpy.
"""

from __future__ import annotations

import os
import tarfile
import tempfile
from pathlib import Path

import pytest

_SANDBOX = Path(tempfile.mkdtemp(prefix="motionclip-tests-"))
os.environ["BLENDER_USER_RESOURCES"] = str(_SANDBOX / "blender")
os.environ["XDG_CACHE_HOME"] = str(_SANDBOX / "cache")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
DATA_CACHE = REPO / ".cache" / "data"


def shared_dataset(name: str) -> Path:
    """The unpacked folder of ../shared/data/NAME.tar.xz, unpacked once into the git-ignored cache.

    Skips the test when the shared data is absent (a user's clone has none).
    """
    archive = SHARED_DATA / f"{name}.tar.xz"
    if not archive.is_file():
        pytest.skip(f"needs the shared motion data ({archive} is absent in this checkout)")
    target = DATA_CACHE / name
    marker = DATA_CACHE / f".{name}.unpacked"
    if not marker.is_file() or marker.stat().st_mtime < archive.stat().st_mtime:
        DATA_CACHE.mkdir(parents=True, exist_ok=True)
        with tarfile.open(archive) as tar:
            tar.extractall(DATA_CACHE, filter="data")
        marker.touch()
    return target


@pytest.fixture(scope="session")
def tiny_clip_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random CLIP saved as a TorchScript archive, like the released ViT-B-32.pt."""
    from tests.tiny_models import save_tiny_clip_torchscript, tiny_clip

    path = tmp_path_factory.mktemp("clip") / "tiny-clip.pt"
    save_tiny_clip_torchscript(tiny_clip(), path)
    return path


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small random MotionCLIP checkpoint in the tiny CLIP's space."""
    from tests.tiny_models import save_tiny_checkpoint

    path = tmp_path_factory.mktemp("checkpoint") / "tiny.pt"
    save_tiny_checkpoint(path)
    return path


@pytest.fixture(scope="session")
def captioned_checkpoint(
    tmp_path_factory: pytest.TempPathFactory, tiny_checkpoint: Path, tiny_clip_path: Path
) -> Path:
    """The tiny checkpoint with three training captions stored, so prompts are told the
    closest of them; it generates as the tiny checkpoint does (its default scaling)."""
    import dataclasses

    from motionclip_blender.core.checkpoint import CaptionLatents, save_checkpoint
    from motionclip_blender.core.inference import load

    session = load(tiny_checkpoint, clip_weights=tiny_clip_path)
    texts = ("a person walks", "a person jumps", "a person waves")
    captions = CaptionLatents(
        session.encode_text(texts).cpu(), session.text_latents(texts).cpu(), 0.01, texts
    )
    path = tmp_path_factory.mktemp("captioned") / "captioned.pt"
    save_checkpoint(dataclasses.replace(session.checkpoint, caption_latents=captions), path)
    return path
