"""Indexes for the order grid's keyword search on PostgreSQL (back office; indexes only, no model change).

The grid's "contains" search compares ``UPPER(column) LIKE UPPER('%word%')``, which a B-tree cannot serve. On
PostgreSQL, trigram GIN indexes on exactly those expressions let it answer from the indexes on a million orders.
SQLite has no such index type: there the migration does nothing and the search scans (see docs/performance.md,
back office). Creating the pg_trgm extension needs a role allowed to; when it is refused, the indexes
are skipped with a warning and the search still works, only slower.
"""

import logging

from django.db import migrations

logger = logging.getLogger(__name__)

COLUMNS = ["number", "external_order_number", "customer_email", "customer_first_name", "customer_last_name"]


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        try:
            cursor.execute("SAVEPOINT trigram")
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            cursor.execute("RELEASE SAVEPOINT trigram")
        except Exception:  # noqa: BLE001 - permission denied: keep the migration going without the indexes
            cursor.execute("ROLLBACK TO SAVEPOINT trigram")
            logger.warning("pg_trgm is not available; the order keyword search will scan instead of using indexes")
            return
        for column in COLUMNS:
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS order_search_{column}_trgm ON sales_order "
                f"USING gin (UPPER({column}::text) gin_trgm_ops)"
            )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for column in COLUMNS:
            cursor.execute(f"DROP INDEX IF EXISTS order_search_{column}_trgm")


class Migration(migrations.Migration):
    dependencies = [("sales", "0002_default_statuses")]
    operations = [migrations.RunPython(create_indexes, drop_indexes)]
