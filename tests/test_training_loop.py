"""The training loop: a tiny model overfits, resume continues exactly, checkpoints load."""

from __future__ import annotations

import csv
import math
import re
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from motionclip_blender.core.checkpoint import CaptionLatents, load_checkpoint, save_checkpoint
from motionclip_blender.core.errors import MotionClipError
from motionclip_blender.core.inference import load
from motionclip_blender.core.model import MotionClipModel
from motionclip_blender.core.pose_features import FeatureStatistics
from motionclip_blender.core.reconstruction import decoded_latents
from training.batches import Batch
from training.config import ConfigError, OptimConfig, load_config
from training.evaluate import encode_windows
from training.prepare import prepare
from training.train import (
    Process,
    Trainer,
    TrainingStep,
    main,
    parameter_groups,
    replayed_windows,
    start_process,
    training_lineage,
)

from .tiny_models import TINY_CLIP_DIM, relative_change, tiny_config
from .training_setup import amass_dataset, write_config

CPU = Process(0, 1, torch.device("cpu"))


def test_tiny_model_overfits_16_windows(tmp_path: Path, tiny_clip_path: Path) -> None:
    data = tmp_path / "bvh"
    amass_dataset(data)
    config = load_config(
        write_config(tmp_path / "c.toml", data, tiny_clip_path, train={"steps": 250})
    )
    trainer = Trainer(config, CPU)
    assert len(trainer.data.indices("train")) == 16
    first = trainer.train_step()
    for _ in range(249):
        last = trainer.train_step()
    reconstruction = ("rotation", "joints", "velocity")
    before = sum(first[name] for name in reconstruction)
    after = sum(last[name] for name in reconstruction)
    assert after < before / 10, (before, after)


def test_label_floor_reaches_the_training_batches(tmp_path: Path, tiny_clip_path: Path) -> None:
    data = tmp_path / "bvh"
    amass_dataset(data)
    path = write_config(tmp_path / "c.toml", data, tiny_clip_path, train={"label_floor": 64})
    trainer = Trainer(load_config(path), CPU)
    train = trainer.data.indices("train")
    counts = Counter(trainer.data.labels[w].content for w in train)
    assert max(counts.values()) < 64  # every label is under the floor
    expected = sum(n * math.ceil(64 / n) for n in counts.values())
    assert len(trainer.batches.windows) == expected > len(train)


def test_resume_continues_from_the_saved_step(tmp_path: Path, tiny_clip_path: Path) -> None:
    data = tmp_path / "bvh"
    amass_dataset(data)

    def run_config(name: str) -> Path:
        return write_config(
            tmp_path / name / "c.toml",
            data,
            tiny_clip_path,
            train={"steps": 4, "log_every": 1, "out": str(tmp_path / name / "run")},
            model={"dropout": 0.1},
            optim={"final_lr_fraction": 1.0},  # a constant rate: stopping at 2 of 4 changes nothing
        )

    assert main(["--config", str(run_config("a"))]) == 0
    halves = run_config("b")
    assert main(["--config", str(halves), "--set", "train.steps=2"]) == 0
    assert main(["--config", str(halves), "--resume"]) == 0

    with (tmp_path / "b" / "run" / "log.csv").open() as stream:
        steps = [int(row["step"]) for row in csv.DictReader(stream)]
    assert steps == [1, 2, 3, 4]
    a = torch.load(tmp_path / "a" / "run" / "last.pt", weights_only=True)
    b = torch.load(tmp_path / "b" / "run" / "last.pt", weights_only=True)
    assert b["step"] == 4
    for name, value in a["model"].items():
        torch.testing.assert_close(b["model"][name], value)

    session = load(tmp_path / "b" / "run" / "model.pt", clip_weights=tiny_clip_path)
    assert session.checkpoint.licence.startswith("AMASS")
    assert session.checkpoint.metrics == {}  # no validation split to measure
    assert (tmp_path / "b" / "run" / "loss_curve.png").stat().st_size > 1000
    motion = session.generate("a person walks", seconds=1.5)
    assert motion.num_frames == 15


