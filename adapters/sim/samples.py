"""Where the shared sample video lives: ``../shared/samples/`` beside the checkout or the cwd."""

from __future__ import annotations

from pathlib import Path

SAMPLE_NAME = "pets2009-vtest-480x360-10fps.mp4"
_REPO = Path(__file__).resolve().parent.parent.parent


def find_sample() -> Path | None:
    """The PETS 2009 sample (see its README for attribution), or None on a machine without it."""
    for base in (Path.cwd(), _REPO):
        candidate = base.parent / "shared" / "samples" / SAMPLE_NAME
        if candidate.is_file():
            return candidate
    return None
