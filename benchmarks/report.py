"""The benchmark results as a Markdown report, with the targets the project set itself."""

from __future__ import annotations

from typing import Any

# Targets for the bundled model on a 2-core CPU (issue 9).
TARGETS = {
    "end_to_end_4s_p50_ms": 150.0,
    "cold_load_s": 2.0,
    "search_100000_ms": 20.0,
    "added_memory_mb": 600.0,
}


def verdict(value: float, target: float) -> str:
    if value <= target:
        return f"met (target {target:g})"
    return f"missed by {value - target:.3g} (target {target:g}, {value / target:.1f}x)"


def markdown(results: dict[str, Any]) -> str:
    lines = ["# Benchmark results", ""]
    machine = results["machine"]
    lines += [
        f"Machine: {machine['cpu']}, {machine['cores']} cores, torch {machine['torch']} "
        f"({machine['torch_threads']} threads), Python {machine['python']}"
        + (f", CUDA {machine['cuda']}" if machine["cuda"] else ", no GPU"),
        f"Checkpoint: `{results['checkpoint']['path']}` ({results['checkpoint']['size_mb']} MB)",
        "",
        "## Load and memory (fresh process, median of 5)",
        "",
        "| import s | load s | total s | peak RSS MB | added MB |",
        "|---|---|---|---|---|",
    ]
    load = results["load"]
    lines.append(
        f"| {load['import_s']} | {load['load_s']} | {load['total_s']} | {load['peak_rss_mb']} "
        f"| {load['added_mb']} |"
    )
    lines += ["", "## Prompt to keys (30 fps, model loaded; ms p50 / p95)", ""]
    stages = ["text_encoding", "decoding", "to_blender_rotations", "key_write", "end_to_end"]
    lines += ["| length | " + " | ".join(stages) + " |", "|---" * (len(stages) + 1) + "|"]
    for length, timing in results["prompt_to_keys"].items():
        cells = [f"{timing[s]['p50_ms']:.1f} / {timing[s]['p95_ms']:.1f}" for s in stages]
        lines.append(f"| {length} | " + " | ".join(cells) + " |")
    search = results["encode_and_search"]
    lines += ["", "## Encoding and search (ms p50 / p95)", "", "| task | time |", "|---|---|"]
    for task, timing in search.items():
        lines.append(f"| {task} | {timing['p50_ms']:.2f} / {timing['p95_ms']:.2f} |")
    floor = results["decoder_floor"]
    lines += [
        "",
        "## Decoder against the machine's floor (4 s)",
        "",
        f"{floor['decoder_gflop_4s']} GFLOP at a measured {floor['matmul_gflops_per_s']} GFLOP/s "
        f"matmul rate: floor {floor['floor_ms']} ms, measured {floor['measured_ms']} ms "
        f"({floor['times_the_floor']}x the floor).",
        "",
        f"Torch threads, interleaved: 1 thread {results['threads']['1']['p50_ms']:.1f} ms, "
        f"2 threads {results['threads']['2']['p50_ms']:.1f} ms "
        f"(ratio {results['threads']['ratio_1_over_2']}).",
        "",
        "## Targets (bundled model, 2-core CPU)",
        "",
    ]
    end_to_end = results["prompt_to_keys"]["4s"]["end_to_end"]["p50_ms"]
    checks = [
        ("End-to-end prompt to keys, 4 s, p50", end_to_end, "end_to_end_4s_p50_ms"),
        ("Cold load (fresh process, total)", load["total_s"], "cold_load_s"),
        ("Search of 100,000 latents", search["search_top5_100000"]["p50_ms"], "search_100000_ms"),
        ("Memory added by the loaded model", load["added_mb"], "added_memory_mb"),
    ]
    lines += [f"- {name}: {verdict(value, TARGETS[key])}" for name, value, key in checks]
    lines.append("")
    return "\n".join(lines)
