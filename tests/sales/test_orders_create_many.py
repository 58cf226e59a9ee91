"""``order_prepare`` + ``orders_create_many``: a batch of orders written in one transaction, one statement per table.

``order_prepare`` checks and builds without writing; ``orders_create_many`` numbers the batch in one step, reserves
its stock with one conditional ``UPDATE`` and writes all of it or nothing. The rows must be those ``order_create``
writes for the same orders (it is now a batch of one).
"""

from __future__ import annotations

from contextlib import contextmanager, nullcontext
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saleschannel.catalog.models import Product, StockReservation
from saleschannel.sales.errors import OrderActionError
from saleschannel.sales.models import (
    DocumentSequence,
    HistoryKind,
    Invoice,
    InvoiceItem,
    Order,
    OrderAddress,
    OrderHistory,
    OrderItem,
    OrderPayment,
    OrderState,
)
from saleschannel.sales.services import (
    OrderDraft,
    order_create,
    order_prepare,
    orders_create_many,
    statuses_cached,
    stock_reference,
)
from tests.factories import ADDRESS, line, make_product, make_store

pytestmark = pytest.mark.django_db

WRITES = ("INSERT", "UPDATE", "DELETE")
TABLES = (Order, OrderItem, OrderAddress, OrderPayment, OrderHistory, Invoice, InvoiceItem, StockReservation,
          DocumentSequence)


def arguments(store, items, *, actor="tests", **kwargs) -> dict:
    """``order_prepare``/``order_create`` arguments: ``check_number`` and ``products`` apart, the rest a draft."""
    options = {key: kwargs.pop(key) for key in ("check_number", "products") if key in kwargs}
    kwargs.setdefault("customer_email", "zoe@example.com")
    kwargs.setdefault("customer_first_name", "Zoë")
    kwargs.setdefault("customer_last_name", "Lefèvre")
    kwargs.setdefault("billing_address", dict(ADDRESS))
    kwargs.setdefault("send_email", False)
    return {"draft": OrderDraft(store=store, items=items, **kwargs), "actor": actor, **options}


def prepare(store, items, **kwargs):
    return order_prepare(**arguments(store, items, **kwargs))


def create(store, items, **kwargs):
    options = arguments(store, items, **kwargs)
    options.pop("check_number", None)  # order_create always checks its number
    return order_create(**options)


def writes_in(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith(WRITES)]


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in TABLES}


def sequences(store) -> dict[str, int]:
    return dict(DocumentSequence.objects.filter(store=store).values_list("kind", "last_value"))


def reserved(*products: Product) -> list[int]:
    return [Product.objects.get(pk=p.pk).qty_reserved for p in products]


def snapshot(order: Order) -> dict:
    """What was written for ``order``, with its own numbers replaced by ``#`` (to compare two orders)."""
    order = Order.objects.get(pk=order.pk)
    invoice = Invoice.objects.filter(order=order).first()

    def anonymous(text: str) -> str:
        text = text.replace(order.number, "#")
        return text.replace(invoice.number, "#") if invoice else text

    return {
        "order": {f.attname: getattr(order, f.attname) for f in Order._meta.concrete_fields
                  if f.attname not in ("id", "number", "created_at", "updated_at")},
        "items": [(i.product_id, i.sku, i.name, i.qty_ordered, i.qty_invoiced, i.price, i.original_price, i.row_total,
                   i.tax_amount, i.tax_percent, i.discount_amount) for i in order.items.order_by("pk")],
        "addresses": sorted(
            tuple((f.attname, getattr(a, f.attname)) for f in OrderAddress._meta.concrete_fields
                  if f.attname not in ("id", "order_id"))
            for a in order.addresses.all()),
        "payment": (order.payment.method_code, order.payment.method_title, order.payment.additional_information),
        "history": [(h.kind, h.status, h.author_id, h.author_label, h.is_customer_notified, h.is_visible_on_front,
                     anonymous(h.comment)) for h in order.history.order_by("pk")],
        "invoice": None if invoice is None else (
            {f: getattr(invoice, f) for f in ("subtotal", "shipping_amount", "discount_amount", "tax_amount",
                                              "grand_total", "created_by")},
            [(i.order_item.sku, i.qty, i.price, i.row_total, i.tax_amount, i.discount_amount)
             for i in invoice.items.order_by("pk")],
        ),
        "reservations": sorted(StockReservation.objects.filter(reference=stock_reference(order))
                               .values_list("product_id", "qty")),
    }


