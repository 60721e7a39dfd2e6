"""Logging set-up for the CLI: one line per record, time first, the camera named by each message."""

from __future__ import annotations

import logging


def configure_logging(level: str = "info") -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S",
        force=True,
    )
    for noisy in ("httpx", "uvicorn.access", "libav"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
