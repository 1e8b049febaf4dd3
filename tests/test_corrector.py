"""The corrector: it starts as the encoder, trains alone, and gives motions back more closely."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from motionclip_blender.core.checkpoint import load_checkpoint
from motionclip_blender.core.inference import load
from motionclip_blender.core.model import MotionClipModel, frame_mask
from motionclip_blender.core.pose_features import FEATURE_DIM
from training.config import ConfigError, OptimConfig, load_config
from training.evaluate import reconstruction_errors
from training.train import Process, Trainer, main, parameter_groups
from training.widen import widened_state

from .test_training_loop import SPLITS, captioned_run, same_caption_latents
from .tiny_models import tiny_config
from .training_setup import write_config

CPU = Process(0, 1, torch.device("cpu"))
CORRECTOR_TRAINING = {"freeze_encoder": True, "freeze_decoder": True}


def test_a_new_corrector_gives_the_encoders_latent() -> None:
    torch.manual_seed(0)
    plain = MotionClipModel(tiny_config(16)).eval()
    correcting = MotionClipModel(replace(tiny_config(16), corrector=True)).eval()
    correcting.load_state_dict(widened_state(plain.state_dict(), correcting), strict=True)
    features = torch.randn(3, 30, FEATURE_DIM)
    mask = frame_mask(torch.tensor([30, 12, 21]), 30)
    with torch.no_grad():
        latents = plain.encode(features, mask)
        torch.testing.assert_close(correcting.corrected(features, mask, latents), latents)
        torch.testing.assert_close(correcting(features, mask)[0], plain(features, mask)[0])
        assert plain.corrected(features, mask, latents) is latents  # no corrector: unchanged
    correcting.train()
    correcting(features, mask)[0].square().mean().backward()
    assert correcting.corrector is not None and correcting.corrector.residual_embedding is not None
    gradient = correcting.corrector.residual_embedding.weight.grad
    assert gradient is not None and bool(gradient.abs().sum() > 0)  # the residual is read
    with pytest.raises(ValueError, match="only it, reads a residual"):
        plain.encoder(features, mask, features)


def test_the_corrector_trains_alone_and_reconstructs_more_closely(
    tmp_path: Path, tiny_clip_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, trained_path = captioned_run(tmp_path, tiny_clip_path)
    config = write_config(
        tmp_path / "b" / "c.toml",
        data,
        tiny_clip_path,
        data=SPLITS,
        model={"corrector": True},
        train={"steps": 60, **CORRECTOR_TRAINING},
    )
    assert main(["--config", str(config), "--init", str(trained_path)]) == 0
    trained = load_checkpoint(trained_path)
    tuned = load_checkpoint(tmp_path / "b" / "run" / "model.pt")
    assert tuned.config == replace(trained.config, corrector=True)
    for name, value in trained.state_dict.items():  # the encoder and decoder are as they were
        torch.testing.assert_close(tuned.state_dict[name], value, atol=0, rtol=0)
    assert "validation_corrected_mpjpe_mm" in tuned.metrics
    assert same_caption_latents(tuned.caption_latents, trained.caption_latents)  # the decoder's

    trainer = Trainer(load_config(config), CPU, init=tuned)
    model, windows = tuned.build_model(), trainer.data.indices("train")
    encoder = reconstruction_errors(model, trainer.data, windows, tuned.statistics)
    corrected = reconstruction_errors(
        model, trainer.data, windows, tuned.statistics, corrected=True
    )
    assert corrected["mpjpe_mm"] < 0.8 * encoder["mpjpe_mm"], (corrected, encoder)

    plain = write_config(tmp_path / "c" / "c.toml", data, tiny_clip_path, data=SPLITS)
    assert main(["--config", str(plain), "--init", str(tmp_path / "b" / "run" / "model.pt")]) == 2
    assert "corrector on (configuration: off; it can be added, not taken away)" in (
        capsys.readouterr().err
    )

    session = load(tmp_path / "b" / "run" / "model.pt", clip_weights=tiny_clip_path)
    motion = session.generate("a person walks", seconds=2.0)
    faithful = session.faithful_latents([motion], refine_steps=0)
    assert not torch.allclose(faithful, session.encode_motion([motion]))
    torch.testing.assert_close(faithful, session.corrected_latents([motion]))


def test_a_corrector_is_trained_with_the_encoder_and_decoder_frozen(
    tmp_path: Path, tiny_clip_path: Path
) -> None:
    data = tmp_path / "bvh"
    for train in ({}, {"freeze_decoder": True}, {"freeze_encoder": True}):
        path = write_config(
            tmp_path / "c.toml", data, tiny_clip_path, model={"corrector": True}, train=train
        )
        with pytest.raises(ConfigError, match="trains the corrector alone"):
            load_config(path)
    path = write_config(tmp_path / "c.toml", data, tiny_clip_path, train=CORRECTOR_TRAINING)
    with pytest.raises(ConfigError, match=re.escape("unless model.corrector = true")):
        load_config(path)


def test_the_residual_input_learns_at_its_own_rate() -> None:
    model = MotionClipModel(replace(tiny_config(16), corrector=True))
    model.encoder.requires_grad_(False)
    model.decoder.requires_grad_(False)
    rest, residual = parameter_groups(model, OptimConfig(lr=1e-4, residual_lr_scale=30.0))
    assert residual["lr"] == pytest.approx(3e-3) and "lr" not in rest
    assert model.corrector is not None and model.corrector.residual_embedding is not None
    fast = {id(p) for p in model.corrector.residual_embedding.parameters()}
    assert {id(p) for p in residual["params"]} == fast
    assert {id(p) for p in rest["params"]} == {id(p) for p in model.corrector.parameters()} - fast
