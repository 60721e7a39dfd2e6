"""A simulated ONVIF camera (device, media, PTZ and events services) for tests and the demo."""

from adapters.sim.onvif.device import OnvifDevice
from adapters.sim.onvif.models import DeviceIdentity, SimProfile
from adapters.sim.onvif.ptz_state import PtzState

__all__ = ["DeviceIdentity", "OnvifDevice", "PtzState", "SimProfile"]
