"""Logging filter that keeps secrets out of log lines.

Amazon credentials and tokens travel as form fields and headers; if a library logs a request, the values are
masked before any handler writes them.
"""

from __future__ import annotations

import logging
import re

_SECRET_PATTERN = re.compile(
    r"(?i)(client_secret|refresh_token|access_token|x-amz-access-token|password|secret)"
    r"(['\"]?\s*[:=]\s*['\"]?)([^\s&'\",}]+)"
)
_TOKEN_PATTERN = re.compile(r"(Atz[a-z]\|)[A-Za-z0-9\-_.|]+")


def redact(text: str) -> str:
    text = _SECRET_PATTERN.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)
    return _TOKEN_PATTERN.sub(lambda m: f"{m.group(1)}***", text)


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
