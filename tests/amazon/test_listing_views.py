"""The onboarding screens of an Amazon store: listings preview and apply, SKU mappings (add, delete, CSV)."""

from __future__ import annotations

import io

import pytest

from saleschannel.amazon import listings_jobs
from saleschannel.amazon.models import SkuMapping
from saleschannel.catalog.models import Product
from saleschannel.core.roles import ADMINISTRATOR, VIEWER
from tests.factories import client_for, make_role_user

pytestmark = pytest.mark.django_db


def test_read_preview_choose_and_apply_listings(amazon_store, sandbox, django_capture_on_commit_callbacks):
    sandbox.set_listings("US", [{"sku": "SCREEN-1", "title": "Bol à café", "price": "7.25", "quantity": 4},
                                {"sku": "SCREEN-2", "title": "Red mug", "price": "5"},
                                {"sku": "SCREEN-3", "title": "Skip me", "price": "5"}])
    client = client_for(make_role_user(ADMINISTRATOR))
    dashboard = client.get(f"/amazon/stores/{amazon_store.pk}/").content.decode()
    assert f'href="/amazon/stores/{amazon_store.pk}/listings/" id="import-listings"' in dashboard
    with django_capture_on_commit_callbacks(execute=True):  # the background read runs here (Huey immediate)
        response = client.post(f"/amazon/stores/{amazon_store.pk}/listings/", {"marketplace": "ATVPDKIKX0DER"})
    assert response.status_code == 302 and "?read=" in response["Location"]
    followed = client.get(response["Location"])  # the read is done: on to its preview
    assert followed.status_code == 302 and "token=" in followed["Location"]
    preview = client.get(followed["Location"])
    assert preview.status_code == 200
    rows = preview.context["rows"]
    index = {row.listing.seller_sku: i for i, row in enumerate(rows)}
    assert preview.context["counts"] == {"create": 3, "link": 30, "ignore": 0}
    token = preview.context["token"]
    data = {"token": token}
    for sku, action, product in (("SCREEN-2", "link", "SANDBOX-SKU-003"), ("SCREEN-3", "ignore", "")):
        data.update({f"sku-{index[sku]}": sku, f"action-{index[sku]}": action, f"product-{index[sku]}": product})
    done = client.post(f"/amazon/stores/{amazon_store.pk}/listings/apply/", data)
    assert done.status_code == 302 and done["Location"] == f"/amazon/stores/{amazon_store.pk}/?step=orders"
    text = client.get(f"/amazon/stores/{amazon_store.pk}/sku-mappings/").content.decode()  # shows the message
    assert "1 products created, 1 SKU mappings added" in text
    assert Product.objects.get(sku="SCREEN-1").name == "Bol à café"
    assert not Product.objects.filter(sku__in=["SCREEN-2", "SCREEN-3"]).exists()
    assert SkuMapping.objects.get(seller_sku="SCREEN-2").product.sku == "SANDBOX-SKU-003"
    again = client.post(f"/amazon/stores/{amazon_store.pk}/listings/apply/", data, follow=True)
    assert "expired or was already applied" in again.content.decode()


def test_a_report_that_cannot_be_read_shows_an_error(amazon_store, sandbox, django_capture_on_commit_callbacks):
    sandbox.set_report_faults({"GET_MERCHANT_LISTINGS_ALL_DATA": {"FATAL": 1.0}})
    client = client_for(make_role_user(ADMINISTRATOR))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/amazon/stores/{amazon_store.pk}/listings/", {})
    page = client.get(response["Location"])
    assert "FATAL" in page.content.decode() and 'id="read-again"' in page.content.decode()


