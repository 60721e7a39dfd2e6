"""Benchmarks: ``python -m bench NAME [--quick]``. Each figure is a ratio to a baseline measured
in the same run, so results compare across machines. Never run from the test suite."""
