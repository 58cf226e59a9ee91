"""Every back-office page in French: no English message of the project's catalogues is left on screen.

The English texts looked for are the msgids of the project's own ``.po`` files (every app), translated differently
in French and long enough (three words or more, no placeholder) not to match a word that French shares with
English ("SKU", "Total"). The pages are those of the navigation menu, followed by the detail pages of an order, an
Amazon order, a product and a customer made by the test factories.
"""

from __future__ import annotations

import gettext
import html
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

import saleschannel
from saleschannel.amazon.models import AmazonOrder, AmazonOrderStatus
from saleschannel.amazon.services import amazon_store_create
from saleschannel.catalog.models import Product
from saleschannel.core import navigation
from saleschannel.core.roles import ADMINISTRATOR
from saleschannel.customers.models import Customer
from tests import factories

PROJECT = Path(saleschannel.__file__).resolve().parent
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%[sd]|\{[^}]*\}")
HIDDEN = re.compile(r"<(script|style)\b.*?</\1>", re.S | re.I)
TAG = re.compile(r"<[^>]+>")
SPACES = re.compile(r"\s+")


def english_messages() -> set[str]:
    """The msgids of every app's French catalogue that French writes differently; of a message with placeholders,
    its fixed parts of three words or more ("Order received from Amazon with status")."""
    found = set()
    for mo in PROJECT.glob("*/locale/fr/LC_MESSAGES/django.mo"):
        with mo.open("rb") as handle:
            catalog = gettext.GNUTranslations(handle)._catalog
        for key, french in catalog.items():
            english = key[0] if isinstance(key, tuple) else key
            if isinstance(key, tuple):  # plurals: the msgid and msgid_plural share the key's first element
                english = key[0]
            if not english or french == english:
                continue
            for part in PLACEHOLDER.split(english):
                text = SPACES.sub(" ", part).lstrip(" .:,;·\"')").rstrip(" .:,;·\"'(")
                if len(text.split(" ")) >= 3:
                    found.add(text)
    return found


def visible_text(page: str) -> str:
    """The page's text and attribute values (aria-label, title, placeholder), entities decoded."""
    page = HIDDEN.sub(" ", page)
    attributes = " ".join(re.findall(r'(?:aria-label|title|placeholder|alt)="([^"]*)"', page))
    return SPACES.sub(" ", html.unescape(TAG.sub(" ", page) + " " + attributes))


@pytest.fixture
def shop(db):
    store = factories.make_store(code="us", currency="USD", prefix="US")
    order = factories.make_order(store=store)
    Customer.objects.create(email="zoe@example.com", first_name="Zoë", last_name="Lefèvre", store=store)
    amazon_store = amazon_store_create(
        name="Amazon US", seller_id="A1SELLER", region="NA", marketplace_ids=["ATVPDKIKX0DER"], store=store,
        client_id="client", client_secret="secret", refresh_token="refresh",  # noqa: S106
        endpoint_override="http://127.0.0.1:9", token_url_override="http://127.0.0.1:9/auth/o2/token",
    )
    amazon_order = AmazonOrder.objects.create(
        store=amazon_store, amazon_order_id="111-0000001-0000001", status=AmazonOrderStatus.UNSHIPPED,
        amazon_status=AmazonOrderStatus.UNSHIPPED, buyer_name="Alice Martin", currency="USD",
        order_total=Decimal("10.00"), purchase_date=timezone.now(),
    )
    return {"store": store, "order": order, "amazon_store": amazon_store, "amazon_order": amazon_order}


def french_pages(client, user, shop) -> dict[str, str]:
    urls = [item["url"] for section in navigation.menu_for(user, "/") for item in section["items"]]
    order, amazon_order = shop["order"], shop["amazon_order"]
    urls += [
        f"/sales/orders/{order.pk}/",
        f"/sales/orders/{order.pk}/invoice/new/",
        f"/amazon/orders/{amazon_order.pk}/",
        f"/amazon/stores/{shop['amazon_store'].pk}/",
        f"/catalog/products/{Product.objects.order_by('pk').first().pk}/",
    ]
    urls.append(f"/customers/{Customer.objects.order_by('pk').first().pk}/")
    pages = {}
    for url in dict.fromkeys(urls):
        response = client.get(url)
        assert response.status_code == 200, url
        assert '<html lang="fr">' in response.content.decode(), url
        pages[url] = response.content.decode()
    return pages


def test_the_catalogues_give_english_texts_to_look_for():
    english = english_messages()
    assert "Orders per day (last 30 days)" in english
    assert "We couldn't find any records" in english  # full stops and the like are left out
    assert "SKU" not in english
    assert "Order received from Amazon with status" in english  # the fixed part of a message with placeholders


def test_the_same_pages_in_english_are_caught(shop):
    """The check finds English where there is English (a page walked in English fails it)."""
    user = factories.make_role_user(ADMINISTRATOR)
    client = factories.client_for(user)
    client.cookies["django_language"] = "en"
    text = visible_text(client.get("/").content.decode())
    found = {message for message in english_messages() if message in text}
    assert {"Orders per day (last 30 days)", "All Amazon Orders"} <= found, found


def test_every_page_in_french_leaves_no_english_message(shop):
    user = factories.make_role_user(ADMINISTRATOR)
    client = factories.client_for(user)
    client.cookies["django_language"] = "fr"
    pages = french_pages(client, user, shop)
    assert len(pages) >= 12, sorted(pages)
    english = english_messages()
    untranslated = {
        url: sorted(message for message in english if message in text)
        for url, text in ((url, visible_text(page)) for url, page in pages.items())
    }
    untranslated = {url: found for url, found in untranslated.items() if found}
    assert not untranslated, untranslated
