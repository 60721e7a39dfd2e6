"""The outgoing webhook section: where event tickets are posted, and how delivery is retried."""

from __future__ import annotations

from pydantic import Field, HttpUrl, SecretStr, TypeAdapter, ValidationError, field_validator, model_validator

from hub.config.base import StrictModel, check_failed

_HTTP_URL: TypeAdapter[HttpUrl] = TypeAdapter(HttpUrl)


class WebhookSettings(StrictModel):
    url: str | None = Field(
        None, title="Ticket URL", description="The grid system's endpoint; no tickets are sent when unset."
    )
    secret: SecretStr | None = Field(
        None, title="HMAC secret", description="Signs each request body; default the hub's secret_key."
    )
    timeout_s: float = Field(5.0, gt=0, le=120, title="Timeout", description="Seconds per delivery attempt.")
    retry_initial_s: float = Field(
        1.0, gt=0, le=3600, title="First retry", description="Delay before the first retry; doubles after."
    )
    retry_max_s: float = Field(
        300.0, gt=0, le=86400, title="Longest retry delay", description="Cap of the retry delay."
    )
    poll_interval_s: float = Field(
        1.0, gt=0, le=60, title="Outbox poll", description="Seconds between scans of the ticket outbox."
    )

    @field_validator("url")
    @classmethod
    def _url_is_http(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            _HTTP_URL.validate_python(value)
        except ValidationError as err:
            reason = err.errors()[0]["msg"]
            raise ValueError(f"url must be an http(s) URL ({reason}), got {value!r}") from err
        return value

    @model_validator(mode="after")
    def _checks(self) -> WebhookSettings:
        if self.retry_initial_s > self.retry_max_s:
            raise check_failed(
                f"retry_initial_s ({self.retry_initial_s:g}) must not exceed retry_max_s "
                f"({self.retry_max_s:g})",
                "retry_initial_s",
            )
        return self
