"""What the ONVIF routers share: adapter and registry errors mapped to problems once.

====================================  ======  =========================================
error                                 status  why
====================================  ======  =========================================
OnvifNotSupported                     409     the camera lacks the feature (no PTZ, …)
OnvifFault InvalidArgVal/NoToken      404     no such preset (or other token)
OnvifFault InvalidArgVal              422     the camera refused a value
any other OnvifError                  502     unreachable, time-out, refused credentials,
                                              clock, malformed reply: the camera's fault
====================================  ======  =========================================

Each problem carries ``camera_status``: what the error means for the camera (``status_for``).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from adapters.onvif.errors import OnvifError, OnvifFault, OnvifNotSupported, status_for
from hub.api.problems import PROBLEM_TYPE_BASE, Problem
from hub.api.routes._registry import registry_problem
from hub.registry.errors import RegistryError

CAMERA_FAILED: dict[int | str, dict[str, Any]] = {
    502: {"description": "The camera is unreachable, refused the credentials or answered badly"}
}


def onvif_problem(err: OnvifError) -> Problem:
    extra: dict[str, Any] = {"camera_status": status_for(err).value}
    subcodes = err.subcodes if isinstance(err, OnvifFault) else ()
    if isinstance(err, OnvifNotSupported):
        return Problem(
            409, "Not supported by the camera", str(err), type_=PROBLEM_TYPE_BASE + "onvif", **extra
        )
    if "NoToken" in subcodes:
        return Problem(404, "Not found", str(err), **extra)
    if "InvalidArgVal" in subcodes:
        return Problem(
            422, "The camera refused a value", str(err), type_=PROBLEM_TYPE_BASE + "onvif", **extra
        )
    return Problem(502, "Camera request failed", str(err), type_=PROBLEM_TYPE_BASE + "onvif", **extra)


class OnvifRoute(APIRoute):
    """A route whose handler's OnvifError and RegistryError become problems (no registry poke)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except RegistryError as err:
                raise registry_problem(err) from err
            except OnvifError as err:
                raise onvif_problem(err) from err

        return handle
