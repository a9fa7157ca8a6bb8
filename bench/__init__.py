"""Performance benchmarks: see bench/run.py."""
