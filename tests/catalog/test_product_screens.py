"""Product screens: create, edit, enable/disable with confirmation, set stock, CSV upload → preview → confirm,
export; Operators change, Viewers read."""

from __future__ import annotations

import os
import time
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from saleschannel.catalog import csvfile
from saleschannel.catalog.forms import COLUMN_HELP
from saleschannel.catalog.models import Product, ProductChange
from saleschannel.core.roles import ADMINISTRATOR, OPERATOR, VIEWER
from tests.factories import client_for, make_role_user

GOOD = b"sku,name,price,qty\nA-1,Alpha,19.99,5\nB-2,Beta,3,0\n"


@pytest.fixture
def operator(db):
    return client_for(make_role_user(OPERATOR))


@pytest.fixture
def viewer(db):
    return client_for(make_role_user(VIEWER))


def upload(client, data: bytes, name="products.csv"):
    return client.post("/catalog/import/", {"file": SimpleUploadedFile(name, data, content_type="text/csv")})


def token_of(response) -> str:
    page = response.content.decode()
    return page.split('name="token" value="')[1].split('"')[0]


def test_empty_catalog_says_what_to_do(operator, viewer):
    page = operator.get("/catalog/products/").content.decode()
    assert 'id="catalog-empty"' in page and "/catalog/products/new/" in page and "/catalog/import/" in page
    page = viewer.get("/catalog/products/").content.decode()
    assert 'id="catalog-empty"' in page and "/catalog/products/new/" not in page and "/catalog/import/" not in page


def test_create_product(operator):
    assert operator.get("/catalog/products/new/").status_code == 200
    response = operator.post("/catalog/products/new/", {"sku": "MUG-1", "name": "Mug", "price": "8.50", "qty": "4",
                                                        "manage_stock": "on", "is_in_stock": "on", "enabled": "on"})
    product = Product.objects.get(sku="MUG-1")
    assert response.status_code == 302 and response["Location"] == f"/catalog/products/{product.pk}/"
    assert (product.price, product.qty) == (Decimal("8.50"), 4)
    assert ProductChange.objects.get(product=product).actor == "operator"


def test_create_refused_shows_every_error_and_writes_nothing(operator):
    response = operator.post("/catalog/products/new/", {"sku": "", "name": "", "price": "1e30", "qty": "-1"})
    page = response.content.decode()
    assert response.status_code == 400
    for message in ("Enter a SKU.", "Enter a product name.", "The price is limited to", "cannot be negative"):
        assert message in page
    assert not Product.objects.exists()


def test_edit_product(operator, products):
    mug = products[1]
    assert operator.get(f"/catalog/products/{mug.pk}/edit/").status_code == 200
    response = operator.post(f"/catalog/products/{mug.pk}/edit/",
                             {"sku": "MUG-BLUE", "name": "Mug bleu XL", "price": "9.00", "manage_stock": "on"})
    assert response.status_code == 302
    mug.refresh_from_db()
    assert (mug.name, mug.price, mug.qty) == ("Mug bleu XL", Decimal("9.00"), 20)
    response = operator.post(f"/catalog/products/{mug.pk}/edit/",
                             {"sku": "tshirt-red", "name": "Mug", "price": "9.001", "manage_stock": "on"})
    page = response.content.decode()
    assert response.status_code == 400 and "differs only by upper or lower case" in page and "at most 2" in page
    mug.refresh_from_db()
    assert mug.sku == "MUG-BLUE"


def test_disable_asks_for_confirmation_then_enable(operator, products):
    cap = products[2]
    page = operator.get(f"/catalog/products/{cap.pk}/disable/").content.decode()
    assert 'id="confirm-status"' in page
    cap.refresh_from_db()
    assert cap.enabled  # showing the confirmation changes nothing
    assert operator.post(f"/catalog/products/{cap.pk}/disable/").status_code == 302
    cap.refresh_from_db()
    assert not cap.enabled
    assert 'id="enable-product"' in operator.get(f"/catalog/products/{cap.pk}/").content.decode()
    operator.post(f"/catalog/products/{cap.pk}/enable/")
    cap.refresh_from_db()
    assert cap.enabled
    page = operator.get(f"/catalog/products/{cap.pk}/").content.decode()
    assert "Disabled" in page and "operator" in page  # the change history


@pytest.mark.parametrize(("method", "url"), [
    ("get", "/catalog/products/new/"), ("post", "/catalog/products/new/"),
    ("get", "/catalog/products/{pk}/edit/"), ("post", "/catalog/products/{pk}/edit/"),
    ("post", "/catalog/products/{pk}/stock/"),
    ("get", "/catalog/products/{pk}/disable/"), ("post", "/catalog/products/{pk}/disable/"),
    ("post", "/catalog/products/{pk}/enable/"),
    ("get", "/catalog/import/"), ("post", "/catalog/import/"), ("post", "/catalog/import/confirm/"),
])
def test_viewer_is_refused_every_change(viewer, products, method, url):
    product = products[0]
    response = getattr(viewer, method)(url.format(pk=product.pk), {"sku": "X", "name": "X", "price": "1", "qty": "1"})
    assert response.status_code == 403
    product.refresh_from_db()
    assert product.enabled and product.sku == "TSHIRT-RED" and product.qty == 50
    assert Product.objects.count() == 3


