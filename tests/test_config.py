import logging
import multiprocessing
import os
import stat

from saleschannel import config
from saleschannel.core.logfilters import RedactSecretsFilter, redact


def test_secret_is_generated_once_and_private(tmp_path, monkeypatch):
    monkeypatch.setenv("SALESCHANNEL_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SOME_SECRET", raising=False)
    first = config.persistent_secret("some_secret", "SOME_SECRET")
    second = config.persistent_secret("some_secret", "SOME_SECRET")
    assert first == second and len(first) >= 40
    mode = stat.S_IMODE(os.stat(tmp_path / "some_secret").st_mode)
    assert mode == 0o600


def test_secret_from_environment_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("SALESCHANNEL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SOME_SECRET", "from-env")
    assert config.persistent_secret("some_secret", "SOME_SECRET") == "from-env"
    assert not (tmp_path / "some_secret").exists()


def test_data_dir_is_created(tmp_path, monkeypatch):
    target = tmp_path / "nested" / "data"
    monkeypatch.setenv("SALESCHANNEL_DATA_DIR", str(target))
    assert config.data_dir() == target.resolve()
    assert target.is_dir()


def test_redact_masks_credentials_and_tokens():
    line = "POST grant_type=refresh_token&refresh_token=Atzr|IwEBIabc&client_secret=shh x-amz-access-token: Atza|xyz"
    cleaned = redact(line)
    assert "IwEBIabc" not in cleaned and "shh" not in cleaned and "xyz" not in cleaned
    assert "client_secret=***" in cleaned


def test_log_filter_rewrites_records(caplog):
    logger = logging.getLogger("saleschannel.test")
    logger.addFilter(RedactSecretsFilter())
    with caplog.at_level(logging.INFO, logger="saleschannel.test"):
        logger.info("token response %s", '{"access_token": "Atza|secretvalue"}')
    assert "secretvalue" not in caplog.text
    assert "access_token" in caplog.text


# --- Private data files (issue 11, finding 10) ----------------------------------------------------------------------

_PROBE = r"""
import json, os, stat, sys
import django
django.setup()
from django.conf import settings
from django.core.mail import send_mail
from django.db import connection
from huey.contrib.djhuey import HUEY
from saleschannel.config import persistent_secret

with connection.cursor() as cursor:  # SQLite creates the database, its -wal and -shm
    cursor.execute("CREATE TABLE probe (x integer)")
    cursor.execute("INSERT INTO probe VALUES (1)")
    HUEY.pending_count()  # the queue's tables
    send_mail("Subject", "Body", "shop@example.com", ["zoe@example.com"])
    persistent_secret("demo_admin_password", "NO_SUCH_VARIABLE", nbytes=9)
    data = settings.DATA_DIR
    paths = {"data": data, "db": data / "saleschannel.sqlite3", "wal": data / "saleschannel.sqlite3-wal",
             "shm": data / "saleschannel.sqlite3-shm", "queue": data / "queue.sqlite3", "mail": data / "mail",
             "password": data / "demo_admin_password", "secret_key": data / "secret_key", "static": data / "static"}
    paths.update({f"mail/{name}": data / "mail" / name for name in os.listdir(data / "mail")})
    modes = {name: oct(stat.S_IMODE(os.stat(path).st_mode)) for name, path in paths.items() if path.exists()}
print(json.dumps(modes))
"""


def _probe_modes(data_dir, *, prepare=None):
    import json
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "EMAIL_BACKEND",
                                                            "EMAIL_FILE_PATH", "SECRET_KEY")}
    env.update(SALESCHANNEL_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="saleschannel.settings")
    result = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=120,
                            preexec_fn=lambda: os.umask(0o022))  # a usual, permissive umask
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_data_files_are_created_private(tmp_path):
    modes = _probe_modes(tmp_path / "var")
    assert {"data", "db", "wal", "shm", "queue", "mail", "password", "secret_key"} <= set(modes)
    assert any(name.startswith("mail/") for name in modes)
    for name, mode in modes.items():
        expected = "0o700" if name in ("data", "mail", "static") else "0o600"
        assert mode == expected, f"{name} is {mode}"


def test_files_left_readable_by_an_older_version_are_tightened(tmp_path):
    data = tmp_path / "var"
    (data / "mail").mkdir(parents=True)
    os.chmod(data, 0o755)
    os.chmod(data / "mail", 0o755)
    for name in ("saleschannel.sqlite3", "queue.sqlite3", "secret_key"):
        (data / name).write_bytes(b"" if name != "secret_key" else b"old-secret-key-" + b"x" * 40)
        os.chmod(data / name, 0o644)
    modes = _probe_modes(data)
    for name in ("data", "mail"):
        assert modes[name] == "0o700"
    for name in ("db", "wal", "shm", "queue", "secret_key"):
        assert modes[name] == "0o600", name


def test_private_helpers(tmp_path):
    previous = os.umask(0o022)
    try:
        folder = config.private_dir(tmp_path / "a" / "b")
        file = config.private_file(folder / "f")
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
        assert stat.S_IMODE(os.stat(file).st_mode) == 0o600
        assert config.private_file(tmp_path / "missing" / "f").exists() is False  # no folder: left to the opener
    finally:
        os.umask(previous)


def test_the_default_mail_backend_writes_private_files(tmp_path, settings):
    from django.core.mail import send_mail

    settings.EMAIL_BACKEND = "saleschannel.core.mailfiles.PrivateFileEmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "mail")
    previous = os.umask(0o022)
    try:
        send_mail("Subject", "Body", "shop@example.com", ["zoe@example.com"])
    finally:
        os.umask(previous)
    files = list((tmp_path / "mail").iterdir())
    assert files and stat.S_IMODE(os.stat(files[0]).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "mail").st_mode) == 0o700
    assert b"Subject" in files[0].read_bytes()


def _first_key(folder: str, barrier) -> bytes:
    # Runs in a separate process: every process tries to create the key file at the same moment.
    os.environ["SALESCHANNEL_DATA_DIR"] = folder
    barrier.wait()
    return config.write_once(config.data_dir() / "race.key", os.urandom(32).hex().encode())


def test_processes_starting_together_all_read_the_same_complete_file(tmp_path):
    # Bug: the key file was created empty and written afterwards, so a second process could read b"" and fail
    # ("Fernet key must be 32 url-safe base64-encoded bytes"). Now nobody sees a half-written file.
    context = multiprocessing.get_context("spawn")
    processes = 8
    with context.Manager() as manager:
        barrier = manager.Barrier(processes)
        with context.Pool(processes) as pool:
            keys = pool.starmap(_first_key, [(str(tmp_path), barrier)] * processes)
    assert len(set(keys)) == 1 and len(keys[0]) == 64
    assert (tmp_path / "race.key").read_bytes() == keys[0]
    assert oct((tmp_path / "race.key").stat().st_mode & 0o777) == "0o600"
    assert [path.name for path in tmp_path.iterdir()] == ["race.key"]  # no temporary file left behind


def test_a_process_starting_django_does_not_load_the_rest_api_framework(tmp_path):
    """The worker and the commands load every app: the REST API's framework (django-ninja and pydantic, about
    14 MB and 130 ms) waits for the first API request. The api app's tasks and webhooks must not import it."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(SALESCHANNEL_DATA_DIR=str(tmp_path / "var"), DJANGO_SETTINGS_MODULE="saleschannel.settings")
    probe = ("import sys, django; django.setup(); from saleschannel.api import tasks, webhooks; "
             "print(sorted(m for m in ('ninja', 'pydantic') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
