"""What a user waits for: model load, prompt to keys in Blender, encoding, search, memory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from motionclip_blender.core import inference
from motionclip_blender.core.inference import EncodedMotions
from motionclip_blender.core.model import frame_mask
from motionclip_blender.core.rig import motion_to_channels, smpl_armature

from .timing import interleaved, repeat

PROMPT = "a person walks forward and waves"
SCENE_FPS = 30.0

COLD_LOAD = """
import json, sys, time
def status_mb(field):  # VmRSS: now; VmHWM: the peak. Both belong to this process alone
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
start = time.perf_counter()
before = status_mb("VmRSS")
from motionclip_blender.core import inference
imported = time.perf_counter()
session = inference.load(sys.argv[1])
session.encode_text(["warm up the text encoder"])
loaded = time.perf_counter()
print(json.dumps({"import_s": imported - start, "load_s": loaded - imported,
                  "total_s": loaded - start, "rss_before_mb": before,
                  "rss_after_mb": status_mb("VmHWM")}))
"""


def cold_load(checkpoint: Path, repeats: int) -> dict[str, Any]:
    """Fresh processes: import time, checkpoint + text encoder load time, and the memory that
    torch, the model and its text encoder add to a bare Python process (as they would to
    Blender's)."""
    runs = []
    for _ in range(repeats):
        output = subprocess.run(
            [sys.executable, "-c", COLD_LOAD, str(checkpoint)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        runs.append(json.loads(output.strip().splitlines()[-1]))
    middle = sorted(runs, key=lambda run: run["total_s"])[len(runs) // 2]
    return {
        "import_s": round(middle["import_s"], 3),
        "load_s": round(middle["load_s"], 3),
        "total_s": round(middle["total_s"], 3),
        "peak_rss_mb": round(middle["rss_after_mb"], 1),
        "added_mb": round(middle["rss_after_mb"] - middle["rss_before_mb"], 1),
        "runs": repeats,
    }


def prompt_to_keys(session: inference.MotionClip, repeats: int) -> dict[str, Any]:
    """Each stage of Generate, and the whole, for 2, 4 and 8 seconds at 30 fps, in real bpy."""
    import bpy

    from motionclip_blender.operators.armature import build_armature

    bpy.ops.wm.read_factory_settings(use_empty=True)
    rig = build_armature(bpy.context, smpl_armature(), "SMPL")
    return {
        f"{seconds:g}s": generate_stages(session, rig, seconds, repeats) for seconds in (2, 4, 8)
    }


def generate_stages(
    session: inference.MotionClip, rig: Any, seconds: float, repeats: int
) -> dict[str, Any]:
    """Text encoding, decoding, conversion to pose channels, key writing, and all of them."""
    from motionclip_blender.operators.actions import write_action

    armature = smpl_armature()
    frames = session.frames_for(seconds)
    latent = session.text_latents([PROMPT])
    motion = session.decode(latent, frames=frames)[0]
    channels = motion_to_channels(motion.resample(SCENE_FPS), armature)

    def end_to_end() -> None:
        generated = session.generate(PROMPT, seconds=seconds)
        keys = motion_to_channels(generated.resample(SCENE_FPS), armature)
        write_action(rig, armature, keys, "benchmark", 1)

    return {
        "text_encoding": repeat(lambda: session.text_latents([PROMPT]), repeats),
        "decoding": repeat(lambda: session.decode(latent, frames=frames), repeats),
        "to_blender_rotations": repeat(
            lambda: motion_to_channels(motion.resample(SCENE_FPS), armature), repeats
        ),
        "key_write": repeat(lambda: write_action(rig, armature, channels, "benchmark", 1), repeats),
        "end_to_end": repeat(end_to_end, repeats),
    }


def encode_and_search(session: inference.MotionClip, repeats: int) -> dict[str, Any]:
    """Encoding a 4-second action, and top-5 search over precomputed latents."""
    motion = session.generate(PROMPT, seconds=4.0).resample(SCENE_FPS)
    results: dict[str, Any] = {
        "encode_4s_action": repeat(lambda: session.encode_motion([motion]), repeats)
    }
    generator = torch.Generator().manual_seed(0)
    for size in (1_000, 100_000):
        latents = torch.randn(size, session.config.latent_dim, generator=generator)
        library = EncodedMotions([f"m{i}" for i in range(size)], latents)
        library.unit_latents  # noqa: B018  (normalised once, as a cached index is)
        results[f"search_top5_{size}"] = repeat(
            lambda lib=library: session.search(motion, lib, 5), repeats
        )
    return results


def decoder_floor(session: inference.MotionClip, repeats: int) -> dict[str, Any]:
    """The decoder's floating-point work for 4 s over this machine's measured matmul rate."""
    frames = session.frames_for(4.0)
    latent = session.text_latents([PROMPT])
    mask = frame_mask(torch.tensor([frames]), frames)
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        session.model.decode(latent, mask)
    flops = counter.get_total_flops()
    size = session.config.width
    a, b = torch.randn(frames, size), torch.randn(size, size)
    matmul = repeat(lambda: a @ b, repeats * 10)
    rate = 2 * frames * size * size / (matmul["p50_ms"] / 1000)
    measured = repeat(lambda: session.decode(latent, frames=frames), repeats)
    floor_ms = flops / rate * 1000
    return {
        "decoder_gflop_4s": round(flops / 1e9, 4),
        "matmul_gflops_per_s": round(rate / 1e9, 2),
        "floor_ms": round(floor_ms, 3),
        "measured_ms": measured["p50_ms"],
        "times_the_floor": round(measured["p50_ms"] / floor_ms, 1),
    }


def thread_comparison(session: inference.MotionClip, repeats: int) -> dict[str, Any]:
    """Decoding 4 s with 1 and 2 torch threads, interleaved; ratio 1 thread / 2 threads."""
    frames = session.frames_for(4.0)
    latent = session.text_latents([PROMPT])
    original = torch.get_num_threads()

    def with_threads(count: int) -> None:
        torch.set_num_threads(count)
        session.decode(latent, frames=frames)

    times = interleaved({"1": lambda: with_threads(1), "2": lambda: with_threads(2)}, repeats)
    torch.set_num_threads(original)
    return {**times, "ratio_1_over_2": round(times["1"]["p50_ms"] / times["2"]["p50_ms"], 2)}
