"""Evaluation produces every metric of the issue on a tiny dataset, as JSON and Markdown."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest
import torch

from motionclip_blender.core import rotations as rot
from motionclip_blender.core.checkpoint import TEXT_LATENT_SCALINGS, load_checkpoint
from motionclip_blender.core.errors import MotionClipError
from motionclip_blender.core.inference import load
from motionclip_blender.core.model import MotionClipModel
from motionclip_blender.core.motion import Motion
from motionclip_blender.core.pose_features import FEATURE_DIM, FeatureStatistics, rest_features
from training import evaluate, evaluate_edits, train
from training.action_classifier import cached_classifier
from training.config import load_config
from training.prepare import prepare
from training.prepared import PreparedData, WindowLabels
from training.text_to_latent import TEMPERATURES

from .tiny_models import tiny_config
from .training_setup import LABELS, amass_dataset, bvh_dataset, write_config

METRICS = {
    "mpjpe_mm",
    "mpjpe_local_mm",
    "mpjpe_body_mm",
    "rotation_error_deg",
    "content_top1",
    "content_top5",
    "content_top1[one_prompt]",  # the label's one prompt instead of its phrasings together
    "content_top5[one_prompt]",
    "m2t_r@1",
    "m2t_r@5",
    "m2t_r@10",
    "m2t_median_rank",
    "t2m_r@1",
    "t2m_r@5",
    "t2m_r@10",
    "t2m_median_rank",
    "generated_classifier_accuracy",
    "real_classifier_accuracy",
    "real_classifier_label_accuracy",
    "frechet_distance",
    "frechet_distance_real",
    "frechet_distance_matched",
    "diversity_generated",
    "diversity_real",
    "foot_skating_generated_m_s",
    "foot_skating_real_m_s",
    "unseen[someone strolls forward]",  # the fixture's labels include "walk"
    "unseen_prompt_accuracy",
    "paraphrase[someone takes a stroll]",  # accepted: "walk"
    "paraphrase_prompt_accuracy",
    "paraphrase_understood",
}


def trained_run(
    tmp_path: Path, clip: Path, steps: int, labels: tuple[str, ...] = LABELS
) -> tuple[Path, Path]:
    """The configuration and checkpoint of a tiny model trained for `steps` on four AMASS
    sequences of each label, a quarter of them each for validation and test."""
    data = tmp_path / "amass"
    amass_dataset(data, sequences_per_label=4, labels=labels)
    config = write_config(
        tmp_path / "c.toml",
        data,
        clip,
        data={"validation_fraction": 0.25, "test_fraction": 0.25},
        train={"steps": steps, "batch_size": 8},
    )
    assert train.main(["--config", str(config)]) == 0
    return config, tmp_path / "run" / "model.pt"


def test_evaluation_writes_every_metric(tmp_path: Path, tiny_clip_path: Path) -> None:
    config, checkpoint = trained_run(tmp_path, tiny_clip_path, steps=3)
    assert (
        evaluate.main(
            ["--checkpoint", str(checkpoint), "--config", str(config), "--split", "test", "--store"]
        )
        == 0
    )
    metrics = json.loads((tmp_path / "run" / "evaluation-test.json").read_text())
    assert metrics.keys() >= METRICS
    assert all(math.isfinite(value) for value in metrics.values())
    assert 0 <= metrics["content_top1"] <= metrics["content_top5"] <= 1
    assert any(name.startswith("mpjpe_local_mm[") for name in metrics)  # per data source
    table = (tmp_path / "run" / "evaluation-test.md").read_text()
    assert "| frechet_distance |" in table
    saved = load_checkpoint(checkpoint)
    captions = saved.caption_latents  # every training caption, each with its text
    assert captions is not None and len(captions.texts) == len(captions.embeddings) > 1
    session = load(checkpoint, clip_weights=tiny_clip_path)
    assert session.closest_captions(captions.texts[1], k=1)[0].text == captions.texts[1]
    stored = saved.metrics
    assert "test_mpjpe_mm" in stored and "validation_mpjpe_mm" in stored
    by_label = {k: v for k, v in metrics.items() if k.startswith("generated_by_label[")}
    assert by_label and all(v in (0, 0.25, 0.5, 0.75, 1) for v in by_label.values())  # 4 per label
    assert math.isclose(  # every label has as many generations, so the mean is the overall rate
        sum(by_label.values()) / len(by_label), metrics["generated_classifier_accuracy"]
    )
    real = {k: v for k, v in metrics.items() if k.startswith("real_by_label[")}
    assert {k.removeprefix("real_") for k in real} == {
        k.removeprefix("generated_") for k in by_label
    }
    assert math.isclose(sum(real.values()) / len(real), metrics["real_classifier_label_accuracy"])
    others = set(TEXT_LATENT_SCALINGS) - {saved.text_latent_scaling}
    assert {f"generated_classifier_accuracy[{s}]" for s in others} <= metrics.keys()
    validation = {k.removeprefix("validation_"): v for k, v in stored.items()}
    # training chose the default scaling by the validation split's generated motions
    assert saved.text_latent_scaling == evaluate.best_text_latent_scaling(
        validation, saved.text_latent_scaling
    )


UNIQUE_CAPTIONS = ("walk", "wave", "jump", "kick", "run", "bow", "crawl", "spin", "clap", "sit")
GENERATED = {"generated_classifier_accuracy", "frechet_distance", "real_classifier_accuracy"}


def test_held_out_labels_never_trained_on_leave_out_only_the_judged_generation_metrics(
    tmp_path: Path, tiny_clip_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Every BVH file with its own caption (README): no validation or test label is one the
    action classifier learnt, so no generated motion can be judged; training and evaluation
    finish without those figures, and say why."""
    folder = tmp_path / "bvh"
    labels = bvh_dataset(folder, UNIQUE_CAPTIONS)
    config = write_config(
        tmp_path / "c.toml",
        folder,
        tiny_clip_path,
        data={
            "amass": [],
            "bvh": [{"folder": str(folder), "labels": str(labels)}],
            "validation_fraction": 0.2,
            "test_fraction": 0.2,
        },
        train={"batch_size": 4, "fit_caption_latents": 2},
    )
    assert train.main(["--config", str(config)]) == 0
    saved = load_checkpoint(tmp_path / "run" / "model.pt")
    assert "validation_mpjpe_mm" in saved.metrics
    assert not {f"validation_{name}" for name in GENERATED} & saved.metrics.keys()
    assert saved.caption_latents is not None
    assert saved.caption_latents.temperature == TEMPERATURES[0]
    assert "the validation windows was seen in training" in caplog.text

    checkpoint = str(tmp_path / "run" / "model.pt")
    assert evaluate.main(["--checkpoint", checkpoint, "--config", str(config)]) == 0
    metrics = json.loads((tmp_path / "run" / "evaluation-test.json").read_text())
    assert "mpjpe_mm" in metrics and "frechet_distance_real" in metrics
    assert not GENERATED & metrics.keys()
    assert "the test windows was seen in training" in caplog.text


