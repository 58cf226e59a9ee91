"""The item rows of the order, new-document and document pages (``sales.item_rows``): written outside the template
engine, so they are checked here for escaping, translation and what they show."""

from __future__ import annotations

import gc
import threading

import pytest
from django import forms
from django.utils import translation

from saleschannel.core.collector import rarer_garbage_collections
from saleschannel.core.roles import OPERATOR
from saleschannel.sales import services
from saleschannel.sales.models import OrderItem
from tests.factories import client_for, make_role_user

MARKUP = '<b>"Mug" & co</b>'


@pytest.fixture
def client(db):
    return client_for(make_role_user(OPERATOR))


@pytest.fixture
def marked_up(order):
    """The order with an item whose name holds markup and quotes."""
    item = order.items.get(sku="MUG-BLUE")
    OrderItem.objects.filter(pk=item.pk).update(name=MARKUP)
    return order


def test_item_names_are_escaped_on_every_page(client, marked_up):
    order = marked_up
    escaped = "&lt;b&gt;&quot;Mug&quot; &amp; co&lt;/b&gt;"
    base = f"/sales/orders/{order.pk}/"
    for url in (base, base + "invoice/new/", base + "shipment/new/"):
        page = client.get(url).content.decode()
        assert escaped in page and MARKUP not in page, url
    invoice = services.invoice_create(order=order, actor="tests")
    for url in (f"/sales/invoices/{invoice.pk}/", base + "creditmemo/new/"):
        page = client.get(url).content.decode()
        assert escaped in page and MARKUP not in page, url


def test_rows_show_quantities_amounts_and_words_in_the_reader_language(client, order):
    services.invoice_create(order=order, quantities={order.items.get(sku="MUG-BLUE").pk: 1}, actor="tests")
    base = f"/sales/orders/{order.pk}/"
    page = client.get(base).content.decode()
    assert "Ordered 3<br>Invoiced 1</td>" in page and "$8.50" in page
    with translation.override("fr"):
        page = client.get(base, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    french = translation.trans_real.translation("fr").gettext
    assert f"{french('Ordered')} 3<br>{french('Invoiced')} 1</td>" in page and "8,50\xa0$US" in page
    memo_page = client.get(base + "creditmemo/new/").content.decode()
    assert 'name="stock_' in memo_page and "Invoiced 1" in memo_page


def test_rarer_collections_restore_the_thresholds_after_overlapping_blocks():
    before = gc.get_threshold()
    entered, release = threading.Event(), threading.Event()

    def other_request():
        with rarer_garbage_collections():
            entered.set()
            release.wait(5)

    thread = threading.Thread(target=other_request)
    with rarer_garbage_collections():
        thread.start()
        entered.wait(5)
    assert gc.get_threshold()[0] >= 50_000  # the other block is still open
    release.set()
    thread.join(5)
    assert gc.get_threshold() == before


def _full_collections() -> int:
    return gc.get_stats()[2]["collections"]


def test_a_full_collection_follows_a_block_that_built_many_objects_only():
    """Decided by the work done, not the time taken: a usual page slowed by a busy machine gets no full collection
    on top (it took a p95 of the order view from about 100 ms to 210 ms)."""
    before = _full_collections()
    with rarer_garbage_collections(collect=True):
        small = [{"line": n} for n in range(100)]
    assert _full_collections() == before and len(small) == 100
    with rarer_garbage_collections(collect=True):
        large = [{"line": n} for n in range(120_000)]  # alive: the youngest generation is collected meanwhile
    assert _full_collections() == before + 1 and len(large) == 120_000


@pytest.mark.parametrize("value", ["9" * 5000, "٣", " 1 ", "1.0", "", "-1", "abc"])
def test_a_line_quantity_is_checked_as_an_integer_field_checks_it(client, order, value):
    """Quantities are read in one pass, not by a field per line: any value gets the field's verdict and message."""
    tshirt, mug = order.items.get(sku="TSHIRT-RED"), order.items.get(sku="MUG-BLUE")
    response = client.post(f"/sales/orders/{order.pk}/invoice/new/",
                           {f"qty_{tshirt.pk}": value, f"qty_{mug.pk}": "1", "update": "1"})
    field = forms.IntegerField(min_value=0, max_value=tshirt.qty_to_invoice)
    try:
        expected = field.clean(value)
    except forms.ValidationError as error:
        assert response.status_code == 400
        assert response.context["form"].errors[f"qty_{tshirt.pk}"] == error.messages
    else:
        assert response.status_code == 200 and response.context["form"].cleaned_data[f"qty_{tshirt.pk}"] == expected
