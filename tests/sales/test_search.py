"""The order grid's "contains" search: SQLite's FTS5 trigram index (migration 0006) finds what the scan found.

``contains_condition`` must give the same orders as ``icontains_condition`` (the scan it replaces) for any ASCII
word, never raise on any input, stay in step with every way an order is written, and be used by the query plan.
"""

from __future__ import annotations

import string
from contextlib import contextmanager

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saleschannel.core.roles import OPERATOR
from saleschannel.sales import search
from saleschannel.sales.models import Order
from saleschannel.sales.search import (
    FTS_TABLE,
    SEARCH_COLUMNS,
    contains_condition,
    fts_phrase,
    icontains_condition,
)
from saleschannel.sales.selectors import OrderFilters, order_grid_queryset
from tests import factories
from tests.factories import client_for, make_role_user

pytestmark = pytest.mark.django_db
requires_sqlite = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's FTS5 search table")

PEOPLE = [
    ("alice.martin@example.com", "Alice", "Martin", ""),
    ("bruno@example.fr", "Bruno", "Durand", "111-2222222-3333333"),
    ("chloe@example.com", "Chloé", "Petit", ""),
    ("elodie@example.fr", "élodie", "MARTINEZ", "404-5550000-1234567"),
    ('odd.quote@example.com', 'O"Brien', "(Paren) *Star*", "NEAR-AND-OR"),
]


@pytest.fixture
def people(store, products):
    orders = []
    for email, first, last, external in PEOPLE:
        orders.append(factories.make_order(
            store=store, items=[factories.line(products[0], 1)], customer_email=email, customer_first_name=first,
            customer_last_name=last, external_order_number=external,
        ))
    return orders


def found(word: str) -> set[int]:
    return set(Order.objects.filter(contains_condition(word)).values_list("pk", flat=True))


def scanned(word: str) -> set[int]:
    return set(Order.objects.filter(icontains_condition(word)).values_list("pk", flat=True))


def grid(keyword: str) -> set[int]:
    return set(order_grid_queryset(OrderFilters(keyword=keyword)).values_list("pk", flat=True))


@contextmanager
def rolled_back():
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


# --- Same orders as the scan --------------------------------------------------------------------------------------

@pytest.mark.parametrize("word", [
    "Marti", "marti", "MARTIN", "artin", "example", "EXAMPLE.FR", "111-222", "2222222-3", "@example", "Durand",
    "rand", "lodie", "zzz", "Chlo", "hloé", "quote", '"Brien', "o\"b", "(Paren)", "*Star*", "NEAR", "AND", "-AND-",
    "Star*", "a:b", "^abc", "US0", "%ar", "_ar", "ar%", "\\x",
])
def test_contains_finds_the_orders_the_scan_finds(people, word):
    assert found(word) == scanned(word)


def test_part_of_a_name_finds_it_in_any_column(people):
    alice, _bruno, _chloe, elodie, _odd = people
    assert found("marti") == {alice.pk, elodie.pk}
    assert found("ARTINE") == {elodie.pk}
    assert found("3333") == {people[1].pk}


def test_unicode_case_is_folded_too(people):
    """A bonus of FTS5 over SQLite's LIKE, which folds ASCII letters only (PostgreSQL's UPPER folds them all)."""
    elodie = people[3]
    assert elodie.pk in found("ÉLODIE")
    assert people[2].pk in found("CHLOÉ")


def test_every_word_must_match(people):
    alice, _bruno, _chloe, elodie, _odd = people
    assert grid("marti alice") == {alice.pk}
    assert grid("MARTI example.fr") == {elodie.pk}
    assert grid("marti nobody") == set()
    assert grid("Alice   Martin") == {alice.pk}


def test_short_words_keep_the_scan(people):
    alice, bruno, *_ = people
    assert "MATCH" not in str(Order.objects.filter(contains_condition("ar")).query)
    assert found("ar") == scanned("ar")
    assert grid("Al ar") == {alice.pk}
    assert grid("br 111") == {bruno.pk}


@requires_sqlite
def test_a_word_in_too_many_orders_keeps_the_scan(people, monkeypatch):
    """Counting and sorting a large share of the orders by id costs more than one pass over the table."""
    alice, _bruno, _chloe, elodie, _odd = people
    monkeypatch.setattr(search, "FTS_MAX_MATCHES", 2)
    assert "MATCH" in str(Order.objects.filter(contains_condition("marti")).query)  # 2 matches: the index
    assert "MATCH" not in str(Order.objects.filter(contains_condition("example")).query)  # 5: the scan
    assert found("example") == scanned("example") == {order.pk for order in people}
    assert grid("marti example") == {alice.pk, elodie.pk}


def test_the_exact_match_fast_path_still_comes_first(people):
    bruno = people[1]
    assert grid("111-2222222-3333333") == {bruno.pk}
    assert grid(people[0].number) == {people[0].pk}
    assert grid("alice.martin@example.com") == {people[0].pk}


@pytest.mark.parametrize("word", ['"', '""', '"""', "*", "***", "(", ")", "())", ":", "a:", "NEAR(", "AND", "OR",
                                  "NOT", "^", "+", "-", "'", "'; DROP TABLE x; --", "\\", "%", "_", "…", "日本語",
                                  "👍👍👍", "\u200b\u200b\u200b", "col:umn", "number:abc", "{number}: abc"])
def test_any_text_is_searched_literally(people, word):
    found(word)
    grid(word)
    grid(f"{word} {word}x")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(keyword=st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=12))
