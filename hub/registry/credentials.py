"""Camera passwords at rest: Fernet tokens in ``cameras.password_enc``.

The key is ``credentials_key`` (``HUB_CREDENTIALS_KEY``) or the key file (``credentials_key_file``,
default ``<data_dir>/credentials.key``, created 0600 on first use). A key file is only created
while no password is stored: a missing key with stored passwords, or a key that cannot open them,
is a :class:`CredentialKeyError` at start-up rather than a hub that silently loses credentials.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.config.hub import FERNET_KEY_HELP, HubSettings, is_fernet_key
from hub.db.models import Camera

KEY_FILE_NAME = "credentials.key"
CHECKED_TOKENS = 20  # stored passwords opened at start-up: a wrong key fails on the first one

# What Fernet raises for a token it cannot open: another key, or a corrupt or truncated token.
_DECRYPT_ERRORS = (InvalidToken,)


class CredentialKeyError(Exception):
    """The credentials key is missing, malformed, or not the one that encrypted the stored passwords."""


class CredentialCipher:
    """Encrypts and decrypts camera passwords with one Fernet key (reuse one instance)."""

    def __init__(self, key: bytes, *, origin: str) -> None:
        if not is_fernet_key(key.decode("ascii", errors="replace")):
            raise CredentialKeyError(f"{origin}: {FERNET_KEY_HELP}")
        self._fernet = Fernet(key.strip())
        self.origin = origin  # where the key came from, for messages (never the key)

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (*_DECRYPT_ERRORS, UnicodeError) as err:
            raise CredentialKeyError(
                f"a stored camera password cannot be decrypted with the key from {self.origin}: "
                "it is not the key that encrypted it (restore that key, or set the passwords again)"
            ) from err


def credentials_key_path(settings: HubSettings) -> Path:
    return settings.credentials_key_file or settings.data_dir / KEY_FILE_NAME


def load_credentials_cipher(settings: HubSettings, *, create: bool = True) -> CredentialCipher:
    """The cipher of the configured key, else of the key file (created when ``create``)."""
    if settings.credentials_key is not None:
        return CredentialCipher(
            settings.credentials_key.get_secret_value().encode(), origin="credentials_key"
        )
    path = credentials_key_path(settings)
    try:
        return _read_key(path)
    except FileNotFoundError:
        if not create:
            raise CredentialKeyError(
                f"camera passwords are stored in the database but the credentials key file {path} "
                "is missing: restore it, or set credentials_key (HUB_CREDENTIALS_KEY) to the key"
            ) from None
    except OSError as err:
        raise CredentialKeyError(f"credentials key file {path}: cannot read it ({err.strerror})") from err
    return _create_key(path)


async def open_credentials(
    settings: HubSettings, sessions: async_sessionmaker[AsyncSession]
) -> CredentialCipher:
    """Start-up: the cipher, checked against the stored passwords. Raises CredentialKeyError."""
    async with sessions() as session:
        stored = await stored_password_count(session=session)
        tokens = list(
            (
                await session.scalars(
                    select(Camera.password_enc)
                    .where(Camera.password_enc.is_not(None))
                    .order_by(Camera.id)
                    .limit(CHECKED_TOKENS)
                )
            ).all()
        )
    cipher = await asyncio.to_thread(load_credentials_cipher, settings, create=stored == 0)
    for token in tokens:
        if token is not None:
            cipher.decrypt(token)
    return cipher


async def stored_password_count(*, session: AsyncSession) -> int:
    query = select(func.count()).select_from(Camera).where(Camera.password_enc.is_not(None))
    return int(await session.scalar(query) or 0)


def _read_key(path: Path) -> CredentialCipher:
    key = path.read_bytes().strip()
    if not key:
        raise CredentialKeyError(f"credentials key file {path} is empty")
    return CredentialCipher(key, origin=f"credentials key file {path}")


def _create_key(path: Path) -> CredentialCipher:
    key = Fernet.generate_key()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key(path)  # another process (or request) won the race: use its key
    except OSError as err:
        raise CredentialKeyError(f"credentials key file {path}: cannot create it ({err.strerror})") from err
    with os.fdopen(fd, "wb") as file:
        file.write(key + b"\n")
        file.flush()
        os.fsync(file.fileno())
    return CredentialCipher(key, origin=f"credentials key file {path}")
