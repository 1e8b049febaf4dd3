"""Run every benchmark and write benchmarks/results/results.json and RESULTS.md.

    .venv/bin/python -m benchmarks.run [--checkpoint PATH] [--repeats N] [--out DIR]

Medians and 95th percentiles over repeats; comparisons run interleaved in one process. The
machine is described in the output, since numbers only compare on the same machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
from pathlib import Path
from typing import Any

import torch

from motionclip_blender.core import inference
from motionclip_blender.core.checkpoint import resolve_checkpoint_path

from . import inference_speed
from .report import markdown


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
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--checkpoint", help="checkpoint (default: the bundled model)")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args(argv)
    os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="motionclip-bench-"))

    checkpoint = resolve_checkpoint_path(args.checkpoint)
    session = inference.load(checkpoint)
    results = {
        "machine": machine(),
        "checkpoint": {
            "path": str(checkpoint),
            "size_mb": round(checkpoint.stat().st_size / 2**20, 1),
        },
        "load": inference_speed.cold_load(checkpoint, repeats=5),
        "prompt_to_keys": inference_speed.prompt_to_keys(session, args.repeats),
        "encode_and_search": inference_speed.encode_and_search(session, args.repeats),
        "decoder_floor": inference_speed.decoder_floor(session, args.repeats),
        "threads": inference_speed.thread_comparison(session, args.repeats),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "RESULTS.md").write_text(markdown(results))
    print((args.out / "RESULTS.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
