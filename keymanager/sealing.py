"""Payloads at rest: sealed with a key of the key manager's own (Fernet: AES-128-CBC and
HMAC-SHA256), kept in ``<state>/keys/key_manager.key``, created 0600 on first use.

The catalog database then holds only ciphertext: a copy of ``catalog.sqlite`` without the key
file reveals no secret. The key is not the identity service's token key, so a leaked token key
does not open the secrets (and the other way round). Losing the key file loses every payload.
"""
from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from minicloud.errors import MinicloudError

KEY_FILE = Path("keys") / "key_manager.key"


def ensure_key(state_dir: Path) -> bytes:
    """The sealing key, created (0600, in a 0700 directory) when missing."""
    path = Path(state_dir) / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker made it first
            return path.read_bytes().strip()
        with os.fdopen(fd, "wb") as fh:
            fh.write(Fernet.generate_key())
    return path.read_bytes().strip()


class Sealer:
    """Seals and opens payloads with one key."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def seal(self, payload: bytes) -> bytes:
        return self._fernet.encrypt(payload)

    def open(self, sealed: bytes) -> bytes:
        try:
            return self._fernet.decrypt(sealed)
        except InvalidToken:
            raise MinicloudError("A secret's payload cannot be decrypted with this key "
                                 "manager's key.") from None