def test_import_screen_documents_every_column():
    assert tuple(name for name, _required, _help in COLUMN_HELP) == csvfile.COLUMNS
    assert {name for name, required, _help in COLUMN_HELP if required} == set(csvfile.REQUIRED)


def test_old_full_edit_post_is_refused_cleanly(operator, products):
    """The permission matrix (tests/web) still posts the former edit form (no SKU): a 400, never a 500."""
    tshirt = products[0]
    response = operator.post(f"/catalog/products/{tshirt.pk}/edit/", {
        "name": "T-shirt", "price": "19.99", "qty": "60", "enabled": "on", "manage_stock": "on", "is_in_stock": "on"})
    assert response.status_code == 400 and "Enter a SKU." in response.content.decode()
    tshirt.refresh_from_db()
    assert tshirt.name == "T-shirt rouge" and tshirt.qty == 50


def test_administrator_may_change(db, products):
    admin = client_for(make_role_user(ADMINISTRATOR))
    assert admin.get("/catalog/products/new/").status_code == 200
    assert admin.get("/catalog/import/").status_code == 200


def test_import_upload_preview_confirm(operator, products):
    page = operator.get("/catalog/import/").content.decode()
    assert 'id="import-columns"' in page and "manage_stock" in page
    data = GOOD + b"MUG-BLUE,Mug bleu,9.50,20\nCAP-GREEN,Casquette verte,12.00,10\n"
    response = upload(operator, data)
    page = response.content.decode()
    assert response.status_code == 200
    assert '<td id="count-created">2</td>' in page and '<td id="count-updated">1</td>' in page
    assert '<td id="count-unchanged">1</td>' in page and "8.50 → 9.50" in page
    assert not Product.objects.filter(sku="A-1").exists()  # the preview writes nothing
    token = token_of(response)
    response = operator.post("/catalog/import/confirm/", {"token": token})
    assert response.status_code == 302 and response["Location"] == "/catalog/products/"
    assert Product.objects.filter(sku__in=["A-1", "B-2"]).count() == 2
    assert Product.objects.get(sku="MUG-BLUE").price == Decimal("9.50")
    assert ProductChange.objects.filter(actor="operator", source="CSV import products.csv").count() == 3
    # The same token cannot import twice.
    again = operator.post("/catalog/import/confirm/", {"token": token})
    assert again.status_code == 302 and again["Location"] == "/catalog/import/"


def test_import_token_belongs_to_the_session(operator, db):
    response = upload(operator, GOOD)
    other = client_for(make_role_user(OPERATOR, username="other"))
    refused = other.post("/catalog/import/confirm/", {"token": token_of(response)})
    assert refused["Location"] == "/catalog/import/" and not Product.objects.exists()


def test_import_with_bad_lines_offers_to_skip_them(operator, db):
    response = upload(operator, b"sku,name,price\nA-1,Alpha,1\nB-2,Beta,-2\n")
    page = response.content.decode()
    assert 'id="import-errors"' in page and "The price cannot be negative." in page
    assert 'name="skip_bad" value="1"' in page
    operator.post("/catalog/import/confirm/", {"token": token_of(response), "skip_bad": "1"})
    assert list(Product.objects.values_list("sku", flat=True)) == ["A-1"]


def test_import_without_skip_bad_writes_nothing(operator, db):
    response = upload(operator, b"sku,name,price\nA-1,Alpha,1\nB-2,Beta,-2\n")
    confirm = operator.post("/catalog/import/confirm/", {"token": token_of(response)})
    assert confirm.status_code == 400 and not Product.objects.exists()


def test_unreadable_upload_refused(operator, db):
    response = upload(operator, "sku,name,price\nA,Caf\u00e9,1\n".encode("latin-1"))
    assert response.status_code == 400
    assert "Line 2, character 6: the file is not UTF-8 text" in response.content.decode()
    assert 'name="token"' not in response.content.decode()


def test_upload_over_50_mb_refused_before_reading(operator, db, monkeypatch):
    monkeypatch.setattr(csvfile, "MAX_BYTES", 100)
    response = upload(operator, b"sku,name,price\n" + b"A,B,1\n" * 20_000)
    assert response.status_code == 413 and "larger than 50 MB" in response.content.decode()


def test_export_download(viewer, products):
    response = viewer.get("/catalog/export.csv")
    text = b"".join(response.streaming_content).decode("utf-8")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert text.startswith("\ufeffsku,name,price,qty,enabled,manage_stock,is_in_stock\n")
    assert "MUG-BLUE,Mug bleu,8.50,20,1,1,1" in text


def test_french(operator, db):
    operator.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    page = operator.get("/catalog/products/").content.decode()
    assert "Ajouter un produit" in page and "Importer" in page


def test_unconfirmed_uploads_expire(operator, db, settings):
    first = upload(operator, GOOD)
    path = settings.DATA_DIR / "imports" / f"{token_of(first)}.csv"
    assert path.exists()
    old = time.time() - 2 * 24 * 3600
    os.utime(path, (old, old))
    upload(operator, GOOD)
    assert not path.exists()
    refused = operator.post("/catalog/import/confirm/", {"token": token_of(first)})
    assert refused["Location"] == "/catalog/import/" and not Product.objects.exists()
