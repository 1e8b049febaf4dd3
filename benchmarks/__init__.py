"""Speed, memory and quality benchmarks: `python -m benchmarks.run` (README, "Benchmarks")."""