@pytest.fixture
def stocked(db):
    """Three managed products with stock for every test here, and one whose stock is not managed."""
    return [make_product(price="19.99", qty=500), make_product(price="8.50", qty=500),
            make_product(price="12.00", qty=500), make_product(price="3.00", qty=0, manage_stock=False)]


def three_orders(store, products, *, invoice_index=1):
    """The items and options of three different orders (one of them invoiced)."""
    a, b, c, unmanaged = products
    specs = [
        dict(items=[line(a, 2, tax_amount="3.20", tax_percent="8", discount_amount="2.00"), line(b, 3)],
             shipping_amount="5.00", shipping_method_code="flatrate", shipping_method_title="Flat Rate"),
        dict(items=[line(c, 1, tax_amount="0.96"), line(unmanaged, 4), line(a, 1, price="18.00")],
             shipping_amount="4.99", shipping_tax_amount="0.40", discount_amount="1.00", send_email=True,
             payment_method_code="amazon", payment_method_title="Amazon",
             payment_additional_information={"Amazon Order Number": "111-1"}),
        dict(items=[line(b, 1, row_total="8.49")], origin="amazon", external_order_number="111-2222222-3333333",
             status="processing", shipping_address={"first_name": "Ann", "city": "Paris", "country_code": "fr"}),
    ]
    for index, spec in enumerate(specs):
        spec["invoice"] = index == invoice_index
    return specs


# --- order_prepare writes nothing ------------------------------------------------------------------------------


def test_prepare_reads_but_writes_nothing(store, stocked):
    before, stock_before = counts(), reserved(*stocked)
    with CaptureQueriesContext(connection) as queries:
        new = prepare(store, [line(stocked[0], 2), line(stocked[1], 1)], invoice=True, send_email=True,
                      status="processing")
    assert writes_in(queries) == []
    assert queries.captured_queries  # it did read (products, statuses)
    assert counts() == before and reserved(*stocked) == stock_before
    assert new.order.pk is None and new.order.number == "" and new.order._state.adding
    assert all(row.pk is None for row in (*new.lines, *new.addresses, new.payment, *new.history))
    assert new.invoice is not None and new.invoice.pk is None and new.invoice.number == ""
    # Built rows are what the order will hold once written.
    assert new.order.grand_total == Decimal("48.48") and [li.qty_invoiced for li in new.lines] == [2, 1]
    assert [h.kind for h in new.history] == [HistoryKind.EVENT, HistoryKind.EMAIL]
    assert all(row.order is new.order for row in (*new.lines, *new.addresses, new.payment, *new.history))


@pytest.mark.parametrize(("change", "code", "field"), [
    ({"customer_email": "not-an-email"}, "invalid", "customer_email"),
    ({"customer_last_name": "  "}, "invalid", "customer_last_name"),
    ({"items": "QTY0"}, "invalid", "items.0.qty"),
    ({"items": "NEGATIVE"}, "invalid", "items.0.price"),
    ({"items": "UNKNOWN"}, "not_salable", "items.0.sku"),
    ({"items": "TOO_MANY"}, "not_salable", "items.0.sku"),
    ({"items": []}, "invalid", "items"),
    ({"expected_grand_total": "39.97"}, "total_mismatch", "expected_grand_total"),
    ({"status": "no-such-status"}, "invalid", "status"),
    ({"discount_amount": "100.00"}, "invalid", "discount_amount"),
])
def test_prepare_refuses_bad_input_before_writing_anything(store, stocked, change, code, field):
    product = stocked[0]
    items = {
        "QTY0": [line(product, 0)],
        "NEGATIVE": [line(product, 1, price="-1.00")],
        "UNKNOWN": [{"sku": "NO-SUCH-SKU", "qty": 1, "price": "1.00"}],
        "TOO_MANY": [line(product, 501)],
    }
    kwargs = {"items": [line(product, 2)], "invoice": True, **change}
    if isinstance(kwargs["items"], str):
        kwargs["items"] = items[kwargs["items"]]
    before = counts()
    with CaptureQueriesContext(connection) as queries, pytest.raises(OrderActionError) as caught:
        prepare(store, **kwargs)
    assert (caught.value.code, caught.value.field) == (code, field)
    assert writes_in(queries) == []
    assert counts() == before and reserved(product) == [0]
    # The same input is accepted once corrected (the refusal was about the input, not the setup).
    prepare(store, [line(product, 2)], invoice=True, expected_grand_total="39.98")


