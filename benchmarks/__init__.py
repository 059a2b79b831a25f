"""Benchmarks of seatlock; ``python -m benchmarks.vs_020`` compares it with 0.2.0."""
