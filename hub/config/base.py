"""The strict base model every configuration section derives from, and the cross-field error helper."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic_core import PydanticCustomError

# Error type of the hub's own cross-field checks; the loader reads ``ctx["at"]`` to point at the
# exact key (``cameras[2].id`` rather than ``cameras``), so the YAML line it reports is the right one.
CHECK_ERROR_TYPE = "hub_config_check"


class StrictModel(BaseModel):
    """A configuration section: unknown keys are errors, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid", validate_default=True, frozen=False)


def check_failed(message: str, *at: str | int) -> PydanticCustomError:
    """An error from a cross-field check, located ``at`` the given path below the validated model."""
    return PydanticCustomError(CHECK_ERROR_TYPE, "{detail}", {"detail": message, "at": at})
