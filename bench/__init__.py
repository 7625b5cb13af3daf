"""Benchmarks of the make bench-* targets; outside the shipped package."""
