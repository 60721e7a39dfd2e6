"""PTZ ver20 (``tptz``): one node in the generic spaces, continuous/relative/absolute moves, presets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from adapters.sim.onvif.ptz_state import MAX_PRESETS, PtzState
from adapters.sim.onvif.services import Call, Clock, Operations, invalid_arg
from adapters.sim.onvif.soap import (
    NS,
    Element,
    child,
    child_text,
    el,
    float_attr,
    format_datetime,
    parse_bool,
    parse_duration,
    required_text,
    text,
)

TPTZ = NS["tptz"]
NODE_TOKEN = "ptz_node"
CONFIG_TOKEN = "ptz0"
DEFAULT_TIMEOUT_S = 10.0
_SPACES = "http://www.onvif.org/ver10/tptz"
POSITION_PT = f"{_SPACES}/PanTiltSpaces/PositionGenericSpace"
POSITION_Z = f"{_SPACES}/ZoomSpaces/PositionGenericSpace"
TRANSLATION_PT = f"{_SPACES}/PanTiltSpaces/TranslationGenericSpace"
TRANSLATION_Z = f"{_SPACES}/ZoomSpaces/TranslationGenericSpace"
VELOCITY_PT = f"{_SPACES}/PanTiltSpaces/VelocityGenericSpace"
VELOCITY_Z = f"{_SPACES}/ZoomSpaces/VelocityGenericSpace"
SPEED_PT = f"{_SPACES}/PanTiltSpaces/GenericSpeedSpace"
SPEED_Z = f"{_SPACES}/ZoomSpaces/ZoomGenericSpeedSpace"


def ptz_capabilities() -> Element:
    return el("tptz:Capabilities", EFlip="false", Reverse="false", GetCompatibleConfigurations="false")


def _range(tag: str, low: float, high: float) -> Element:
    return el(tag, text("tt:Min", f"{low:g}"), text("tt:Max", f"{high:g}"))


def _space2d(tag: str, uri: str, low: float = -1.0) -> Element:
    return el(tag, text("tt:URI", uri), _range("tt:XRange", low, 1), _range("tt:YRange", low, 1))


def _space1d(tag: str, uri: str, low: float) -> Element:
    return el(tag, text("tt:URI", uri), _range("tt:XRange", low, 1))


def ptz_configuration(tag: str) -> Element:
    return el(
        tag,
        text("tt:Name", "PTZ"),
        text("tt:UseCount", 1),
        text("tt:NodeToken", NODE_TOKEN),
        text("tt:DefaultAbsolutePantTiltPositionSpace", POSITION_PT),
        text("tt:DefaultAbsoluteZoomPositionSpace", POSITION_Z),
        text("tt:DefaultRelativePanTiltTranslationSpace", TRANSLATION_PT),
        text("tt:DefaultRelativeZoomTranslationSpace", TRANSLATION_Z),
        text("tt:DefaultContinuousPanTiltVelocitySpace", VELOCITY_PT),
        text("tt:DefaultContinuousZoomVelocitySpace", VELOCITY_Z),
        el(
            "tt:DefaultPTZSpeed",
            el("tt:PanTilt", x="1", y="1", space=SPEED_PT),
            el("tt:Zoom", x="1", space=SPEED_Z),
        ),
        text("tt:DefaultPTZTimeout", f"PT{DEFAULT_TIMEOUT_S:g}S"),
        el("tt:PanTiltLimits", _space2d("tt:Range", POSITION_PT)),
        el("tt:ZoomLimits", _space1d("tt:Range", POSITION_Z, 0)),
        token=CONFIG_TOKEN,
    )


def ptz_node(tag: str) -> Element:
    return el(
        tag,
        text("tt:Name", "PTZ head"),
        el(
            "tt:SupportedPTZSpaces",
            _space2d("tt:AbsolutePanTiltPositionSpace", POSITION_PT),
            _space1d("tt:AbsoluteZoomPositionSpace", POSITION_Z, 0),
            _space2d("tt:RelativePanTiltTranslationSpace", TRANSLATION_PT),
            _space1d("tt:RelativeZoomTranslationSpace", TRANSLATION_Z, -1),
            _space2d("tt:ContinuousPanTiltVelocitySpace", VELOCITY_PT),
            _space1d("tt:ContinuousZoomVelocitySpace", VELOCITY_Z, -1),
            _space1d("tt:PanTiltSpeedSpace", SPEED_PT, 0),
            _space1d("tt:ZoomSpeedSpace", SPEED_Z, 0),
        ),
        text("tt:MaximumNumberOfPresets", MAX_PRESETS),
        text("tt:HomeSupported", False),
        token=NODE_TOKEN,
        FixedHomePosition="false",
    )


def _vector(tag: str, pan: float, tilt: float, zoom: float, pt_space: str, z_space: str) -> Element:
    return el(
        tag,
        el("tt:PanTilt", x=f"{pan:.6g}", y=f"{tilt:.6g}", space=pt_space),
        el("tt:Zoom", x=f"{zoom:.6g}", space=z_space),
    )


def _read_vector(node: Element | None) -> tuple[float | None, float | None, float | None]:
    """(pan, tilt, zoom) of a PTZVector or PTZSpeed; None for the parts it leaves out."""
    if node is None:
        return None, None, None
    pan_tilt, zoom = child(node, "tt:PanTilt"), child(node, "tt:Zoom")
    pan = float_attr(pan_tilt, "x") if pan_tilt is not None else None
    tilt = float_attr(pan_tilt, "y") if pan_tilt is not None else None
    return pan, tilt, float_attr(zoom, "x") if zoom is not None else None


@dataclass
class PtzService:
    state: PtzState
    profile_tokens: Callable[[], list[str]]
    clock: Clock

    def operations(self) -> Operations:
        ops = {
            "GetNodes": self.get_nodes,
            "GetNode": self.get_node,
            "GetConfigurations": self.get_configurations,
            "GetConfiguration": self.get_configuration,
            "GetServiceCapabilities": self.get_service_capabilities,
            "ContinuousMove": self.continuous_move,
            "RelativeMove": self.relative_move,
            "AbsoluteMove": self.absolute_move,
            "Stop": self.stop,
            "GetStatus": self.get_status,
            "GetPresets": self.get_presets,
            "SetPreset": self.set_preset,
            "GotoPreset": self.goto_preset,
            "RemovePreset": self.remove_preset,
        }
        return {f"{{{TPTZ}}}{name}": handler for name, handler in ops.items()}

    def _check_profile(self, call: Call) -> None:
        token = required_text(call.operation, "tptz:ProfileToken")
        if token not in self.profile_tokens():
            raise invalid_arg(f"no profile {token!r}", "ter:NoProfile")

    async def get_nodes(self, call: Call) -> Element:
        return el("tptz:GetNodesResponse", ptz_node("tptz:PTZNode"))

    async def get_node(self, call: Call) -> Element:
        token = required_text(call.operation, "tptz:NodeToken")
        if token != NODE_TOKEN:
            raise invalid_arg(f"no PTZ node {token!r}", "ter:NoEntity")
        return el("tptz:GetNodeResponse", ptz_node("tptz:PTZNode"))

    async def get_configurations(self, call: Call) -> Element:
        return el("tptz:GetConfigurationsResponse", ptz_configuration("tptz:PTZConfiguration"))

    async def get_configuration(self, call: Call) -> Element:
        token = required_text(call.operation, "tptz:PTZConfigurationToken")
        if token != CONFIG_TOKEN:
            raise invalid_arg(f"no PTZ configuration {token!r}", "ter:NoConfig")
        return el("tptz:GetConfigurationResponse", ptz_configuration("tptz:PTZConfiguration"))

    async def get_service_capabilities(self, call: Call) -> Element:
        return el("tptz:GetServiceCapabilitiesResponse", ptz_capabilities())

    async def continuous_move(self, call: Call) -> Element:
        self._check_profile(call)
        velocity = child(call.operation, "tptz:Velocity")
        if velocity is None:
            raise ValueError("ContinuousMove needs Velocity")
        pan, tilt, zoom = _read_vector(velocity)
        timeout = child_text(call.operation, "tptz:Timeout")
        self.state.continuous_move(
            pan or 0.0, tilt or 0.0, zoom or 0.0, parse_duration(timeout) if timeout else DEFAULT_TIMEOUT_S
        )
        return el("tptz:ContinuousMoveResponse")

    async def relative_move(self, call: Call) -> Element:
        self._check_profile(call)
        pan, tilt, zoom = _read_vector(child(call.operation, "tptz:Translation"))
        self.state.relative_move(pan or 0.0, tilt or 0.0, zoom or 0.0)
        return el("tptz:RelativeMoveResponse")

    async def absolute_move(self, call: Call) -> Element:
        self._check_profile(call)
        position = child(call.operation, "tptz:Position")
        if position is None:
            raise ValueError("AbsoluteMove needs Position")
        self.state.absolute_move(*_read_vector(position))
        return el("tptz:AbsoluteMoveResponse")

    async def stop(self, call: Call) -> Element:
        self._check_profile(call)
        self.state.stop(
            pan_tilt=parse_bool(child_text(call.operation, "tptz:PanTilt"), default=True),
            zoom=parse_bool(child_text(call.operation, "tptz:Zoom"), default=True),
        )
        return el("tptz:StopResponse")

    async def get_status(self, call: Call) -> Element:
        self._check_profile(call)
        pan, tilt, zoom = self.state.position()
        pan_tilt_moving, zoom_moving = self.state.moving()
        status = el(
            "tptz:PTZStatus",
            _vector("tt:Position", pan, tilt, zoom, POSITION_PT, POSITION_Z),
            el(
                "tt:MoveStatus",
                text("tt:PanTilt", "MOVING" if pan_tilt_moving else "IDLE"),
                text("tt:Zoom", "MOVING" if zoom_moving else "IDLE"),
            ),
            text("tt:UtcTime", format_datetime(self.clock())),
        )
        return el("tptz:GetStatusResponse", status)

    async def get_presets(self, call: Call) -> Element:
        self._check_profile(call)
        presets = (
            el(
                "tptz:Preset",
                text("tt:Name", p.name),
                _vector("tt:PTZPosition", p.pan, p.tilt, p.zoom, POSITION_PT, POSITION_Z),
                token=p.token,
            )
            for p in self.state.presets.values()
        )
        return el("tptz:GetPresetsResponse", *presets)

    async def set_preset(self, call: Call) -> Element:
        self._check_profile(call)
        name = child_text(call.operation, "tptz:PresetName")
        token = child_text(call.operation, "tptz:PresetToken") or None
        try:
            token = self.state.set_preset(name, token)
        except ValueError as err:
            raise invalid_arg(str(err), "ter:NoToken" if token else "ter:TooManyPresets") from None
        return el("tptz:SetPresetResponse", text("tptz:PresetToken", token))

    async def goto_preset(self, call: Call) -> Element:
        self._check_profile(call)
        try:
            self.state.goto_preset(required_text(call.operation, "tptz:PresetToken"))
        except ValueError as err:
            raise invalid_arg(str(err), "ter:NoToken") from None
        return el("tptz:GotoPresetResponse")

    async def remove_preset(self, call: Call) -> Element:
        self._check_profile(call)
        try:
            self.state.remove_preset(required_text(call.operation, "tptz:PresetToken"))
        except ValueError as err:
            raise invalid_arg(str(err), "ter:NoToken") from None
        return el("tptz:RemovePresetResponse")