def test_frame_errors_tell_the_root_orientation_from_the_body_pose() -> None:
    torch.manual_seed(0)
    real = (rot.axis_angle_to_matrix(0.5 * torch.randn(3, 24, 3)), torch.randn(3, 3))
    zero = evaluate.frame_errors(real, real)
    assert all(torch.allclose(error, torch.zeros(3), atol=1e-5) for error in zero.values())

    turned = real[0].clone()  # the whole body faces elsewhere and stands elsewhere
    turned[:, 0] = rot.axis_angle_to_matrix(torch.tensor([0.0, 0.0, 1.0])) @ turned[:, 0]
    errors = evaluate.frame_errors((turned, real[1] + 1), real)
    assert torch.allclose(errors["body"], torch.zeros(3), atol=1e-5)
    assert (errors["local"] > 0.05).all() and (errors["position"] > errors["local"]).all()

    bent = real[0].clone()  # one knee (SMPL joint 4) bent further, the root untouched
    bent[:, 4] = rot.axis_angle_to_matrix(torch.tensor([1.0, 0.0, 0.0])) @ bent[:, 4]
    errors = evaluate.frame_errors((bent, real[1]), real)
    assert (errors["body"] > 0.01).all()
    assert torch.allclose(errors["body"], errors["local"])
    assert torch.allclose(errors["angle"], torch.full((3,), 1.0 / 24), atol=1e-4)


