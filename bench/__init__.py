"""Benchmarks (``make bench``): figures to compare, not tests; each exits 0."""