def test_prepare_refuses_a_number_already_used(store, stocked):
    create(store, [line(stocked[0], 1)], number="AMZ-1")
    before = counts()
    with CaptureQueriesContext(connection) as queries, pytest.raises(OrderActionError) as caught:
        prepare(store, [line(stocked[0], 1)], number="AMZ-1")
    assert caught.value.code == "duplicate" and writes_in(queries) == [] and counts() == before


# --- A batch writes what order_create writes -------------------------------------------------------------------


def test_a_batch_writes_what_order_create_writes(store, stocked, staff_user):
    specs = three_orders(store, stocked)
    before = reserved(*stocked[:3])
    batch = orders_create_many(new_orders=[prepare(store, actor=staff_user, **spec) for spec in specs])

    assert [o.pk for o in batch] == sorted(o.pk for o in batch)
    assert [o.number for o in batch] == ["US000000001", "US000000002", "US000000003"]
    assert all(o.number == Order.objects.get(pk=o.pk).number for o in batch)
    assert sequences(store) == {"order": 3, "invoice": 1}
    invoiced = batch[1]
    assert invoiced.created_invoice.pk and invoiced.created_invoice.number == "US000000001"
    assert Invoice.objects.get(order=invoiced).number == "US000000001"
    assert not Invoice.objects.filter(order__in=[batch[0], batch[2]]).exists()
    assert not hasattr(batch[0], "created_invoice") and not hasattr(batch[2], "created_invoice")
    assert Order.objects.get(pk=invoiced.pk).state == OrderState.PROCESSING
    assert Order.objects.get(pk=invoiced.pk).total_paid == invoiced.grand_total

    # Stock: one reservation per order and managed product; the products' reserved units went up by the total.
    a, b, c, unmanaged = stocked
    assert [snapshot(o)["reservations"] for o in batch] == [
        [(a.pk, 2), (b.pk, 3)], sorted([(c.pk, 1), (a.pk, 1)]), [(b.pk, 1)]]
    assert reserved(a, b, c, unmanaged) == [before[0] + 3, before[1] + 4, before[2] + 1, 0]

    # The same orders placed one by one with order_create, in a second store of the same currency.
    other = make_store(code="us2", currency="USD", prefix="UT")
    single = [create(other, actor=staff_user, **spec) for spec in three_orders(other, stocked)]
    assert [o.number for o in single] == ["UT000000001", "UT000000002", "UT000000003"]
    for mine, theirs in zip(batch, single, strict=True):
        got, expected = snapshot(mine), snapshot(theirs)
        got["order"].pop("store_id"), expected["order"].pop("store_id")
        assert got == expected
    assert [len(snapshot(o)["history"]) for o in batch] == [1, 3, 1]  # created (+ email) (+ invoice)
    assert OrderItem.objects.filter(order__in=batch).count() == 6
    assert OrderAddress.objects.filter(order__in=batch).count() == 6
    assert OrderPayment.objects.filter(order__in=batch).count() == 3
    assert reserved(a, b, c) == [before[0] + 6, before[1] + 8, before[2] + 2]


def batch_specs(store, products, size, *, invoiced):
    specs = []
    for n in range(size):
        spec = three_orders(store, products)[n % 3]
        spec["invoice"] = n in invoiced
        specs.append(spec)
    return specs


# Pinned statements of orders_create_many for a batch of 3 or 10 orders: one invoiced / all invoiced, statuses cached.
# PostgreSQL first locks the products' rows in id order: one more statement than SQLite.
# (+1 statement each since the webhooks: the order events look up the active webhook endpoints, core.events.)
BATCH_STATEMENTS = {False: 18, True: 18} if connection.vendor == "postgresql" else {False: 17, True: 17}


