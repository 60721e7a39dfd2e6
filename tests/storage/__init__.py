"""Tests of the storage backends: one shared contract, plus each backend's own faults."""
