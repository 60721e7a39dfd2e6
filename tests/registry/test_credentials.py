"""Credentials at rest: where the key comes from, the key file, and clear errors for a missing
or wrong key when passwords are stored."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.config.hub import FERNET_KEY_HELP, HubSettings
from hub.db.models import Camera, CameraSource
from hub.registry.credentials import (
    CredentialCipher,
    CredentialKeyError,
    credentials_key_path,
    load_credentials_cipher,
    open_credentials,
)

KEY = Fernet.generate_key()


def _settings(tmp_path: Path, key: bytes | None = None) -> HubSettings:
    return HubSettings(
        data_dir=tmp_path / "data", credentials_key=SecretStr(key.decode()) if key is not None else None
    )


def test_round_trip_and_tokens_differ() -> None:
    cipher = CredentialCipher(KEY, origin="test")

    first, second = cipher.encrypt("pässword"), cipher.encrypt("pässword")

    assert first != second and "pässword" not in first
    assert cipher.decrypt(first) == cipher.decrypt(second) == "pässword"


def test_a_wrong_key_is_a_clear_error() -> None:
    token = CredentialCipher(KEY, origin="a").encrypt("secret")

    with pytest.raises(CredentialKeyError) as caught:
        CredentialCipher(Fernet.generate_key(), origin="credentials_key").decrypt(token)

    assert str(caught.value) == (
        "a stored camera password cannot be decrypted with the key from credentials_key: "
        "it is not the key that encrypted it (restore that key, or set the passwords again)"
    )


def test_the_configured_key_wins_and_no_file_is_written(tmp_path: Path) -> None:
    cipher = load_credentials_cipher(_settings(tmp_path, KEY))

    assert CredentialCipher(KEY, origin="x").decrypt(cipher.encrypt("pw")) == "pw"
    assert not credentials_key_path(_settings(tmp_path)).exists()


def test_a_malformed_configured_key_fails_validation(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as caught:
        HubSettings(data_dir=tmp_path, credentials_key=SecretStr("too-short"))

    assert [e["msg"] for e in caught.value.errors()] == [f"Value error, {FERNET_KEY_HELP}"]
    assert "too-short" not in FERNET_KEY_HELP


def test_the_key_file_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    settings = _settings(tmp_path)

    first = load_credentials_cipher(settings)
    second = load_credentials_cipher(settings)

    path = tmp_path / "data" / "credentials.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert second.decrypt(first.encrypt("pw")) == "pw"


def test_a_broken_key_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "data" / "credentials.key"
    path.parent.mkdir(parents=True)
    path.write_text("not a key\n")

    with pytest.raises(CredentialKeyError) as caught:
        load_credentials_cipher(_settings(tmp_path))

    assert str(caught.value) == f"credentials key file {path}: {FERNET_KEY_HELP}"


async def _store_password(sessions: async_sessionmaker[AsyncSession], cipher: CredentialCipher) -> None:
    async with sessions.begin() as session:
        session.add(
            Camera(
                id="cam",
                name="cam",
                main_url="rtsp://192.0.2.1/",
                source=CameraSource.API,
                password_enc=cipher.encrypt("pw"),
            )
        )


async def test_start_up_refuses_a_missing_key_file_when_passwords_are_stored(
    tmp_path: Path, db_sessions: async_sessionmaker[AsyncSession]
) -> None:
    settings = _settings(tmp_path)
    await _store_password(db_sessions, CredentialCipher(KEY, origin="elsewhere"))

    with pytest.raises(CredentialKeyError) as caught:
        await open_credentials(settings, db_sessions)

    assert str(caught.value) == (
        f"camera passwords are stored in the database but the credentials key file "
        f"{tmp_path / 'data' / 'credentials.key'} is missing: restore it, or set credentials_key "
        "(HUB_CREDENTIALS_KEY) to the key"
    )
    assert not credentials_key_path(settings).exists()


async def test_start_up_refuses_a_wrong_key(
    tmp_path: Path, db_sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _store_password(db_sessions, CredentialCipher(KEY, origin="elsewhere"))

    with pytest.raises(CredentialKeyError, match="cannot be decrypted with the key from credentials_key"):
        await open_credentials(_settings(tmp_path, Fernet.generate_key()), db_sessions)

    cipher = await open_credentials(_settings(tmp_path, KEY), db_sessions)
    assert cipher.decrypt(cipher.encrypt("ok")) == "ok"


async def test_a_fresh_hub_creates_its_key_file(
    tmp_path: Path, db_sessions: async_sessionmaker[AsyncSession]
) -> None:
    settings = _settings(tmp_path)

    await open_credentials(settings, db_sessions)

    assert credentials_key_path(settings).exists()