@pytest.mark.parametrize("all_invoiced", [False, True], ids=["one-invoiced", "all-invoiced-statuses-cached"])
def test_statements_per_batch_do_not_grow_with_the_batch(store, stocked, all_invoiced):
    create(store, [line(stocked[0], 1)], invoice=True)  # the store's counters exist from now on

    def statements(size: int) -> list[str]:
        news = [prepare(store, **spec) for spec in
                batch_specs(store, stocked, size, invoiced=range(size) if all_invoiced else {1})]
        with statuses_cached() if all_invoiced else nullcontext(), CaptureQueriesContext(connection) as queries:
            orders = orders_create_many(new_orders=news)
        assert len(orders) == size and all(o.pk for o in orders)
        return [q["sql"] for q in queries.captured_queries]

    three, ten = statements(3), statements(10)
    assert len(three) == len(ten)
    assert len(three) == BATCH_STATEMENTS[all_invoiced], (
        f"orders_create_many (all_invoiced={all_invoiced}): {len(three)} statements, "
        f"pinned {BATCH_STATEMENTS[all_invoiced]}")
    write_count = len([sql for sql in ten if sql.lstrip().upper().startswith(WRITES)])
    # Order, items, addresses, payments, invoices, invoice items, reservations, history + 2 counters + 1 stock UPDATE.
    assert write_count == 11
    assert Order.objects.filter(store=store).count() == 14


# --- All or nothing --------------------------------------------------------------------------------------------


def test_stock_short_for_the_batch_refuses_the_whole_batch(store):
    scarce = make_product(price="10.00", qty=2)
    news = [prepare(store, [line(scarce, 1)], invoice=n == 0, send_email=True) for n in range(3)]
    before, sequences_before = counts(), sequences(store)
    with pytest.raises(OrderActionError) as caught:
        orders_create_many(new_orders=news)
    assert caught.value.code == "out_of_stock" and caught.value.field == "items"
    assert scarce.sku in caught.value.message
    assert counts() == before and sequences(store) == sequences_before
    assert reserved(scarce) == [0]

    # One by one, the first two get the stock and the third is refused.
    first = create(store, [line(scarce, 1)])
    second = create(store, [line(scarce, 1)])
    assert (first.number, second.number) == ("US000000001", "US000000002")  # the failed batch left no gap
    with pytest.raises(OrderActionError) as third:
        create(store, [line(scarce, 1)])
    assert third.value.code in ("not_salable", "out_of_stock")
    assert Order.objects.filter(store=store).count() == 2
    assert reserved(scarce) == [2]
    assert sorted(StockReservation.objects.filter(product=scarce).values_list("reference", "qty")) == sorted(
        [(stock_reference(first), 1), (stock_reference(second), 1)])


def test_stock_taken_after_prepare_refuses_the_batch(store):
    """Each order alone passes order_prepare's check; the batch's conditional UPDATE sees the stock now."""
    product = make_product(qty=3)
    news = [prepare(store, [line(product, 1)]), prepare(store, [line(product, 2)])]
    create(store, [line(product, 1)])  # someone else takes a unit meanwhile
    before = counts()
    with pytest.raises(OrderActionError) as caught:
        orders_create_many(new_orders=news)
    assert caught.value.code == "out_of_stock"
    assert counts() == before and reserved(product) == [1]


def test_an_order_number_already_used_refuses_the_whole_batch(store, stocked):
    existing = create(store, [line(stocked[0], 1)], number="AMZ-1")
    news = [
        prepare(store, [line(stocked[0], 1)]),
        prepare(store, [line(stocked[1], 1)], number="AMZ-2", invoice=True),
        prepare(store, [line(stocked[2], 1)], number="AMZ-1", check_number=False),
    ]
    before, sequences_before, stock_before = counts(), sequences(store), reserved(*stocked)
    with pytest.raises(OrderActionError) as caught:
        orders_create_many(new_orders=news)
    assert (caught.value.code, caught.value.field) == ("duplicate", "number")
    assert counts() == before and sequences(store) == sequences_before and reserved(*stocked) == stock_before
    assert list(Order.objects.values_list("number", flat=True)) == [existing.number]

    # Alone, the refusal names the number; the database is still usable afterwards.
    with pytest.raises(OrderActionError) as alone:
        orders_create_many(new_orders=[prepare(store, [line(stocked[0], 1)], number="AMZ-1", check_number=False)])
    assert alone.value.code == "duplicate" and "AMZ-1" in alone.value.message
    assert create(store, [line(stocked[0], 1)], number="AMZ-2").number == "AMZ-2"


def test_the_same_new_number_twice_in_one_batch_is_refused(store, stocked):
    news = [prepare(store, [line(stocked[0], 1)], number="AMZ-9") for _ in range(2)]
    before = counts()
    with pytest.raises(OrderActionError) as caught:
        orders_create_many(new_orders=news)
    assert caught.value.code == "duplicate" and counts() == before