def test_reconstruction_by_source_and_by_length_split_the_overall_error_by_frames() -> None:
    model, data, windows, lengths, sources = reconstruction_problem()
    metrics = evaluate.reconstruction_errors(model, data, windows, rest_statistics())
    overall = {name: value for name, value in metrics.items() if "[" not in name}
    bands = [evaluate.length_band(int(n), data.fps) for n in lengths]
    assert bands == ["0-2s", "0-2s", "2-4s", "0-2s", "2-4s"]  # 20 fps: 1, 1.75, 2.5, 1.2, 2.05 s
    groups = set(sources) | set(bands)
    assert metrics.keys() == overall.keys() | {f"{m}[{g}]" for m in overall for g in groups}
    for grouping in (sources, bands):
        frames = {
            g: sum(int(n) for n, t in zip(lengths, grouping, strict=True) if t == g)
            for g in set(grouping)
        }
        for metric, value in overall.items():
            weighted = sum(metrics[f"{metric}[{g}]"] * n for g, n in frames.items()) / sum(
                frames.values()
            )
            assert math.isclose(weighted, value, rel_tol=1e-4)
    alone = evaluate.reconstruction_errors(model, data, [3], rest_statistics())
    assert math.isclose(alone["mpjpe_mm"], metrics["mpjpe_mm[deepmimic]"], rel_tol=1e-4)
    pair = evaluate.reconstruction_errors(model, data, [2, 4], rest_statistics())
    assert math.isclose(pair["mpjpe_mm"], metrics["mpjpe_mm[2-4s]"], rel_tol=1e-4)


def test_length_bands_hold_their_lower_edge_and_sort_by_length() -> None:
    names = [evaluate.length_band(frames, 20.0) for frames in (1, 39, 40, 79, 80, 120, 160, 400)]
    assert names == ["0-2s", "0-2s", "2-4s", "2-4s", "4-6s", "6s+", "6s+", "6s+"]
    assert sorted(set(names)) == ["0-2s", "2-4s", "4-6s", "6s+"]


def test_refined_latents_reconstruct_closer_and_leave_the_model_alone() -> None:
    model, data, windows, _, _ = reconstruction_problem()
    before = {name: value.clone() for name, value in model.state_dict().items()}
    stats = rest_statistics()
    plain = evaluate.reconstruction_errors(model, data, windows, stats)
    refined = evaluate.reconstruction_errors(model, data, windows, stats, refine_steps=40)
    assert refined.keys() == plain.keys()
    assert refined["mpjpe_mm"] < 0.9 * plain["mpjpe_mm"], (refined, plain)
    assert refined["rotation_error_deg"] < plain["rotation_error_deg"]
    assert all(torch.equal(value, before[name]) for name, value in model.state_dict().items())


def reconstruction_problem() -> tuple[
    MotionClipModel, PreparedData, list[int], torch.Tensor, list[str]
]:
    """A random tiny model and five windows from three sources, each what the model decodes
    from a random latent (so that some latent reconstructs it exactly)."""
    torch.manual_seed(0)
    model = MotionClipModel(tiny_config(16)).eval()
    lengths = torch.tensor([20, 35, 50, 24, 41])
    sources = ["bandai", "cmu8", "bandai", "deepmimic", "cmu8"]
    with torch.no_grad():
        features = torch.cat(
            [
                rest_statistics().denormalize(
                    model.decode(torch.randn(1, 16), torch.ones(1, int(n), dtype=torch.bool))
                )[0]
                for n in lengths
            ]
        )
    offsets = torch.cat([torch.zeros(1, dtype=torch.long), lengths.cumsum(0)])
    labels = [
        WindowLabels("test", source, f"g{i}", "walk", "walk", "", "walk", ["walk"], "")
        for i, source in enumerate(sources)
    ]
    data = PreparedData("key", 20.0, features, offsets, labels)
    return model, data, [0, 1, 2, 3, 4], lengths, sources


