"""Catalog onboarding against the sandbox over HTTP: SKU mappings used by the import, orders in Error retried as
soon as their product or mapping appears, the listings report previewed and applied (service and command)."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from saleschannel.amazon import listings, mapping_csv
from saleschannel.amazon.models import AmazonOrderStatus, SkuMapping
from saleschannel.catalog.models import Product, ProductChange
from saleschannel.catalog.services import product_create
from tests.amazon.conftest import amazon, settle, sync

S = AmazonOrderStatus
pytestmark = pytest.mark.django_db


def _error_order(sandbox, amazon_store, sku: str) -> str:
    [order_id] = sandbox.create_orders(marketplace="US", fulfillment="MFN", status="Unshipped",
                                       items=[{"sku": sku, "qty": 1}])
    settle()
    sync(amazon_store)
    assert amazon(order_id).status == S.ERROR
    return order_id


def test_a_mapping_sells_an_amazon_sku_as_a_product_with_another_sku(amazon_store, sandbox):
    product = Product.objects.get(sku="SANDBOX-SKU-002")
    listings.sku_mapping_create(store=amazon_store, seller_sku="AMZ-MUG", product_sku=product.sku)
    [order_id] = sandbox.create_orders(marketplace="US", fulfillment="MFN", status="Unshipped",
                                       items=[{"sku": "AMZ-MUG", "qty": 2}])
    settle()
    run = sync(amazon_store)
    assert run.orders_created == 1, amazon(order_id).notes
    [item] = amazon(order_id).commerce_order.items.all()
    assert item.sku == "SANDBOX-SKU-002" and item.product == product and item.qty_ordered == 2
    product.refresh_from_db()
    assert product.qty_reserved == 2


def test_the_mapping_comes_before_the_equal_sku_and_a_marketplace_mapping_before_the_stores(amazon_store, sandbox):
    listings.sku_mapping_create(store=amazon_store, seller_sku="SANDBOX-SKU-001", product_sku="SANDBOX-SKU-003")
    listings.sku_mapping_create(store=amazon_store, seller_sku="SANDBOX-SKU-001", product_sku="SANDBOX-SKU-004",
                                marketplace_id=amazon_store.marketplace_ids[0])
    [order_id] = sandbox.create_orders(marketplace="US", fulfillment="MFN", status="Unshipped",
                                       items=[{"sku": "SANDBOX-SKU-001", "qty": 1}])
    settle()
    sync(amazon_store)
    assert [i.sku for i in amazon(order_id).commerce_order.items.all()] == ["SANDBOX-SKU-004"]


def test_the_unknown_sku_note_offers_the_fix_in_the_readers_language(amazon_store, sandbox):
    """Issue 13, point 4: the Error note says what to do: create the product, map the SKU or import the listings."""
    with translation.override("en"):
        order_id = _error_order(sandbox, amazon_store, "NOT-YET-SOLD")
    row = amazon(order_id)
    assert row.notes_code == "import_error"
    assert row.notes_params == {"reason": {"code": "unknown_sku", "params": {"sku": "NOT-YET-SOLD"}}}
    english = ('Cannot create sales order: Product "NOT-YET-SOLD" in order is not salable: it does not exist in the '
               "catalog. Create the product, map the SKU (SKU mappings) or import your listings.")
    assert row.notes == english and row.import_error == english.removeprefix("Cannot create sales order: ")
    with translation.override("en"):
        assert row.notes_text == english
    with translation.override("fr"):
        assert row.notes_text == (
            "Impossible de créer la commande : Le produit « NOT-YET-SOLD » de la commande n'est pas vendable : il "
            "n'existe pas dans le catalogue. Créez le produit, associez le SKU (Correspondances de SKU) ou importez "
            "vos offres.")
    errors = row.events.filter(kind="error").count()
    settle()
    sync(amazon_store)  # the same reason again: no second error event
    assert amazon(order_id).events.filter(kind="error").count() == errors == 1


def test_an_error_order_is_retried_at_once_when_its_product_appears(amazon_store, sandbox,
                                                                     django_capture_on_commit_callbacks):
    order_id = _error_order(sandbox, amazon_store, "NEW-SKU-1")
    with django_capture_on_commit_callbacks(execute=True):
        product_create(sku="NEW-SKU-1", name="New", price=Decimal("10"), qty=5)
    row = amazon(order_id)  # no sync pass in between: the retry ran when the product was committed
    assert row.status == S.UNSHIPPED and row.commerce_order is not None


def test_an_error_order_is_retried_at_once_when_a_mapping_appears(amazon_store, sandbox,
                                                                   django_capture_on_commit_callbacks):
    order_id = _error_order(sandbox, amazon_store, "AMZ-ONLY")
    with django_capture_on_commit_callbacks(execute=True):
        listings.sku_mapping_create(store=amazon_store, seller_sku="AMZ-ONLY", product_sku="SANDBOX-SKU-006")
    row = amazon(order_id)
    assert row.commerce_order is not None
    assert [i.sku for i in row.commerce_order.items.all()] == ["SANDBOX-SKU-006"]


def test_listings_preview_and_apply_create_products_and_retry_the_waiting_order(
        amazon_store, sandbox, django_capture_on_commit_callbacks):
    sandbox.set_listings("US", [
        {"sku": "LIST-NEW-1", "title": "Café mug", "price": "12.50", "quantity": 7},
        {"sku": "LIST-FBA-1", "title": "Amazon-fulfilled mug", "price": "9.99", "fulfillment_channel": "FBA"},
    ])
    order_id = _error_order(sandbox, amazon_store, "LIST-NEW-1")
    Product.objects.filter(sku="SANDBOX-SKU-001").update(name="Renamed here")
    marketplace, found = listings.listings_fetch(store=amazon_store)
    preview = listings.listings_preview(store=amazon_store, marketplace_id=marketplace, listings=found)
    by_sku = {row.listing.seller_sku: row for row in preview.rows}
    assert by_sku["LIST-NEW-1"].action == "create" and by_sku["LIST-FBA-1"].action == "create"
    assert by_sku["SANDBOX-SKU-002"].action == "link" and by_sku["SANDBOX-SKU-002"].product_sku == "SANDBOX-SKU-002"
    assert "name" in by_sku["SANDBOX-SKU-001"].differences
    assert preview.counts == {"create": 2, "link": 30, "ignore": 0}

    dry = listings.listings_apply(preview=preview, dry_run=True)
    assert dry.created == 2 and not Product.objects.filter(sku__startswith="LIST-").exists()
    with django_capture_on_commit_callbacks(execute=True):
        summary = listings.listings_apply(preview=preview, actor="tester",
                                          choices={"LIST-FBA-1": ("ignore", "")})
    assert (summary.created, summary.linked, summary.ignored) == (1, 30, 1)
    new = Product.objects.get(sku="LIST-NEW-1")
    assert (new.name, new.price, new.qty, new.manage_stock) == ("Café mug", Decimal("12.50"), 7, True)
    assert ProductChange.objects.filter(product=new, actor="tester").exists()
    assert not Product.objects.filter(sku="LIST-FBA-1").exists()
    assert amazon(order_id).commerce_order is not None  # retried at once

    again = listings.listings_preview(store=amazon_store, marketplace_id=marketplace,
                                      listings=listings.listings_fetch(store=amazon_store)[1])
    assert again.counts == {"create": 1, "link": 31, "ignore": 0}  # idempotent: only the ignored one is new


def test_linking_a_listing_to_another_product_creates_a_mapping(amazon_store, sandbox):
    sandbox.set_listings("US", [{"sku": "AMZ-RED-MUG", "title": "Red mug", "price": "5"}])
    marketplace, found = listings.listings_fetch(store=amazon_store)
    preview = listings.listings_preview(store=amazon_store, marketplace_id=marketplace, listings=found)
    summary = listings.listings_apply(preview=preview, choices={"AMZ-RED-MUG": ("link", "SANDBOX-SKU-003")})
    assert summary.mapped == 1 and summary.created == 0
    mapping = SkuMapping.objects.get(store=amazon_store, seller_sku="AMZ-RED-MUG")
    assert mapping.product.sku == "SANDBOX-SKU-003"
    with pytest.raises(listings.ListingsError):
        listings.listings_apply(preview=preview, choices={"AMZ-RED-MUG": ("link", "NO-SUCH-PRODUCT")})


def test_bad_report_and_bad_store_change_nothing(amazon_store, sandbox):
    with pytest.raises(listings.ListingsError, match="seller-sku"):
        listings.parse_listings("item-name\tprice\nMug\t1\n")
    with pytest.raises(listings.ListingsError, match="not a marketplace"):
        listings.listings_fetch(store=amazon_store, marketplace_id="A1PA6795UKMFR9")
    sandbox.set_report_faults({listings.LISTINGS_REPORT: {"FATAL": 1.0}})
    before = Product.objects.count()
    with pytest.raises(CommandError, match="FATAL"):
        call_command("amazon", "listings", "import", "--store", amazon_store.name, "--create")
    with pytest.raises(CommandError, match="No Amazon store"):
        call_command("amazon", "listings", "import", "--store", "nope", "--create")
    assert Product.objects.count() == before


def test_the_command_prints_the_preview_and_creates_with_create(amazon_store, sandbox):
    sandbox.set_listings("US", [{"sku": "CLI-NEW-1", "title": "Teapot", "price": "20", "quantity": 3}])
    out = io.StringIO()
    call_command("amazon", "listings", "import", "--store", amazon_store.name, stdout=out)
    assert "CLI-NEW-1" in out.getvalue() and "1 to create" in out.getvalue()
    assert not Product.objects.filter(sku="CLI-NEW-1").exists()
    call_command("amazon", "listings", "import", "--store", amazon_store.name, "--create", "--dry-run",
                 stdout=io.StringIO())
    assert not Product.objects.filter(sku="CLI-NEW-1").exists()
    out = io.StringIO()
    call_command("amazon", "listings", "import", "--store", amazon_store.name, "--create", stdout=out)
    assert "Created 1 products" in out.getvalue()
    assert Product.objects.get(sku="CLI-NEW-1").qty == 3


def test_mappings_csv_round_trip_and_bad_lines(amazon_store, tmp_path):
    good = (b"\xef\xbb\xbfseller_sku,product_sku,marketplace_id\nAMZ-1,SANDBOX-SKU-001,\n"
            b"AMZ-2,SANDBOX-SKU-002,ATVPDKIKX0DER\n")
    result = mapping_csv.mapping_import(store=amazon_store, file=io.BytesIO(good))
    assert result.ok and result.created == 2
    again = mapping_csv.mapping_import(store=amazon_store, file=io.BytesIO(good))
    assert (again.created, again.unchanged) == (0, 2)
    exported = "".join(mapping_csv.mapping_export_lines(amazon_store))
    assert exported.splitlines() == ["seller_sku,product_sku,marketplace_id", "AMZ-1,SANDBOX-SKU-001,",
                                     "AMZ-2,SANDBOX-SKU-002,ATVPDKIKX0DER"]
    bad = (b"seller_sku,product_sku,marketplace_id\nAMZ-3,NOPE,\nAMZ-4,SANDBOX-SKU-001,XX\n,SANDBOX-SKU-001,\n"
           b"AMZ-5,SANDBOX-SKU-001,\nAMZ-5,SANDBOX-SKU-002,\n")
    result = mapping_csv.mapping_import(store=amazon_store, file=io.BytesIO(bad))
    assert [(e.line, e.column) for e in result.errors] == [
        (2, "product_sku"), (3, "marketplace_id"), (4, "seller_sku"), (6, "seller_sku")]
    assert SkuMapping.objects.filter(store=amazon_store).count() == 2  # nothing written
    with pytest.raises(mapping_csv.CsvFileError):
        mapping_csv.mapping_import(store=amazon_store, file=io.BytesIO(b"sku,product\nA,B\n"))
    path = tmp_path / "m.csv"
    path.write_bytes(bad)
    with pytest.raises(CommandError, match="bad line"):
        call_command("amazon", "listings", "mappings-import", str(path), "--store", amazon_store.name,
                     stderr=io.StringIO())


def test_from_an_empty_catalog_the_cli_alone_onboards_the_sandbox_seller(sandbox, commerce_store):
    """Connect, import the listings, sync: every order imports, none in Error (issue 13, "Done when")."""
    from tests.amazon.conftest import connect_store

    amazon_store = connect_store(sandbox, commerce_store)
    assert not Product.objects.exists()
    ids = sandbox.create_orders(count=6, marketplace="US", fulfillment="MFN", status="Unshipped", seed=4)
    ids += sandbox.create_orders(count=2, marketplace="US", fulfillment="AFN", status="Shipped", seed=5)
    call_command("amazon", "listings", "import", "--store", amazon_store.name, "--create", stdout=io.StringIO())
    assert Product.objects.count() == 30
    assert not Product.objects.get(sku="SANDBOX-SKU-005").manage_stock  # FBA: stock left to Amazon
    settle()
    run = sync(amazon_store)
    assert (run.orders_created, run.orders_failed) == (len(ids), 0), [amazon(i).notes for i in ids]


def test_a_product_csv_import_retries_the_orders_that_waited(amazon_store, sandbox,
                                                              django_capture_on_commit_callbacks):
    from saleschannel.catalog.services import product_import

    order_id = _error_order(sandbox, amazon_store, "CSV-SKU-1")
    with django_capture_on_commit_callbacks(execute=True):
        result = product_import(file=io.BytesIO(b"sku,name,price,qty\nCSV-SKU-1,From a file,4.50,9\n"))
    assert result.created == 1
    assert amazon(order_id).commerce_order is not None
