"""The default e-mail backend: each message written as a file under the data folder's ``mail`` folder.

Django's file backend with private modes (issue 11, finding 10): the folder is created 0700 (and tightened when an
older version left it readable) and every file 0600, whatever the process umask. Customer e-mails hold names and
addresses: other accounts on the machine must not read them.
"""

from __future__ import annotations

import os

from django.core.mail.backends.filebased import EmailBackend

from saleschannel.config import PRIVATE_FILE_MODE, private_dir


class PrivateFileEmailBackend(EmailBackend):
    def __init__(self, *args, file_path=None, **kwargs):
        super().__init__(*args, file_path=file_path, **kwargs)
        private_dir(self.file_path)

    def open(self):
        if self.stream is None:
            fd = os.open(self._get_filename(), os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE_MODE)
            self.stream = os.fdopen(fd, "ab")
            return True
        return False
