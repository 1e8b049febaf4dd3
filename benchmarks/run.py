"""Run every benchmark and write benchmarks/results/results.json and RESULTS.md.

    .venv/bin/python -m benchmarks.run [--checkpoint PATH] [--repeats N] [--train-steps N]
                                       [--cold-runs N] [--out DIR]

Medians and 95th percentiles over repeats; comparisons run interleaved in one process. The
machine is described in the output (with how busy it was), since numbers only compare on the
same machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from motionclip_blender.core import inference
from motionclip_blender.core.atomic import check_output_folder
from motionclip_blender.core.checkpoint import resolve_checkpoint_path
from motionclip_blender.core.errors import MotionClipError

from . import inference_speed
from .quality import checkpoint_quality
from .report import markdown
from .training_speed import training_throughput


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "load_average": round(os.getloadavg()[0], 2),
        "niceness": os.nice(0),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--checkpoint", help="checkpoint (default: the bundled model)")
    parser.add_argument(
        "--repeats", type=positive, default=30, help="timed runs of each inference step"
    )
    parser.add_argument(
        "--train-steps", type=positive, default=5, help="timed steps of each model size"
    )
    parser.add_argument(
        "--cold-runs", type=positive, default=5, help="fresh processes for the cold load"
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args(argv)
    try:
        check_output_folder(args.out, "--out")
        with tempfile.TemporaryDirectory(prefix="motionclip-bench-") as blender_user:
            os.environ.setdefault("BLENDER_USER_RESOURCES", blender_user)
            results = run_all(args, argv)
    except MotionClipError as error:
        print(f"benchmarks.run: error: {error}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "RESULTS.md").write_text(markdown(results))
    print((args.out / "RESULTS.md").read_text())
    return 0


def positive(text: str) -> int:
    """A whole number of 1 or more, for the counts of runs and steps."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more, got {text!r}")
    return int(text)


def run_all(args: argparse.Namespace, argv: list[str] | None) -> dict[str, Any]:
    """Every benchmark's results, with the machine, the command and the time they took."""
    started = time.perf_counter()
    checkpoint = resolve_checkpoint_path(args.checkpoint)
    session = inference.load(checkpoint)
    devices = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]
    results = {
        "machine": machine(),
        "command": " ".join(
            ["python -m benchmarks.run", *(argv if argv is not None else sys.argv[1:])]
        ),
        "checkpoint": {
            "path": str(checkpoint),
            "size_mb": round(checkpoint.stat().st_size / 2**20, 1),
            "training_data": session.checkpoint.training_data,
        },
        "load": inference_speed.cold_load(checkpoint, args.cold_runs),
        "prompt_to_keys": inference_speed.prompt_to_keys(session, args.repeats),
        "encode_and_search": inference_speed.encode_and_search(session, args.repeats),
        "decoder_floor": inference_speed.decoder_floor(session, args.repeats),
        "threads": inference_speed.thread_comparison(session, args.repeats),
        "training": {
            device: training_throughput(args.train_steps, device=device) for device in devices
        },
        "quality": checkpoint_quality(session.checkpoint),
    }
    results["duration_s"] = round(time.perf_counter() - started, 1)
    return results


if __name__ == "__main__":
    raise SystemExit(main())
