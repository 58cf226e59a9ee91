"""The migration that makes prefixes valid and unique before adding the constraint (catalog 0002 and 0003)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("catalog", "0001_initial")]


def _latest(executor):
    return [key for key in executor.loader.graph.leaf_nodes() if key[0] == "catalog"]


@pytest.mark.django_db(transaction=True)
def test_migration_fixes_invalid_and_duplicate_prefixes_deterministically():
    executor = MigrationExecutor(connection)
    latest = _latest(executor)
    executor.migrate(BEFORE)
    try:
        Store = MigrationExecutor(connection).loader.project_state(BEFORE).apps.get_model("catalog", "Store")
        rows = [("a", "us"), ("b", "US"), ("c", "US-2"), ("d", ""), ("e", "US"), ("f", "fr é%"), ("g", "été 26!"),
                ("h", "LONGER-X")]
        stores = {code: Store.objects.create(code=code, name=code, order_number_prefix=prefix)
                  for code, prefix in rows}
        # A digits-only prefix equal to the id of the store without prefix (numbers used its id).
        Store.objects.create(code="i", name="i", order_number_prefix=str(stores["d"].pk))
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(latest)
    from saleschannel.catalog.models import Store as CurrentStore
    from saleschannel.catalog.rules import order_number_prefix_problem

    prefixes = dict(CurrentStore.objects.values_list("code", "order_number_prefix"))
    d = str(stores["d"].pk)
    assert prefixes == {
        "b": "US", "c": "US-2", "h": "LONGER-X", "i": d,  # valid and first: kept
        "a": "US-3",  # "us" -> "US", taken by b, "US-2" by c
        "d": f"{d}-2",  # empty -> its id (what numbering used), taken by i
        "e": "US-4",  # duplicate of b
        "f": "FRE",  # upper-cased, accent removed, space and % dropped
        "g": "ETE26",
    }
    for store in CurrentStore.objects.all():
        assert order_number_prefix_problem(store.order_number_prefix, store=store) is None
