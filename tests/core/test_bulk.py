"""``saleschannel.core.bulk``: ``insert_new`` writes exactly the rows ``bulk_create`` writes, and ``link`` lets a row
point at an object that is saved later.

Every comparison inserts the same objects twice, once with ``insert_new`` and once with ``bulk_create``, and
compares the stored rows as Django reads them back (``.values()``), leaving out the primary key and the values that
must differ (unique numbers) or that the database clock sets (``auto_now``/``auto_now_add``, compared with a
tolerance).
"""

from __future__ import annotations

import math
import warnings
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.db.models import Model
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy

from saleschannel.amazon.models import AmazonOrder, AmazonOrderItem, AmazonStore
from saleschannel.core.bulk import insert_new, link
from saleschannel.sales.models import (
    HistoryKind,
    Order,
    OrderAddress,
    OrderHistory,
    OrderItem,
    OrderPayment,
    OrderState,
)
from tests import factories

pytestmark = pytest.mark.django_db

CLOCK_TOLERANCE = timedelta(seconds=30)


# --- Helpers ---------------------------------------------------------------------------------------------------


def stored(obj: Model, *, leave_out: tuple[str, ...] = ()) -> dict:
    """The row of ``obj`` as Django reads it back, without its primary key and the ``leave_out`` columns."""
    values = type(obj)._default_manager.filter(pk=obj.pk).values().get()
    values.pop(type(obj)._meta.pk.attname)
    for name in leave_out:
        values.pop(name)
    return values


def auto_times(model: type[Model]) -> tuple[str, ...]:
    return tuple(f.attname for f in model._meta.concrete_fields
                 if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False))


def assert_same_rows(build, *, unique: tuple[str, ...] = ()) -> list[Model]:
    """Insert ``build("a")`` with insert_new and ``build("b")`` with bulk_create; their rows must be the same.

    ``build(variant)`` returns new objects of one model; ``unique`` names the columns made different per variant.
    Returns the objects inserted by insert_new.
    """
    ours, theirs = build("a"), build("b")
    assert ours and len(ours) == len(theirs)
    model = type(ours[0])
    clock = auto_times(model)
    before = model._default_manager.count()
    insert_new(ours)
    model._default_manager.bulk_create(theirs)
    assert model._default_manager.count() == before + 2 * len(ours)
    for index, (mine, reference) in enumerate(zip(ours, theirs, strict=True)):
        assert mine.pk is not None and mine._state.adding is False and mine._state.db == "default"
        mine_row, reference_row = stored(mine), stored(reference)
        for name in unique:
            assert mine_row.pop(name) != reference_row.pop(name)
        for name in clock:
            mine_time, reference_time = mine_row.pop(name), reference_row.pop(name)
            assert mine_time is not None and timezone.is_aware(mine_time)
            assert abs(mine_time - reference_time) < CLOCK_TOLERANCE
            assert mine_time == getattr(mine, name)  # the object holds the time that was stored
        assert mine_row == reference_row, f"row {index} of {model.__name__} differs"
    return ours


@pytest.fixture
def store(db):
    return factories.make_store(code="bk", currency="USD", prefix="BK")


@pytest.fixture
def order(store):
    return factories.make_order(store=store)


@pytest.fixture
def amazon_store(store):
    return AmazonStore.objects.create(name="Seller bulk", seller_id="A1BULK", marketplace_ids=["ATVPDKIKX0DER"],
                                      store=store)


def new_order(store, number: str, **values) -> Order:
    fields = dict(
        number=number, store=store, state=OrderState.NEW, status="pending", origin="backoffice", currency="USD",
        customer_email="zoe@example.com", customer_first_name="Zoë", customer_last_name="Lefèvre",
        subtotal=Decimal("65.48"), shipping_amount=Decimal("5.00"), discount_amount=Decimal("2.00"),
        tax_amount=Decimal("3.20"), grand_total=Decimal("71.68"), created_at=datetime(2024, 5, 17, 8, 30, tzinfo=UTC),
    )
    fields.update(values)
    return Order(**fields)


