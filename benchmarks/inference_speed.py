"""What a user waits for: model load, prompt to keys in Blender, encoding, search, memory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import torch

from motionclip_blender.core import inference
from motionclip_blender.core.inference import EncodedMotions
from motionclip_blender.core.model import frame_mask
from motionclip_blender.core.motion import Motion
from motionclip_blender.core.reconstruction import REFINE_STEPS
from motionclip_blender.core.rig import motion_to_channels, smpl_armature

from .timing import flop_count, interleaved, matmul_rate, repeat

PROMPT = "a person walks forward and waves"
SCENE_FPS = 30.0

# The stages of a cold load, in order; together they are the cold total.
COLD_STAGES = ("torch_import", "other_imports", "checkpoint", "text_encoder", "first_text")

COLD_LOAD = """
import json, sys, time
def status_mb(field):  # VmRSS: now; VmHWM: the peak. Both belong to this process alone
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
def mark():  # wall clock, this process' CPU time (what an idle machine would take), memory
    marks.append((time.perf_counter(), time.process_time(), status_mb("VmRSS")))
marks = []
mark()
import torch
mark()
from motionclip_blender.core import inference
mark()
session = inference.load(sys.argv[1])
mark()
session.text_space
mark()
session.encode_text(["warm up the text encoder"])
mark()
peak = status_mb("VmHWM")
start = time.perf_counter()
inference.load(sys.argv[1]).encode_text(["a second session, everything imported"])
warm = time.perf_counter() - start
steps = list(zip(sys.argv[2:], marks, marks[1:]))
print(json.dumps({"seconds": {name: b[0] - a[0] for name, a, b in steps},
                  "cpu_seconds": {name: b[1] - a[1] for name, a, b in steps},
                  "mb": {name: b[2] - a[2] for name, a, b in steps},
                  "warm_s": warm, "added_mb": peak - marks[0][2], "peak_rss_mb": peak}))
"""


def cold_load(checkpoint: Path, repeats: int) -> dict[str, Any]:
    """Fresh processes: each stage up to the first text encoding (COLD_STAGES), in wall-clock
    and CPU seconds (on a busy machine the CPU time is near what an idle one would take), with
    the resident memory it adds; a second load in the same process (warm); and the peak memory
    that torch, the model and its text encoder add to a bare Python process (as they would to
    Blender's). The run of median total time."""
    runs = []
    for _ in range(repeats):
        output = subprocess.run(
            [sys.executable, "-c", COLD_LOAD, str(checkpoint), *COLD_STAGES],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        runs.append(json.loads(output.strip().splitlines()[-1]))
    middle = sorted(runs, key=lambda run: sum(run["seconds"].values()))[len(runs) // 2]
    return {
        "stages_s": {name: round(value, 3) for name, value in middle["seconds"].items()},
        "stages_cpu_s": {name: round(value, 3) for name, value in middle["cpu_seconds"].items()},
        "stages_mb": {name: round(value, 1) for name, value in middle["mb"].items()},
        "total_s": round(sum(middle["seconds"].values()), 3),
        "total_cpu_s": round(sum(middle["cpu_seconds"].values()), 3),
        "warm_s": round(middle["warm_s"], 3),
        "peak_rss_mb": round(middle["peak_rss_mb"], 1),
        "added_mb": round(middle["added_mb"], 1),
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
    """Text encoding, decoding, both (`generate`), conversion to pose channels, key writing,
    and all of them."""
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
        "generate": repeat(lambda: session.generate(PROMPT, seconds=seconds), repeats),
        "to_blender_rotations": repeat(
            lambda: motion_to_channels(motion.resample(SCENE_FPS), armature), repeats
        ),
        "key_write": repeat(lambda: write_action(rig, armature, channels, "benchmark", 1), repeats),
        "end_to_end": repeat(end_to_end, repeats),
    }


def refined_afresh(session: inference.MotionClip, motion: Motion) -> torch.Tensor:
    """The motion's refined latent, computed again rather than taken from the session's cache."""
    session.refined_cache.clear()
    return session.faithful_latents([motion])


def encode_and_search(session: inference.MotionClip, repeats: int) -> dict[str, Any]:
    """Encoding a 4-second action, alone and refined as blend and edit do (REFINE_STEPS steps,
    a tenth of the repeats: each takes seconds), blending two such actions again once their
    refined latents are kept, and top-5 search over precomputed latents."""
    motion = session.generate(PROMPT, seconds=4.0).resample(SCENE_FPS)
    other = session.generate("a person jumps", seconds=4.0).resample(SCENE_FPS)
    results: dict[str, Any] = {
        "encode_4s_action": repeat(lambda: session.encode_motion([motion]), repeats),
        f"encode_4s_action_refined_{REFINE_STEPS}_steps": repeat(
            lambda: refined_afresh(session, motion), max(1, repeats // 10), warmup=1
        ),
        "blend_4s_actions_again": repeat(
            lambda: session.interpolate(motion, other, [0.3]), repeats, warmup=1
        ),
    }
    generator = torch.Generator().manual_seed(0)
    for size in (1_000, 100_000):
        latents = torch.randn(size, session.config.latent_dim, generator=generator)
        library = EncodedMotions([f"m{i}" for i in range(size)], latents)
        library.unit_latents_half  # noqa: B018  (normalised once, as a cached index is)
        results[f"search_top5_{size}"] = repeat(
            lambda lib=library: session.search(motion, lib, 5), repeats
        )
    return results


def decoder_floor(session: inference.MotionClip, repeats: int) -> dict[str, Any]:
    """The decoder's floating-point work for 4 s over this machine's measured matmul rate."""
    frames = session.frames_for(4.0)
    latent = session.text_latents([PROMPT])
    mask = frame_mask(torch.tensor([frames]), frames)
    with torch.inference_mode():
        flops = flop_count(lambda: session.model.decode(latent, mask))
    rate = matmul_rate(frames, session.config.width, repeats * 10)
    measured = repeat(lambda: session.decode(latent, frames=frames), repeats)
    floor_ms = flops / rate * 1000
    return {
        "decoder_gflop_4s": round(flops / 1e9, 4),
        "matmul_gflops_per_s": round(rate / 1e9, 2),
        "floor_ms": round(floor_ms, 3),
        "measured_ms": measured["p50_ms"],
        "measured_cpu_ms": measured["cpu_p50_ms"],
        "times_the_floor": round(measured["p50_ms"] / floor_ms, 1),
        "cpu_times_the_floor": round(measured["cpu_p50_ms"] / floor_ms, 1),
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
