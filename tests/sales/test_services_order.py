"""order_create: totals, numbering, validation, stock, statuses, history and the confirmation email."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from saleschannel.catalog.models import StockReservation
from saleschannel.sales.errors import OrderActionError
from saleschannel.sales.models import DocumentSequence, HistoryKind, Order, OrderState
from saleschannel.sales.numbering import next_number
from saleschannel.sales.services import OrderDraft, order_create, order_status_create, stock_reference
from tests.factories import ADDRESS, line, make_order, make_product, make_store, requires_postgres

pytestmark = pytest.mark.django_db


def create(store, items, **kwargs):
    kwargs.setdefault("customer_email", "zoe@example.com")
    kwargs.setdefault("customer_first_name", "Zoë")
    kwargs.setdefault("customer_last_name", "Lefèvre")
    kwargs.setdefault("billing_address", dict(ADDRESS))
    kwargs.setdefault("send_email", False)
    return order_create(draft=OrderDraft(store=store, items=items, **kwargs), actor="tests")


def refused(store, items, message, field=None, **kwargs):
    before = Order.objects.count()
    with pytest.raises(OrderActionError) as caught:
        create(store, items, **kwargs)
    assert caught.value.message == message
    if field is not None:
        assert caught.value.field == field
    assert Order.objects.count() == before
    return caught.value


def test_totals_items_addresses_and_payment(order, products, staff_user):
    tshirt, mug, _ = products
    assert order.number == "US000000001"
    assert (order.state, order.status, order.currency) == (OrderState.NEW, "pending", "USD")
    # subtotal 2×19.99 + 3×8.50; discount 2.00; tax 3.20; shipping 5.00
    assert order.subtotal == Decimal("65.48")
    assert order.discount_amount == Decimal("2.00")
    assert order.tax_amount == Decimal("3.20")
    assert order.grand_total == Decimal("71.68")
    assert order.total_due == Decimal("71.68")
    items = list(order.items.all())
    assert [(i.sku, i.qty_ordered, i.price, i.row_total) for i in items] == [
        ("TSHIRT-RED", 2, Decimal("19.99"), Decimal("39.98")),
        ("MUG-BLUE", 3, Decimal("8.50"), Decimal("25.50")),
    ]
    assert items[0].product == tshirt and items[0].name == "T-shirt rouge"
    assert items[0].original_price == Decimal("19.99") and items[0].tax_percent == Decimal("8")
    addresses = {a.address_type: a for a in order.addresses.all()}
    assert addresses["billing"].city == "Lyon" and addresses["shipping"].street1 == "12 rue de l'Église"
    assert order.payment.method_code == "checkmo"
    assert order.customer_is_guest
    history = order.history.get()
    assert (history.comment, history.author, history.author_label, history.status) == (
        "Order created.", staff_user, "staff", "pending")


def test_grand_total_formula_with_shipping_tax_and_order_discount(store, products):
    o = create(store, [line(products[0], 1, tax_amount="1.60", discount_amount="0.99")],
               shipping_amount="4.99", shipping_tax_amount="0.40", discount_amount="4.99")
    assert o.discount_amount == Decimal("5.98")
    assert o.tax_amount == Decimal("2.00")
    assert o.grand_total == Decimal("19.99") + Decimal("4.99") - Decimal("5.98") + Decimal("2.00")


def test_reserves_stock_for_managed_products_only(store, products):
    unmanaged = make_product(qty=0, manage_stock=False)
    o = create(store, [line(products[0], 2), line(products[0], 1), line(unmanaged, 5)])
    reservations = StockReservation.objects.filter(reference=stock_reference(o))
    assert [(r.product_id, r.qty) for r in reservations] == [(products[0].pk, 3)]
    products[0].refresh_from_db()
    assert products[0].qty_reserved == 3


def test_no_reservation_when_asked(store, products):
    o = create(store, [line(products[0], 2)], reserve_stock=False)
    assert not StockReservation.objects.filter(reference=stock_reference(o)).exists()


def test_refuses_out_of_stock_disabled_and_missing_products(store):
    scarce = make_product(sku="SCARCE", qty=2)
    off = make_product(sku="OFF", enabled=False)
    refused(store, [line(scarce, 2), line(scarce, 1)],
            'Product "SCARCE" is out of stock: 2 available, 3 wanted.', field="items.0.sku")
    refused(store, [line(off, 1)], 'Product "OFF" is disabled.', field="items.0.sku")
    refused(store, [{"sku": "NOPE", "qty": 1, "price": "1"}], 'Product "NOPE" does not exist.', field="items.0.sku")
    scarce.refresh_from_db()
    assert scarce.qty_reserved == 0


def test_reservation_failure_without_check_rolls_everything_back(store):
    scarce = make_product(sku="SCARCE", qty=1)
    error = refused(store, [line(scarce, 2)], 'Product "SCARCE" is out of stock: 1 available, 2 wanted.',
                    check_stock=False)
    assert error.code == "out_of_stock"
    scarce.refresh_from_db()
    assert scarce.qty_reserved == 0 and not StockReservation.objects.exists()


def test_without_stock_check_a_missing_product_gives_an_item_without_product(store):
    o = create(store, [{"sku": "GONE", "qty": 1, "price": "3.00", "name": "Old thing"}], check_stock=False)
    item = o.items.get()
    assert (item.product, item.sku, item.name) == (None, "GONE", "Old thing")


@pytest.mark.parametrize(
    ("item", "message", "field"),
    [
        ({"qty": -1}, 'The quantity of "S" cannot be negative.', "items.0.qty"),
        ({"qty": 0}, 'The quantity of "S" must be at least 1.', "items.0.qty"),
        ({"qty": "two"}, 'The quantity of "S" must be a whole number.', "items.0.qty"),
        ({"qty": "1.5"}, 'The quantity of "S" must be a whole number.', "items.0.qty"),
        ({"price": "abc"}, 'The price of "S" is not a number.', "items.0.price"),
        ({"price": "1.001"}, 'The price of "S" has more decimals than USD allows.', "items.0.price"),
        ({"price": "-1"}, 'The price of "S" cannot be negative.', "items.0.price"),
        ({"price": 1.5}, 'The price of "S" must be given as an exact amount, not as a floating-point number.',
         "items.0.price"),
        ({"price": None}, 'The price of "S" is missing.', "items.0.price"),
        ({"price": True}, 'The price of "S" is not a number.', "items.0.price"),
        ({"qty": True}, 'The quantity of "S" must be a whole number.', "items.0.qty"),
        ({"discount_amount": "50"}, 'The discount of "S" is more than its price.', "items.0.discount_amount"),
        ({"tax_percent": "120"}, 'The tax percent of "S" must be between 0 and 100.', "items.0.tax_percent"),
        ({"colour": "red"}, "Item 1 has unknown fields.", "items.0"),
    ],
)
def test_bad_items_are_refused(store, item, message, field):
    make_product(sku="S", price="10.00")
    refused(store, [{"sku": "S", "qty": 1, "price": "10.00", **item}], message, field=field)


def test_bad_order_input_is_refused(store, products):
    items = [line(products[0], 1)]
    refused(store, [], "An order needs at least one item.", field="items")
    refused(store, items, "Enter a valid customer email address.", field="customer_email", customer_email="zoe@")
    refused(store, items, "Enter the customer's first name.", field="customer_first_name", customer_first_name=" ")
    refused(store, items, "The shipping amount is not a number.", field="shipping_amount", shipping_amount="x")
    refused(store, items, "The discount is more than the order total.", field="discount_amount",
            discount_amount="100.00")
    refused(store, items, "Unknown address field planet.", field="billing", billing_address={"planet": "Mars"})
    refused(store, items, 'Unknown order status "nope".', field="status", status="nope")
    refused(store, items, "A new order can only have a status of the New, Pending Payment or Processing state.",
            field="status", status="complete")


def test_expected_grand_total_must_match_to_the_cent(store, products):
    items = [line(products[0], 1)]
    error = refused(store, items, "The order total $19.99 does not match the expected total $19.98.",
                    expected_grand_total="19.98")
    assert error.code == "total_mismatch"
    assert create(store, items, expected_grand_total=Decimal("19.99")).grand_total == Decimal("19.99")


def test_numbers_follow_a_per_store_sequence(products):
    us, uk = make_store(code="us", prefix="US"), make_store(code="uk", prefix="UK")
    numbers = [create(s, [line(products[0], 1)]).number for s in (us, us, uk, us)]
    assert numbers == ["US000000001", "US000000002", "UK000000001", "US000000003"]
    assert DocumentSequence.objects.get(store=us, kind="order").last_value == 3


def test_a_store_without_prefix_uses_its_id(products):
    store = make_store(code="plain", prefix="")
    assert create(store, [line(products[0], 1)]).number == f"{store.pk}000000001"


def test_explicit_number_for_channel_orders(store, products):
    o = create(store, [line(products[0], 1)], number="111-2222222-3333333", origin="amazon",
               external_order_number="111-2222222-3333333",
               payment_additional_information={"Amazon Order Number": "111-2222222-3333333"})
    assert o.number == "111-2222222-3333333"
    assert o.history.get().comment == "Order created from Amazon order 111-2222222-3333333."
    assert o.payment.additional_information == {"Amazon Order Number": "111-2222222-3333333"}
    # The store's sequence was not used.
    assert not DocumentSequence.objects.filter(store=store, kind="order").exists()
    error = refused(store, [line(products[0], 1)], "An order numbered 111-2222222-3333333 already exists.",
                    field="number", number="111-2222222-3333333")
    assert error.code == "duplicate"


def test_sequence_increments_atomically_within_transactions(store):
    values = [next_number(store=store, kind="invoice") for _ in range(3)]
    assert values == ["US000000001", "US000000002", "US000000003"]


def test_custom_status_sets_the_state(store, products):
    order_status_create(code="amazon_processing", label="Amazon processing", state="processing", actor="tests")
    o = create(store, [line(products[0], 1)], status="amazon_processing")
    assert (o.state, o.status) == ("processing", "amazon_processing")


def test_created_at_and_customer_account(store, products):
    from saleschannel.customers.services import customer_get_or_create

    customer = customer_get_or_create(email="zoe@example.com", first_name="Zoë", last_name="L", store=store)
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    o = create(store, [line(products[0], 1)], customer=customer, created_at=when)
    o.refresh_from_db()
    assert o.created_at == when and o.customer == customer and not o.customer_is_guest


def test_jpy_orders_have_no_decimals(jpy_store, products):
    o = create(jpy_store, [line(products[0], 3, price="1980", tax_amount="594")], shipping_amount="500")
    assert (o.currency, o.grand_total) == ("JPY", Decimal("7034"))
    refused(jpy_store, [line(products[0], 1, price="1980.5")], 'The price of "TSHIRT-RED" has more decimals than JPY '
            "allows.")


def test_confirmation_email_is_sent_on_commit_and_recorded(store, products, mailoutbox,
                                                           django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        o = create(store, [line(products[0], 1)], send_email=True)
        assert mailoutbox == []  # nothing leaves before the commit
    assert len(callbacks) == 1
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["zoe@example.com"]
    assert o.number in mailoutbox[0].subject
    email_line = o.history.get(kind=HistoryKind.EMAIL)
    assert email_line.comment == "The order confirmation email was sent to the customer."
    assert email_line.is_customer_notified is True


def test_no_email_when_not_asked(store, products, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        make_order(store=store, items=[line(products[0], 1)], send_email=False)
    assert callbacks == [] and mailoutbox == []


def test_order_status_create_validates(store):
    status = order_status_create(code="packing", label="Packing", state="processing", actor="tests")
    assert (status.state, status.is_default) == ("processing", False)
    with pytest.raises(OrderActionError, match='A status with code "packing" already exists.'):
        order_status_create(code="packing", label="Again", state="processing", actor="tests")
    with pytest.raises(OrderActionError, match='Unknown order state "nowhere".'):
        order_status_create(code="lost", label="Lost", state="nowhere", actor="tests")
    with pytest.raises(OrderActionError, match="The status code must be up to 32"):
        order_status_create(code="Bad Code", label="Bad", state="processing", actor="tests")


# Pinned: order_create of 2 or 10 items, the store's sequence existing; PostgreSQL first locks the products'
# rows in id order (one more statement than SQLite).
# (+1 statement each since the webhooks: the order events look up the active webhook endpoints, core.events.)
ORDER_CREATE_QUERIES = 16 if connection.vendor == "postgresql" else 15


def test_create_is_lean_on_queries(store, django_assert_max_num_queries):
    """A constant number of queries whatever the number of items (the import must stay fast)."""
    items = [line(make_product(), 1) for _ in range(10)]
    create(store, items[:1])  # the store's order sequence now exists
    with CaptureQueriesContext(connection) as two_items:
        create(store, items[:2])
    with django_assert_max_num_queries(17):  # PostgreSQL also locks the products in id order (no deadlocks)
        o = create(store, items)
    with CaptureQueriesContext(connection) as ten_items:
        create(store, items)
    assert len(ten_items) == len(two_items)
    assert len(two_items) == ORDER_CREATE_QUERIES, (
        f"order_create: {len(two_items)} queries, pinned {ORDER_CREATE_QUERIES}")
    assert o.items.count() == 10


# --- Numbers under concurrency (PostgreSQL) -----------------------------------------------------------------


def _create_orders(store_id, sku, count, barrier, results):
    """Runs in a child process: place ``count`` orders as fast as possible, report their numbers."""
    from django.db import connections

    from saleschannel.catalog.models import Store

    connections.close_all()
    try:
        store = Store.objects.get(pk=store_id)
        barrier.wait(timeout=30)
        numbers = [create(store, [{"sku": sku, "qty": 1, "price": "1.00"}]).number for _ in range(count)]
        results.put(numbers)
    except Exception as error:  # noqa: BLE001 - reported to the parent
        results.put([f"error: {error!r}"])
    finally:
        connections.close_all()


@pytest.mark.postgres
@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_processes_never_get_the_same_order_number():
    import multiprocessing

    from django.db import connections

    store = make_store(code="race", prefix="R")
    product = make_product(qty=100)
    connections.close_all()
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(2), context.Queue()
    children = [context.Process(target=_create_orders, args=(store.pk, product.sku, 8, barrier, results))
                for _ in range(2)]
    for child in children:
        child.start()
    numbers = [number for _ in children for number in results.get(timeout=120)]
    for child in children:
        child.join(timeout=30)
    assert not [n for n in numbers if n.startswith("error")], numbers
    assert sorted(numbers) == [f"R{n:09d}" for n in range(1, 17)]
    product.refresh_from_db()
    assert product.qty_reserved == 16


def test_next_number_refuses_unknown_kinds(store):
    with pytest.raises(ValueError, match="unknown document kind"):
        next_number(store=store, kind="receipt")