def rest_statistics() -> FeatureStatistics:
    """Statistics centred on the rest pose, so that padding decodes to it, as in real data."""
    return FeatureStatistics(rest_features(), torch.ones(FEATURE_DIM))


def test_a_prompt_is_understood_when_its_closest_caption_describes_an_accepted_label() -> None:
    from motionclip_blender.core.inference import CaptionMatch
    from motionclip_blender.core.pose_features import FEATURE_DIM
    from training.prepared import PreparedData, WindowLabels

    class Session:  # closest captions from a table, as the text space would rank them
        def closest_captions(self, prompt: str, k: int = 3) -> list[CaptionMatch]:
            return [
                CaptionMatch({"stroll": "a person walks", "dash": "a person jumps"}[prompt], 0.7)
            ]

    described = [("train", "walk", "a person walks"), ("train", "run", "a person runs")]
    described.append(("test", "jump", "a person jumps"))  # not a training caption
    labels = [
        WindowLabels(split, "bandai", "g", content, content, "", text, [text], "")
        for split, content, text in described
    ]
    offsets = torch.arange(0, 40, 10)
    data = PreparedData("key", 20.0, torch.zeros(30, FEATURE_DIM), offsets, labels)
    prompts = {"stroll": ("walk",), "dash": ("run", "jump")}
    assert evaluate.prompt_understanding(Session(), data, prompts, "p") == {"p_understood": 0.5}
    prompts = {"stroll": ("run",)}
    assert evaluate.prompt_understanding(Session(), data, prompts, "p") == {"p_understood": 0.0}


def test_best_text_latent_scaling_prefers_the_current_one_on_ties() -> None:
    metrics = {
        "generated_classifier_accuracy": 0.5,
        "generated_classifier_accuracy[raw]": 0.5,
        "generated_classifier_accuracy[unit]": 0.25,
    }
    assert evaluate.best_text_latent_scaling(metrics, "motion_norm") == "motion_norm"
    metrics["generated_classifier_accuracy[unit]"] = 0.75
    assert evaluate.best_text_latent_scaling(metrics, "motion_norm") == "unit"


def test_ranks_count_the_best_relevant_item() -> None:
    scores = torch.tensor([[0.9, 0.5, 0.7], [0.1, 0.2, 0.3]])
    relevant = torch.tensor([[False, True, True], [True, False, False]])
    assert evaluate.ranks(scores, relevant).tolist() == [2, 3]


def test_label_matched_rows_follow_the_wanted_label_counts_cycling_through_each_label() -> None:
    labels = torch.tensor([0, 0, 1, 2, 2])
    rows = evaluate.label_matched_rows(labels, torch.tensor([2, 2, 2, 0, 1]))
    assert rows.tolist() == [3, 4, 3, 0, 2]


def test_frechet_distance_is_zero_for_one_set_and_grows_with_a_shift() -> None:
    features = torch.randn(200, 4, generator=torch.Generator().manual_seed(0))
    assert abs(evaluate.frechet_distance(features, features)) < 1e-6
    assert abs(evaluate.frechet_distance(features, features + 2) - 16) < 1e-3


def test_style_recognition_is_measured_where_windows_have_styles(
    tmp_path: Path, tiny_clip_path: Path
) -> None:
    data_folder = tmp_path / "amass"
    amass_dataset(data_folder, sequences_per_label=4)
    config = load_config(
        write_config(
            tmp_path / "c.toml",
            data_folder,
            tiny_clip_path,
            data={"validation_fraction": 0.25, "test_fraction": 0.25},
        )
    )
    trainer = train.Trainer(config, train.Process(0, 1, torch.device("cpu")))
    data = trainer.data
    data.labels = [
        dataclasses.replace(labels, style=("happy", "sad")[index % 2])
        for index, labels in enumerate(data.labels)
    ]
    metrics = evaluate.evaluate_checkpoint(
        trainer.checkpoint(), data, "test", trainer.space, config
    )
    assert {"style_top1", "style_top5"} <= metrics.keys()
    assert metrics["style_top5"] == 1.0  # two style labels: always within the top five


