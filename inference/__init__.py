"""Frames in, events out: motion gating, detectors, rules."""
