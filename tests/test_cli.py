import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command


@pytest.mark.django_db
def test_createadmin_prints_a_working_password(capsys):
    call_command("createadmin", username="boss")
    out = capsys.readouterr().out
    password = out.rsplit("Password: ", 1)[1].strip()
    user = get_user_model().objects.get(username="boss")
    assert user.is_superuser and user.check_password(password)


@pytest.mark.django_db
def test_createadmin_if_missing_keeps_password(capsys):
    call_command("createadmin", username="boss", password="first-Pass-123")
    call_command("createadmin", username="boss", password="other-Pass-456", if_missing=True)
    assert get_user_model().objects.get(username="boss").check_password("first-Pass-123")
    assert "already exists" in capsys.readouterr().out


@pytest.mark.django_db
def test_createadmin_refuses_empty_username():
    with pytest.raises(CommandError, match="must not be empty"):
        call_command("createadmin", username=" ")


def test_console_script_lists_our_commands():
    result = subprocess.run(
        [sys.executable, "-m", "saleschannel", "help", "--commands"], capture_output=True, text=True, check=True
    )
    for name in ("createadmin", "serve", "worker", "demo", "migrate"):
        assert name in result.stdout.split()
