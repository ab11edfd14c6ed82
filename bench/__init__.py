"""Benchmarks: speed and memory, printed as tables. Run all with ``python -m bench``."""
