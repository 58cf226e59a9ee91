"""Configuration read from the environment, with working defaults.

Kept apart from settings.py so the CLI and the sandbox can read the data folder without importing Django.

Data files are private to the account that runs Sales Channel (issue 11, finding 10): the data folder is 0700,
the files we create in it (SQLite database and its ``-wal``/``-shm``, the Huey queue, secrets, e-mail files, PDFs,
logs) are 0600. ``private_umask()`` makes that the default for everything the process creates (settings.py calls
it), and ``private_dir``/``private_file`` set the modes explicitly and tighten what an older version left readable.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
PRIVATE_UMASK = 0o077


def private_umask() -> int:
    """Make files and folders this process creates from now on private (umask 077); returns the previous umask."""
    return os.umask(PRIVATE_UMASK)


def _tighten(path: Path) -> None:
    """Remove group and other access from an existing ``path`` we own (left readable by an older version)."""
    try:
        current = path.stat().st_mode & 0o777
        if current & 0o077:
            path.chmod(current & ~0o077)
    except FileNotFoundError:
        pass
    except PermissionError:  # not ours (a shared mount): leave it as the administrator set it
        pass


def private_dir(path: Path | str) -> Path:
    """Create the folder ``path`` (and its parents) if missing, readable by this account only (0700)."""
    path = Path(path)
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    _tighten(path)
    return path


def private_file(path: Path | str, *, create: bool = True) -> Path:
    """Make the file ``path`` readable by this account only (0600): create it empty if missing (``create``), and
    tighten it when it already exists."""
    path = Path(path)
    if create and not path.exists():
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
        except FileExistsError:  # created by another process a moment ago
            pass
        except FileNotFoundError:  # its folder does not exist: whoever opens the file will say so
            return path
    _tighten(path)
    return path


def private_sqlite_file(path: Path | str) -> Path:
    """An SQLite database file (created empty: SQLite takes an empty file as a new database) and its ``-wal``,
    ``-shm`` and ``-journal`` companions, all 0600. SQLite gives the companions the mode of the database file."""
    path = private_file(path)
    for suffix in ("-wal", "-shm", "-journal"):
        private_file(f"{path}{suffix}", create=False)
    return path


def data_dir() -> Path:
    """The folder holding the SQLite database, the queue, emails, keys and PDFs (``SALESCHANNEL_DATA_DIR``).

    Created 0700, and tightened to 0700 when it exists with group or other access.
    """
    path = Path(os.environ.get("SALESCHANNEL_DATA_DIR", "./var")).expanduser().resolve()
    return private_dir(path)


def persistent_secret(name: str, env_var: str, *, nbytes: int = 48) -> str:
    """Return the secret from ``env_var``, else one generated once and kept in the data folder.

    The file is created with mode 0600 so that other local users cannot read it.
    """
    value = os.environ.get(env_var)
    if value:
        return value
    path = data_dir() / name
    if path.exists():
        _tighten(path)
    return write_once(path, secrets.token_urlsafe(nbytes).encode()).decode().strip()


def write_once(path: Path, content: bytes) -> bytes:
    """What ``path`` holds, writing ``content`` there first (mode 0600) if the file does not exist yet.

    Several processes may start at once on a new data folder (the worker, the web server, test workers). The content
    is written to a temporary file and then hard-linked into place, which fails if another process got there first:
    so nobody ever reads a half-written file, and every process ends up with the same content.
    """
    if path.exists():
        return path.read_bytes()
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process created it first: read theirs
    finally:
        os.unlink(temporary)
    return path.read_bytes()