def test_mapping_screen_add_delete_csv_and_viewer(amazon_store):
    client = client_for(make_role_user(ADMINISTRATOR))
    url = f"/amazon/stores/{amazon_store.pk}/sku-mappings/"
    assert client.post(url, {"seller_sku": "AMZ-9", "product_sku": "SANDBOX-SKU-001"}).status_code == 302
    bad = client.post(url, {"seller_sku": "AMZ-8", "product_sku": "NOPE"})
    assert bad.status_code == 400 and "No product has the SKU NOPE" in bad.content.decode()
    upload = io.BytesIO(b"seller_sku,product_sku\nAMZ-7,SANDBOX-SKU-002\n")
    upload.name = "m.csv"
    assert client.post(url, {"file": upload}).status_code == 302
    page = client.get(url)
    assert "AMZ-9" in page.content.decode() and "AMZ-7" in page.content.decode()
    export = b"".join(client.get(url + "export/").streaming_content).decode()
    assert "AMZ-7,SANDBOX-SKU-002," in export
    mapping = SkuMapping.objects.get(seller_sku="AMZ-9")
    assert client.post(f"{url}{mapping.pk}/delete/").status_code == 302
    assert not SkuMapping.objects.filter(seller_sku="AMZ-9").exists()
    viewer = client_for(make_role_user(VIEWER))
    assert viewer.get(url).status_code == 200
    assert viewer.post(url, {"seller_sku": "X", "product_sku": "SANDBOX-SKU-001"}).status_code == 403
    assert viewer.get(f"/amazon/stores/{amazon_store.pk}/listings/").status_code == 403


def test_the_onboarding_pages_in_french(amazon_store, sandbox, django_capture_on_commit_callbacks):
    from tests.web.test_french_pages import english_messages, visible_text

    SkuMapping.objects.create(store=amazon_store, seller_sku="AMZ-1", product=Product.objects.get(
        sku="SANDBOX-SKU-001"))
    client = client_for(make_role_user(ADMINISTRATOR))
    client.cookies["django_language"] = "fr"
    url = f"/amazon/stores/{amazon_store.pk}/listings/"
    reading = client.post(url)["Location"]  # queued: the worker has not run it yet
    pages = {"reading": client.get(reading).content.decode()}
    sandbox.set_report_faults({"GET_MERCHANT_LISTINGS_ALL_DATA": {"FATAL": 1.0}})
    listings_jobs.listings_read_run(read_id=int(reading.rsplit("=", 1)[1]))  # in the requester's language
    pages["failed"] = client.get(reading).content.decode()
    assert 'id="read-again"' in pages["failed"]
    sandbox.set_report_faults({})
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(url)["Location"]
    pages["preview"] = client.get(client.get(again)["Location"]).content.decode()
    assert 'id="listings-preview"' in pages["preview"]
    pages["mappings"] = client.get(f"/amazon/stores/{amazon_store.pk}/sku-mappings/").content.decode()
    english = english_messages()
    for name, page in pages.items():
        assert '<html lang="fr">' in page
        assert not sorted(message for message in english if message in visible_text(page)), name


def test_an_error_order_for_an_unknown_sku_offers_the_fix(amazon_store, sandbox):
    from tests.amazon.conftest import amazon, settle, sync

    [order_id] = sandbox.create_orders(marketplace="US", fulfillment="MFN", status="Unshipped",
                                       items=[{"sku": "FIX-ME-1", "qty": 1}])
    settle()
    sync(amazon_store)
    client = client_for(make_role_user(ADMINISTRATOR))
    page = client.get(f"/amazon/orders/{amazon(order_id).pk}/").content.decode()
    assert 'id="order-fix"' in page and "/catalog/products/new/?sku=FIX-ME-1" in page
    assert f"/amazon/stores/{amazon_store.pk}/sku-mappings/?seller_sku=FIX-ME-1" in page
    assert 'value="FIX-ME-1"' in client.get("/catalog/products/new/?sku=FIX-ME-1").content.decode()
    mapping_page = client.get(f"/amazon/stores/{amazon_store.pk}/sku-mappings/?seller_sku=FIX-ME-1")
    assert 'value="FIX-ME-1"' in mapping_page.content.decode()
