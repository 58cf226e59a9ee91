"""Order-number prefixes are valid and unique (issue 11, finding 8)."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from saleschannel.catalog import services
from saleschannel.catalog.models import Store
from saleschannel.catalog.rules import order_number_prefix_problem
from saleschannel.catalog.services import StoreError
from saleschannel.core.roles import ADMINISTRATOR
from tests.factories import client_for, make_role_user

BAD_PREFIXES = ["", "us", "U S", "A%B", "US_1", "É", "AB\u200eC", "A\nB", "TOOLONG99", "US/1", " US"]


@pytest.mark.parametrize("prefix", ["A", "US", "US-2", "2026", "AMZ-EU-1", "12345678"])
def test_good_prefixes(db, prefix):
    assert order_number_prefix_problem(prefix) is None
    store = services.store_create(code="s", name="S", order_number_prefix=prefix)
    assert Store.objects.get(pk=store.pk).order_number_prefix == prefix


@pytest.mark.parametrize("prefix", BAD_PREFIXES)
def test_bad_prefixes_are_refused_by_the_service_and_nothing_is_written(db, prefix):
    with pytest.raises(StoreError) as refused:
        services.store_create(code="s", name="S", order_number_prefix=prefix)
    assert refused.value.field == "order_number_prefix" and "prefix" in refused.value.message
    assert not Store.objects.exists()


@pytest.mark.parametrize("prefix", [p for p in BAD_PREFIXES if p != " US"])  # the form strips spaces around
def test_bad_prefixes_are_a_form_error(db, prefix):
    client = client_for(make_role_user(ADMINISTRATOR))
    response = client.post("/settings/stores/new/", {"code": "de", "name": "Deutschland", "currency": "EUR",
                                                     "locale": "en", "order_number_prefix": prefix,
                                                     "is_active": "on"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "prefix" in page.lower() and ("capital letters" in page or "characters" in page or "required" in page)
    assert not Store.objects.filter(code="de").exists()


def test_a_prefix_already_used_is_refused_with_the_other_store_named(db):
    services.store_create(code="us", name="US Store", order_number_prefix="US")
    with pytest.raises(StoreError) as refused:
        services.store_create(code="us2", name="Second", order_number_prefix="US")
    assert "US Store" in refused.value.message
    other = services.store_create(code="ca", name="Canada", order_number_prefix="CA")
    with pytest.raises(StoreError):
        services.store_update(store=other, order_number_prefix="US")
    assert Store.objects.get(pk=other.pk).order_number_prefix == "CA"
    services.store_update(store=other, name="Canada 2", order_number_prefix="CA")  # its own prefix is fine

    client = client_for(make_role_user(ADMINISTRATOR))
    response = client.post(f"/settings/stores/{other.pk}/", {"code": "ca", "name": "Canada", "currency": "CAD",
                                                             "locale": "en", "order_number_prefix": "US"})
    assert response.status_code == 400 and "already used by the store" in response.content.decode()


def test_a_digits_prefix_equal_to_the_id_of_a_store_without_prefix_is_refused(db):
    legacy = Store.objects.create(code="legacy", name="Legacy")  # written around the rules: numbers use its id
    assert order_number_prefix_problem(str(legacy.pk)) is not None
    assert order_number_prefix_problem(str(legacy.pk), store=legacy) is None


def test_the_database_refuses_two_stores_with_one_prefix(db):
    Store.objects.create(code="a", name="A", order_number_prefix="X1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Store.objects.create(code="b", name="B", order_number_prefix="X1")
    # Stores written around the rules without a prefix do not collide with each other in the index.
    Store.objects.create(code="c", name="C")
    Store.objects.create(code="d", name="D")


def test_a_prefix_taken_a_moment_ago_is_a_refusal_not_an_integrity_error(db, monkeypatch):
    services.store_create(code="us", name="US Store", order_number_prefix="US")
    # The check passes (another request saved "US" after it), the unique index decides.
    monkeypatch.setattr(services, "order_number_prefix_problem", lambda prefix, store=None: None)
    with pytest.raises(StoreError) as refused:
        services.store_create(code="us2", name="Second", order_number_prefix="US")
    assert refused.value.field in ("order_number_prefix", "code")
    assert Store.objects.count() == 1


def test_demo_and_factory_stores_follow_the_rule(db):
    from saleschannel.sales.demo import STORES
    from tests.factories import make_store

    assert all(order_number_prefix_problem(row[4]) is None for row in STORES)
    for code in ("st-long-code-name", "x_y", "us"):
        store = make_store(code=code)
        assert order_number_prefix_problem(store.order_number_prefix, store=store) is None


def test_refusals_in_french(db):
    from django.utils import translation

    from saleschannel.core.roles import last_administrator_refusal

    admin = make_role_user(ADMINISTRATOR)
    with translation.override("fr"):
        assert "lettres majuscules" in order_number_prefix_problem("us")
        assert "dernier administrateur actif" in last_administrator_refusal(user=admin, delete=True)