def test_arbitrary_input_never_raises(people, keyword):
    grid(keyword)
    for word in keyword.split():
        found(word)


_ASCII = string.ascii_letters + string.digits + "@.-_%\\\"()*:^'"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(data=st.data())
def test_ascii_words_find_what_the_scan_finds(people, data):
    values = [getattr(order, column) for order in people for column in SEARCH_COLUMNS]
    value = data.draw(st.sampled_from([v for v in values if v.isascii() and v]))
    start = data.draw(st.integers(0, len(value) - 1))
    part = value[start:data.draw(st.integers(start + 1, len(value)))]
    part = "".join(data.draw(st.sampled_from([c.lower(), c.upper()])) for c in part)
    word = data.draw(st.one_of(st.just(part), st.text(st.sampled_from(_ASCII), min_size=1, max_size=6)))
    word = "".join(word.split()) or "x"
    assert found(word) == scanned(word)


# --- The index follows every write --------------------------------------------------------------------------------

@pytest.mark.parametrize("column", SEARCH_COLUMNS)
def test_the_index_follows_a_save_of_each_column(people, column):
    order = people[0]
    old = getattr(order, column)
    setattr(order, column, "Qwertyuiop@example.com" if column == "customer_email" else "Qwertyuiop")
    order.save()
    assert found("wertyu") == {order.pk}
    if old:
        assert found(old) == scanned(old)


@pytest.mark.parametrize("column", SEARCH_COLUMNS)
def test_the_index_follows_queryset_update_and_bulk_update(people, column):
    first, second = people[0], people[1]
    Order.objects.filter(pk=first.pk).update(**{column: "Zyxwvut1"})
    assert found("yxwvut") == {first.pk}
    second_value = "Zyxwvut2"
    setattr(first, column, "Plainvalue")
    setattr(second, column, second_value)
    Order.objects.bulk_update([first, second], [column])
    assert found("yxwvut") == {second.pk}
    assert found("lainval") == {first.pk}
    assert found("yxwvut2") == scanned("yxwvut2")


def test_the_index_forgets_deleted_orders_and_learns_new_ones(people, store, products):
    alice = people[0]
    Order.objects.filter(pk=alice.pk).delete()
    assert found("alice") == set() == scanned("alice")
    again = factories.make_order(store=store, items=[factories.line(products[1], 1)], customer_first_name="Alicia")
    assert found("ALIC") == {again.pk}
    assert found(again.number) == {again.pk}


def test_an_update_of_other_columns_leaves_the_index_alone(people):
    order = people[0]
    Order.objects.filter(pk=order.pk).update(status="processing")
    assert found("marti") == {order.pk, people[3].pk}


@requires_sqlite
def test_the_index_is_consistent_after_the_writes(people):
    """FTS5's own check that the index matches its content table (fails if a trigger is missing or wrong)."""
    people[0].customer_last_name = "Changed"
    people[0].save()
    Order.objects.filter(pk=people[1].pk).delete()
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rank) VALUES ('integrity-check', 1)")


@requires_sqlite
def test_the_triggers_exist_after_every_migration():
    """A later migration that rebuilds ``sales_order`` on SQLite (Django copies it to a new table) drops its
    triggers: it must create them again (see migration 0006), or this fails."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'sales_order'")
        triggers = {row[0] for row in cursor.fetchall()}
    assert {f"{FTS_TABLE}_insert", f"{FTS_TABLE}_delete", f"{FTS_TABLE}_update"} <= triggers


# --- Through the grid --------------------------------------------------------------------------------------------

def _grid_numbers(client, keyword: str) -> set[str]:
    response = client.get("/sales/orders/", {"q": keyword})
    assert response.status_code == 200
    return {order.number for order, _cells in response.context["rows"]}


@pytest.mark.parametrize("keyword", ["Marti", "marti example.com", "example", "Dur", "ar", '"Brien (Paren)',
                                     "*Star* NEAR", "111-222", "nobody"])
def test_the_grid_shows_the_orders_the_scan_found(people, keyword):
    client = client_for(make_role_user(OPERATOR))
    expected = Order.objects.all()
    for word in keyword.split():
        expected = expected.filter(icontains_condition(word))
    assert _grid_numbers(client, keyword) == set(expected.values_list("number", flat=True))


@requires_sqlite
def test_the_grid_search_reads_the_fts_index_not_the_orders(people):
    """Both the count and the page query must look the word up in the FTS table: a scan of a million orders takes
    half a second."""
    client = client_for(make_role_user(OPERATOR))
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/sales/orders/", {"q": "Marti"})
    assert response.status_code == 200
    searches = [query["sql"] for query in queries
                if "sales_order_search" in query["sql"] and 'FROM "sales_order"' in query["sql"]]
    assert len(searches) == 2, [query["sql"] for query in queries]  # the count and the page
    for sql in searches:
        with connection.cursor() as cursor:
            details = [row[-1] for row in cursor.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()]
        assert any(detail.startswith(f"SCAN {FTS_TABLE} VIRTUAL TABLE INDEX") for detail in details), details
        orders = [detail for detail in details if detail.split()[1:2] == ["sales_order"]]
        assert orders == ["SEARCH sales_order USING INTEGER PRIMARY KEY (rowid=?)"], details


def test_fts_phrase_quotes_everything():
    assert fts_phrase("abc") == '"abc"'
    assert fts_phrase('a"b') == '"a""b"'
    assert fts_phrase('"') == '""""'
