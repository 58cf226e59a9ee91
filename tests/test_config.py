import logging
import os
import stat

from saleschannel import config
from saleschannel.logfilters import RedactSecretsFilter, redact


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
