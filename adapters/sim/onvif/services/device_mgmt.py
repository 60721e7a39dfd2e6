"""Device management (``tds``): identity, clock, capabilities, services, network, reboot."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from adapters.sim.onvif.models import DeviceIdentity
from adapters.sim.onvif.services import (
    DEVICE_PATH,
    EVENTS_PATH,
    MEDIA_PATH,
    PTZ_PATH,
    Call,
    Clock,
    Operations,
)
from adapters.sim.onvif.services.events import events_capabilities
from adapters.sim.onvif.services.media import media_capabilities
from adapters.sim.onvif.services.ptz import ptz_capabilities
from adapters.sim.onvif.soap import NS, Element, child_text, el, parse_bool, text

TDS = NS["tds"]
# Operations that real cameras answer without credentials, so a client can sync its clock first.
NO_AUTH = frozenset({f"{{{TDS}}}GetSystemDateAndTime", f"{{{TDS}}}GetServices", f"{{{TDS}}}GetCapabilities"})


def default_scopes(identity: DeviceIdentity, has_ptz: bool) -> list[str]:
    base = "onvif://www.onvif.org"
    scopes = [
        f"{base}/type/video_encoder",
        f"{base}/Profile/Streaming",
        f"{base}/name/{identity.model}",
        f"{base}/hardware/{identity.hardware_id}",
        f"{base}/location/sim",
    ]
    return [*scopes, f"{base}/type/ptz"] if has_ptz else scopes


def device_capabilities() -> Element:
    return el(
        "tds:Capabilities",
        el("tds:Network", IPFilter="false", ZeroConfiguration="false", IPVersion6="false", DynDNS="false"),
        el("tds:Security", UsernameToken="true", HttpDigest="false"),
        el("tds:System", DiscoveryResolve="false", DiscoveryBye="false", RemoteDiscovery="false"),
    )


def _date_time(tag: str, clock: Clock) -> Element:
    now = clock()
    return el(
        tag,
        el(
            "tt:Time", text("tt:Hour", now.hour), text("tt:Minute", now.minute), text("tt:Second", now.second)
        ),
        el("tt:Date", text("tt:Year", now.year), text("tt:Month", now.month), text("tt:Day", now.day)),
    )


@dataclass
class DeviceService:
    identity: DeviceIdentity
    scopes: list[str]
    host: str
    base_url: Callable[[], str]
    clock: Clock
    has_ptz: bool
    reboot: Callable[[], None]  # the device's reboot: faults, on_reboot

    def operations(self) -> Operations:
        ops = {
            "GetSystemDateAndTime": self.get_system_date_and_time,
            "GetDeviceInformation": self.get_device_information,
            "GetCapabilities": self.get_capabilities,
            "GetServices": self.get_services,
            "GetServiceCapabilities": self.get_service_capabilities,
            "GetScopes": self.get_scopes,
            "GetHostname": self.get_hostname,
            "GetNetworkInterfaces": self.get_network_interfaces,
            "SystemReboot": self.system_reboot,
        }
        return {f"{{{TDS}}}{name}": handler for name, handler in ops.items()}

    def _services(self) -> list[tuple[str, str, Callable[[], Element], tuple[int, int]]]:
        services = [
            (NS["tds"], DEVICE_PATH, device_capabilities, (2, 60)),
            (NS["trt"], MEDIA_PATH, media_capabilities, (2, 60)),
            (NS["tev"], EVENTS_PATH, events_capabilities, (2, 60)),
        ]
        if self.has_ptz:
            services.append((NS["tptz"], PTZ_PATH, ptz_capabilities, (2, 60)))
        return services

    async def get_system_date_and_time(self, call: Call) -> Element:
        return el(
            "tds:GetSystemDateAndTimeResponse",
            el(
                "tds:SystemDateAndTime",
                text("tt:DateTimeType", "Manual"),
                text("tt:DaylightSavings", False),
                el("tt:TimeZone", text("tt:TZ", "UTC0")),
                _date_time("tt:UTCDateTime", self.clock),
                _date_time("tt:LocalDateTime", self.clock),
            ),
        )

    async def get_device_information(self, call: Call) -> Element:
        ident = self.identity
        return el(
            "tds:GetDeviceInformationResponse",
            text("tds:Manufacturer", ident.manufacturer),
            text("tds:Model", ident.model),
            text("tds:FirmwareVersion", ident.firmware_version),
            text("tds:SerialNumber", ident.serial_number),
            text("tds:HardwareId", ident.hardware_id),
        )

    async def get_capabilities(self, call: Call) -> Element:
        categories = {c.text for c in call.operation.findall(f"{{{TDS}}}Category")} or {"All"}

        def wanted(category: str) -> bool:
            return "All" in categories or category in categories

        base = self.base_url()
        caps = el(
            "tds:Capabilities",
            el("tt:Device", text("tt:XAddr", base + DEVICE_PATH)) if wanted("Device") else None,
            el(
                "tt:Events",
                text("tt:XAddr", base + EVENTS_PATH),
                text("tt:WSSubscriptionPolicySupport", False),
                text("tt:WSPullPointSupport", True),
                text("tt:WSPausableSubscriptionManagerInterfaceSupport", False),
            )
            if wanted("Events")
            else None,
            el(
                "tt:Media",
                text("tt:XAddr", base + MEDIA_PATH),
                el(
                    "tt:StreamingCapabilities",
                    text("tt:RTPMulticast", False),
                    text("tt:RTP_TCP", True),
                    text("tt:RTP_RTSP_TCP", True),
                ),
            )
            if wanted("Media")
            else None,
            el("tt:PTZ", text("tt:XAddr", base + PTZ_PATH)) if self.has_ptz and wanted("PTZ") else None,
        )
        return el("tds:GetCapabilitiesResponse", caps)

    async def get_services(self, call: Call) -> Element:
        include = parse_bool(child_text(call.operation, "tds:IncludeCapability"), default=False)
        base = self.base_url()
        return el(
            "tds:GetServicesResponse",
            *(
                el(
                    "tds:Service",
                    text("tds:Namespace", namespace),
                    text("tds:XAddr", base + path),
                    el("tds:Capabilities", capabilities()) if include else None,
                    el("tds:Version", text("tt:Major", major), text("tt:Minor", minor)),
                )
                for namespace, path, capabilities, (major, minor) in self._services()
            ),
        )

    async def get_service_capabilities(self, call: Call) -> Element:
        return el("tds:GetServiceCapabilitiesResponse", device_capabilities())

    async def get_scopes(self, call: Call) -> Element:
        return el(
            "tds:GetScopesResponse",
            *(el("tds:Scopes", text("tt:ScopeDef", "Fixed"), text("tt:ScopeItem", s)) for s in self.scopes),
        )

    async def get_hostname(self, call: Call) -> Element:
        return el(
            "tds:GetHostnameResponse",
            el(
                "tds:HostnameInformation", text("tt:FromDHCP", False), text("tt:Name", self.identity.hostname)
            ),
        )

    async def get_network_interfaces(self, call: Call) -> Element:
        octets = [f"{b:02x}" for b in self.identity.serial_number.encode()[-3:].rjust(3, b"\0")]
        mac = ":".join(["02", "5e", "a5", *octets])
        return el(
            "tds:GetNetworkInterfacesResponse",
            el(
                "tds:NetworkInterfaces",
                text("tt:Enabled", True),
                el("tt:Info", text("tt:Name", "eth0"), text("tt:HwAddress", mac), text("tt:MTU", 1500)),
                el(
                    "tt:IPv4",
                    text("tt:Enabled", True),
                    el(
                        "tt:Config",
                        el("tt:Manual", text("tt:Address", self.host), text("tt:PrefixLength", 24)),
                        text("tt:DHCP", False),
                    ),
                ),
                token="eth0",
            ),
        )

    async def system_reboot(self, call: Call) -> Element:
        self.reboot()
        return el("tds:SystemRebootResponse", text("tds:Message", "Rebooting in 5 seconds"))
