"""Test settings: the product's settings with a throw-away data folder per test process."""

import os
import tempfile

os.environ.setdefault("SALESCHANNEL_DATA_DIR", tempfile.mkdtemp(prefix="saleschannel-test-"))

from saleschannel.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tasks run in the test process when enqueued (on commit); tests of the real worker start one explicitly.
HUEY = {**HUEY, "immediate": True}  # noqa: F405
