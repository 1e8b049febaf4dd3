"""The benchmark harness's bookkeeping (the timings themselves are benchmarks, not tests): each
part runs on a tiny model with tiny repeats and reports what the Markdown report reads."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest
import torch

from benchmarks import run
from benchmarks.quality import checkpoint_quality
from benchmarks.report import markdown, verdict
from benchmarks.timing import flop_count, interleaved, matmul_rate, repeat, summary
from benchmarks.training_speed import synthetic_batch, training_step, training_throughput
from motionclip_blender.core.checkpoint import from_model
from motionclip_blender.core.model import MotionClipModel
from tests.tiny_models import save_tiny_checkpoint, tiny_config
from training.config import load_config
from training.train import TERMS

# Tiny stand-ins for small.toml and paper.toml: the bundled one in the minilm space, the paper
# one in CLIP's with the image term, so every term of the loss takes part.
TINY_TRAINING = """
[model]
text_space = "{space}"
width = 32
layers = 1
heads = 2
feedforward = 64
max_seconds = 2.0

[loss]
image = {image}
contrastive = 0.1
"""


@pytest.fixture
def tiny_variants(tmp_path: Path) -> dict[str, Path]:
    variants = {"bundled": ("minilm", 0.0), "paper": ("clip", 1.0)}
    paths = {}
    for name, (space, image) in variants.items():
        paths[name] = tmp_path / f"{name}.toml"
        paths[name].write_text(TINY_TRAINING.format(space=space, image=image))
    return paths


def test_summary_gives_median_95th_percentile_and_fastest() -> None:
    result = summary([(float(value), value / 2) for value in range(100, 0, -1)])
    assert result == {
        "p50_ms": 50.5,
        "p95_ms": 95.0,
        "min_ms": 1.0,
        "cpu_p50_ms": 25.25,
        "runs": 100,
    }


def test_repeat_and_interleaved_run_each_variant_as_asked() -> None:
    calls: list[str] = []
    assert repeat(lambda: calls.append("a"), repeats=3, warmup=1)["runs"] == 3
    assert calls == ["a"] * 4
    calls.clear()
    timings = interleaved({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, 2)
    assert calls == ["a", "b", "a", "b", "a", "b"] and set(timings) == {"a", "b"}


def test_flops_are_counted_and_the_matmul_rate_measured() -> None:
    a, b = torch.randn(8, 16), torch.randn(16, 4)
    assert flop_count(lambda: a @ b) == 2 * 8 * 16 * 4
    assert matmul_rate(16, 8, repeats=2) > 0


def test_a_training_step_uses_every_term_of_the_configured_loss(
    tiny_variants: dict[str, Path],
) -> None:
    config = load_config(tiny_variants["paper"])
    step = training_step(config, torch.device("cpu"))
    batch = synthetic_batch(config, size=3, frames=10, device=torch.device("cpu"))
    assert batch.features.shape == (3, 10, 147) and batch.texts.shape == (3, 512)
    assert batch.images is not None and batch.images.shape == (3, 512)
    before = [parameter.clone() for parameter in step.model.parameters()]
    values = step.optimise(batch)
    assert set(values) == {"loss", *TERMS}
    assert any(not torch.equal(a, b) for a, b in zip(before, step.model.parameters(), strict=True))
    bundled = load_config(tiny_variants["bundled"])
    assert synthetic_batch(bundled, 2, 10, torch.device("cpu")).images is None


def test_training_throughput_of_both_sizes_interleaved(tiny_variants: dict[str, Path]) -> None:
    results = training_throughput(
        steps=2, seconds=1.0, variants=tiny_variants, cpu_batch={"bundled": 3, "paper": 2}
    )
    bundled, paper = results["bundled"], results["paper"]
    assert (bundled["text_dim"], paper["text_dim"]) == (384, 512)
    assert (bundled["batch"], bundled["frames"], paper["batch"]) == (3, 20, 2)
    assert bundled["step"]["runs"] == paper["step"]["runs"] == 2
    assert bundled["windows_per_s"] == pytest.approx(3 / (bundled["step"]["p50_ms"] / 1000), 1e-3)
    assert results["ratio_bundled_over_paper"] == pytest.approx(
        bundled["windows_per_s"] / paper["windows_per_s"], rel=0.01
    )
    assert bundled["floor_ms"] > 0 and bundled["times_the_floor"] > 0


def test_quality_is_read_from_the_checkpoints_test_metrics() -> None:
    model = MotionClipModel(tiny_config())
    stored = {"test_mpjpe_mm": 30.0, "test_content_top1": 0.8, "validation_mpjpe_mm": 20.0}
    quality = checkpoint_quality(from_model(model, "clip", metrics=stored))
    assert quality["metrics"] == {"mpjpe_mm": 30.0, "content_top1": 0.8}
    missing = checkpoint_quality(from_model(model, "clip", metrics={"mpjpe_mm": 1.0}))
    assert missing["metrics"] == {} and "no test-split metrics" in missing["missing"]


def fake_results(quality: dict[str, Any]) -> dict[str, Any]:
    """A results dictionary of the shape benchmarks.run writes, with round numbers."""
    timing = {"p50_ms": 1.0, "p95_ms": 2.0, "min_ms": 1.0, "cpu_p50_ms": 0.5, "runs": 3}
    stages = ["text_encoding", "decoding", "generate", "to_blender_rotations", "key_write"]
    four = {**dict.fromkeys(stages, timing), "end_to_end": {**timing, "p50_ms": 200.0}}
    four["key_write"] = {**timing, "p50_ms": 150.0, "cpu_p50_ms": 100.0}
    size = {"text_dim": 384, "width": 256, "layers": 4, "batch": 32, "frames": 80}
    variant = {**size, "config": "small.toml", "step": timing, "step_gflop": 1.0}
    variant |= {"floor_ms": 0.5, "times_the_floor": 2.0, "cpu_times_the_floor": 1.0}
    variant |= {"windows_per_s": 3.0, "windows_per_cpu_s": 6.0}
    cold = ("torch_import", "other_imports", "checkpoint", "text_encoder", "first_text")
    return {
        "machine": {
            "cpu": "test",
            "cores": 2,
            "torch": "2",
            "torch_threads": 2,
            "python": "3",
            "cuda": None,
            "load_average": 1.5,
            "niceness": 15,
        },
        "command": "python -m benchmarks.run",
        "duration_s": 60.0,
        "checkpoint": {"path": "m.pt", "size_mb": 1.0, "training_data": "nothing"},
        "load": {
            "stages_s": {**dict.fromkeys(cold, 0.2), "text_encoder": 2.0},
            "stages_cpu_s": {**dict.fromkeys(cold, 0.05), "text_encoder": 0.3},
            "stages_mb": {**dict.fromkeys(cold, 10.0), "torch_import": 500.0},
            "total_s": 2.8,
            "total_cpu_s": 0.5,
            "warm_s": 0.5,
            "peak_rss_mb": 710.0,
            "added_mb": 700.0,
            "runs": 5,
        },
        "prompt_to_keys": {"4s": four},
        "encode_and_search": {
            "encode_4s_action": {**timing, "cpu_p50_ms": 10.0},
            "search_top5_100000": {**timing, "p50_ms": 30.0, "cpu_p50_ms": 25.0},
        },
        "decoder_floor": {
            "decoder_gflop_4s": 1,
            "matmul_gflops_per_s": 1,
            "floor_ms": 1,
            "measured_ms": 2,
            "measured_cpu_ms": 1,
            "times_the_floor": 2,
            "cpu_times_the_floor": 1,
        },
        "threads": {"1": timing, "2": timing, "ratio_1_over_2": 1.0},
        "training": {
            "cpu": {
                "device": "cpu",
                "seconds_per_window": 4.0,
                "bundled": variant,
                "paper": {**variant, "config": "paper.toml", "windows_per_s": 0.5},
                "ratio_bundled_over_paper": 6.0,
            }
        },
        "quality": quality,
    }


def test_report_says_by_how_much_a_target_is_missed_and_what_dominates() -> None:
    assert verdict(120.0, 150.0) == "met (target <= 150)"
    assert verdict(3.0, 2.0) == "missed by 1 (target <= 2, 1.50x)"
    assert verdict(0.8, 0.85, ">=") == "missed by 0.05 (target >= 0.85, 0.94x)"
    text = markdown(fake_results({"split": "test", "metrics": {}, "missing": "none stored"}))
    assert "first text encoding (s): 2.8, missed by 0.8 (target <= 2, 1.40x)" in text
    cold = "(CPU time 0.5, over 2 torch threads); text_encoder dominates (0.3 CPU s of 0.5)"
    assert cold in text
    assert "4 s, p50 (ms): 200, missed by 50 (target <= 150, 1.33x) (CPU time 0.5, over" in text
    # CPU time, summed over threads, is shown and not judged: a met wall time is not a miss
    assert "p50 (ms): 1, met (target <= 300) (CPU time 0.5, over 2 torch threads)\n" in text
    assert "key_write dominates (100 CPU ms of 102)" in text
    assert "Memory added by the loaded model, peak (MB): 700, missed by 100" in text
    assert "torch_import dominates (500 MB" in text
    assert "| bundled | small.toml | 384 | 256 x 4 | 32 x 80 | 3.0, 6.0 |" in text
    assert "scoring 100,000 latents and top-5 dominates (15 CPU ms of 25)" in text
    assert "windows/s ratio bundled over paper = 6.0" in text
    assert "Not measured: none stored." in text
    assert "- mpjpe_mm: not measured (no test metrics)" in text


def test_report_reads_quality_against_the_targets() -> None:
    metrics = {"mpjpe_mm": 30.0, "content_top1": 0.8, "frechet_distance": 2.5}
    text = markdown(fake_results({"split": "test", "metrics": metrics}))
    assert "| mpjpe_mm | 30 | met (target <= 35) |" in text
    assert "| content_top1 | 0.8 | missed by 0.05 (target >= 0.85, 0.94x) |" in text
    assert "| style_top1 | not measured | >= 0.5 |" in text
    assert "| frechet_distance | 2.5 | |" in text
    assert "- content_top1 (test): 0.8, missed by 0.05" in text


@pytest.mark.slow
def test_the_benchmark_command_writes_both_files(
    tmp_path: Path, tiny_variants: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole command on a tiny minilm-space model, one repeat of everything."""
    checkpoint = tmp_path / "tiny-minilm.pt"
    save_tiny_checkpoint(checkpoint, text_space="minilm", latent_dim=384)
    tiny = functools.partial(
        training_throughput,
        seconds=1.0,
        variants=tiny_variants,
        cpu_batch={"bundled": 2, "paper": 2},
    )
    monkeypatch.setattr(run, "training_throughput", tiny)
    out = tmp_path / "results"
    arguments = ["--checkpoint", str(checkpoint), "--repeats", "1", "--train-steps", "1"]
    assert run.main([*arguments, "--cold-runs", "1", "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert set(results["load"]["stages_s"]) == {
        "torch_import",
        "other_imports",
        "checkpoint",
        "text_encoder",
        "first_text",
    }
    assert results["load"]["added_mb"] > 0 and results["load"]["warm_s"] > 0
    assert 0 < results["load"]["total_cpu_s"] < 10 * results["load"]["total_s"]
    assert set(results["prompt_to_keys"]) == {"2s", "4s", "8s"}
    assert results["training"]["cpu"]["paper"]["step"]["runs"] == 1
    assert results["quality"]["metrics"] == {}
    report = (out / "RESULTS.md").read_text()
    assert "## Training throughput (cpu" in report and "## Targets" in report


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--repeats", "0"], "expected a whole number of 1 or more, got '0'"),
        (["--cold-runs", "-1"], "expected a whole number of 1 or more, got '-1'"),
    ],
)
def test_counts_under_one_are_refused_at_once(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        run.main(arguments)
    assert message in capsys.readouterr().err


def test_a_missing_checkpoint_or_an_out_under_a_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "afile").write_text("")
    assert run.main(["--out", str(tmp_path / "afile" / "x")]) == 2
    assert "--out: " in capsys.readouterr().err
    assert run.main(["--checkpoint", str(tmp_path / "none.pt"), "--out", str(tmp_path)]) == 2
    assert "none.pt" in capsys.readouterr().err and not (tmp_path / "results.json").exists()
