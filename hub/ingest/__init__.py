"""Ingest: one pipeline per camera, supervised, reconnecting, reporting health."""
