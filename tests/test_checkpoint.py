"""Checkpoints: identical outputs after a round trip, strict validation with clear errors."""

from __future__ import annotations

import hashlib
import io
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch

from motionclip_blender.core import checkpoint as checkpoint_module
from motionclip_blender.core import inference
from motionclip_blender.core.checkpoint import (
    FORMAT_VERSION,
    CaptionLatents,
    from_model,
    load_checkpoint,
    resolve_checkpoint_path,
    save_checkpoint,
)
from motionclip_blender.core.errors import CheckpointError
from motionclip_blender.core.model import MotionClipModel, frame_mask
from motionclip_blender.core.pose_features import FEATURE_DIM, FeatureStatistics
from tests.tiny_models import relative_change, tiny_config


def payload_of(path: Path) -> dict[str, Any]:
    return torch.load(path, weights_only=True)  # type: ignore[no-any-return]


def test_saved_and_loaded_model_gives_identical_outputs(tmp_path: Path) -> None:
    torch.manual_seed(3)
    model = MotionClipModel(tiny_config(16)).eval()
    statistics = FeatureStatistics(torch.randn(FEATURE_DIM), torch.rand(FEATURE_DIM) + 0.5)
    texts = ("a person walks", "a person runs", "a person jumps", "a person bows", "a person waves")
    captions = CaptionLatents(torch.randn(5, 16), torch.randn(5, 16), 0.01, texts)
    original = from_model(
        model,
        "minilm",
        statistics=statistics,
        text_latent_scaling="nearest_captions",
        motion_latent_norm=2.5,
        caption_latents=captions,
        training_data="16 windows of noise",
        licence="CC0",
        metrics={"top1": 0.5},
    )
    path = tmp_path / "model.pt"
    save_checkpoint(original, path)
    loaded = load_checkpoint(path)
    assert loaded.identity == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (loaded.config, loaded.text_space, loaded.text_latent_scaling) == (
        original.config,
        "minilm",
        "nearest_captions",
    )
    assert loaded.caption_latents is not None and loaded.caption_latents.temperature == 0.01
    assert torch.equal(loaded.caption_latents.latents, captions.latents)
    assert loaded.caption_latents.texts == texts
    assert (loaded.motion_latent_norm, loaded.training_data, loaded.licence, loaded.metrics) == (
        2.5,
        "16 windows of noise",
        "CC0",
        {"top1": 0.5},
    )
    assert torch.equal(loaded.statistics.std, statistics.std)
    features = torch.randn(2, 40, FEATURE_DIM)
    mask = frame_mask(torch.tensor([40, 25]), 40)
    with torch.no_grad():
        expected = original.build_model()(features, mask)
        actual = loaded.build_model()(features, mask)
        live = model(features, mask)
    assert torch.equal(expected[0], actual[0]) and torch.equal(expected[1], actual[1])
    assert 0 < relative_change(actual[0], live[0]) < 1e-3  # float16 rounding, and no more


def test_weights_are_stored_in_float16_and_read_from_either_precision(tmp_path: Path) -> None:
    torch.manual_seed(4)
    model = MotionClipModel(tiny_config(16)).eval()
    path = tmp_path / "model.pt"
    save_checkpoint(from_model(model, "clip"), path)
    payload = payload_of(path)
    assert {value.dtype for value in payload["state_dict"].values()} == {torch.float16}

    payload["state_dict"] = model.state_dict()  # a float32 file, as written before float16
    older = tmp_path / "older.pt"
    torch.save(payload, older)
    weights = load_checkpoint(older).state_dict
    stored = load_checkpoint(path).state_dict
    assert all(weights[name].dtype == torch.float32 for name in weights)
    assert all(torch.equal(weights[name], stored[name]) for name in weights)

    with torch.no_grad():
        model.decoder.to_pose.bias[0] = 1e5
    with pytest.raises(CheckpointError, match=r"decoder\.to_pose\.bias .*beyond float16's range"):
        save_checkpoint(from_model(model, "clip"), tmp_path / "huge.pt")
    assert not (tmp_path / "huge.pt").exists()


