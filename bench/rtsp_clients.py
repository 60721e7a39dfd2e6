"""RTSP clients in their own process (demux only), so their CPU is not counted against a server."""

from __future__ import annotations

import sys
import threading
import time

import av


def _read(url: str, seconds: float, counts: list[int], index: int) -> None:
    with av.open(url, options={"rtsp_transport": "tcp", "analyzeduration": "500000"}, timeout=(10, 10)) as c:
        deadline = time.monotonic() + seconds
        for packet in c.demux(c.streams.video[0]):
            if packet.size:
                counts[index] += packet.size
            if time.monotonic() > deadline:
                return


def main() -> None:
    seconds = float(sys.argv[1])
    urls = sys.argv[2:]
    counts = [0] * len(urls)
    threads = [threading.Thread(target=_read, args=(u, seconds, counts, i)) for i, u in enumerate(urls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(sum(counts), flush=True)


if __name__ == "__main__":
    main()
