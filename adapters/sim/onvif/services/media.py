"""Media ver10 (``trt``): profiles, stream and snapshot URIs, video sources and encoders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from adapters.sim.onvif.models import SimProfile
from adapters.sim.onvif.services import SNAPSHOT_PATH, Call, Operations, invalid_arg
from adapters.sim.onvif.services.ptz import ptz_configuration
from adapters.sim.onvif.soap import NS, Element, el, required_text, text

TRT = NS["trt"]
SOURCE_TOKEN = "vs0"
SOURCE_CONFIG_TOKEN = "vsc0"


def media_capabilities() -> Element:
    return el(
        "trt:Capabilities",
        el("trt:ProfileCapabilities", MaximumNumberOfProfiles="2"),
        el("trt:StreamingCapabilities", RTPMulticast="false", RTP_TCP="true", RTP_RTSP_TCP="true"),
        SnapshotUri="true",
        Rotation="false",
    )


def _multicast() -> Element:
    return el(
        "tt:Multicast",
        el("tt:Address", text("tt:Type", "IPv4"), text("tt:IPv4Address", "0.0.0.0")),
        text("tt:Port", 0),
        text("tt:TTL", 0),
        text("tt:AutoStart", False),
    )


def encoder_configuration(tag: str, profile: SimProfile) -> Element:
    fps = max(1, round(profile.fps))
    return el(
        tag,
        text("tt:Name", f"{profile.name} encoder"),
        text("tt:UseCount", 1),
        text("tt:Encoding", profile.encoding),
        el("tt:Resolution", text("tt:Width", profile.width), text("tt:Height", profile.height)),
        text("tt:Quality", 5),
        el(
            "tt:RateControl",
            text("tt:FrameRateLimit", fps),
            text("tt:EncodingInterval", 1),
            text("tt:BitrateLimit", profile.bitrate_kbps),
        ),
        el("tt:H264", text("tt:GovLength", fps), text("tt:H264Profile", "Main"))
        if profile.encoding == "H264"
        else None,
        _multicast(),
        text("tt:SessionTimeout", "PT60S"),
        token=f"vec_{profile.token}",
    )


@dataclass
class MediaService:
    profiles: list[SimProfile]
    base_url: Callable[[], str]
    has_ptz: bool

    def operations(self) -> Operations:
        ops = {
            "GetProfiles": self.get_profiles,
            "GetProfile": self.get_profile,
            "GetStreamUri": self.get_stream_uri,
            "GetSnapshotUri": self.get_snapshot_uri,
            "GetVideoSources": self.get_video_sources,
            "GetVideoSourceConfigurations": self.get_video_source_configurations,
            "GetVideoEncoderConfigurations": self.get_video_encoder_configurations,
            "GetServiceCapabilities": self.get_service_capabilities,
        }
        return {f"{{{TRT}}}{name}": handler for name, handler in ops.items()}

    def profile(self, token: str) -> SimProfile:
        for profile in self.profiles:
            if profile.token == token:
                return profile
        raise invalid_arg(f"no profile {token!r}", "ter:NoProfile")

    def _source_size(self) -> tuple[int, int]:
        main = max(self.profiles, key=lambda p: p.width * p.height)
        return main.width, main.height

    def _source_configuration(self, tag: str) -> Element:
        width, height = self._source_size()
        return el(
            tag,
            text("tt:Name", "video source"),
            text("tt:UseCount", len(self.profiles)),
            text("tt:SourceToken", SOURCE_TOKEN),
            el("tt:Bounds", x="0", y="0", width=str(width), height=str(height)),
            token=SOURCE_CONFIG_TOKEN,
        )

    def _profile(self, tag: str, profile: SimProfile) -> Element:
        return el(
            tag,
            text("tt:Name", profile.name),
            self._source_configuration("tt:VideoSourceConfiguration"),
            encoder_configuration("tt:VideoEncoderConfiguration", profile),
            ptz_configuration("tt:PTZConfiguration") if self.has_ptz else None,
            token=profile.token,
            fixed="true",
        )

    async def get_profiles(self, call: Call) -> Element:
        return el("trt:GetProfilesResponse", *(self._profile("trt:Profiles", p) for p in self.profiles))

    async def get_profile(self, call: Call) -> Element:
        profile = self.profile(required_text(call.operation, "trt:ProfileToken"))
        return el("trt:GetProfileResponse", self._profile("trt:Profile", profile))

    async def get_stream_uri(self, call: Call) -> Element:
        profile = self.profile(required_text(call.operation, "trt:ProfileToken"))
        return el("trt:GetStreamUriResponse", _media_uri(profile.rtsp_uri))

    async def get_snapshot_uri(self, call: Call) -> Element:
        profile = self.profile(required_text(call.operation, "trt:ProfileToken"))
        uri = f"{self.base_url()}{SNAPSHOT_PATH}{profile.token}.jpg"
        return el("trt:GetSnapshotUriResponse", _media_uri(uri))

    async def get_video_sources(self, call: Call) -> Element:
        width, height = self._source_size()
        fps = max(p.fps for p in self.profiles)
        return el(
            "trt:GetVideoSourcesResponse",
            el(
                "trt:VideoSources",
                text("tt:Framerate", f"{fps:g}"),
                el("tt:Resolution", text("tt:Width", width), text("tt:Height", height)),
                token=SOURCE_TOKEN,
            ),
        )

    async def get_video_source_configurations(self, call: Call) -> Element:
        return el(
            "trt:GetVideoSourceConfigurationsResponse", self._source_configuration("trt:Configurations")
        )

    async def get_video_encoder_configurations(self, call: Call) -> Element:
        return el(
            "trt:GetVideoEncoderConfigurationsResponse",
            *(encoder_configuration("trt:Configurations", p) for p in self.profiles),
        )

    async def get_service_capabilities(self, call: Call) -> Element:
        return el("trt:GetServiceCapabilitiesResponse", media_capabilities())


def _media_uri(uri: str) -> Element:
    return el(
        "trt:MediaUri",
        text("tt:Uri", uri),
        text("tt:InvalidAfterConnect", False),
        text("tt:InvalidAfterReboot", False),
        text("tt:Timeout", "PT60S"),
    )
