"""What the benchmarks share: peak memory, a fresh Django in a temporary data folder, and cleaning up after.

The scripts in bench/ are run as files (``.venv/bin/python bench/x.py``), not as a package: each puts bench/ on
``sys.path`` and imports this module by name.
"""

from __future__ import annotations

import os
import resource
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    """The peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fresh_django(prefix: str = "saleschannel-bench-") -> Path:
    """Set Django up on a new temporary data folder (returned) and an empty, migrated database.

    With ``DATABASE_URL`` pointing at PostgreSQL the database is the one named there: it is flushed first, so
    that every run starts from nothing, as on SQLite.
    """
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ["SALESCHANNEL_DATA_DIR"] = str(workdir / "data")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saleschannel.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor == "postgresql":
        print("PostgreSQL: flushing the benchmark database", flush=True)
    call_command("migrate", verbosity=0)
    if connection.vendor == "postgresql":
        call_command("flush", interactive=False, verbosity=0)
        call_command("migrate", verbosity=0)
    return workdir


def finish(workdir: Path, *, keep: bool) -> None:
    """Remove the temporary data folder, or say where it is when asked to keep it."""
    if keep:
        print(f"data kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
