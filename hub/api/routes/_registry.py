"""What the registry routers share: registry errors mapped to problems once, and the credentials cipher."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.exc import IntegrityError

from hub.api.deps import PartsDep
from hub.api.problems import PROBLEM_TYPE_BASE, Problem
from hub.registry.credentials import CredentialCipher
from hub.registry.errors import (
    Conflict,
    InvalidImport,
    InvalidReference,
    InvalidValue,
    NotFound,
    ReadOnlyCamera,
    RegistryError,
)

# (status, title, problem type) per error class; the most specific class wins (checked in order).
_PROBLEMS: tuple[tuple[type[RegistryError], int, str, str], ...] = (
    (NotFound, 404, "Not found", "about:blank"),
    (InvalidReference, 422, "Request is invalid", PROBLEM_TYPE_BASE + "validation"),
    (InvalidValue, 422, "Request is invalid", PROBLEM_TYPE_BASE + "validation"),
    (InvalidImport, 422, "Import file is invalid", PROBLEM_TYPE_BASE + "import"),
    (ReadOnlyCamera, 409, "Camera is read-only", PROBLEM_TYPE_BASE + "read-only"),
    (Conflict, 409, "Conflict", "about:blank"),
)


def registry_problem(err: RegistryError) -> Problem:
    for cls, status, title, type_ in _PROBLEMS:
        if isinstance(err, cls):
            extra: dict[str, Any] = {}
            if status == 422 and err.field is not None:
                extra["errors"] = [{"location": f"body.{err.field}", "message": err.message}]
            return Problem(status, err.title or title, err.message, type_=type_, **extra)
    return Problem(400, "Bad Request", err.message)


class RegistryRoute(APIRoute):
    """A route whose handler's RegistryError (and a lost race on a unique key) become problems."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                response = await handler(request)
            except RegistryError as err:
                raise registry_problem(err) from err
            except IntegrityError as err:
                # Another request changed the same rows between our checks and the commit.
                raise Problem(409, "Conflict", "the change clashes with a concurrent one: retry") from err
            if request.method != "GET" and response.status_code < 400:
                request.app.state.runtime.parts.registry.changed()  # open or close cameras now
            return response

        return handle


def get_cipher(parts: PartsDep) -> CredentialCipher:
    """The credentials cipher the runtime opened, and checked against the stored passwords, at start-up."""
    return parts.cipher


CipherDep = Annotated[CredentialCipher, Depends(get_cipher)]
