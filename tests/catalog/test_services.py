"""Stock: reservations, release, consumption, returns, salability, and overselling under concurrency."""

from __future__ import annotations

import multiprocessing
import os

import pytest
from django.db import IntegrityError, connections, transaction

from saleschannel.catalog.models import Product, StockReservation
from saleschannel.catalog.services import (
    StockError,
    product_is_salable,
    product_unsalable_reason,
    stock_consume,
    stock_release,
    stock_reservations,
    stock_reserve,
    stock_reserve_many,
    stock_return,
)
from tests.factories import make_product, requires_postgres

pytestmark = pytest.mark.django_db


def reload(product):
    product.refresh_from_db()
    return product


def test_reserve_holds_units_and_records_the_holder():
    product = make_product(qty=5)
    stock_reserve(product=product, qty=2, reference="sales.order:1")
    stock_reserve(product=product, qty=1, reference="sales.order:1")
    assert reload(product).qty_reserved == 3
    assert stock_reservations(reference="sales.order:1") == {product.pk: 3}
    assert product.salable_qty == 2


def test_reserve_refuses_more_than_salable_and_changes_nothing():
    product = make_product(sku="LAST-ONE", qty=3)
    stock_reserve(product=product, qty=2, reference="a")
    with pytest.raises(StockError, match='Product "LAST-ONE" is out of stock: 1 available, 2 wanted.'):
        stock_reserve(product=product, qty=2, reference="b")
    assert reload(product).qty_reserved == 2
    assert not StockReservation.objects.filter(reference="b").exists()


def test_second_reservation_of_the_last_unit_is_refused_by_the_conditional_update():
    """Same thread, any database: the UPDATE ... WHERE qty - qty_reserved >= n matches no row the second time."""
    product = make_product(qty=1)
    stock_reserve(product=product, qty=1, reference="first")
    with pytest.raises(StockError):
        stock_reserve(product=product, qty=1, reference="second")
    product = reload(product)
    assert (product.qty, product.qty_reserved) == (1, 1)


def test_reserving_several_products_is_all_or_nothing():
    plenty = make_product(qty=10)
    scarce = make_product(sku="SCARCE", qty=1)
    with pytest.raises(StockError, match="SCARCE"):
        stock_reserve_many(quantities={plenty: 4, scarce: 2}, reference="order")
    assert reload(plenty).qty_reserved == 0
    assert reload(scarce).qty_reserved == 0
    assert not StockReservation.objects.exists()


def test_unmanaged_products_are_never_limited_nor_changed():
    product = make_product(qty=0, manage_stock=False)
    stock_reserve(product=product, qty=50, reference="order")
    stock_consume(product=product, qty=50, reference="order")
    stock_return(product=product, qty=3)
    product = reload(product)
    assert (product.qty, product.qty_reserved) == (0, 0)
    assert product_is_salable(product, qty=1000)


def test_release_gives_back_all_or_part_of_a_reservation():
    first, second = make_product(qty=10), make_product(qty=10)
    stock_reserve_many(quantities={first: 3, second: 4}, reference="order")
    assert stock_release(reference="order", product=first, qty=1) == 1
    assert reload(first).qty_reserved == 2
    assert stock_release(reference="order") == 6
    assert (reload(first).qty_reserved, reload(second).qty_reserved) == (0, 0)
    assert not StockReservation.objects.exists()
    assert stock_release(reference="order") == 0  # releasing again is harmless


def test_consume_lowers_stock_and_reservation_together():
    product = make_product(qty=10)
    stock_reserve(product=product, qty=4, reference="order")
    assert stock_consume(product=product, qty=3, reference="order") == 3
    product = reload(product)
    assert (product.qty, product.qty_reserved) == (7, 1)
    assert stock_reservations(reference="order") == {product.pk: 1}


def test_consume_only_takes_what_the_holder_reserved():
    """An order that never reserved (e.g. fulfilled by Amazon) does not touch the stock when it ships."""
    product = make_product(qty=10)
    assert stock_consume(product=product, qty=2, reference="never-reserved") == 0
    assert reload(product).qty == 10


def test_return_adds_units_back():
    product = make_product(qty=2)
    stock_return(product=product, qty=3)
    assert reload(product).qty == 5


def test_check_constraint_backs_the_rule():
    product = make_product(qty=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.filter(pk=product.pk).update(qty_reserved=2)


@pytest.mark.parametrize(
    ("kwargs", "qty", "reason"),
    [
        ({"enabled": False}, 1, 'Product "P" is disabled.'),
        ({"is_in_stock": False}, 1, 'Product "P" is out of stock.'),
        ({"qty": 2}, 3, 'Product "P" is out of stock: 2 available, 3 wanted.'),
        ({"qty": 3}, 3, None),
        ({"qty": 0, "manage_stock": False}, 9, None),
    ],
)
def test_unsalable_reason(kwargs, qty, reason):
    product = make_product(sku="P", **kwargs)
    assert product_unsalable_reason(product, qty=qty) == reason
    assert product_is_salable(product, qty=qty) is (reason is None)


def test_missing_product_reason():
    assert product_unsalable_reason(None, sku="GONE") == 'Product "GONE" does not exist.'


# --- Two processes, one last unit (PostgreSQL) --------------------------------------------------------------


def _reserve_last_unit(product_id, reference, barrier, results):
    """Runs in a child process: reserve the last unit, keep the transaction open a moment, report the outcome."""
    import time

    connections.close_all()  # never share the parent's socket
    barrier.wait(timeout=30)
    try:
        with transaction.atomic():
            stock_reserve(product=Product.objects.get(pk=product_id), qty=1, reference=reference)
            time.sleep(0.3)  # the other process's UPDATE now waits on our row lock, then re-checks its condition
        results.put((reference, "reserved"))
    except StockError:
        results.put((reference, "refused"))
    except Exception as error:  # noqa: BLE001 - reported to the parent
        results.put((reference, f"error: {error!r}"))
    finally:
        connections.close_all()


@pytest.mark.postgres
@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_processes_cannot_both_reserve_the_last_unit():
    product = make_product(qty=1)
    connections.close_all()
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(2)
    results = context.Queue()
    children = [
        context.Process(target=_reserve_last_unit, args=(product.pk, f"process-{n}", barrier, results))
        for n in range(2)
    ]
    for child in children:
        child.start()
    outcomes = dict(results.get(timeout=60) for _ in children)
    for child in children:
        child.join(timeout=30)
        assert child.exitcode == 0
    assert sorted(outcomes.values()) == ["refused", "reserved"], outcomes
    product.refresh_from_db()
    assert (product.qty, product.qty_reserved) == (1, 1)
    assert StockReservation.objects.filter(product=product).count() == 1
    assert os.getpid()  # the parent survived the forks with its own connection


def test_several_products_change_together():
    """The *_many functions change several products in one statement each, never below what is held."""
    from saleschannel.catalog.services import stock_consume_many, stock_release_many, stock_return_many

    first, second = make_product(qty=5), make_product(qty=5)
    stock_reserve_many(quantities={first: 2, second: 3}, reference="multi")
    assert stock_consume_many(quantities={first.pk: 1, second.pk: 1}, reference="multi") == {first.pk: 1,
                                                                                            second.pk: 1}
    assert stock_release_many(quantities={first.pk: 1, second.pk: 5}, reference="multi") == {first.pk: 1,
                                                                                            second.pk: 2}
    stock_return_many(quantities={first: 1, second: 1})
    assert [(p.qty, p.qty_reserved) for p in (reload(first), reload(second))] == [(5, 0), (5, 0)]
