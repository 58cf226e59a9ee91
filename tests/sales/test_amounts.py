"""``sales.amounts``: the money of partial documents, pure arithmetic (no database), checked with hypothesis.

Whatever the split of an item's units into documents, the shares add up exactly to the item's amounts, never go
negative and always have the currency's decimals; invoicing an order in pieces adds up to its grand total.
"""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from saleschannel.core.money import is_exact, max_amount, quantum
from saleschannel.sales.amounts import ZERO, cumulative, invoice_amounts, share
from saleschannel.sales.models import Order, OrderItem

CURRENCIES = ("EUR", "USD", "JPY")


def amounts(currency: str, *, limit: Decimal | None = None):
    """Exact, non-negative amounts of ``currency`` (up to ``limit``, or what a money column holds)."""
    q = quantum(currency)
    top = int((limit if limit is not None else max_amount(currency)) / q)
    return st.integers(0, top).map(lambda n: Decimal(n) * q)


@st.composite
def splits(draw, whole: int) -> list[int]:
    """``whole`` units cut into pieces of at least one unit, in order."""
    cuts = sorted(draw(st.sets(st.integers(1, whole - 1), max_size=min(whole - 1, 8)))) if whole > 1 else []
    bounds = [0, *cuts, whole]
    return [after - before for before, after in zip(bounds, bounds[1:], strict=False)]


@given(data=st.data(), currency=st.sampled_from(CURRENCIES), whole=st.integers(1, 10_000))
def test_shares_of_any_split_add_up_to_the_total(data, currency, whole):
    total = data.draw(amounts(currency))
    pieces = data.draw(splits(whole))
    q = quantum(currency)
    done, shares = 0, []
    for qty in pieces:
        shares.append(share(total, whole, done, done + qty, q))
        done += qty
    assert sum(shares, ZERO) == total
    assert all(part >= 0 for part in shares)
    assert all(is_exact(part, currency) for part in shares)


@given(data=st.data(), currency=st.sampled_from(CURRENCIES), whole=st.integers(1, 1_000))
def test_cumulative_shares_grow_from_nothing_to_the_total(data, currency, whole):
    total = data.draw(amounts(currency))
    q = quantum(currency)
    steps = [cumulative(total, whole, done, q) for done in range(0, whole + 1, max(whole // 50, 1))]
    assert cumulative(total, whole, 0, q) == ZERO and cumulative(total, whole, whole, q) == total
    assert steps == sorted(steps)
    assert all(ZERO <= step <= total for step in steps)


@st.composite
def orders(draw):
    """An unsaved order with its items (ids set, nothing invoiced): amounts consistent as ``order_create`` makes
    them (the order's discount is its items' discounts plus an order-level discount)."""
    currency = draw(st.sampled_from(CURRENCIES))
    limit = Decimal(100_000)
    items = []
    for pk in range(1, draw(st.integers(1, 4)) + 1):
        row_total = draw(amounts(currency, limit=limit))
        items.append(OrderItem(
            pk=pk, qty_ordered=draw(st.integers(1, 20)), row_total=row_total,
            tax_amount=draw(amounts(currency, limit=limit)),
            discount_amount=draw(amounts(currency, limit=row_total)),
        ))
    shipping = draw(amounts(currency, limit=limit))
    order = Order(
        currency=currency, shipping_amount=shipping, shipping_tax_amount=draw(amounts(currency, limit=limit)),
        subtotal=sum((i.row_total for i in items), ZERO),
    )
    order.discount_amount = sum((i.discount_amount for i in items), ZERO) + draw(amounts(currency, limit=shipping))
    order.tax_amount = sum((i.tax_amount for i in items), ZERO) + order.shipping_tax_amount
    order.grand_total = order.subtotal + order.shipping_amount - order.discount_amount + order.tax_amount
    return order, items


@given(data=st.data(), order_and_items=orders())
def test_invoicing_in_pieces_adds_up_to_the_grand_total(data, order_and_items):
    order, items = order_and_items
    splits_by_item = {item.pk: data.draw(splits(item.qty_ordered)) for item in items}
    rounds = max(len(pieces) for pieces in splits_by_item.values())
    invoiced = ZERO
    for n in range(rounds):
        wanted = {pk: pieces[n] for pk, pieces in splits_by_item.items() if n < len(pieces)}
        document = invoice_amounts(order, items, wanted)
        assert all(is_exact(value, order.currency) for value in document.as_dict().values())
        assert all(min(row, tax, discount) >= 0 for _item, _qty, row, tax, discount in document.lines)
        for item, qty, *_amounts in document.lines:
            item.qty_invoiced += qty
        invoiced += document.grand_total
    assert invoiced == order.grand_total