def test_an_empty_batch_writes_nothing():
    with CaptureQueriesContext(connection) as queries:
        assert orders_create_many(new_orders=[]) == []
    assert queries.captured_queries == []


# --- Property: a batch has the totals order_create computes ---------------------------------------------------


@contextmanager
def rolled_back():
    """Each example starts from the same database (the test's transaction is not rolled back between examples)."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


cents = st.integers(0, 500_000).map(lambda n: Decimal(n).scaleb(-2))


@st.composite
def order_specs(draw):
    items = []
    for _ in range(draw(st.integers(1, 3))):
        price, qty, tax = draw(cents), draw(st.integers(1, 5)), draw(cents)
        row = price * qty
        discount = draw(st.integers(0, int((row + tax) * 100)))
        items.append({"price": price, "qty": qty, "tax_amount": tax,
                      "discount_amount": Decimal(discount).scaleb(-2),
                      "tax_percent": draw(st.sampled_from(["0", "5.5", "8", "19.6", "100"]))})
    shipping, shipping_tax = draw(cents), draw(cents)
    room = (sum(i["price"] * i["qty"] + i["tax_amount"] - i["discount_amount"] for i in items)
            + shipping + shipping_tax)
    order_discount = Decimal(draw(st.integers(0, int(room * 100)))).scaleb(-2)
    return {"items": items, "shipping_amount": shipping, "shipping_tax_amount": shipping_tax,
            "discount_amount": order_discount, "invoice": draw(st.booleans())}


def totals(order: Order) -> dict:
    order = Order.objects.get(pk=order.pk)
    invoice = Invoice.objects.filter(order=order).first()
    return {
        "order": [getattr(order, f) for f in ("subtotal", "shipping_amount", "shipping_tax_amount", "tax_amount",
                                              "discount_amount", "grand_total", "total_invoiced", "total_paid",
                                              "shipping_invoiced", "state", "status")],
        "items": [(i.qty_ordered, i.qty_invoiced, i.price, i.row_total, i.tax_amount, i.tax_percent,
                   i.discount_amount) for i in order.items.order_by("pk")],
        "invoice": None if invoice is None else (
            [getattr(invoice, f) for f in ("subtotal", "shipping_amount", "discount_amount", "tax_amount",
                                           "grand_total")],
            [(i.qty, i.row_total, i.tax_amount, i.discount_amount) for i in invoice.items.order_by("pk")],
        ),
    }


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=st.lists(order_specs(), min_size=1, max_size=4))
def test_batch_totals_are_the_totals_of_order_create(store, specs):
    with rolled_back():
        products = [make_product(price="1.00", qty=100) for _ in range(3)]

        def orders_arguments():
            return [
                {"items": [line(products[n % 3], item["qty"], price=item["price"], tax_amount=item["tax_amount"],
                                discount_amount=item["discount_amount"], tax_percent=item["tax_percent"])
                           for n, item in enumerate(spec["items"])],
                 **{key: spec[key] for key in ("shipping_amount", "shipping_tax_amount", "discount_amount",
                                               "invoice")}}
                for spec in specs
            ]

        batch = orders_create_many(new_orders=[prepare(store, **kwargs) for kwargs in orders_arguments()])
        single = [create(store, **kwargs) for kwargs in orders_arguments()]
        for mine, theirs, spec in zip(batch, single, specs, strict=True):
            got = totals(mine)
            assert got == totals(theirs)
            subtotal, shipping, shipping_tax, tax, discount, grand_total = got["order"][:6]
            assert subtotal == sum((i["price"] * i["qty"] for i in spec["items"]), Decimal(0))
            assert grand_total == subtotal + shipping - discount + tax >= 0
            if spec["invoice"]:
                assert got["invoice"][0][4] == grand_total and got["order"][7] == grand_total
            else:
                assert got["invoice"] is None


def test_orders_of_a_failed_batch_cannot_be_written_again(store):
    """A failed batch's rows carry ids and numbers that were rolled back: re-submitting them must be refused."""
    product = make_product(qty=1)
    news = [prepare(store, [line(product, 1)]), prepare(store, [line(product, 1)])]
    with pytest.raises(OrderActionError):
        orders_create_many(new_orders=news)
    with pytest.raises(ValueError, match="prepare them again"):
        orders_create_many(new_orders=news[:1])
    assert not Order.objects.exists()
    assert orders_create_many(new_orders=[prepare(store, [line(product, 1)])])[0].number == "US000000001"
