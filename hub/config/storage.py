"""The object store section: a local directory or an S3-compatible server, the upload spool, and
object lock (WORM) for evidence that an operator marks keep."""

from __future__ import annotations

import enum
import ipaddress
import re
from pathlib import Path

from pydantic import Field, SecretStr, model_validator

from hub.config.base import StrictModel, check_failed

GIB = 1024 * 1024 * 1024
_BUCKET_CHARS = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


class StorageBackend(enum.StrEnum):
    LOCAL = "local"
    S3 = "s3"


class ObjectLockMode(enum.StrEnum):
    """How a kept event's objects are locked: an S3 retention in one of its two modes, or a legal hold."""

    GOVERNANCE = "governance"  # for `days`; the hub can release it early (the operator's DELETE)
    COMPLIANCE = "compliance"  # for `days`; nobody can release or shorten it before then
    LEGAL_HOLD = "legal_hold"  # no date: until the operator releases it


class ObjectLockSettings(StrictModel):
    enabled: bool = Field(
        False,
        title="Object lock",
        description=(
            "Lock (WORM) the clip, snapshot and thumbnail of events an operator marks keep. On S3 the "
            "bucket must be created with Object Lock, which the hub does when it creates the bucket."
        ),
    )
    mode: ObjectLockMode = Field(
        ObjectLockMode.GOVERNANCE,
        title="Lock mode",
        description="governance or compliance retention for `days`, or legal_hold until released.",
    )
    days: int = Field(
        365,
        ge=1,
        le=36500,
        title="Lock days",
        description="Days a governance or compliance retention lasts from the moment keep is marked.",
    )


class S3Settings(StrictModel):
    endpoint: str = Field(
        "127.0.0.1:9000", title="Endpoint", description="host:port of the S3 server, without a scheme."
    )
    access_key: str = Field("minioadmin", title="Access key", description="S3 access key id.")
    secret_key: SecretStr = Field(
        SecretStr("minioadmin"), title="Secret key", description="S3 secret access key."
    )
    bucket: str = Field("sharp-eyes", title="Bucket", description="Bucket that holds clips and snapshots.")
    secure: bool = Field(False, title="TLS", description="Use https to reach the endpoint.")
    region: str | None = Field(None, title="Region", description="Bucket region, if the server needs one.")


class StorageSettings(StrictModel):
    backend: StorageBackend = Field(
        StorageBackend.LOCAL, title="Backend", description="Where clips and snapshots are stored."
    )
    local_path: Path | None = Field(
        None, title="Local store", description="Directory of the local backend; default <data_dir>/objects."
    )
    spool_dir: Path | None = Field(
        None,
        title="Spool directory",
        description="Finished media waits here until the store accepts it; default <data_dir>/spool.",
    )
    spool_max_bytes: int = Field(
        2 * GIB, ge=1024 * 1024, title="Spool limit", description="Bytes the spool may hold."
    )
    presign_expiry_s: int = Field(
        300, ge=10, le=86400, title="Link lifetime", description="Seconds a presigned media URL is valid."
    )
    s3: S3Settings = Field(default_factory=S3Settings, title="S3", description="Used when backend is s3.")
    object_lock: ObjectLockSettings = Field(
        default_factory=ObjectLockSettings,
        title="Object lock",
        description="WORM locks on kept evidence (S3 Object Lock, or a lock record in the local store).",
    )

    @model_validator(mode="after")
    def _checks(self) -> StorageSettings:
        if self.backend is StorageBackend.S3:
            verify_s3_endpoint(self.s3)
            verify_bucket_name(self.s3.bucket)
        return self


def verify_s3_endpoint(s3: S3Settings) -> None:
    if not s3.endpoint.strip():
        raise check_failed("backend s3 needs an endpoint (host:port)", "s3", "endpoint")
    if "://" in s3.endpoint:
        raise check_failed(
            f"endpoint must be host:port without a scheme (use secure for https), got {s3.endpoint!r}",
            "s3",
            "endpoint",
        )


def bucket_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid S3 bucket name (AWS general-purpose bucket rules), or None."""
    if not 3 <= len(name) <= 63:
        return "must be 3 to 63 characters long"
    if not _BUCKET_CHARS.match(name):
        return (
            "may hold only lowercase letters, digits, '.' and '-', "
            "and must start and end with a letter or digit"
        )
    if ".." in name:
        return "must not hold two adjacent periods"
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        pass
    else:
        return "must not be formatted as an IP address"
    if name.startswith(("xn--", "sthree-")) or name.endswith(("-s3alias", "--ol-s3")):
        return "uses a prefix or suffix that S3 reserves"
    return None


def verify_bucket_name(name: str) -> None:
    problem = bucket_name_problem(name)
    if problem is not None:
        raise check_failed(f"bucket name {name!r} {problem}", "s3", "bucket")
