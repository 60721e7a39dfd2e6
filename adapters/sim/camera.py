"""A rack of simulated ONVIF cameras: one RTSP server, one ONVIF device per camera, WS-Discovery.

Camera ``i`` (``cam1``, ``cam2``, …) serves ``rtsp://host:port/camI/main`` and ``…/camI/sub``
(a half-size re-encode) from one shared :class:`~adapters.sim.rtsp.server.RtspServer`, and an
:class:`~adapters.sim.onvif.OnvifDevice` whose two profiles point at them and whose snapshot is a
picture of the main stream. All of a camera's servers read one
:class:`~adapters.sim.faults.CameraFaults`; with ``ptz_video`` (the default) a
:class:`~adapters.sim.ptz_video.PtzVideo` makes both streams show where its PTZ head points.
With ``discovery`` a :class:`~adapters.sim.discovery.responder.DiscoveryResponder` answers
probes for every camera.
Used in-process by tests and as ``hub sim``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from adapters.onvif.wsdiscovery import DEVICE, NVT, Endpoint
from adapters.sim.discovery.responder import DISCOVERY_PORT, DiscoveryResponder
from adapters.sim.faults import CameraFaults, Fault, parse_faults
from adapters.sim.media import Media, load_media
from adapters.sim.onvif import DeviceIdentity, OnvifDevice, SimProfile
from adapters.sim.ptz_video import PtzVideo
from adapters.sim.rtsp.server import RtspServer
from adapters.sim.samples import find_sample
from adapters.sim.substream import make_substream
from adapters.sim.synthetic import write_synthetic_scene

logger = logging.getLogger(__name__)

SYNTHETIC_NAME = "synthetic-scene.mp4"
CODECS = {"h264": "h264", "hevc": "hevc", "h265": "hevc"}
ENCODINGS = {"h264": "H264", "hevc": "H265"}
MAIN_KBPS, SUB_KBPS = 2048, 512


@dataclass(frozen=True, slots=True)
class SimCameraInfo:
    index: int  # 0-based; the camera is named ``cam{index + 1}``
    name: str
    onvif_url: str
    rtsp_main: str
    rtsp_sub: str
    username: str
    password: str
    faults: CameraFaults
    device: OnvifDevice
    endpoint: str  # the WS-Discovery EndpointReference, ``urn:uuid:…``
    ptz_video: PtzVideo | None = None  # None with ``ptz_video=False``

    def as_json(self) -> str:
        return json.dumps(
            {
                "index": self.index,
                "name": self.name,
                "onvif_url": self.onvif_url,
                "rtsp_main": self.rtsp_main,
                "rtsp_sub": self.rtsp_sub,
                "username": self.username,
                "password": self.password,
                "endpoint": self.endpoint,
            }
        )


def camera_scopes(name: str, identity: DeviceIdentity) -> list[str]:
    """ONVIF scopes as cameras announce them; clients show ``name`` and ``hardware``."""
    base = "onvif://www.onvif.org"
    return [
        f"{base}/type/video_encoder",
        f"{base}/type/ptz",
        f"{base}/Profile/Streaming",
        f"{base}/name/{quote(name)}",
        f"{base}/hardware/{quote(identity.model)}",
        f"{base}/location/sim",
    ]


def _even(value: int) -> int:
    return max(16, value - value % 2)


class CameraSimulator:
    """``await start()``, read ``.cameras``, ``await stop()``."""

    def __init__(
        self,
        *,
        cameras: int,
        work_dir: Path,
        sources: list[Path] | None = None,
        host: str = "127.0.0.1",
        rtsp_port: int = 0,
        onvif_port_base: int = 0,
        username: str = "admin",
        password: str = "admin",
        faults: str = "",
        discovery: bool | int = False,
        discovery_multicast: bool = False,
        codec: str = "h264",
        ptz_video: bool = True,
    ) -> None:
        """``onvif_port_base``: 0 for any free port per camera, else camera ``i`` listens on base + i.
        ``discovery``: True answers probes on port 3702, an int on that port (0: any free port);
        ``discovery_multicast`` also joins the WS-Discovery group (only in a private network).
        ``ptz_video``: PTZ moves re-encode the streams to show the new view (see PtzVideo).
        Raises ValueError for a bad fault spec, codec or count, before anything starts."""
        if cameras < 1:
            raise ValueError(f"cameras must be at least 1, got {cameras}")
        if codec.lower() not in CODECS:
            raise ValueError(f"unsupported codec {codec!r}, expected one of {', '.join(CODECS)}")
        if onvif_port_base and not 0 < onvif_port_base + cameras - 1 < 65536:
            raise ValueError(
                f"ONVIF ports {onvif_port_base}..{onvif_port_base + cameras - 1} are out of range"
            )
        self.count = cameras
        self.work_dir = work_dir
        self.sources = list(sources or [])
        self.host = host
        self.rtsp_port = rtsp_port
        self.onvif_port_base = onvif_port_base
        self.username, self.password = username, password
        self.fault_spec: list[Fault] = parse_faults(faults)
        self.discovery_port: int | None = None
        if discovery is not False:
            self.discovery_port = DISCOVERY_PORT if discovery is True else int(discovery)
        self.discovery_multicast = discovery_multicast
        self.codec = CODECS[codec.lower()]
        self.ptz_video = ptz_video
        self._ptz_videos: list[PtzVideo] = []
        self.rtsp: RtspServer | None = None
        self.responder: DiscoveryResponder | None = None
        self._cameras: list[SimCameraInfo] = []

    @property
    def cameras(self) -> list[SimCameraInfo]:
        return list(self._cameras)

    def as_json_lines(self) -> list[str]:
        """One JSON object per camera: what a client needs to connect."""
        return [camera.as_json() for camera in self._cameras]

    async def start(self) -> None:
        if self.rtsp is not None:
            raise RuntimeError("camera simulator is already started")
        await asyncio.to_thread(self.work_dir.mkdir, parents=True, exist_ok=True)
        videos = self.sources or [await self._default_source()]
        pairs = [await self._load(video) for video in videos]
        self.rtsp = RtspServer(
            self.host, self.rtsp_port, credentials=(self.username, self.password), auth="any"
        )
        try:
            await self._start_all(pairs)
        except BaseException:
            await self.stop()
            raise
        logger.info("sim: %d camera(s) started", len(self._cameras))

    async def stop(self) -> None:
        """Bye for every camera, then stop the ONVIF devices and the RTSP server."""
        if self.responder is not None:
            await self.responder.stop()
            self.responder = None
        for video in self._ptz_videos:
            await video.stop()
        self._ptz_videos = []
        for camera in reversed(self._cameras):
            await camera.device.stop()
        self._cameras = []
        if self.rtsp is not None:
            await self.rtsp.stop()
            self.rtsp = None

    async def _start_all(self, pairs: list[tuple[Media, Media]]) -> None:
        rtsp = self.rtsp
        assert rtsp is not None
        all_faults = [CameraFaults(self.fault_spec) for _ in range(self.count)]
        for index, faults in enumerate(all_faults):
            main, sub = pairs[index % len(pairs)]
            rtsp.add_stream(f"cam{index + 1}/main", main, faults=faults)
            rtsp.add_stream(f"cam{index + 1}/sub", sub, faults=faults)
        await rtsp.start()
        if self.discovery_port is not None:
            self.responder = DiscoveryResponder(
                host=self.host, port=self.discovery_port, multicast=self.discovery_multicast
            )
            await self.responder.start()
            self.discovery_port = self.responder.port
        for index, faults in enumerate(all_faults):
            camera = await self._start_camera(index, faults, pairs[index % len(pairs)])
            self._cameras.append(camera)
            if self.responder is not None:
                xaddrs = (camera.device.device_service_url,)
                scopes = tuple(camera_scopes(camera.name, camera.device.identity))
                self.responder.add(Endpoint(camera.endpoint, (NVT, DEVICE), scopes, xaddrs))

    async def _start_camera(
        self, index: int, faults: CameraFaults, media: tuple[Media, Media]
    ) -> SimCameraInfo:
        rtsp = self.rtsp
        assert rtsp is not None
        name = f"cam{index + 1}"
        port = self.onvif_port_base + index if self.onvif_port_base else 0
        main_url, sub_url = rtsp.url(f"{name}/main"), rtsp.url(f"{name}/sub")
        profiles = [
            self._profile("main", "MainStream", media[0], MAIN_KBPS, main_url),
            self._profile("sub", "SubStream", media[1], SUB_KBPS, sub_url),
        ]
        serial = f"SIM{index + 1:04d}"
        identity = DeviceIdentity(serial_number=serial, hostname=f"sim-{name}")
        device = OnvifDevice(
            identity=identity,
            profiles=profiles,
            username=self.username,
            password=self.password,
            faults=faults,
            snapshot=rtsp.stream(f"{name}/main").snapshot_jpeg,
            host=self.host,
            port=port,
            scopes=camera_scopes(name, identity),
        )
        await device.start()
        video: PtzVideo | None = None
        if self.ptz_video:
            streams = [rtsp.stream(f"{name}/main"), rtsp.stream(f"{name}/sub")]
            video = PtzVideo(device.ptz, streams, name=name)
            video.start()
            self._ptz_videos.append(video)
        # Stable across restarts on the same address, distinct between simulators.
        endpoint = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, device.device_service_url)}"
        return SimCameraInfo(
            index=index,
            name=name,
            onvif_url=device.device_service_url,
            rtsp_main=main_url,
            rtsp_sub=sub_url,
            username=self.username,
            password=self.password,
            faults=faults,
            device=device,
            endpoint=endpoint,
            ptz_video=video,
        )

    def _profile(self, token: str, name: str, media: Media, kbps: int, url: str) -> SimProfile:
        encoding = ENCODINGS[media.codec]
        return SimProfile(token, name, media.width, media.height, media.fps, kbps, url, encoding=encoding)

    async def _default_source(self) -> Path:
        sample = await asyncio.to_thread(find_sample)
        if sample is not None:
            return sample
        synthetic = self.work_dir / SYNTHETIC_NAME
        if not await asyncio.to_thread(synthetic.is_file):
            logger.info("sim: generating a synthetic scene at %s", synthetic)
            partial = synthetic.with_name(f".{synthetic.name}.partial.mp4")
            await asyncio.to_thread(write_synthetic_scene, partial, seconds=20.0)
            await asyncio.to_thread(partial.replace, synthetic)
        return synthetic

    async def _load(self, video: Path) -> tuple[Media, Media]:
        """The main and sub media of one source, re-encoded to ``codec`` when it differs."""
        main = await asyncio.to_thread(load_media, video)
        if main.codec != self.codec:
            out = self.work_dir / f"{video.stem}-{self.codec}.mp4"
            encoded = await asyncio.to_thread(
                make_substream, video, out, main.width, main.height, codec=self.codec
            )
            main = await asyncio.to_thread(load_media, encoded)
        width, height = _even(main.width // 2), _even(main.height // 2)
        out = self.work_dir / f"{video.stem}-sub-{width}x{height}-{self.codec}.mp4"
        sub_file = await asyncio.to_thread(make_substream, video, out, width, height, codec=self.codec)
        return main, await asyncio.to_thread(load_media, sub_file)
