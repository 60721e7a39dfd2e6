"""Shared fixtures. Each fixture family lives in ``tests/fixtures``; list new ones here."""

pytest_plugins = [
    "tests.fixtures.seaweed",
    "tests.fixtures.databases",
    "tests.fixtures.hub",
    "tests.fixtures.media",
    "tests.fixtures.sim_cameras",
]
