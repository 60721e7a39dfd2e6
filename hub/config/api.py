"""The HTTP API section."""

from __future__ import annotations

from pydantic import Field, HttpUrl, TypeAdapter, ValidationError, field_validator, model_validator

from hub.config.base import StrictModel

_HTTP_URL: TypeAdapter[HttpUrl] = TypeAdapter(HttpUrl)


class ApiSettings(StrictModel):
    host: str = Field("127.0.0.1", min_length=1, title="Listen address", description="Address to bind.")
    port: int = Field(8080, ge=1, le=65535, title="Listen port", description="TCP port to bind.")
    public_url: str | None = Field(
        None,
        title="Public base URL",
        description="Base of the URLs handed out (presigned local media links); "
        "default http://{host}:{port}.",
    )

    @field_validator("public_url")
    @classmethod
    def _public_url_is_http(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            _HTTP_URL.validate_python(value)
        except ValidationError as err:
            raise ValueError(f"public_url must be an http(s) URL, got {value!r}") from err
        return value.rstrip("/")

    @model_validator(mode="after")
    def _default_public_url(self) -> ApiSettings:
        if self.public_url is None:
            host = f"[{self.host}]" if ":" in self.host else self.host
            self.public_url = f"http://{host}:{self.port}"
        return self