def test_truncated_and_corrupt_files_are_named(tiny_checkpoint: Path, tmp_path: Path) -> None:
    data = tiny_checkpoint.read_bytes()
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(data[: len(data) // 2])
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(data[:100] + bytes(1000) + data[1100:])
    noise = tmp_path / "noise.pt"
    noise.write_bytes(b"\x89PNG not a checkpoint")
    short = tmp_path / "short.pt"
    short.write_bytes(b"broken")
    for path in (truncated, corrupt, noise, short):
        with pytest.raises(CheckpointError, match=f"{path}: .*(truncated|corrupt|inconsistent)"):
            load_checkpoint(path)
    with pytest.raises(CheckpointError, match=r"of another kind \(not a file torch.save wrote"):
        load_checkpoint(short)  # torch's own words name only a byte's code
    with pytest.raises(CheckpointError) as cut:
        load_checkpoint(truncated)  # a cut download of a real one keeps torch's reason
    assert "not a file torch.save wrote" not in str(cut.value)
    with pytest.raises(CheckpointError, match="no such checkpoint file"):
        load_checkpoint(tmp_path / "absent.pt")


def test_clips_torchscript_weights_given_as_the_checkpoint_are_named(
    tiny_clip_path: Path,
) -> None:
    with pytest.raises(CheckpointError, match=r"a TorchScript file, such as CLIP's ViT-B-32\.pt"):
        load_checkpoint(tiny_clip_path)


def rewritten(source: Path, target: Path, **changes: Any) -> Path:
    payload = payload_of(source)
    payload.update(changes)
    torch.save(payload, target)
    return target


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"format_version": FORMAT_VERSION + 1}, "format version 2; .* reads version 1"),
        ({"format": "something-else"}, "not a MotionCLIP for Blender checkpoint"),
        ({"text_dim": 384}, "text space dimension 384 differs from the latent dimension 32"),
        ({"feature_dim": 138}, "pose representation"),
        ({"text_latent_scaling": "huge"}, "text latent scaling 'huge'"),
        ({"motion_latent_norm": -1.0}, "positive number"),
        ({"text_to_latent": torch.zeros(32, 32)}, "text_to_latent must be a \\(33, 32\\) tensor"),
        ({"text_latent_scaling": "regressed"}, "'regressed' needs a text_to_latent map"),
        ({"text_latent_scaling": "nearest_captions"}, "'nearest_captions' needs caption_latents"),
        (
            {"caption_latents": {"embeddings": torch.zeros(3, 32), "latents": torch.zeros(2, 32)}},
            "caption_latents must hold",
        ),
        (
            {
                "caption_latents": {
                    "embeddings": torch.zeros(3, 32),
                    "latents": torch.zeros(3, 16),
                    "temperature": 0.1,
                }
            },
            "two \\(K, 32\\) tensors",
        ),
        (
            {
                "caption_latents": {
                    "embeddings": torch.zeros(3, 32),
                    "latents": torch.zeros(2, 32),
                    "temperature": 0.1,
                }
            },
            "3 embeddings but 2 latents",
        ),
        (
            {
                "caption_latents": {
                    "embeddings": torch.zeros(3, 32),
                    "latents": torch.zeros(2, 32),
                    "latent_index": torch.tensor([0, 1, 2]),
                    "temperature": 0.1,
                }
            },
            "latent_index must be 3 integers in 0..1",
        ),
        (
            {
                "caption_latents": {
                    "embeddings": torch.zeros(3, 32),
                    "latents": torch.zeros(3, 32),
                    "temperature": 0.0,
                }
            },
            "temperature must be positive",
        ),
        (
            {
                "caption_latents": {
                    "embeddings": torch.zeros(3, 32),
                    "latents": torch.zeros(3, 32),
                    "temperature": 0.1,
                    "texts": ["a person walks", "a person runs"],
                }
            },
            "texts must be a list of 3 strings",
        ),
        ({"licence": 3}, "field 'licence' must be a str"),
        ({"metrics": {"a": "b"}}, "metrics must map names to numbers"),
        ({"extra": 1}, "unknown fields: \\['extra'\\]"),
        ({"statistics": {"mean": torch.zeros(FEATURE_DIM)}}, "statistics must hold"),
        ({"config": {"latent_dim": 32}}, "model configuration has fields"),
    ],
)
def test_inconsistent_metadata_is_refused(
    tiny_checkpoint: Path, tmp_path: Path, changes: dict[str, Any], message: str
) -> None:
    path = rewritten(tiny_checkpoint, tmp_path / "bad.pt", **changes)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(path)


def test_weights_that_do_not_fit_the_config_are_refused(
    tiny_checkpoint: Path, tmp_path: Path
) -> None:
    state = payload_of(tiny_checkpoint)["state_dict"]
    missing = {k: v for k, v in state.items() if not k.startswith("decoder.to_pose")}
    resized = {**state, "encoder.to_latent.weight": torch.zeros(5, 5)}
    for name, bad_state in (("missing", missing), ("resized", resized)):
        path = rewritten(tiny_checkpoint, tmp_path / f"{name}.pt", state_dict=bad_state)
        with pytest.raises(CheckpointError, match="inconsistent checkpoint"):
            load_checkpoint(path)


