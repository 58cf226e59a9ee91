"""Encryption at rest for Amazon credentials (LWA client id, client secret, refresh token).

Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``). The key comes from ``SALESCHANNEL_ENCRYPTION_KEY``
(several keys separated by commas: the first encrypts, all decrypt, which allows rotation), else from a key file
generated once in the data folder with mode 0600. Losing the key means re-entering the credentials; the database
alone never reveals them.
"""

from __future__ import annotations

import os
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from saleschannel.config import data_dir, write_once

KEY_ENV = "SALESCHANNEL_ENCRYPTION_KEY"
KEY_FILE = "amazon_credentials.fernet"


class CredentialDecryptionError(Exception):
    """The stored secret cannot be read with the configured key (key changed or lost)."""


def _load_keys() -> list[bytes]:
    configured = os.environ.get(KEY_ENV, "").strip()
    if configured:
        return [part.strip().encode() for part in configured.split(",") if part.strip()]
    return [write_once(data_dir() / KEY_FILE, Fernet.generate_key()).strip()]


@lru_cache(maxsize=4)
def _fernet(cache_key: tuple) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in _load_keys()])


def _current() -> MultiFernet:
    # Keyed on the environment and data folder so tests that change either get a fresh key ring.
    return _fernet((os.environ.get(KEY_ENV, ""), str(data_dir())))


def encrypt(plaintext: str) -> str:
    if not plaintext:
        return ""
    return _current().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _current().decrypt(token.encode()).decode()
    except InvalidToken:
        raise CredentialDecryptionError(
            "The stored Amazon credentials cannot be decrypted with the current encryption key "
            f"({KEY_ENV} or the key file in the data folder). Enter them again."
        )


def generate_key() -> str:
    return Fernet.generate_key().decode()
