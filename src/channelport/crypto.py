"""Credentials at rest: Fernet (AES-128-CBC + HMAC) with one key per installation.

The key lives in the data directory (mode 0600) or in `CHANNELPORT_SECRET_KEY`. Losing
it means every channel credential has to be entered again, which is why `init` says so.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from channelport.errors import ChannelportError, UsageError
from channelport.settings import Settings


class SecretKeyMissing(ChannelportError):
    pass


class SecretBox:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def seal(self, values: Mapping[str, object]) -> str:
        return self._fernet.encrypt(json.dumps(values, sort_keys=True).encode()).decode("ascii")

    def open(self, sealed: str) -> dict[str, object]:
        try:
            return json.loads(self._fernet.decrypt(sealed.encode("ascii")))
        except InvalidToken:
            raise SecretKeyMissing(
                "stored credentials cannot be decrypted with this secret key; "
                "restore the original key or enter the credentials again (account edit --token-env)"
            ) from None


def load_key(settings: Settings, *, create: bool = False) -> bytes:
    if settings.secret_key:
        return _validated(settings.secret_key.encode())
    path = settings.secret_key_file
    if path.exists():
        return _validated(path.read_bytes().strip())
    if not create:
        raise SecretKeyMissing(f"no secret key at {path}; run `channelport init` first (or set CHANNELPORT_SECRET_KEY)")
    return _create_key_file(path)


def _create_key_file(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key + b"\n")
    return key


def _validated(key: bytes) -> bytes:
    try:
        Fernet(key)
    except (ValueError, TypeError):
        raise UsageError("the secret key is not a valid Fernet key (32 url-safe base64-encoded bytes)") from None
    return key