def test_joint_tracks_of_windows_of_different_lengths_are_finite() -> None:
    from training.action_classifier import joint_tracks

    from .motions import smooth_motion

    windows = [
        torch.cat([rot.axis_angle_to_6d(m.rotations).flatten(1), m.translation], dim=-1)
        for m in (smooth_motion(1.0), smooth_motion(0.5))
    ]
    joints, mask = joint_tracks(windows)
    assert joints.shape == (2, 30, 72) and mask.sum() == 45
    assert torch.isfinite(joints).all() and (joints[1, 15:] == 0).all()


def test_classifier_gives_a_window_the_same_logits_whatever_shares_its_batch() -> None:
    from training.action_classifier import ActionClassifier, joint_tracks

    from .motions import smooth_motion

    torch.manual_seed(0)
    short, long = (
        torch.cat([rot.axis_angle_to_6d(m.rotations).flatten(1), m.translation], dim=-1)
        for m in (smooth_motion(0.5), smooth_motion(2.0))
    )
    classifier = ActionClassifier(["a", "b", "c"]).eval()
    alone = classifier(*joint_tracks([short]))
    padded = classifier(*joint_tracks([short, long]))
    assert torch.allclose(alone[0], padded[0], atol=1e-5)


def test_class_weights_favour_rare_classes_and_average_one_over_windows() -> None:
    from training.action_classifier import class_weights

    targets = torch.tensor([0] * 16 + [1] * 4 + [2])
    weights = class_weights(targets, 4)
    assert math.isclose(float(weights[targets].mean()), 1.0, rel_tol=1e-6)
    assert math.isclose(float(weights[1] / weights[0]), 2.0, rel_tol=1e-6)  # 16 / 4 = 2 squared
    assert weights[2] > weights[1] > weights[0]


def test_an_ensemble_averages_its_members_log_probabilities() -> None:
    from training.action_classifier import ActionClassifier, ClassifierEnsemble

    torch.manual_seed(0)
    members = [ActionClassifier(["a", "b", "c"]).eval() for _ in range(3)]
    ensemble = ClassifierEnsemble(members)
    joints, mask = torch.randn(2, 20, 72), torch.arange(20) < torch.tensor([[20], [12]])
    expected = sum(torch.log_softmax(m(joints, mask), -1) for m in members) / 3
    assert torch.allclose(ensemble(joints, mask), expected, atol=1e-6)
    assert torch.equal(ensemble.features(joints, mask), members[0].features(joints, mask))


def test_a_kept_classifier_is_preferred_to_the_cached_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from training import action_classifier
    from training.prepared import PreparedData

    monkeypatch.setattr(action_classifier, "KEPT", tmp_path / "kept")
    data = cast(PreparedData, SimpleNamespace(content_key=lambda: "k"))
    name = f"classifier-v{action_classifier.VERSION}-k.pt"
    for folder, classes in (("kept", ["kept"]), ("cache", ["cached"])):
        (tmp_path / folder).mkdir()
        member = action_classifier.ActionClassifier(classes)
        ensemble = action_classifier.ClassifierEnsemble([member])
        payload = {"classes": classes, "members": 1, "state": ensemble.state_dict()}
        torch.save(payload, tmp_path / folder / name)
    assert action_classifier.cached_classifier(data, tmp_path / "cache").classes == ["kept"]
    (tmp_path / "kept" / name).unlink()
    assert action_classifier.cached_classifier(data, tmp_path / "cache").classes == ["cached"]


def test_the_kept_classifier_loads() -> None:
    from training import action_classifier

    kept = sorted(action_classifier.KEPT.glob(f"classifier-v{action_classifier.VERSION}-*.pt"))
    assert kept, f"no classifier of version {action_classifier.VERSION} in {action_classifier.KEPT}"
    assert len(action_classifier.load_classifier(kept[0]).classes) > 1


