"""The benchmark harness's bookkeeping (the timings themselves are benchmarks, not tests)."""

from __future__ import annotations

from benchmarks.report import markdown, verdict
from benchmarks.timing import interleaved, repeat, summary


def test_summary_gives_median_and_95th_percentile() -> None:
    result = summary([float(value) for value in range(1, 101)])
    assert result == {"p50_ms": 50.5, "p95_ms": 95.0, "runs": 100}


def test_repeat_and_interleaved_run_each_variant_as_asked() -> None:
    calls: list[str] = []
    assert repeat(lambda: calls.append("a"), repeats=3, warmup=1)["runs"] == 3
    assert calls == ["a"] * 4
    calls.clear()
    timings = interleaved({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, 2)
    assert calls == ["a", "b", "a", "b", "a", "b"] and set(timings) == {"a", "b"}


def test_report_says_by_how_much_a_target_is_missed() -> None:
    assert verdict(120.0, 150.0) == "met (target 150)"
    assert verdict(3.0, 2.0) == "missed by 1 (target 2, 1.5x)"
    timing = {"p50_ms": 1.0, "p95_ms": 2.0, "runs": 3}
    stages = ["text_encoding", "decoding", "to_blender_rotations", "key_write", "end_to_end"]
    results = {
        "machine": {"cpu": "test", "cores": 2, "torch": "2", "torch_threads": 2, "python": "3"},
        "checkpoint": {"path": "m.pt", "size_mb": 1.0},
        "load": {"import_s": 1, "load_s": 2, "total_s": 3, "peak_rss_mb": 4, "added_mb": 700},
        "prompt_to_keys": {"4s": dict.fromkeys(stages, timing)},
        "encode_and_search": {"search_top5_100000": timing},
        "decoder_floor": {
            "decoder_gflop_4s": 1,
            "matmul_gflops_per_s": 1,
            "floor_ms": 1,
            "measured_ms": 2,
            "times_the_floor": 2,
        },
        "threads": {"1": timing, "2": timing, "ratio_1_over_2": 1.0},
    }
    results["machine"]["cuda"] = None
    text = markdown(results)
    assert "Cold load (fresh process, total): missed by 1 (target 2, 1.5x)" in text
    assert "Memory added by the loaded model: missed by 100" in text
