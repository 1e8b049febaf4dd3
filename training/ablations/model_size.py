"""Which size to bundle: candidates trained for the same CPU time, compared on validation.

    python -m training.ablations.model_size MINUTES [--set SECTION.KEY=VALUE ...]

The candidates (width, layers, feed-forward; 4 heads) span the 30 MB package budget, from a
3 MB model to the largest that fits. Each one's training steps are timed on a few real batches of
training/configs/small.toml (length-grouped, one thread), which turns MINUTES into its number of
steps; it then trains from scratch in its own `training.train` process (OMP_NUM_THREADS=1) into
OUT/NAME, whose final checkpoint carries its validation metrics; a candidate whose model.pt
is already there is not trained again. Extra arguments go to every training. Selection uses the
validation split only: the test split stays for the chosen model. Written to OUT/model_size.md
and printed: parameters, checkpoint MB, steps, the minutes it really took, generation of a 4 s
motion (ms, median of 20, one thread) and the validation metrics. Environment: PYTHON (default:
this interpreter), OUT (default runs/model_size).
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

from motionclip_blender.core import inference
from training.config import load_config
from training.train import Trainer, start_process

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "small.toml"
# name: (width, layers, feed-forward)
CANDIDATES = {
    "w128-l2": (128, 2, 256),
    "w192-l3": (192, 3, 384),
    "w256-l4": (256, 4, 512),
    "w288-l4": (288, 4, 576),
}
TIMED_BATCHES = 6  # real batches timed per candidate, after one unmeasured
METRICS = {
    "mpjpe_local_mm": "pelvis-relative MPJPE (mm)",
    "rotation_error_deg": "rotation error (deg)",
    "content_top1": "content top-1",
    "content_top5": "content top-5",
    "style_top1": "style top-1",
    "t2m_r@10": "text-to-motion R@10",
    "generated_classifier_accuracy": "generated motions recognised",
    "unseen_prompt_accuracy": "unseen prompts right",
}


def size_overrides(name: str) -> list[str]:
    width, layers, feedforward = CANDIDATES[name]
    return [f"model.width={width}", f"model.layers={layers}", f"model.feedforward={feedforward}"]


def seconds_per_step(overrides: list[str]) -> float:
    """Mean wall seconds of one optimiser step on the first real batches, in this process."""
    trainer = Trainer(load_config(CONFIG, overrides), start_process("cpu"))
    trainer.optimise(trainer.batches.batch(1))
    started = time.perf_counter()
    for step in range(2, TIMED_BATCHES + 2):
        trainer.optimise(trainer.batches.batch(step))
    return (time.perf_counter() - started) / TIMED_BATCHES


def training_steps_and_minutes(log: Path, batch_size: int) -> tuple[int, float]:
    """Steps and minutes of the training loop itself, from the last row of its log.csv (steps
    and windows per second since the start), leaving out start-up and the final validation."""
    with log.open(newline="") as stream:
        last = list(csv.DictReader(stream))[-1]
    steps = int(last["step"])
    return steps, steps * batch_size / float(last["samples_per_s"]) / 60


def train(name: str, overrides: list[str], out: Path) -> None:
    """One candidate's `training.train` process, one thread, its output in OUT/NAME.log."""
    command = [os.environ.get("PYTHON", sys.executable), "-m", "training.train"]
    command += ["--config", str(CONFIG)]
    for item in overrides:
        command += ["--set", item]
    out.joinpath(name).mkdir(parents=True, exist_ok=True)
    with out.joinpath(f"{name}.log").open("w") as log:
        subprocess.run(
            command,
            check=True,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )


def parameters_and_generation_ms(session: inference.MotionClip) -> tuple[int, float]:
    """The model's parameter count and the median wall milliseconds of generating a 4 s motion
    from a prompt, model loaded."""
    parameters = sum(weight.numel() for weight in session.model.parameters())
    session.generate("a person walks", seconds=4.0)
    times = []
    for _ in range(20):
        started = time.perf_counter()
        session.generate("a person walks", seconds=4.0)
        times.append((time.perf_counter() - started) * 1000)
    return parameters, sorted(times)[len(times) // 2]


def report(rows: dict[str, dict[str, float]], minutes: float) -> str:
    """The comparison as a Markdown table, one column per candidate."""
    names = list(rows)
    lines = [
        f"Each candidate trained from scratch for about {minutes:g} CPU minutes (one thread);",
        "metrics on the validation split.",
        "",
        "| | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    fixed = {
        "parameters": "parameters",
        "megabytes": "checkpoint (MB)",
        "steps": "training steps",
        "minutes": "training minutes (measured, loop only)",
        "generation_ms": "generation of 4 s (ms)",
    }
    for key, label in {**fixed, **{f"validation_{k}": v for k, v in METRICS.items()}}.items():
        cells = []
        for name in names:
            value = rows[name].get(key)
            if value is None:
                cells.append("-")
            else:
                whole = float(value).is_integer()
                cells.append(f"{int(value):,}" if whole else f"{value:.3g}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("minutes", type=float, help="training time of each candidate")
    parser.add_argument("--set", action="append", default=[], help="SECTION.KEY=VALUE")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    out = Path(os.environ.get("OUT", "runs/model_size"))
    common = ["train.progress=false", *args.set]
    rows: dict[str, dict[str, float]] = {}
    for name in CANDIDATES:
        overrides = [*size_overrides(name), *common]
        batch_size = load_config(CONFIG, overrides).train.batch_size
        if not out.joinpath(name, "model.pt").is_file():  # else trained by an earlier run
            steps = max(1, round(args.minutes * 60 / seconds_per_step(overrides)))
            train(name, [*overrides, f"train.steps={steps}", f"train.out='{out / name}'"], out)
        checkpoint = out / name / "model.pt"
        session = inference.load(checkpoint)
        parameters, generation = parameters_and_generation_ms(session)
        steps, minutes = training_steps_and_minutes(out / name / "log.csv", batch_size)
        rows[name] = {
            "parameters": parameters,
            "megabytes": checkpoint.stat().st_size / 1e6,
            "steps": steps,
            "minutes": minutes,
            "generation_ms": generation,
            **session.checkpoint.metrics,
        }
        print(f"{name}: {steps} steps in {rows[name]['minutes']:.1f} min", flush=True)
    table = report(rows, args.minutes)
    out.joinpath("model_size.md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
