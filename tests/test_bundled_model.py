"""The bundled default model: within its budget, documented by its stored metrics, and working
offline through the README's main command."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import torch
from PIL import Image

from motionclip_blender.core import files, inference, skeleton
from motionclip_blender.core.captions import STYLES, captions
from motionclip_blender.core.checkpoint import bundled_checkpoint_path, load_checkpoint
from motionclip_blender.core.vocabulary import DEFAULT_LABELS
from training.evaluate_edits import travel_speed

ROOT = Path(__file__).resolve().parents[1]
TEST_METRICS = (
    "test_mpjpe_mm",
    "test_content_top1",
    "test_content_top5",
    "test_style_top1",
    "test_generated_classifier_accuracy",
    "test_frechet_distance",
    "test_unseen_prompt_accuracy",
    "test_paraphrase_prompt_accuracy",
)


@pytest.fixture(scope="module")
def session() -> inference.MotionClip:
    return inference.load(None)


def test_the_bundled_checkpoint_fits_the_budget_and_names_its_licence() -> None:
    path = bundled_checkpoint_path()
    assert path.stat().st_size <= 30 * 2**20
    checkpoint = load_checkpoint(path)
    assert checkpoint.text_space == "minilm"
    assert "CC BY-NC 4.0" in checkpoint.licence
    assert set(TEST_METRICS) <= checkpoint.metrics.keys()  # the model card's numbers


def test_make_run_writes_a_motion_and_a_preview_offline(tmp_path: Path) -> None:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    environment = os.environ | {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    out = tmp_path / "out folder"  # absent, as `out/` is in a fresh clone; a space in it
    prompt = 'a person "waves" with the $right hand `here` \\'  # passed on as typed
    subprocess.run(
        ["make", "--no-print-directory", "run", f"OUT={out}", f"PROMPT={prompt}"],
        cwd=ROOT,
        env=environment,
        check=True,
        capture_output=True,
    )
    motion = files.read_motion(out / "motion.bvh")
    assert motion.num_frames / motion.fps == pytest.approx(4.0, abs=0.1)
    with Image.open(out / "motion.gif") as gif:
        assert gif.n_frames > 10


def test_a_walk_prompt_travels_and_a_raise_prompt_lifts_the_hands(
    session: inference.MotionClip,
) -> None:
    walk = session.generate("a person walks", seconds=4.0)
    travelled = (walk.translation[-1, :2] - walk.translation[0, :2]).norm()
    assert travelled > 1.0  # metres in 4 s; standing still would be ~0
    raised = session.generate("a person raises both hands", seconds=4.0).joints()
    head = raised[:, skeleton.JOINT_INDEX["head"], 2]
    wrists = raised[:, [skeleton.JOINT_INDEX["left_wrist"], skeleton.JOINT_INDEX["right_wrist"]], 2]
    assert bool(torch.any((wrists > head[:, None]).all(-1)))


@pytest.mark.parametrize(
    "prompt", ["a person walks", "a person runs", "a person jumps", "a person plays soccer"]
)
def test_generated_motions_start_without_a_jump(session: inference.MotionClip, prompt: str) -> None:
    """These prompts decode CMU windows, whose files begin with the skeleton's rest pose: a
    model fitted to windows that kept it starts them with a T-pose frame (a 0.74 m hand jump)."""
    joints = session.generate(prompt, seconds=4.0).joints()
    steps = (joints[1:] - joints[:-1]).norm(dim=-1).amax(dim=-1)  # the largest joint step
    assert steps[0] <= 1.5 * steps[1:].max()


def test_prompts_are_told_what_they_were_understood_as(session: inference.MotionClip) -> None:
    """The bundled model stores its training captions: a caption-like prompt finds its own,
    a prompt about an action absent from the data is told it is unlike all of them."""
    assert session.prompt_report("a person walks") == (
        "closest training caption: 'a person walks' (cosine 1.00)"
    )
    closest = session.closest_captions("someone strolls forward", k=3)
    assert all("walk" in match.text for match in closest)
    assert session.prompt_report("a dog barks").startswith("the prompt is unlike every")


def test_blending_a_walk_with_a_run_moves_steadily_from_one_speed_to_the_other(
    session: inference.MotionClip,
) -> None:
    walk = session.generate("a person walks", seconds=4.0)  # about 1.1 m/s
    run = session.generate("a person runs forward", seconds=4.0)  # about 2.8 m/s
    blends = session.interpolate(walk, run, [0.0, 0.25, 0.5, 0.75, 1.0])
    speeds = [travel_speed(blend) for blend in blends]
    assert abs(speeds[0] - travel_speed(walk)) < 0.1 and abs(speeds[-1] - travel_speed(run)) < 0.1
    assert all(later - earlier > 0.1 for earlier, later in itertools.pairwise(speeds)), speeds


def test_blending_refines_latents_so_an_input_comes_back_faithfully(
    session: inference.MotionClip,
) -> None:
    walk = session.generate("a person walks and turns left", seconds=4.0, seed=3).resample(30.0)
    target = walk.resample(session.fps).canonicalize()  # as the model sees it

    def error(steps: int) -> float:
        (back,) = session.interpolate(walk, walk, [0.0], refine_steps=steps)
        return float((back.joints() - target.joints()).norm(dim=-1).mean())

    # the encoder's latent alone comes back at about 63 mm a joint; refined, at under a third
    assert error(100) < 0.5 * error(0)


def test_the_readmes_fine_tune_command_fits_the_bundled_model() -> None:
    """The bundled model grew past small.toml's preset: the README's fine-tune line sets the
    three sizes that let --init take it, and training accepts them."""
    from training.config import load_config
    from training.train import check_initial_checkpoint

    overrides = [
        "model.feedforward=1024",
        "model.decoder_feedforward=896",
        "model.decoder_memory=4",
    ]
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert " ".join(f"--set {item}" for item in overrides) in readme
    config = load_config(ROOT / "training" / "configs" / "small.toml", overrides)
    bundled = load_checkpoint(bundled_checkpoint_path())
    check_initial_checkpoint(config, bundled, bundled.config.latent_dim)


def test_the_default_labels_are_ones_the_bundled_model_was_trained_on() -> None:
    """An unseen label may rank first by its wording alone, whatever the motion."""
    texts = set(load_checkpoint(bundled_checkpoint_path()).caption_latents.texts)
    for label in DEFAULT_LABELS:
        sentences = {text for style in ("", *STYLES) for text in captions(label, style)}
        assert sentences & texts, f"'{label}' is none of the bundled model's training labels"
