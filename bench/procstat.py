"""CPU and memory of a process and its descendants, from ``/proc`` (Linux), for benchmarks.

The hub runs each camera in a worker process forked from a fork server, so its CPU and memory
are those of a whole process tree. Processes the benchmark starts itself (the simulator) are
left out by pid.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
TICKS_PER_S = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class TreeUsage:
    cpu_s: float  # user + system of every process in the tree, while it lived
    processes: int


@dataclass(frozen=True, slots=True)
class TreeMemory:
    rss_bytes: int  # pages shared between workers are counted in each
    pss_bytes: int  # shared pages divided among the processes that share them: the real total
    processes: int


def _stat(pid: int) -> list[str] | None:
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:  # gone meanwhile
        return None
    return text.rsplit(")", 1)[1].split()  # the command name may hold spaces and brackets


def tree(root: int, *, exclude: frozenset[int] = frozenset()) -> list[int]:
    """``root`` and its live descendants, less ``exclude`` and theirs."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat(int(entry.name))
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in exclude:
            continue
        out.append(pid)
        todo.extend(children.get(pid, ()))
    return out


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """user + system CPU of each process so far (own threads; children that were waited for too)."""
    out: dict[int, float] = {}
    for pid in pids:
        fields = _stat(pid)
        if fields is not None:
            # Fields 14-17 of proc(5) (utime, stime, cutime, cstime), here from index 11.
            out[pid] = sum(int(f) for f in fields[11:15]) / TICKS_PER_S
    return out


def usage_between(before: dict[int, float], after: dict[int, float]) -> TreeUsage:
    """CPU used between two :func:`cpu_seconds` readings; processes born meanwhile count whole."""
    return TreeUsage(sum(v - before.get(pid, 0.0) for pid, v in after.items()), len(after))


def memory(pids: list[int]) -> TreeMemory:
    rss = pss = count = 0
    for pid in pids:
        try:
            lines = (PROC / str(pid) / "smaps_rollup").read_text().splitlines()
        except OSError:
            continue
        values = {k: int(v.split()[0]) * 1024 for k, _, v in (line.partition(":") for line in lines[1:])}
        rss += values.get("Rss", 0)
        pss += values.get("Pss", 0)
        count += 1
    return TreeMemory(rss, pss, count)
