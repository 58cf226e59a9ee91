"""The ``saleschannel`` console script: Django's management commands under one name.

``saleschannel migrate``, ``saleschannel createadmin``, ``saleschannel serve``, ``saleschannel worker``,
``saleschannel demo`` ... are plain management commands, so they also run through ``django-admin``.
"""

from __future__ import annotations

import os
import sys

from django.core.management import execute_from_command_line


def main(argv: list[str] | None = None) -> None:
    # Django reads the settings module on their first use, not when django.core.management is imported.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saleschannel.settings")
    argv = list(sys.argv if argv is None else argv)
    argv[0] = "saleschannel"
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
