"""Index for the order grid's keyword search on SQLite (back office; an FTS5 table and triggers, no model change).

The grid's "contains" search (``saleschannel/sales/search.py``) asks, on SQLite, an external-content FTS5 table
with the trigram tokenizer over the five searched columns of ``sales_order``: it answers "which orders contain
'marti'" from the index instead of scanning a million rows. The table holds only the index (the text stays in
``sales_order``); three triggers keep it in step with every insert, delete and update of those columns, whatever
writes them (ORM, ``QuerySet.update``, ``bulk_update``, raw SQL). The last statement indexes the orders already
there (18 s for a million orders on our 2-core machine). PostgreSQL has trigram GIN indexes instead (0003): there,
and on any other database, this migration does nothing.

A later migration that makes Django rebuild ``sales_order`` on SQLite (altering a column copies the table to a new
one and drops the old, its triggers with it) must run ``CREATE`` below again, or the index stops following the
orders; ``tests/sales/test_search.py`` checks that the triggers exist after every migration.
"""

from django.db import migrations

TABLE = "sales_order_search"
COLUMNS = ["number", "external_order_number", "customer_email", "customer_first_name", "customer_last_name"]
_COLUMN_LIST = ", ".join(COLUMNS)
_NEW = ", ".join(f"new.{column}" for column in COLUMNS)
_OLD = ", ".join(f"old.{column}" for column in COLUMNS)

CREATE = [
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {TABLE} USING fts5({_COLUMN_LIST}, content='sales_order', "
    f"content_rowid='id', tokenize='trigram')",
    f"CREATE TRIGGER IF NOT EXISTS {TABLE}_insert AFTER INSERT ON sales_order BEGIN "
    f"INSERT INTO {TABLE}(rowid, {_COLUMN_LIST}) VALUES (new.id, {_NEW}); END",
    f"CREATE TRIGGER IF NOT EXISTS {TABLE}_delete AFTER DELETE ON sales_order BEGIN "
    f"INSERT INTO {TABLE}({TABLE}, rowid, {_COLUMN_LIST}) VALUES ('delete', old.id, {_OLD}); END",
    f"CREATE TRIGGER IF NOT EXISTS {TABLE}_update AFTER UPDATE OF {_COLUMN_LIST} ON sales_order BEGIN "
    f"INSERT INTO {TABLE}({TABLE}, rowid, {_COLUMN_LIST}) VALUES ('delete', old.id, {_OLD}); "
    f"INSERT INTO {TABLE}(rowid, {_COLUMN_LIST}) VALUES (new.id, {_NEW}); END",
    f"INSERT INTO {TABLE}({TABLE}) VALUES ('rebuild')",
]
DROP = [
    f"DROP TRIGGER IF EXISTS {TABLE}_update",
    f"DROP TRIGGER IF EXISTS {TABLE}_delete",
    f"DROP TRIGGER IF EXISTS {TABLE}_insert",
    f"DROP TABLE IF EXISTS {TABLE}",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "sqlite":
            return
        with schema_editor.connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("sales", "0005_order_updated_index")]
    operations = [migrations.RunPython(_run(CREATE), _run(DROP))]
