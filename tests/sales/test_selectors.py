"""Reads of the back office: grid filters and search, address names, dashboard."""

from __future__ import annotations

from decimal import Decimal

import pytest

from saleschannel.sales import selectors
from saleschannel.sales.models import Order
from tests import factories


def _numbers(filters):
    return sorted(order.number for order in selectors.order_grid_queryset(filters))


@pytest.fixture
def two_orders(store, products):
    tshirt, mug, _cap = products
    first = factories.make_order(store=store, items=[factories.line(tshirt, 1)],
                                 customer_email="Mixed.Case@Example.com", customer_first_name="Jean",
                                 customer_last_name="Dupont")
    second = factories.make_order(store=store, items=[factories.line(mug, 1), factories.line(tshirt, 1)],
                                  customer_email="other@example.com", customer_first_name="Marie",
                                  customer_last_name="Curie", external_order_number="114-1234567-7654321",
                                  origin="amazon")
    return first, second


def test_exact_keywords_use_whole_values(two_orders):
    first, second = two_orders
    assert _numbers(selectors.OrderFilters(keyword=first.number)) == [first.number]
    assert _numbers(selectors.OrderFilters(keyword="114-1234567-7654321")) == [second.number]
    assert _numbers(selectors.OrderFilters(keyword="mug-blue")) == []  # SKUs match exactly...
    assert _numbers(selectors.OrderFilters(keyword="MUG-BLUE")) == [second.number]
    assert _numbers(selectors.OrderFilters(keyword="TSHIRT-RED")) == sorted([first.number, second.number])


def test_contains_search_is_case_insensitive_and_needs_every_word(two_orders):
    first, second = two_orders
    assert _numbers(selectors.OrderFilters(keyword="mixed.case")) == [first.number]
    assert _numbers(selectors.OrderFilters(keyword="dup")) == [first.number]
    assert _numbers(selectors.OrderFilters(keyword="marie curie")) == [second.number]
    assert _numbers(selectors.OrderFilters(keyword="marie dupont")) == []
    assert _numbers(selectors.OrderFilters(keyword="1234567")) == [second.number]


def test_address_names_are_attached_in_one_query(two_orders, django_assert_num_queries):
    orders = list(Order.objects.all())
    with django_assert_num_queries(1):
        selectors.attach_address_names(orders)
    assert {order.bill_to_name for order in orders} == {"Zoë Lefèvre"}
    assert {order.ship_to_name for order in orders} == {"Zoë Lefèvre"}  # the billing address is copied
    sorted_by_name = selectors.order_grid_queryset(selectors.OrderFilters(), ordering=("bill_to_name", "id"))
    assert [o.bill_to_name for o in sorted_by_name] == ["Zoë Lefèvre", "Zoë Lefèvre"]


def test_order_for_view_runs_a_fixed_number_of_queries(order, django_assert_num_queries):
    with django_assert_num_queries(7):
        loaded = selectors.order_for_view(order.pk)
        list(loaded.items.all()), list(loaded.history.all()), loaded.payment, loaded.store


def test_dashboard_counts_local_days(store, products):
    import datetime as dt
    import zoneinfo

    from django.utils import timezone

    paris = zoneinfo.ZoneInfo("Europe/Paris")
    now = dt.datetime(2026, 3, 30, 12, 0, tzinfo=paris)  # the day after the switch to summer time
    # 23:30 UTC on March 28 is 00:30 on March 29 in Paris; 21:30 UTC on March 29 is 23:30 the same day.
    for created in (dt.datetime(2026, 3, 28, 23, 30, tzinfo=dt.UTC), dt.datetime(2026, 3, 29, 21, 30, tzinfo=dt.UTC),
                    dt.datetime(2026, 3, 30, 9, 0, tzinfo=dt.UTC)):
        factories.make_order(store=store, items=[factories.line(products[1], 1)], created_at=created)
    with timezone.override(paris):
        summary = selectors.dashboard_summary(now=now)
    chart = dict(summary["chart"])
    assert chart[dt.date(2026, 3, 29)] == 2 and chart[dt.date(2026, 3, 30)] == 1
    assert chart[dt.date(2026, 3, 28)] == 0
    today, week, month = summary["periods"]
    assert (today.order_count, week.order_count, month.order_count) == (1, 3, 3)
    assert today.revenue == [("USD", Decimal("8.50"))]
