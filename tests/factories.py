"""Builders for test data shared by every test package: stores, products, staff users and orders.

Orders are always built through ``sales.services.order_create`` so that tests see orders exactly as the product
makes them (numbers, reservations, history). Plain functions, usable from fixtures and from hypothesis tests.
"""

from __future__ import annotations

import itertools
import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from saleschannel.catalog.models import Product, Store
from saleschannel.sales.models import Order
from saleschannel.sales.services import OrderDraft, order_create

_counter = itertools.count(1)

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
# Decided at collection, so that SQLite runs never set up (and flush) a transactional database for nothing.
requires_postgres = pytest.mark.skipif(
    not ON_POSTGRES,
    reason="needs PostgreSQL (DATABASE_URL=postgres://...): SQLite runs one writer at a time anyway",
)

ADDRESS = {
    "first_name": "Zoë",
    "last_name": "Lefèvre",
    "street1": "12 rue de l'Église",
    "city": "Lyon",
    "postcode": "69002",
    "country_code": "FR",
    "phone": "+33 4 00 00 00 00",
}


def unique(prefix: str) -> str:
    return f"{prefix}{next(_counter)}"


def make_store(*, code: str | None = None, currency: str = "USD", locale: str = "en", prefix: str | None = None,
               name: str | None = None) -> Store:
    code = code or unique("st")
    if prefix is None:  # unique and made of A-Z, 0-9 and "-" (catalog/rules.py), or order numbers would collide
        prefix = re.sub(r"[^A-Z0-9-]", "", code.upper())[:8]
        if not prefix or Store.objects.filter(order_number_prefix=prefix).exists():
            prefix = f"S{next(_counter)}"
    return Store.objects.create(
        code=code, name=name or f"Store {code}", currency=currency, locale=locale, order_number_prefix=prefix,
    )


def make_product(*, sku: str | None = None, price="10.00", qty: int = 100, manage_stock: bool = True,
                 enabled: bool = True, is_in_stock: bool = True, name: str | None = None) -> Product:
    sku = sku or unique("SKU-")
    return Product.objects.create(
        sku=sku, name=name or f"Product {sku}", price=Decimal(str(price)), qty=qty, manage_stock=manage_stock,
        enabled=enabled, is_in_stock=is_in_stock,
    )


def make_staff(*, username: str | None = None, superuser: bool = False, password: str = "secret-pass-1"):
    """A staff user allowed to process orders (``sales.process_order``)."""
    user_model = get_user_model()
    username = username or unique("staff")
    if superuser:
        return user_model.objects.create_superuser(username=username, email=f"{username}@example.com",
                                                   password=password)
    user = user_model.objects.create_user(username=username, email=f"{username}@example.com", password=password,
                                          is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="process_order", content_type__app_label="sales"))
    return user


def line(product: Product, qty: int = 1, *, price=None, **extra) -> dict:
    """An ``order_create`` item for ``product`` (price defaults to the product's price)."""
    return {"sku": product.sku, "qty": qty, "price": str(product.price if price is None else price), **extra}


def make_order(*, store: Store | None = None, items: list[dict] | None = None, actor="tests",
               send_email: bool = False, **kwargs) -> Order:
    """An order placed through ``order_create`` (two products by default); keyword arguments are ``OrderDraft``
    fields."""
    store = store or make_store()
    if items is None:
        items = [line(make_product(price="10.00"), 2), line(make_product(price="5.50"), 3)]
    kwargs.setdefault("customer_email", "zoe@example.com")
    kwargs.setdefault("customer_first_name", "Zoë")
    kwargs.setdefault("customer_last_name", "Lefèvre")
    kwargs.setdefault("billing_address", dict(ADDRESS))
    return order_create(draft=OrderDraft(store=store, items=items, send_email=send_email, **kwargs), actor=actor)


def fresh(order: Order) -> Order:
    """The order as stored now, with its items prefetched."""
    return Order.objects.prefetch_related("items").get(pk=order.pk)


ROLE_USER_PASSWORD = "Backoffice-pass-42"


def make_role_user(role: str, username: str | None = None):
    """A staff user holding one back-office role (Administrator, Operator or Viewer)."""
    from saleschannel.core.roles import assign_role

    user = get_user_model().objects.create_user(username=username or role.lower(), password=ROLE_USER_PASSWORD)
    assign_role(user=user, role=role)
    return user


def client_for(user):
    """A test client logged in as ``user``."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client