# --- insert_new writes what bulk_create writes -----------------------------------------------------------------


def test_orders_are_stored_as_bulk_create_stores_them(store):
    customer_less = {"customer": None, "customer_is_guest": True}

    def build(variant):
        return [
            new_order(store, f"{variant}-1", **customer_less),
            new_order(store, f"{variant}-2", state=OrderState.PROCESSING, status="processing", origin="amazon",
                      external_order_number="111-2222222-3333333", shipping_method_code="flatrate",
                      shipping_method_title="Flat Rate — Zoë", subtotal=Decimal("0"), grand_total=Decimal("0.01"),
                      total_paid=Decimal("123456789012.34"), email_sent=True, hold_before_state="",
                      created_at=datetime(2023, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
            # Values the shortcuts do not take as they are: a plain "str" state, an int and a str amount.
            new_order(store, f"{variant}-3", state="new", subtotal=5, shipping_amount="3.10",
                      discount_amount=Decimal("0.5"), customer_first_name="  Ünïcödé 🛒 ", customer_last_name="O'Hara"),
        ]

    ours = assert_same_rows(build, unique=("number",))
    assert [Order.objects.get(pk=o.pk).number for o in ours] == ["a-1", "a-2", "a-3"]
    assert Order.objects.get(pk=ours[2].pk).shipping_amount == Decimal("3.10")


def test_order_items_with_decimals_are_stored_as_bulk_create_stores_them(order):
    product = factories.make_product(price="19.99")

    def build(variant):
        rows = [
            OrderItem(product=product, sku=product.sku, name="T-shirt rouge", qty_ordered=2, price=Decimal("19.99"),
                      original_price=Decimal("24.99"), row_total=Decimal("39.98"), tax_amount=Decimal("3.20"),
                      tax_percent=Decimal("8.2500"), discount_amount=Decimal("2.00"), external_item_id="x1"),
            OrderItem(product=None, sku="GONE", name="Deleted product", qty_ordered=7, qty_invoiced=7,
                      price=Decimal("0.01"), original_price=Decimal("0"), row_total=Decimal("0.07"),
                      tax_amount=Decimal("0.00"), tax_percent=Decimal("19.6"), discount_amount=Decimal("0.07")),
            OrderItem(product=product, sku=product.sku, name="Big", qty_ordered=1, price=Decimal("999999999999.99"),
                      original_price=12, row_total="999999999999.99", tax_amount=Decimal("1E+1"),
                      tax_percent=Decimal("100"), discount_amount=Decimal("-0.00")),
        ]
        for row in rows:
            row.order = order
        return rows

    ours = assert_same_rows(build)
    assert [i.price for i in OrderItem.objects.filter(pk__in=[o.pk for o in ours]).order_by("pk")] == [
        Decimal("19.99"), Decimal("0.01"), Decimal("999999999999.99")]


def test_history_lines_with_nullable_author_are_stored_as_bulk_create_stores_them(order):
    staff = factories.make_staff()

    def build(variant):
        return [
            OrderHistory(order=order, kind=HistoryKind.EVENT, comment="Order created.", status="pending",
                         author=None, author_label="system", is_customer_notified=None),
            OrderHistory(order=order, kind=HistoryKind.EMAIL, comment="", status="", author=staff,
                         author_label=staff.username, is_customer_notified=True, is_visible_on_front=True),
            OrderHistory(order=order, kind="comment", comment="Multi\nline — « ok » 100%",
                         author_id=staff.pk, author_label="x" * 150, is_customer_notified=False),
        ]

    ours = assert_same_rows(build)
    assert [row["author_id"] for row in OrderHistory.objects.filter(pk__in=[o.pk for o in ours])
            .order_by("pk").values("author_id")] == [None, staff.pk, staff.pk]


def test_addresses_and_payments_are_stored_as_bulk_create_stores_them(store):
    orders = [factories.make_order(store=store) for _ in range(4)]
    OrderAddress.objects.filter(order__in=orders).delete()
    OrderPayment.objects.filter(order__in=orders).delete()

    def build_addresses(variant):
        order = orders[0] if variant == "a" else orders[1]
        return [OrderAddress(order=order, address_type="billing", **factories.ADDRESS),
                OrderAddress(order=order, address_type="shipping", first_name="Ann", company="ACME", email="")]

    def build_payments(variant):
        pair = orders[2:] if variant == "a" else orders[:2]
        return [OrderPayment(order=pair[0], method_code="checkmo", method_title="Check / Money order"),
                OrderPayment(order=pair[1], method_code="amazon", method_title="Amazon",
                             additional_information={"Amazon Order Number": "111-1", "nested": [1, "ü", None]})]

    assert_same_rows(build_addresses, unique=("order_id",))
    assert_same_rows(build_payments, unique=("order_id",))


def test_amazon_orders_with_json_datetimes_and_nullable_fields_are_stored_as_bulk_create_stores_them(amazon_store):
    paris = ZoneInfo("Europe/Paris")

    def build(variant):
        return [
            AmazonOrder(store=amazon_store, amazon_order_id=f"111-0000001-{variant}", marketplace_id="ATVPDKIKX0DER",
                        status="Unshipped", amazon_status="Unshipped", buyer_name="John Smith",
                        buyer_email="buyer@marketplace.amazon.com", currency="USD", order_total=Decimal("25.00"),
                        is_prime=True, items_unshipped=2, purchase_date=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
                        latest_ship_date=datetime(2024, 1, 5, 12, 0, tzinfo=paris), last_update_date=None,
                        ship_address_line1="123 Main Street", ship_city="Seattle", ship_country_code="US",
                        raw={"AmazonOrderId": "111-0000001", "OrderTotal": {"Amount": "25.00"},
                             "Items": [1, 2.5, None, True, False], "Buyer": {"Name": "Zoë 🛒"}, "empty": {}}),
            AmazonOrder(store=amazon_store, amazon_order_id=f"111-0000002-{variant}", status="Pending",
                        amazon_status="Pending", order_total=None, purchase_date=datetime(2024, 2, 29, tzinfo=UTC),
                        latest_delivery_date=None, pii_redacted_at=datetime(2024, 3, 1, tzinfo=paris), raw={},
                        fulfillment_channel="AFN", is_business=True, import_attempts=3, notes="n" * 512),
            AmazonOrder(store=amazon_store, amazon_order_id=f"111-0000003-{variant}", status="Error",
                        amazon_status="Shipped", purchase_date=datetime(2024, 7, 1, 9, 0, tzinfo=paris),
                        raw=["top-level", "list"], import_error="Product \"X\" is out of stock.",
                        order_total=Decimal("0.10")),
            AmazonOrder(store=amazon_store, amazon_order_id=f"111-0000004-{variant}",
                        purchase_date=datetime(2024, 7, 1, 9, 0, tzinfo=UTC), raw="just a string"),
        ]

    ours = assert_same_rows(build, unique=("amazon_order_id",))
    first = AmazonOrder.objects.get(pk=ours[0].pk)
    assert first.raw["Buyer"] == {"Name": "Zoë 🛒"} and first.order_total == Decimal("25.00")
    assert first.latest_ship_date == datetime(2024, 1, 5, 11, 0, tzinfo=UTC)
    assert AmazonOrder.objects.get(pk=ours[2].pk).raw == ["top-level", "list"]


def test_amazon_order_items_are_stored_as_bulk_create_stores_them(amazon_store):
    amazon_order = AmazonOrder.objects.create(store=amazon_store, amazon_order_id="111-9999999-0000001",
                                              purchase_date=timezone.now())

    def build(variant):
        return [
            AmazonOrderItem(order=amazon_order, order_item_id=f"{variant}1", asin="B000TEST", seller_sku="TSHIRT-RED",
                            title="T-shirt", qty_ordered=2, item_price=Decimal("39.98"), item_tax=Decimal("3.20"),
                            shipping_price=Decimal("4.99"), promotion_discount=Decimal("1.00"),
                            buyer_requested_cancel=True, buyer_cancel_reason="Changed my mind"),
            AmazonOrderItem(order=amazon_order, order_item_id=f"{variant}2", qty_ordered=0, item_price=0,
                            shipping_discount_tax="0.01", title="t" * 512),
        ]

    assert_same_rows(build, unique=("order_item_id",))


# --- Primary keys, order --------------------------------------------------------------------------------------


def test_every_object_gets_its_own_primary_key_in_list_order(store):
    objects = [new_order(store, f"PK-{n:03d}", grand_total=Decimal(n)) for n in range(25)]
    assert all(o.pk is None and o._state.adding for o in objects)
    insert_new(objects)
    pks = [o.pk for o in objects]
    assert all(isinstance(pk, int) for pk in pks)
    assert pks == sorted(pks) and len(set(pks)) == len(pks)
    assert all(o._state.adding is False and o._state.db == "default" for o in objects)
    # Each object got the id of its own row, not of a neighbour's.
    stored_numbers = dict(Order.objects.filter(pk__in=pks).values_list("pk", "number"))
    assert stored_numbers == {o.pk: o.number for o in objects}
    # A saved object updates its row afterwards (no second insert).
    objects[3].customer_last_name = "Updated"
    objects[3].save()
    assert Order.objects.filter(number="PK-003").get().customer_last_name == "Updated"
    assert Order.objects.filter(number__startswith="PK-").count() == 25


# --- link --------------------------------------------------------------------------------------------------------


def test_link_to_a_parent_saved_afterwards_gives_the_child_the_parents_id(store):
    parent = new_order(store, "LINK-1")
    children = [OrderHistory(kind=HistoryKind.EVENT, comment=f"line {n}", author_label="tests") for n in range(3)]
    for child in children:
        link(child, "order", parent)
    assert children[0].order is parent and children[0].order_id is None
    insert_new([parent])
    insert_new(children)
    assert {child.order_id for child in children} == {parent.pk}
    assert list(OrderHistory.objects.filter(order=parent).order_by("pk").values_list("comment", flat=True)) == [
        "line 0", "line 1", "line 2"]

    # Model.save takes the id too, and a link to an already saved parent takes its id at once.
    other = new_order(store, "LINK-2")
    item = OrderItem(sku="S", name="S", qty_ordered=1)
    link(item, "order", other)
    other.save()
    item.save()
    assert OrderItem.objects.get(pk=item.pk).order_id == other.pk
    later = OrderHistory(author_label="tests")
    link(later, "order", other)
    assert later.order_id == other.pk


def test_link_to_a_parent_never_saved_is_refused_and_writes_nothing(order, store):
    unsaved = new_order(store, "NEVER")
    good = OrderHistory(order=order, comment="fine", author_label="tests")
    bad = OrderHistory(comment="orphan", author_label="tests")
    link(bad, "order", unsaved)
    before = (OrderHistory.objects.count(), Order.objects.count())
    with CaptureQueriesContext(connection) as queries:
        with pytest.raises(ValueError, match="unsaved related object 'order'"):
            with transaction.atomic():
                insert_new([good, bad])
    assert (OrderHistory.objects.count(), Order.objects.count()) == before
    assert not [q for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("INSERT")]
    assert good.pk is None and bad.pk is None
    # bulk_create refuses the same list.
    with pytest.raises(ValueError):
        with transaction.atomic():
            OrderHistory.objects.bulk_create([OrderHistory(order=order, author_label="t"), bad])
    assert OrderHistory.objects.count() == before[0]


# --- Values that need converting -------------------------------------------------------------------------------


def test_lazy_translations_and_choices_are_stored_as_bulk_create_stores_them(order):
    def build(variant):
        return [OrderHistory(order=order, kind=HistoryKind.COMMENT, comment=gettext_lazy("Order created."),
                             status=OrderState.PROCESSING, author_label=gettext_lazy("Order created."))]

    with translation.override("fr"):
        ours = assert_same_rows(build)
    row = OrderHistory.objects.get(pk=ours[0].pk)
    assert (row.comment, row.author_label, row.status, row.kind) == (
        "Commande créée.", "Commande créée.", "processing", "comment")


def test_naive_and_aware_datetimes_are_stored_as_bulk_create_stores_them(amazon_store):
    tokyo = ZoneInfo("Asia/Tokyo")

    def build(variant):
        return [
            AmazonOrder(store=amazon_store, amazon_order_id=f"111-7000001-{variant}",
                        purchase_date=datetime(2024, 6, 1, 12, 0),  # naive: taken in the default time zone
                        latest_ship_date=datetime(2024, 6, 2, 9, 30, tzinfo=tokyo),
                        last_update_date=datetime(2024, 6, 1, 12, 0, 0, 123456, tzinfo=UTC)),
        ]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "received a naive datetime", from both
        ours = assert_same_rows(build, unique=("amazon_order_id",))
    row = AmazonOrder.objects.get(pk=ours[0].pk)
    assert row.purchase_date == timezone.make_aware(datetime(2024, 6, 1, 12, 0))
    assert row.latest_ship_date == datetime(2024, 6, 2, 0, 30, tzinfo=UTC)
    assert row.last_update_date.microsecond == 123456


# --- Chunks, fallbacks, nothing to do ----------------------------------------------------------------------------


def test_more_rows_than_one_statement_holds_are_all_inserted_in_a_few_statements(order):
    lines = [OrderHistory(order=order, comment=f"line {n}", author_label="tests", is_customer_notified=n % 2 == 0)
             for n in range(1000)]
    fields = [f for f in OrderHistory._meta.concrete_fields if not f.primary_key]
    per_statement = connection.ops.bulk_batch_size(fields, lines)
    expected = math.ceil(len(lines) / per_statement)
    before = OrderHistory.objects.count()
    with CaptureQueriesContext(connection) as queries:
        insert_new(lines)
    inserts = [q for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("INSERT")]
    assert len(inserts) == len(queries.captured_queries) == expected
    assert expected <= 20  # a few statements, not one per row (SQLite: 10 of at most 111 rows)
    if connection.vendor == "sqlite":
        assert expected > 1  # the chunking was exercised
    assert OrderHistory.objects.count() == before + 1000
    pks = [line.pk for line in lines]
    assert pks == sorted(pks) and len(set(pks)) == 1000
    assert dict(OrderHistory.objects.filter(pk__in=pks).values_list("pk", "comment")) == {
        line.pk: line.comment for line in lines}
    assert OrderHistory.objects.filter(pk__in=pks, is_customer_notified=True).count() == 500


def test_objects_that_already_have_a_primary_key_fall_back_to_bulk_create(store):
    top = (Order.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1000
    with_pk = new_order(store, "HAS-PK", id=top)
    without = new_order(store, "NO-PK")
    insert_new([with_pk, without])
    assert with_pk.pk == top and without.pk is not None
    assert with_pk._state.adding is False and without._state.adding is False
    assert Order.objects.get(pk=top).number == "HAS-PK"
    assert Order.objects.get(pk=without.pk).number == "NO-PK"


def test_an_empty_list_is_a_no_op_without_queries():
    with CaptureQueriesContext(connection) as queries:
        insert_new([])
    assert queries.captured_queries == []
