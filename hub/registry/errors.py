"""The registry's errors, mapped to HTTP problems once, in ``hub.api.routes.registry_route``.

RegistryError
├── NotFound              a region or camera id that does not exist (404)
├── InvalidReference      a body names a region that does not exist (422)
├── InvalidValue          a merged update breaks a cross-field rule (422)
├── InvalidImport         an import file that cannot be read as a whole (422)
└── Conflict              the request clashes with what is stored (409)
    ├── DuplicateId       the id is taken
    ├── ReadOnlyCamera    the camera comes from the YAML config
    ├── RegionInUse       the region still has children or cameras
    └── RegionCycle       a move under the region's own subtree

CredentialKeyError        (hub.registry.credentials) the key is missing, malformed or wrong
"""

from __future__ import annotations


class RegistryError(Exception):
    """Base of the registry's errors; the message is safe to show to the API client."""

    def __init__(self, message: str, *, field: str | None = None, title: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field  # the request field at fault, when there is one
        self.title = title  # the problem's title, when more telling than the class's


class NotFound(RegistryError):
    pass


class InvalidReference(RegistryError):
    pass


class InvalidValue(RegistryError):
    pass


class InvalidImport(RegistryError):
    pass


class Conflict(RegistryError):
    pass


class DuplicateId(Conflict):
    pass


class ReadOnlyCamera(Conflict):
    pass


class RegionInUse(Conflict):
    pass


class RegionCycle(Conflict):
    pass
