"""Configuration problems, each with the dotted location and the YAML line it comes from."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hub.config.hub import ENV_PREFIX


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One thing wrong with the configuration.

    ``location`` is a dotted path (``cameras[1].url``), or the environment variable that set the
    value (``HUB_API__PORT``); ``line`` and ``column`` are 1-based positions in the YAML file.
    """

    location: str
    message: str
    line: int | None = None
    column: int | None = None


class ConfigError(Exception):
    """The configuration cannot be used; ``problems`` lists every reason found."""

    def __init__(self, problems: list[ConfigProblem], path: Path | None = None) -> None:
        self.problems = problems
        self.path = path
        super().__init__(format_problems(problems, path))


def format_problems(problems: Iterable[ConfigProblem], path: Path | None) -> str:
    """``FILE:LINE:COL: LOCATION: MESSAGE`` lines, as compilers print them."""
    lines = []
    for problem in problems:
        if problem.location.upper().startswith(ENV_PREFIX) and problem.line is None:
            where = "environment"
        else:
            where = str(path) if path is not None else "<settings>"
            if problem.line is not None:
                where += f":{problem.line}"
                if problem.column is not None:
                    where += f":{problem.column}"
        location = f" {problem.location}:" if problem.location else ""
        lines.append(f"{where}:{location} {problem.message}")
    return "\n".join(lines)
