"""API fixtures: one user and one token per role, and a client that sends the token."""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache
from django.test import Client

from saleschannel.api.tokens import token_create


@pytest.fixture(autouse=True)
def _fresh_rate_counters():
    """Rate-limit counters live in the (process-wide) cache: every test starts with none."""
    cache.clear()
    yield
    cache.clear()


class ApiClient:
    """Django's test client with a bearer token and JSON bodies."""

    def __init__(self, secret: str | None):
        self.client = Client()
        self.secret = secret

    def _headers(self, headers: dict | None) -> dict:
        sent = dict(headers or {})
        if self.secret is not None:
            sent.setdefault("Authorization", f"Bearer {self.secret}")
        return sent

    def get(self, path: str, params=None, *, headers: dict | None = None):
        return self.client.get(path, params or {}, headers=self._headers(headers))

    def post(self, path: str, body=None, *, raw: str | bytes | None = None, headers: dict | None = None,
             key: str | None = None):
        sent = self._headers(headers)
        if key is not None:
            sent["Idempotency-Key"] = key
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.client.post(path, data, content_type="application/json", headers=sent)

    def patch(self, path: str, body=None, *, raw: str | bytes | None = None, headers: dict | None = None,
              key: str | None = None):
        sent = self._headers(headers)
        if key is not None:
            sent["Idempotency-Key"] = key
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.client.patch(path, data, content_type="application/json", headers=sent)

    def send(self, method: str, path: str, body=None):
        """``method`` (GET, POST or PATCH) to ``path``, with ``body`` for a write."""
        if method == "GET":
            return self.get(path)
        return self.post(path, body) if method == "POST" else self.patch(path, body)


def api_client_for(user, name: str = "tests") -> ApiClient:
    return ApiClient(token_create(user=user, name=name).secret)


@pytest.fixture
def admin_api(administrator):
    return api_client_for(administrator)


@pytest.fixture
def operator_api(operator):
    return api_client_for(operator)


@pytest.fixture
def viewer_api(viewer):
    return api_client_for(viewer)


@pytest.fixture
def anonymous_api(db):
    return ApiClient(None)


# --- Amazon orders -----------------------------------------------------------------------------------------------

_amazon_numbers = iter(range(2000000, 9999999))


@pytest.fixture
def amazon_store(store):
    from saleschannel.amazon.models import AmazonStore

    return AmazonStore.objects.create(name="Seller API", seller_id="A1API", marketplace_ids=["ATVPDKIKX0DER"],
                                      store=store)


def make_amazon_order(amazon_store, *, status="Unshipped", invoiced: bool = True):
    """An Unshipped Amazon order with its Commerce order (invoiced on import, as by default)."""
    from datetime import timedelta
    from decimal import Decimal

    from django.utils import timezone

    from saleschannel.amazon.models import AmazonOrder, AmazonOrderItem
    from saleschannel.sales.services import invoice_create
    from tests import factories

    number = f"111-{next(_amazon_numbers)}-{next(_amazon_numbers)}"
    product = factories.make_product(price="10.00", qty=50)
    amazon = AmazonOrder.objects.create(
        store=amazon_store, amazon_order_id=number, marketplace_id="ATVPDKIKX0DER", status=status,
        amazon_status=status, buyer_name="John Smith", currency="USD", order_total=Decimal("20.00"),
        purchase_date=timezone.now() - timedelta(hours=1), ship_address_line1="123 Main Street", ship_city="Seattle",
        ship_country_code="US",
    )
    item = AmazonOrderItem.objects.create(order=amazon, order_item_id=f"9{next(_amazon_numbers)}",
                                          seller_sku=product.sku, title="Thing", qty_ordered=2,
                                          item_price=Decimal("20.00"))
    address = {"first_name": "John", "last_name": "Smith", "street1": "123 Main Street", "city": "Seattle",
               "postcode": "98101", "country_code": "US"}
    commerce = factories.make_order(
        store=amazon_store.store, items=[factories.line(product, 2, external_item_id=item.order_item_id)],
        origin="amazon", external_order_number=number, billing_address=address, shipping_address=address,
    )
    if invoiced:
        invoice_create(order=commerce, actor="tests")
    amazon.commerce_order = commerce
    amazon.save()
    return amazon