def test_a_grown_model_round_trips_and_older_files_without_the_fields_load(
    tiny_checkpoint: Path, tmp_path: Path
) -> None:
    grown = replace(tiny_config(), decoder_feedforward=96, decoder_memory=2, encoder_velocity=True)
    model = MotionClipModel(grown)
    model.adopt_statistics(
        FeatureStatistics(torch.zeros(FEATURE_DIM), torch.full((FEATURE_DIM,), 0.5))
    )
    save_checkpoint(from_model(model, "clip"), tmp_path / "grown.pt")
    loaded = load_checkpoint(tmp_path / "grown.pt")
    assert loaded.config == grown
    assert torch.equal(loaded.build_model().encoder.translation_std, torch.full((3,), 0.5))
    config = payload_of(tiny_checkpoint)["config"]
    newer = ("decoder_feedforward", "decoder_memory", "encoder_velocity")
    older = {k: v for k, v in config.items() if k not in newer}
    loaded = load_checkpoint(rewritten(tiny_checkpoint, tmp_path / "older.pt", config=older))
    assert loaded.config == tiny_config()


def test_pickled_code_is_never_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    class Payload:
        def __reduce__(self) -> tuple[Any, ...]:
            return (print, ("pickled code ran",))

    path = tmp_path / "evil.pt"
    buffer = io.BytesIO()
    torch.save({"format": Payload()}, buffer)
    path.write_bytes(buffer.getvalue())
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(path)
    assert "pickled code ran" not in capsys.readouterr().out


def test_default_checkpoint_is_the_bundled_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checkpoint_module, "WEIGHTS_FOLDER", tmp_path)
    with pytest.raises(CheckpointError, match="no checkpoint given and no bundled model"):
        resolve_checkpoint_path(None)
    (tmp_path / checkpoint_module.BUNDLED_NAME).touch()
    assert resolve_checkpoint_path(None) == tmp_path / "motionclip-minilm.pt"
    assert resolve_checkpoint_path("other.pt") == Path("other.pt")
    assert resolve_checkpoint_path("~/other.pt") == Path.home() / "other.pt"


def test_captions_of_one_motion_store_its_latent_once(tmp_path: Path) -> None:
    motions = torch.randn(2, 32)
    captions = CaptionLatents(torch.randn(5, 32), motions[[1, 0, 1, 1, 0]], 0.01, ("a",) * 5)
    model = MotionClipModel(tiny_config())
    path = tmp_path / "shared.pt"
    save_checkpoint(from_model(model, "clip", caption_latents=captions), path)
    stored = payload_of(path)["caption_latents"]
    assert stored["latents"].shape == (2, 32) and stored["latent_index"].shape == (5,)
    loaded = load_checkpoint(path).caption_latents
    assert loaded is not None and torch.equal(loaded.latents, captions.latents)
    assert torch.equal(loaded.embeddings, captions.embeddings)


def test_caption_latents_written_before_their_texts_still_load(
    tiny_checkpoint: Path, tmp_path: Path
) -> None:
    captions = {"embeddings": torch.zeros(3, 32), "latents": torch.ones(3, 32), "temperature": 0.1}
    path = rewritten(tiny_checkpoint, tmp_path / "old.pt", caption_latents=captions)
    loaded = load_checkpoint(path).caption_latents
    assert (
        loaded is not None and loaded.texts == () and torch.equal(loaded.latents, torch.ones(3, 32))
    )


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_caption_latents_stored_at_another_precision_generate(
    tiny_checkpoint: Path, tiny_clip_path: Path, tmp_path: Path, dtype: torch.dtype
) -> None:
    """A checkpoint written by other code may store them as float16 or float64: generation
    compared them with float32 text embeddings ('expected m1 and m2 to have the same dtype')."""
    texts = ["a person walks", "a person runs", "a person jumps"]
    embeddings = inference.load(tiny_checkpoint, clip_weights=tiny_clip_path).encode_text(texts)
    captions = {
        "embeddings": embeddings.to(dtype),
        "latents": torch.randn(3, 32).to(dtype),
        "temperature": 0.1,
        "texts": texts,
    }
    path = rewritten(
        tiny_checkpoint,
        tmp_path / "other.pt",
        caption_latents=captions,
        text_latent_scaling="nearest_captions",
    )
    session = inference.load(path, clip_weights=tiny_clip_path)
    assert session.generate("a person walks", seconds=1.0).num_frames == 20
    assert "a person" in session.prompt_report("a person walks")