def test_edit_evaluation_judges_every_pair_present_at_every_strength(
    tmp_path: Path, tiny_clip_path: Path
) -> None:
    labels = ("walk", "run", "wave the right hand", "kick")  # no raise: that pair is left out
    config, checkpoint = trained_run(tmp_path, tiny_clip_path, steps=2, labels=labels)
    argv = ["--checkpoint", str(checkpoint), "--config", str(config), "--split", "train"]
    argv += ["--strengths", "0", "1.5", "--refine-steps", "2", "--out", str(tmp_path / "edits")]
    assert evaluate_edits.main(argv) == 0
    metrics = json.loads((tmp_path / "edits" / "edits-train.json").read_text())
    # walk -> walk backwards and wave right -> left are left out too: the judge, trained on
    # this data, cannot name their targets, so they could only ever count as misses
    pairs = [
        p for p in evaluate_edits.EDIT_PAIRS if p.source in labels and set(p.accepted) & set(labels)
    ]
    assert [(p.source, p.target) for p in pairs] == [("walk", "run"), ("run", "walk")]
    per_pair = {f"edit_reached[{p.source} -> {p.target}]@{s}" for p in pairs for s in ("0", "1.5")}
    blends = {f"blend_reached[walk ~ run]@{w:g}" for w in evaluate_edits.BLEND_WEIGHTS}
    blends.add("blend_speed_monotone[walk ~ run]")
    overall = {"edit_reached@0", "edit_reached@1.5"}  # and no style figures: no styles here
    assert metrics.keys() == per_pair | overall | blends
    assert all(0 <= value <= 1 for value in metrics.values())
    prepared = prepare(load_config(config, []))
    counts = {p: sum(prepared.labels[i].content == p.source for i in prepared.indices("train"))
              for p in pairs}  # fmt: skip
    for strength in ("0", "1.5"):  # overall: the pairs' figures weighted by their windows
        weighted = sum(
            metrics[f"edit_reached[{p.source} -> {p.target}]@{strength}"] * min(n, 10)
            for p, n in counts.items()
        ) / sum(min(n, 10) for n in counts.values())
        assert math.isclose(metrics[f"edit_reached@{strength}"], weighted)

    # windows with a style (Bandai's) are also judged on keeping it
    session = load(checkpoint, clip_weights=tiny_clip_path)
    for number, row in enumerate(prepared.indices("train")):
        style = ("happy", "sad")[number % 2]
        prepared.labels[row] = dataclasses.replace(prepared.labels[row], style=style)
    classifier = cached_classifier(prepared, tmp_path / "cache")
    styled = evaluate_edits.edit_metrics(
        session, prepared, "train", classifier, [0.0, 1.5], slice(0, 10), 2
    )
    assert styled.keys() == per_pair | overall | {"edit_style_kept@0", "edit_style_kept@1.5"}
    assert all(0 <= styled[f"edit_style_kept@{s}"] <= 1 for s in ("0", "1.5"))
    with pytest.raises(MotionClipError, match="no windows of any edit pair"):
        evaluate_edits.edit_metrics(session, prepared, "nope", classifier, [1.0], slice(0, 10), 0)


def test_travel_speed_is_the_roots_horizontal_distance_per_second() -> None:
    frames = 41  # 2 s at 20 fps
    translation = torch.zeros(frames, 3)
    translation[:, 0] = torch.linspace(0.0, 3.0, frames)  # 3 m along x
    translation[:, 1] = torch.linspace(0.0, 4.0, frames)  # 4 m along y: 5 m in all
    translation[:, 2] = torch.linspace(0.9, 2.0, frames)  # rising: not counted
    motion = Motion(torch.zeros(frames, 24, 3), translation, 20.0)
    assert math.isclose(evaluate_edits.travel_speed(motion), 5.0 / motion.duration, rel_tol=1e-6)


def test_reports_go_beside_the_checkpoint_or_out_but_never_into_the_shipped_weights(
    tmp_path: Path,
) -> None:
    from motionclip_blender.core.checkpoint import bundled_checkpoint_path

    mine = str(tmp_path / "run" / "model.pt")
    assert evaluate.report_folder(None, mine) == tmp_path / "run"
    assert evaluate.report_folder(str(tmp_path / "out"), mine) == tmp_path / "out"
    assert evaluate.report_folder(None, str(bundled_checkpoint_path())) == evaluate.BUNDLED_REPORTS