def test_resume_follows_the_prepared_datas_content_not_the_code_that_prepared_it(
    tmp_path: Path,
    tiny_clip_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = tmp_path / "bvh"
    amass_dataset(data)
    config = str(write_config(tmp_path / "c.toml", data, tiny_clip_path, train={"steps": 2}))
    assert main(["--config", config]) == 0
    before = prepare(load_config(config))
    monkeypatch.setattr("training.prepare.PIPELINE_VERSION", 2)  # as an edit to the import code
    same = prepare(load_config(config))
    assert same.key != before.key and same.content_key() == before.content_key()
    assert main(["--config", config, "--set", "train.steps=3", "--resume"]) == 0

    amass_dataset(data, seconds=3.0)  # other motions: other windows
    other = prepare(load_config(config)).content_key()
    assert main(["--config", config, "--set", "train.steps=4", "--resume"]) == 2
    assert (
        f"trained on prepared data {before.content_key()}, but the configuration now prepares "
        f"{other}, other data" in capsys.readouterr().err
    )


def trained_run(tmp_path: Path, tiny_clip_path: Path) -> tuple[Path, Path]:
    """An AMASS dataset in tmp_path/bvh and a 3-step run on it: (data folder, model.pt)."""
    data = tmp_path / "bvh"
    amass_dataset(data)
    first = write_config(tmp_path / "a" / "c.toml", data, tiny_clip_path, train={"steps": 3})
    assert main(["--config", str(first)]) == 0
    return data, tmp_path / "a" / "run" / "model.pt"


SPLITS = {"validation_fraction": 0.25, "test_fraction": 0.0}  # the caption maps need validation


def captioned_run(tmp_path: Path, tiny_clip_path: Path) -> tuple[Path, Path]:
    """An AMASS dataset in tmp_path/bvh with a validation split (SPLITS) and a default run on it,
    whose checkpoint has caption latents: (data folder, model.pt)."""
    data = tmp_path / "bvh"
    amass_dataset(data, sequences_per_label=4)
    first = write_config(tmp_path / "a" / "c.toml", data, tiny_clip_path, data=SPLITS)
    assert main(["--config", str(first)]) == 0
    return data, tmp_path / "a" / "run" / "model.pt"


def fine_tuning(
    tmp_path: Path, tiny_clip_path: Path, **sections: dict[str, object]
) -> tuple[Path, Path, Path, Trainer]:
    """A 3-step run, a configuration in tmp_path/b with `sections` and a Trainer started from the
    run's weights: (data folder, the run's model.pt, the configuration, the trainer)."""
    data, trained_path = trained_run(tmp_path, tiny_clip_path)
    config = write_config(tmp_path / "b" / "c.toml", data, tiny_clip_path, **sections)
    trainer = Trainer(load_config(config), CPU, init=load_checkpoint(trained_path))
    return data, trained_path, config, trainer


def test_init_fine_tunes_a_checkpoint_from_its_weights(
    tmp_path: Path, tiny_clip_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, trained_path, fine, trainer = fine_tuning(
        tmp_path, tiny_clip_path, train={"steps": 2, "log_every": 1}
    )
    trained = load_checkpoint(trained_path)
    for name, value in trainer.model.state_dict().items():
        torch.testing.assert_close(value, trained.state_dict[name])
    torch.testing.assert_close(trainer.statistics.mean, trained.statistics.mean)
    assert trainer.optimizer.state == {}  # a fresh optimiser: no moments carried over

    init = ["--init", str(trained_path)]
    assert main(["--config", str(fine), *init]) == 0
    with (tmp_path / "b" / "run" / "log.csv").open() as stream:
        assert [int(row["step"]) for row in csv.DictReader(stream)] == [1, 2]
    tuned = load_checkpoint(tmp_path / "b" / "run" / "model.pt")
    assert any(
        not torch.equal(value, trained.state_dict[name]) for name, value in tuned.state_dict.items()
    )

    wider = write_config(
        tmp_path / "c" / "c.toml", data, tiny_clip_path, model={"width": 32, "heads": 2}
    )
    assert main(["--config", str(wider), *init]) == 2
    assert "width 64 (configuration: 32)" in capsys.readouterr().err
    assert not (tmp_path / "c" / "run").exists()

    other_clip = replace(trained, config=replace(trained.config, latent_dim=TINY_CLIP_DIM * 2))
    with pytest.raises(MotionClipError, match=f"latent_dim {TINY_CLIP_DIM * 2} \\(configuration"):
        Trainer(load_config(fine), CPU, init=other_clip)


@pytest.mark.parametrize(
    ("growth", "smaller", "largest_change", "refusal"),
    [
        (
            {"decoder_feedforward": 192},
            {"decoder_feedforward": 64},
            1e-6,  # the new units start with zero output weights: the same function
            "decoder feed-forward 192 (configuration: 64; it can only grow)",
        ),
        (
            {"feedforward": 192, "decoder_feedforward": 128},
            {"feedforward": 64, "decoder_feedforward": 128},
            1e-6,
            "encoder feed-forward 192 (configuration: 64; it can only grow)",
        ),
        (
            {"encoder_velocity": True},
            {"encoder_velocity": False},
            1e-6,  # the velocity input starts with zero weights: the same function
            "encoder velocity input on (configuration: off; it can be added, not taken away)",
        ),
        (
            {"decoder_memory": 3},
            {"decoder_memory": 2},
            0.05,  # near, not equal: the copies' noise
            "decoder memory 3 tokens (configuration: 2; it can only grow, to a multiple)",
        ),
    ],
)
def test_init_can_grow_the_model(
    tmp_path: Path,
    tiny_clip_path: Path,
    capsys: pytest.CaptureFixture[str],
    growth: dict[str, object],
    smaller: dict[str, object],
    largest_change: float,
    refusal: str,
) -> None:
    data, trained_path, grown, trainer = fine_tuning(tmp_path, tiny_clip_path, model=growth)
    trained = load_checkpoint(trained_path)
    assert trainer.model.config == replace(trained.config, **growth)
    batch = trainer.batches.batch(1)
    with torch.no_grad():
        expected = trained.build_model()(batch.features, batch.mask)[0]
        actual = trainer.model.eval()(batch.features, batch.mask)[0]
    assert relative_change(actual, expected) < largest_change
    if trainer.model.config.encoder_velocity:  # it reads speeds in metres per second
        torch.testing.assert_close(
            trainer.model.encoder.translation_std, trained.statistics.std[-3:]
        )

    assert main(["--config", str(grown), "--init", str(trained_path)]) == 0
    tuned = tmp_path / "b" / "run" / "model.pt"
    assert load_checkpoint(tuned).config == trainer.model.config
    shrunk = write_config(tmp_path / "c" / "c.toml", data, tiny_clip_path, model=smaller)
    assert main(["--config", str(shrunk), "--init", str(tuned)]) == 2
    assert refusal in capsys.readouterr().err
    assert not (tmp_path / "c" / "run").exists()


def test_a_velocity_input_learns_at_its_own_rate() -> None:
    model = MotionClipModel(replace(tiny_config(16), encoder_velocity=True))
    model.decoder.requires_grad_(False)
    optim = OptimConfig(lr=1e-4, velocity_lr_scale=30.0)
    rest, velocity = parameter_groups(model, optim)
    assert velocity["lr"] == pytest.approx(3e-3) and "lr" not in rest  # the optimiser's default
    assert model.encoder.velocity_embedding is not None
    fast = {id(p) for p in model.encoder.velocity_embedding.parameters()}
    assert {id(p) for p in velocity["params"]} == fast
    trainable = {id(p) for p in model.encoder.parameters()}  # the decoder is frozen
    assert {id(p) for p in rest["params"]} == trainable - fast
    (plain,) = parameter_groups(MotionClipModel(tiny_config(16)), optim)
    assert "lr" not in plain


def test_mirror_reaches_the_training_batches(tmp_path: Path, tiny_clip_path: Path) -> None:
    data = tmp_path / "bvh"
    amass_dataset(data, labels=("walk", "raise the left hand", "wave", "kick"))
    path = write_config(tmp_path / "c.toml", data, tiny_clip_path, train={"mirror": 1.0})
    trainer = Trainer(load_config(path), CPU)
    assert trainer.batches.mirror == 1.0
    assert "raise the right hand" in trainer.captions  # though no window is captioned so
    trainer.train_step()  # every caption a mirrored batch asks for is embedded


def test_time_warp_and_crop_reach_the_training_batches(
    tmp_path: Path, tiny_clip_path: Path
) -> None:
    data = tmp_path / "bvh"
    amass_dataset(data)
    train = {"time_warp": 1.0, "time_warp_speed": 1.5, "crop": 1.0}
    path = write_config(tmp_path / "c.toml", data, tiny_clip_path, train=train)
    trainer = Trainer(load_config(path), CPU)
    assert (trainer.batches.time_warp, trainer.batches.crop) == (1.0, 1.0)
    assert trainer.batches.warp_speed == 1.5
    assert trainer.batches.longest == trainer.model.config.max_frames
    assert trainer.batches.shortest == trainer.model.config.min_frames
    assert math.isfinite(trainer.train_step()["loss"])


def test_prefix_reaches_the_training_loss(tmp_path: Path, tiny_clip_path: Path) -> None:
    data = tmp_path / "bvh"
    amass_dataset(data)
    path = write_config(tmp_path / "c.toml", data, tiny_clip_path, train={"prefix": 1.0})
    trainer = Trainer(load_config(path), CPU)
    assert trainer.batches.shortest == trainer.model.config.min_frames
    cut = trainer.batches.batch(1)
    assert bool((cut.decoded.sum(1) < cut.mask.sum(1)).any())
    whole = replace(cut, decoded=cut.mask)
    trainer.network.eval()  # no dropout: the same latents both times
    with torch.no_grad():
        reconstruction, latents = trainer.network(cut.features, cut.mask, cut.decoded)
        from_whole = trainer.model.encode(cut.features, cut.mask)
        decoded = trainer.model.decode(from_whole, cut.decoded)
        terms = trainer.loss_terms(cut, trainer.network), trainer.loss_terms(whole, trainer.network)
    # the latent of the whole window, decoded for the prefix only, and compared there
    torch.testing.assert_close(latents, from_whole)
    torch.testing.assert_close(reconstruction, decoded)
    assert float(reconstruction[~cut.decoded].abs().max()) == 0
    assert float(terms[0]["text"]) == float(terms[1]["text"])
    assert float(terms[0]["rotation"]) != float(terms[1]["rotation"])
    assert math.isfinite(trainer.train_step()["loss"])


def test_resume_keeps_the_init_checkpoints_normalisation(
    tmp_path: Path, tiny_clip_path: Path
) -> None:
    data, trained = trained_run(tmp_path, tiny_clip_path)
    initial = load_checkpoint(trained)
    own = FeatureStatistics(initial.statistics.mean + 0.5, initial.statistics.std * 2)
    save_checkpoint(replace(initial, statistics=own), tmp_path / "init.pt")

    def run_config(steps: int) -> Path:
        train = {"steps": steps, "checkpoint_every": 2}
        return write_config(tmp_path / "b" / "c.toml", data, tiny_clip_path, train=train)

    assert main(["--config", str(run_config(2)), "--init", str(tmp_path / "init.pt")]) == 0
    assert main(["--config", str(run_config(4)), "--resume"]) == 0  # not the data's statistics
    resumed = load_checkpoint(tmp_path / "b" / "run" / "model.pt").statistics
    torch.testing.assert_close(resumed.mean, own.mean, rtol=0, atol=0)
    torch.testing.assert_close(resumed.std, own.std, rtol=0, atol=0)


def test_a_fine_tune_keeps_the_init_checkpoints_training_data_and_licence(
    tmp_path: Path, tiny_clip_path: Path
) -> None:
    data, trained = trained_run(tmp_path, tiny_clip_path)
    initial = load_checkpoint(trained)
    assert initial.licence == "AMASS and BABEL licences (non-commercial research)"
    earlier = "train split of prepared data 0123 at 20 fps (bandai: 9 windows, 1 min)"
    licence = f"CC BY-NC 4.0, Bandai (non-commercial); {initial.licence}; MIT (DeepMimic)"
    init = replace(initial, training_data=earlier, licence=licence)
    save_checkpoint(init, tmp_path / "init.pt")

    def run_config(steps: int) -> Path:
        return write_config(tmp_path / "b" / "c.toml", data, tiny_clip_path, train={"steps": steps})

    assert main(["--config", str(run_config(1)), "--init", str(tmp_path / "init.pt")]) == 0
    assert main(["--config", str(run_config(2)), "--resume"]) == 0  # kept in last.pt
    tuned = load_checkpoint(tmp_path / "b" / "run" / "model.pt")
    # the weights derive from both data sets; a licence and a data set already listed, once
    assert tuned.licence == (
        "AMASS and BABEL licences (non-commercial research); CC BY-NC 4.0, Bandai "
        "(non-commercial); MIT (DeepMimic)"
    )
    assert tuned.training_data == f"{earlier}; then {initial.training_data}"
    assert training_lineage(tuned.training_data, initial.training_data) == tuned.training_data


def test_a_fine_tune_of_a_checkpoint_that_records_no_training_data_passes_none_on(
    tmp_path: Path, tiny_clip_path: Path
) -> None:
    """Checkpoint's defaults ("untrained", licence "none") are no record to carry forward."""
    data, trained = trained_run(tmp_path, tiny_clip_path)
    initial = load_checkpoint(trained)
    save_checkpoint(replace(initial, training_data="untrained", licence="none"), tmp_path / "i.pt")
    config = write_config(tmp_path / "b" / "c.toml", data, tiny_clip_path, train={"steps": 1})
    assert main(["--config", str(config), "--init", str(tmp_path / "i.pt")]) == 0
    tuned = load_checkpoint(tmp_path / "b" / "run" / "model.pt")
    assert (tuned.training_data, tuned.licence) == (initial.training_data, initial.licence)


def test_freeze_encoder_trains_the_decoder_only(
    tmp_path: Path, tiny_clip_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, trained = trained_run(tmp_path, tiny_clip_path)
    frozen = write_config(
        tmp_path / "b" / "c.toml", data, tiny_clip_path, train={"steps": 3, "freeze_encoder": True}
    )
    assert main(["--config", str(frozen)]) == 2  # a random encoder must not be frozen
    assert "train.freeze_encoder needs --init" in capsys.readouterr().err
    assert not (tmp_path / "b" / "run").exists()

    assert main(["--config", str(frozen), "--init", str(trained)]) == 0
    before = load_checkpoint(trained).state_dict
    after = load_checkpoint(tmp_path / "b" / "run" / "model.pt").state_dict
    encoder = [name for name in before if name.startswith("encoder.")]
    decoder = [name for name in before if name.startswith("decoder.")]
    assert encoder and decoder
    for name in encoder:
        torch.testing.assert_close(after[name], before[name], rtol=0, atol=0)
    assert any(not torch.equal(after[name], before[name]) for name in decoder)

    trainer = Trainer(load_config(frozen), CPU, init=load_checkpoint(trained))
    trainer.train_step()
    assert trainer.model.decoder.training and not trainer.model.encoder.training  # no dropout

    thawed = write_config(tmp_path / "b" / "c.toml", data, tiny_clip_path, train={"steps": 4})
    assert main(["--config", str(thawed), "--resume"]) == 2  # its optimiser lacks the encoder
    assert "trained with train.freeze_encoder = true" in capsys.readouterr().err
    resumed = load_checkpoint(tmp_path / "b" / "run" / "model.pt").state_dict
    assert all(torch.equal(resumed[name], after[name]) for name in after)


def same_caption_latents(a: CaptionLatents | None, b: CaptionLatents | None) -> bool:
    """Whether two checkpoints' "nearest_captions" maps are exactly the same."""
    assert a is not None and b is not None
    return (
        torch.equal(a.embeddings, b.embeddings)
        and torch.equal(a.latents, b.latents)
        and (a.temperature, a.texts) == (b.temperature, b.texts)
    )


def test_freeze_decoder_trains_the_encoder_only_and_keeps_the_caption_latents(
    tmp_path: Path, tiny_clip_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, trained = captioned_run(tmp_path, tiny_clip_path)
    initial = load_checkpoint(trained)
    assert initial.caption_latents is not None

    def frozen(steps: int) -> Path:
        train = {"steps": steps, "freeze_decoder": True, "checkpoint_every": 2}
        return write_config(
            tmp_path / "b" / "c.toml", data, tiny_clip_path, data=SPLITS, train=train
        )

    assert main(["--config", str(frozen(3))]) == 2  # a random decoder must not be frozen
    assert "train.freeze_decoder needs --init" in capsys.readouterr().err
    assert not (tmp_path / "b" / "run").exists()

    assert main(["--config", str(frozen(3)), "--init", str(trained)]) == 0
    after = load_checkpoint(tmp_path / "b" / "run" / "model.pt")
    encoder = [name for name in initial.state_dict if name.startswith("encoder.")]
    decoder = [name for name in initial.state_dict if name.startswith("decoder.")]
    assert encoder and decoder
    for name in decoder:
        torch.testing.assert_close(after.state_dict[name], initial.state_dict[name], rtol=0, atol=0)
    assert any(
        not torch.equal(after.state_dict[name], initial.state_dict[name]) for name in encoder
    )
    # the unchanged decoder decodes the init's fitted caption latents as before: they are kept
    assert same_caption_latents(after.caption_latents, initial.caption_latents)

    trainer = Trainer(load_config(frozen(3)), CPU, init=initial)
    trainer.train_step()
    assert trainer.model.encoder.training and not trainer.model.decoder.training  # no dropout

    # resumed from its last state (step 2), the run still keeps them, with no --init given
    assert main(["--config", str(frozen(4)), "--resume"]) == 0
    resumed = load_checkpoint(tmp_path / "b" / "run" / "model.pt")
    assert same_caption_latents(resumed.caption_latents, initial.caption_latents)
    thawed = write_config(tmp_path / "b" / "c.toml", data, tiny_clip_path, data=SPLITS)
    assert main(["--config", str(thawed), "--resume"]) == 2  # its optimiser lacks the decoder
    assert "trained with train.freeze_decoder = true" in capsys.readouterr().err


def test_replay_floor_repeats_the_windows_the_finished_model_replays(
    tmp_path: Path, tiny_clip_path: Path
) -> None:
    data, trained = captioned_run(tmp_path, tiny_clip_path)
    path = write_config(
        tmp_path / "b" / "c.toml",
        data,
        tiny_clip_path,
        data=SPLITS,
        train={
            "steps": 2,
            "freeze_encoder": True,
            "replay_floor": 40,
            "fit_caption_latents": 0,  # the encoder's own latents, to compare below
        },
    )
    direct = [f"train.out='{tmp_path / 'direct'}'"]  # b/run is for the command below
    trainer = Trainer(load_config(path, direct), CPU, init=load_checkpoint(trained))
    trainer.run()
    replayed = replayed_windows(trainer.model, trainer.data, trainer.statistics)
    train = trainer.data.indices("train")
    assert 0 < len(replayed) < len(train)  # one medoid per caption, some shared
    counts = Counter(trainer.batches.windows)
    assert {counts[w] for w in replayed} == {40}
    assert {counts[w] for w in train if w not in replayed} == {1}

    assert main(["--config", str(path), "--init", str(trained)]) == 0
    stored = load_checkpoint(tmp_path / "b" / "run" / "model.pt").caption_latents
    assert stored is not None
    ours = encode_windows(trainer.model, trainer.data, sorted(replayed), trainer.statistics)
    # every stored caption latent is the latent of a replayed window, and every window is used
    distances = torch.cdist(stored.latents, ours)
    assert float(distances.min(dim=1).values.max()) < 1e-4
    assert set(distances.argmin(dim=1).tolist()) == set(range(len(replayed)))


def test_zero_steps_only_refits_the_caption_latents_of_the_init_checkpoint(
    tmp_path: Path, tiny_clip_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "bvh"
    amass_dataset(data, sequences_per_label=4)
    trainings = {  # a: trained, its caption latents the encoder's; b: the end pass alone
        "a": {"steps": 20, "fit_caption_latents": 0},
        "b": {"steps": 0, "fit_caption_latents": 10},
    }
    feet = {"foot_contact": 50.0}  # trained with, and the fit below weighs it as training did
    first, refit = (
        write_config(
            tmp_path / name / "c.toml", data, tiny_clip_path, data=SPLITS, train=train, loss=feet
        )
        for name, train in trainings.items()
    )
    assert main(["--config", str(first)]) == 0
    trained_path = tmp_path / "a" / "run" / "model.pt"
    trained = load_checkpoint(trained_path)
    assert main(["--config", str(refit)]) == 2
    assert "train.steps = 0 needs --init CHECKPOINT" in capsys.readouterr().err
    unsplit = write_config(tmp_path / "c" / "c.toml", data, tiny_clip_path, train={"steps": 0})
    assert main(["--config", str(unsplit), "--init", str(trained_path)]) == 2
    assert "this data has none (data.validation_fraction)" in capsys.readouterr().err
    assert not (tmp_path / "c" / "run").exists()

    assert main(["--config", str(refit), "--init", str(trained_path)]) == 0
    refitted = load_checkpoint(tmp_path / "b" / "run" / "model.pt")
    for name, value in refitted.state_dict.items():
        assert torch.equal(value, trained.state_dict[name])  # no training step
    old, new = trained.caption_latents, refitted.caption_latents
    assert old is not None and new is not None and new.texts == old.texts
    # captions that shared a medoid window share its fitted latent
    assert len(torch.unique(new.latents, dim=0)) == len(torch.unique(old.latents, dim=0))

    # each is its caption's medoid window's latent, fitted as training.text_to_latent fits one
    trainer = Trainer(load_config(refit), CPU, init=refitted)
    train = trainer.data.indices("train")
    encoded = encode_windows(trainer.model, trainer.data, train, trainer.statistics)
    medoids = torch.cdist(old.latents, encoded).argmin(dim=1).tolist()
    distinct = sorted(set(medoids))
    fitted = decoded_latents(
        trainer.model,
        [trainer.data.window(train[row]) for row in distinct],
        encoded[distinct],
        trainer.statistics,
        {"rotation": 100.0, "joints": 100.0, "in_place": 0.0, "velocity": 100.0} | feet,
        steps=10,
    )
    torch.testing.assert_close(new.latents, fitted[[distinct.index(row) for row in medoids]])
    assert not torch.allclose(new.latents, old.latents)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("optim.lr=0.0", "optim.lr must be a positive number"),
        ("optim.lr=nan", "optim.lr must be a positive number"),
        ("optim.weight_decay=-1.0", "optim.weight_decay must be 0 or more"),
        ("optim.grad_clip=-1.0", "optim.grad_clip must be positive"),
        ("optim.final_lr_fraction=2.0", "optim.final_lr_fraction must be in [0, 1]"),
        ("optim.warmup_steps=-3", "optim.warmup_steps must be 0 or more"),
        ("loss.temperature=0.0", "loss.temperature must be positive"),
        ("train.device=tpu", "train.device must be auto, cpu, cuda or cuda:N"),
        ("train.log_every=0", "train.log_every must be at least 1"),
        ("train.checkpoint_every=0", "train.checkpoint_every must be at least 1"),
        ("model.min_seconds=3.0", "model.min_seconds must be above 0 and at most model.max"),
        ("data.validation_fraction=-0.5", "must be 0 or more, their sum under 1"),
        ("loss.rotation=-100", "loss.rotation must be a weight of 0 or more, got -100.0"),
        ("loss.joints=nan", "loss.joints must be a weight of 0 or more, got nan"),
        ("model.width=-64", "model.width must be 0 (the preset's) or more, got -64"),
        ("model.layers=-1", "model.layers must be 0 (the preset's) or more, got -1"),
        ("model.fps=0.0", "model.fps must be a positive frame rate, got 0.0"),
        ("model.dropout=1.5", "model.dropout must be a probability in [0, 1), or negative"),
        ("train.time_warp_speed=nan", "train.time_warp_speed must be at least 1, got nan"),
        ("loss.temperature=inf", "loss.temperature must be positive, got inf"),
        ("image.resolution=-1", "image.resolution must be at least 1, got -1"),
    ],
)
def test_settings_that_would_train_wrongly_are_refused_by_name(
    tmp_path: Path, tiny_clip_path: Path, override: str, message: str
) -> None:
    path = write_config(tmp_path / "c.toml", tmp_path / "bvh", tiny_clip_path)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(path, [override])


def test_unreadable_configuration_files_are_named(tmp_path: Path) -> None:
    (tmp_path / "folder.toml").mkdir()
    (tmp_path / "binary.toml").write_bytes(b"\xff\xfe\x00")
    (tmp_path / "flat.toml").write_text("train = 5\n")
    for name in ("folder.toml", "binary.toml"):
        with pytest.raises(ConfigError, match=f"{name}: cannot read it as a TOML text file"):
            load_config(tmp_path / name)
    with pytest.raises(ConfigError, match="'train' is not a table"):
        load_config(tmp_path / "flat.toml", ["train.steps=3"])


def test_a_data_table_missing_a_key_is_named(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[[data.bvh]]\nfolder = "motions"\n')
    with pytest.raises(ConfigError, match=re.escape("c.toml: data.bvh[0]: missing key 'labels'")):
        load_config(path)
    path.write_text('[data]\nsets = []\n[[data.amass]]\nfolder = "amass"\n[[data.amass]]\n')
    with pytest.raises(ConfigError, match=re.escape("data.amass[0]: missing key 'babel'")):
        load_config(path)
    path.write_text("")
    missing = re.escape("--set data.bvh=[{}]: data.bvh[0]: missing keys 'folder', 'labels'")
    with pytest.raises(ConfigError, match=missing):
        load_config(path, ["data.bvh=[{}]"])


def test_a_wrong_override_is_named_not_the_file(tmp_path: Path, tiny_clip_path: Path) -> None:
    path = write_config(tmp_path / "c.toml", tmp_path / "bvh", tiny_clip_path)
    for override, message in (
        ("train.steps=abc", "train.steps must be of type int, got 'abc'"),
        ("train.step=3", "unknown keys in [train]: step"),
        ("modle.width=3", "unknown section 'modle'"),
        ('data.bvh=[{folder = "x"}]', "data.bvh[0]: missing key 'labels'"),
    ):
        with pytest.raises(ConfigError) as error:
            load_config(path, ["train.steps=3", override])
        assert str(error.value).startswith(f"--set {override}: {message}")
    # a value wrong only beside the others: the file and the overrides are named
    with pytest.raises(ConfigError, match=re.escape("c.toml with --set optim.lr=0.0: optim.lr")):
        load_config(path, ["optim.lr=0.0"])


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_asking_for_cuda_without_it_is_an_error() -> None:
    with pytest.raises(MotionClipError, match="torch sees no CUDA device"):
        start_process("cuda")


def test_a_training_run_stops_with_words_where_it_cannot_go_on(
    tmp_path: Path,
    tiny_clip_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = tmp_path / "bvh"
    amass_dataset(data)
    config = write_config(tmp_path / "c.toml", data, tiny_clip_path, train={"steps": 2})
    (tmp_path / "afile").write_text("")
    assert main(["--config", str(config), "--set", f'train.out="{tmp_path / "afile" / "x"}"']) == 2
    assert f"train.out: {tmp_path / 'afile'} is a file, not a folder" in capsys.readouterr().err

    assert main(["--config", str(config), "--set", "train.batch_size=100"]) == 2
    assert "fewer than one batch of 100" in capsys.readouterr().err

    assert main(["--config", str(config)]) == 0
    assert main(["--config", str(config), "--resume", "--set", "model.width=32"]) == 2
    assert "model.width 64 (now 32)" in capsys.readouterr().err

    monkeypatch.setattr(TrainingStep, "optimise", lambda step, batch: {"loss": math.nan})
    again = write_config(tmp_path / "d" / "c.toml", data, tiny_clip_path, train={"steps": 2})
    assert main(["--config", str(again)]) == 2
    assert "step 1: the training loss is nan" in capsys.readouterr().err


def test_the_logged_learning_rate_is_the_one_each_step_trained_at(
    tmp_path: Path, tiny_clip_path: Path
) -> None:
    data = tmp_path / "bvh"
    amass_dataset(data)
    config = write_config(
        tmp_path / "c.toml",
        data,
        tiny_clip_path,
        optim={"lr": 4e-3, "warmup_steps": 4, "final_lr_fraction": 1.0},
        train={"steps": 3, "log_every": 1},
    )
    assert main(["--config", str(config)]) == 0
    with (tmp_path / "run" / "log.csv").open() as stream:
        rates = [float(row["lr"]) for row in csv.DictReader(stream)]
    assert rates == pytest.approx([1e-3, 2e-3, 3e-3])


def test_a_resumed_run_trains_at_the_configured_rates(tmp_path: Path, tiny_clip_path: Path) -> None:
    data = tmp_path / "bvh"
    amass_dataset(data)
    config = write_config(
        tmp_path / "c.toml",
        data,
        tiny_clip_path,
        model={"encoder_velocity": True},  # a second parameter group, at its own scale
        optim={"lr": 4e-3, "final_lr_fraction": 1.0, "velocity_lr_scale": 2.0},
        train={"steps": 2, "log_every": 1},
    )
    assert main(["--config", str(config)]) == 0
    changed = ["train.steps=4", "optim.lr=1e-3", "optim.velocity_lr_scale=3.0"]
    changed.append("optim.weight_decay=0.5")
    assert main(["--config", str(config), "--resume", *(f"--set={o}" for o in changed)]) == 0
    with (tmp_path / "run" / "log.csv").open() as stream:
        rates = [float(row["lr"]) for row in csv.DictReader(stream)]
    assert rates == pytest.approx([4e-3, 4e-3, 1e-3, 1e-3])

    trainer = Trainer(load_config(config, changed), CPU)
    trainer.load_state()
    groups = trainer.optimizer.param_groups
    assert [group["lr"] for group in groups] == pytest.approx([1e-3, 3e-3])
    assert [group["initial_lr"] for group in groups] == pytest.approx([1e-3, 3e-3])
    assert trainer.schedule.get_last_lr() == pytest.approx([1e-3, 3e-3])
    assert [group["weight_decay"] for group in groups] == [0.5, 0.5]


def test_a_new_run_leaves_another_run_in_its_folder_alone(
    tmp_path: Path, tiny_clip_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "bvh"
    amass_dataset(data)
    config = write_config(tmp_path / "c.toml", data, tiny_clip_path, train={"steps": 2})
    out, elsewhere = tmp_path / "run", ["--set", f"data.cache='{tmp_path / 'elsewhere'}'"]
    assert main(["--config", str(config), "--resume", *elsewhere]) == 2  # before any preparing
    assert f"--resume: no training state at {out / 'last.pt'}" in capsys.readouterr().err
    assert not (tmp_path / "elsewhere").exists() and not out.exists()

    assert main(["--config", str(config)]) == 0
    assert (
        "warning: the prepared data has no validation windows (data.validation_fraction is 0.0)"
        in capsys.readouterr().err
    )
    files = {name: (out / name).read_bytes() for name in ("last.pt", "model.pt", "log.csv")}
    for again in ([], ["--init", str(out / "model.pt")]):
        assert main(["--config", str(config), *elsewhere, *again]) == 2
        error = capsys.readouterr().err
        assert f"train.out: {out} already holds a run (last.pt, model.pt)" in error
        assert "--resume" in error and not (tmp_path / "elsewhere").exists()
        assert {name: (out / name).read_bytes() for name in files} == files
    (out / "last.pt").unlink()  # a folder with only a model (as train.steps = 0 leaves)
    assert main(["--config", str(config)]) == 2
    assert "already holds a run (model.pt)" in capsys.readouterr().err


def test_an_interrupted_run_says_what_it_saved(
    tmp_path: Path,
    tiny_clip_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = tmp_path / "bvh"
    amass_dataset(data)
    config = write_config(
        tmp_path / "c.toml", data, tiny_clip_path, train={"steps": 4, "checkpoint_every": 2}
    )
    out = tmp_path / "run"

    def interrupt(*args: object) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr("training.train.prepare", interrupt)
        assert main(["--config", str(config)]) == 130
    assert capsys.readouterr().err.splitlines()[-1] == (
        "training.train: interrupted before training began; train.out is as it was"
    )
    assert not out.exists()

    optimise = TrainingStep.optimise

    def interrupted_at_step_3(step: Trainer, batch: Batch) -> dict[str, float]:
        if step.step == 3:
            raise KeyboardInterrupt
        return optimise(step, batch)

    with monkeypatch.context() as patched:
        patched.setattr(TrainingStep, "optimise", interrupted_at_step_3)
        assert main(["--config", str(config)]) == 130
        error = capsys.readouterr().err
        assert error.splitlines()[-1] == (
            f"training.train: interrupted at step 3 of 4: {out / 'last.pt'} holds step 2; "
            "continue with --resume"
        )
        assert "Traceback" not in error
        unsaved = ["--set", "train.checkpoint_every=1000", "--set", f"train.out='{tmp_path / 'b'}'"]
        assert main(["--config", str(config), *unsaved]) == 130
        assert capsys.readouterr().err.splitlines()[-1] == (
            "training.train: interrupted at step 3 of 4, before any training state was saved; "
            "start the run again"
        )
    assert main(["--config", str(config), "--resume"]) == 0
    assert torch.load(out / "last.pt", weights_only=True)["step"] == 4


def test_evaluation_refuses_windows_unlike_the_checkpoints_and_an_out_that_is_a_file(
    tmp_path: Path, tiny_clip_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from training import evaluate

    _, model = trained_run(tmp_path, tiny_clip_path)
    config = tmp_path / "a" / "c.toml"
    (tmp_path / "afile").write_text("")
    base = ["--config", str(config), "--checkpoint", str(model), "--split", "train"]
    assert evaluate.main([*base, "--set", "model.fps=20.0"]) == 2
    assert "model.fps 20 (the checkpoint's: 10)" in capsys.readouterr().err
    assert evaluate.main([*base, "--out", str(tmp_path / "afile")]) == 2
    assert "--out: " in capsys.readouterr().err


def test_init_from_another_text_space_is_named_before_that_space_is_loaded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from motionclip_blender.core.checkpoint import bundled_checkpoint_path

    missing = tmp_path / "no-clip-weights.pt"  # the configured space could not even be loaded
    config = write_config(tmp_path / "c.toml", tmp_path / "bvh", missing)
    assert main(["--config", str(config), "--init", str(bundled_checkpoint_path())]) == 2
    assert "checkpoint is in the 'minilm' text space" in capsys.readouterr().err


def test_one_process_on_a_gpu_sets_an_indexed_device(monkeypatch: pytest.MonkeyPatch) -> None:
    """torch.cuda.set_device refuses a bare torch.device("cuda"); a one-GPU run must give it the
    current device's index (checked here without a GPU, with torch.cuda's answers stood in)."""
    chosen: list[torch.device] = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "set_device", chosen.append)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    for device in ("auto", "cuda", "cuda:1"):
        assert start_process(device).device == chosen[-1]
    assert chosen == [torch.device("cuda", 0), torch.device("cuda", 0), torch.device("cuda", 1)]
