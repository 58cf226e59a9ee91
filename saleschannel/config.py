"""Configuration read from the environment, with working defaults.

Kept apart from settings.py so the CLI and the sandbox can read the data folder without importing Django.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def data_dir() -> Path:
    """The folder holding the SQLite database, the queue, emails, keys and PDFs (``SALESCHANNEL_DATA_DIR``)."""
    path = Path(os.environ.get("SALESCHANNEL_DATA_DIR", "./var")).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def persistent_secret(name: str, env_var: str, *, nbytes: int = 48) -> str:
    """Return the secret from ``env_var``, else one generated once and kept in the data folder.

    The file is created with mode 0600 so that other local users cannot read it.
    """
    value = os.environ.get(env_var)
    if value:
        return value
    path = data_dir() / name
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(nbytes)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value
