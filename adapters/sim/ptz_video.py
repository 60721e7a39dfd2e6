"""PTZ you can see: a simulated camera's streams show the part of the scene its head points at.

:class:`PtzVideo` watches one camera's :class:`~adapters.sim.onvif.ptz_state.PtzState` (a few
times a second, cheaply: :attr:`~PtzState.version` and :meth:`~PtzState.settled`). Once the head
has been at rest for ``settle_s`` after a Stop, an Absolute or Relative move, a GotoPreset or the
end of a timed ContinuousMove, each stream gets a re-encode of its whole source loop cut to
:meth:`~PtzState.crop_window` and scaled back to the stream's size; the stream switches to it at
its next keyframe. The video jumps to the new view rather than sweeping across: a move costs one
encode of the loop per stream, not one per frame.

* One encode at a time per camera, in a worker thread, stream by stream (main first); each
  stream switches as soon as its view is ready. If the head moves again meanwhile, the finished
  view is kept in the cache but not shown, and only the latest position is built next.
* The home view (zoom 0: the whole frame) is the source itself, shown without encoding.
* The last ``cache_size`` views of each stream are kept: going back to a preset costs no encode
  (the switch still waits for the next keyframe, as every switch does).
* Sources longer than ``max_megapixels`` (width x height x pictures of one loop) are not
  re-encoded at all: their video ignores PTZ (logged once), so a long file cannot eat a core.

Faults win: the resize and tamper faults play versions of the *uncropped* source, and while one is
active the PTZ view waits; it comes back when the fault ends. The PTZ view takes the place of
the source as the stream's fault-free version.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict

from adapters.sim.media import Media
from adapters.sim.onvif.ptz_state import PtzState
from adapters.sim.rtsp.streams import PREPARE_ERRORS, SimStream
from adapters.sim.substream import Crop, transcode_media

logger = logging.getLogger(__name__)

POLL_S = 0.2
CACHE_SIZE = 4
MAX_MEGAPIXELS = 500.0  # ~7 s of one core; the 480x360 80 s sample (138) takes ~2 s


def loop_megapixels(media: Media) -> float:
    """The pixels of one loop of ``media``, in millions: what re-encoding it costs."""
    return media.width * media.height * len(media.units) / 1e6


class _StreamView:
    """One stream's PTZ views: what it shows and the few it has shown lately."""

    def __init__(self, stream: SimStream, cache_size: int) -> None:
        self.stream = stream
        self.cache: OrderedDict[Crop, Media] = OrderedDict()
        self.cache_size = cache_size
        self.failed: set[Crop] = set()

    @property
    def home(self) -> Crop:
        return 0, 0, self.stream.source.width, self.stream.source.height

    def cached(self, crop: Crop) -> Media | None:
        if crop == self.home:
            return self.stream.source
        media = self.cache.get(crop)
        if media is not None:
            self.cache.move_to_end(crop)
        return media

    def keep(self, crop: Crop, media: Media) -> None:
        self.cache[crop] = media
        self.cache.move_to_end(crop)
        while len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)

    def show(self, media: Media) -> None:
        """Make ``media`` the stream's fault-free version: the sender switches at a keyframe."""
        self.stream.set_view(media)


class PtzVideo:
    """``start()`` it beside the camera's streams, ``await stop()`` before they stop."""

    def __init__(
        self,
        ptz: PtzState,
        streams: list[SimStream],
        *,
        settle_s: float = 0.3,
        poll_s: float = POLL_S,
        cache_size: int = CACHE_SIZE,
        max_megapixels: float = MAX_MEGAPIXELS,
        name: str = "camera",
    ) -> None:
        if settle_s < 0 or poll_s <= 0 or cache_size < 1:
            raise ValueError(
                f"{name}: need settle_s >= 0, poll_s > 0, cache_size >= 1, "
                f"got {settle_s}, {poll_s}, {cache_size}"
            )
        self.ptz, self.name = ptz, name
        self.settle_s, self.poll_s = settle_s, poll_s
        self.views: list[_StreamView] = []
        for stream in streams:
            if loop_megapixels(stream.source) > max_megapixels:
                logger.info(
                    "sim camera %s: %s is too long to re-encode (%.0f > %.0f Mpixel), PTZ will not show",
                    name,
                    stream.path,
                    loop_megapixels(stream.source),
                    max_megapixels,
                )
            else:
                self.views.append(_StreamView(stream, cache_size))
        self.encodes = 0  # variants encoded so far
        # The PtzState.version whose view the streams have (from their next keyframe on).
        self.shown_version: int | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is not None:
            raise RuntimeError(f"{self.name}: PTZ video is already started")
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"sim-ptz-video-{self.name}")

    async def stop(self) -> None:
        """Cancel the watcher; an encode already in its worker thread finishes there, unused."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        await asyncio.wait([task])  # a cancellation of stop() itself still propagates
        if not task.cancelled() and task.exception() is not None:
            logger.error("sim camera %s: PTZ video had failed", self.name, exc_info=task.exception())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.poll_s)
            if self.ptz.settled(self.settle_s) and self.ptz.version != self.shown_version:
                await self._show(self.ptz.version)

    async def _show(self, version: int) -> None:
        """Give each stream in turn the view of position ``version``, until the head moves again."""
        crops = [self.ptz.crop_window(v.stream.source.width, v.stream.source.height) for v in self.views]
        for view, crop in zip(self.views, crops, strict=True):
            media = view.cached(crop)
            if media is None and crop not in view.failed:
                media = await self._encode(view, crop)
                if self.ptz.version != version:
                    logger.debug("sim camera %s: moved again while encoding, skipping a view", self.name)
                    return
            if media is not None:  # a view that failed leaves the stream where it was
                view.show(media)
        pan, tilt, zoom = self.ptz.position()
        logger.info("sim camera %s: video now at pan %.2f tilt %.2f zoom %.2f", self.name, pan, tilt, zoom)
        self.shown_version = version

    async def _encode(self, view: _StreamView, crop: Crop) -> Media | None:
        source = view.stream.source
        try:
            media = await asyncio.to_thread(transcode_media, source, source.width, source.height, crop=crop)
        except PREPARE_ERRORS as err:
            logger.error(
                "sim camera %s: cannot make the %s view %s: %s", self.name, view.stream.path, crop, err
            )
            view.failed.add(crop)
            return None
        self.encodes += 1
        view.keep(crop, media)
        return media
