"""Benchmarks of Samhandling: load from a separate process, each scenario against its floor."""
