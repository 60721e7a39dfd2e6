"""Starting worker processes, and the framing of what they say over their socket.

Workers are forked from a ``forkserver`` that has already imported PyAV, OpenCV and the worker
code (:mod:`hub.ingest.worker_main`), so a worker starts in milliseconds and shares those pages
with its siblings; forking the hub itself is unsafe (it runs threads and holds database
connections). Messages are length-prefixed pickles: both ends are this code.
"""

from __future__ import annotations

import asyncio
import io
import multiprocessing
import multiprocessing.context
import os
import pickle
import struct
from multiprocessing import forkserver, popen_forkserver, reduction, spawn, util
from multiprocessing.context import set_spawning_popen
from typing import Any

_HEADER = struct.Struct("!I")
MAX_MESSAGE = 16 << 20  # a message is small; anything bigger is a broken stream
PRELOAD = ["hub.ingest.worker_main"]
_context: multiprocessing.context.ForkServerContext | None = None


def _forkserver() -> multiprocessing.context.ForkServerContext:
    global _context
    if _context is None:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        _context = ctx
    return _context


class _Popen(popen_forkserver.Popen):
    """The fork server's launch, minus re-running the hub's ``__main__`` in each worker.

    CPython has every forkserver child import the parent's main module (for ``hub serve``, the CLI
    with FastAPI, uvicorn and SQLAlchemy): half a second of CPU and ~35 MB per worker, for code a
    worker never runs. Its target lives in a module the fork server has preloaded.
    """

    def _launch(self, process_obj: Any) -> None:
        prep_data = spawn.get_preparation_data(process_obj._name)
        prep_data.pop("init_main_from_path", None)
        prep_data.pop("init_main_from_name", None)
        buf = io.BytesIO()
        set_spawning_popen(self)
        try:
            reduction.dump(prep_data, buf)
            reduction.dump(process_obj, buf)
        finally:
            set_spawning_popen(None)
        self.sentinel, w = forkserver.connect_to_new_process(self._fds)  # type: ignore[attr-defined]
        parent_w = os.dup(w)  # the child's sentinel of its parent, as in CPython
        self.finalizer = util.Finalize(self, util.close_fds, (parent_w, self.sentinel))  # type: ignore[attr-defined]
        with open(w, "wb", closefd=True) as f:
            f.write(buf.getbuffer())
        self.pid = forkserver.read_signed(self.sentinel)


class WorkerProcessHandle(multiprocessing.context.ForkServerProcess):
    """A forkserver process started with :class:`_Popen`."""

    @staticmethod
    def _Popen(process_obj: Any) -> _Popen:
        _forkserver()  # the preload must be set before the fork server first starts
        return _Popen(process_obj)


def frame(obj: object) -> bytes:
    body = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(body)) + body


async def read_frame(reader: asyncio.StreamReader) -> Any:
    """The next object; raises EOFError when the other end closed (mid-message included)."""
    try:
        (size,) = _HEADER.unpack(await reader.readexactly(_HEADER.size))
        if size > MAX_MESSAGE:
            raise EOFError(f"message of {size} bytes exceeds {MAX_MESSAGE}")
        return pickle.loads(await reader.readexactly(size))
    except (asyncio.IncompleteReadError, ConnectionError) as err:
        raise EOFError(str(err)) from err
