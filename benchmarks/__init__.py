"""Speed, memory and quality benchmarks: `python -m benchmarks.run` (see benchmarks/README.md)."""
