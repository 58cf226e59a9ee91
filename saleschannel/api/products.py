"""``/api/v1/products``: products and their stock (list, get, create, update) and the bulk stock update a warehouse
sends.

Reading needs ``catalog.view_product``, creating ``catalog.add_product``, changing and setting stock
``catalog.change_product``, as on the product screens. Create and update are ``catalog.services.product_create`` and
``product_update`` (the product form's), with the same rules (``catalog.rules``) and change log.
Every stock line goes through ``catalog.services.product_stock_set`` (the product page's Stock form): the same
rules (a whole number from 0, never below what is reserved), and the same change log (``ProductChange``).

The bulk update is all or nothing: every line is checked, and when any is refused nothing is written and the
problem lists each bad line (``errors``: ``lines.<n>.sku`` or ``lines.<n>.quantity``, n from 0).
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from ninja.decorators import decorate_view
from ninja.responses import Status
from pydantic import Field

from saleschannel.api import selectors
from saleschannel.api.action_schemas import ProductCreateIn, ProductUpdateIn
from saleschannel.api.auth import TokenAuth
from saleschannel.api.errors import ApiProblem
from saleschannel.api.idempotency import idempotent
from saleschannel.api.orders import IDEMPOTENCY_HEADER, READ_ERRORS, WRITE_ERRORS
from saleschannel.api.paging import page_by_pk
from saleschannel.api.schemas import ProductOut, ProductPageOut, StockUpdateIn, StockUpdateOut, text
from saleschannel.catalog import services
from saleschannel.catalog.models import Product
from saleschannel.catalog.rules import SKU_MAX_LENGTH

VIEW = "catalog.view_product"
ADD = "catalog.add_product"
CHANGE = "catalog.change_product"
MAX_LIMIT = 200
MAX_SKUS = 200

router = Router(tags=["products"])


def product_dict(product: Product) -> dict:
    return {"id": product.pk, "sku": product.sku, "name": product.name, "price": product.price,
            "enabled": product.enabled, "manage_stock": product.manage_stock, "qty": product.qty,
            "qty_reserved": product.qty_reserved, "salable_qty": product.salable_qty,
            "is_in_stock": product.is_in_stock, "created_at": product.created_at, "updated_at": product.updated_at}


class ProductListQuery(Schema):
    sku: list[text(SKU_MAX_LENGTH)] = Field(default_factory=list, max_length=MAX_SKUS,
                                            description=f"Only these SKUs (exact); repeat, up to {MAX_SKUS}.")
    cursor: str = Field("", max_length=64)
    limit: int = Field(50, ge=1, le=MAX_LIMIT)


def _line_error(index: int, field: str, message: str) -> dict:
    return {"field": f"lines.{index}.{field}", "message": str(message), "type": "invalid"}


def _refuse(errors: list[dict]) -> ApiProblem:
    """The 422 for bad lines: every one in ``errors``, in line order; the first one in ``detail``."""
    errors = sorted(errors, key=lambda error: int(error["field"].split(".")[1]))
    first = errors[0]
    return ApiProblem(422, f"{first['field']}: {first['message']}", code="invalid", field=first["field"],
                      errors=errors)


def _refused_product(error: services.ProductError) -> ApiProblem:
    """The 422 for a product the service refused: every field at fault in ``errors``, the first in ``detail``."""
    errors = [{"field": field, "message": str(message), "type": "invalid"} for field, message in error.errors.items()]
    return ApiProblem(422, f"{errors[0]['field']}: {errors[0]['message']}", code="invalid", field=errors[0]["field"],
                      errors=errors)


def _stock_set(lines, *, actor) -> list[Product]:
    """Set every line's stock, all or nothing: ``ApiProblem(422)`` listing every bad line, nothing written."""
    products = selectors.products_by_sku(list({line.sku for line in lines}))
    errors, first_line, todo = [], {}, []
    for index, line in enumerate(lines):
        if line.sku in first_line:
            errors.append(_line_error(index, "sku", _('The SKU "%(sku)s" is already in lines.%(line)d: give each '
                                                      "SKU once.") % {"sku": line.sku, "line": first_line[line.sku]}))
        elif line.sku not in products:
            errors.append(_line_error(index, "sku", _('Product "%(sku)s" does not exist.') % {"sku": line.sku}))
        else:
            todo.append((index, line))
        first_line.setdefault(line.sku, index)
    done: dict[int, Product] = {}
    with transaction.atomic():
        # In id order, so that two updates of the same products cannot deadlock each other (PostgreSQL).
        for index, line in sorted(todo, key=lambda pair: products[pair[1].sku].pk):
            try:
                done[index] = services.product_stock_set(product=products[line.sku], qty=line.quantity,
                                                         actor=actor)
            except services.ProductError as error:
                errors += [_line_error(index, "quantity" if field == "qty" else field, message)
                           for field, message in error.errors.items()]
        if errors:
            raise _refuse(errors)  # rolls back the lines already set
    return [done[index] for index in range(len(lines))]


@router.get("/products", response={200: ProductPageOut, **READ_ERRORS}, auth=TokenAuth(VIEW))
def list_products(request, params: Query[ProductListQuery]):
    """Products with their stock, by id, a page at a time: follow `next_cursor` until it is null."""
    page, next_cursor = page_by_pk(selectors.products(skus=params.sku), cursor=params.cursor, limit=params.limit)
    return {"items": [product_dict(product) for product in page], "next_cursor": next_cursor}


@router.patch("/products/stock", response={200: StockUpdateOut, **WRITE_ERRORS}, auth=TokenAuth(CHANGE),
              openapi_extra=IDEMPOTENCY_HEADER)
@decorate_view(idempotent)
def update_stock(request, payload: StockUpdateIn):
    """Set the units in stock of up to 1,000 products at once, by SKU: all or nothing.

    A refused line (an unknown SKU, a SKU twice, a quantity below 0 or below what is reserved for orders) refuses
    the whole request (422) and `errors` lists every bad line. Each change is in the product's change log.
    """
    return {"items": [product_dict(product) for product in _stock_set(payload.lines, actor=request.user)]}


def _find(sku: str) -> Product:
    product = None
    if len(sku) <= SKU_MAX_LENGTH and "\x00" not in sku:
        product = selectors.product_by_sku(sku)
    if product is None:
        raise ApiProblem(404, _("This product does not exist."))
    return product


def _product(sku: str) -> dict:
    return product_dict(_find(sku))


@router.post("/products", response={201: ProductOut, **WRITE_ERRORS}, auth=TokenAuth(ADD),
             openapi_extra=IDEMPOTENCY_HEADER)
@decorate_view(idempotent)
def create_product(request, payload: ProductCreateIn):
    """Create a product, as the New Product form does: a SKU no other product has (without regard to case), a name,
    a price, and optionally its stock. A refused value is a 422 naming the field (`errors` lists every one)."""
    try:
        product = services.product_create(**payload.dict(), actor=request.user)
    except services.ProductError as error:
        raise _refused_product(error) from None
    return Status(201, product_dict(product))


@router.get("/products/stock", response={200: ProductOut, **READ_ERRORS}, auth=TokenAuth(VIEW),
            include_in_schema=False)
def get_product_named_stock(request):
    """The product whose SKU is "stock" (the path is the bulk update's)."""
    return _product("stock")


@router.get("/products/{path:sku}", response={200: ProductOut, **READ_ERRORS}, auth=TokenAuth(VIEW))
def get_product(request, sku: str):
    """One product with its stock, by SKU (exact; URL-encode it)."""
    return _product(sku)


@router.patch("/products/{path:sku}", response={200: ProductOut, **WRITE_ERRORS}, auth=TokenAuth(CHANGE),
              openapi_extra=IDEMPOTENCY_HEADER)
@decorate_view(idempotent)
def update_product(request, sku: str, payload: ProductUpdateIn):
    """Change a product (by SKU, exact; URL-encode it): the fields given, as the product's Edit form does. Only what
    differs is written and recorded in the product's change log. A refused value is a 422 naming the field
    (`errors` lists every one): a SKU another product has, a price or quantity out of range, a quantity below what
    is reserved for orders. `PATCH /api/v1/products/stock` is the bulk stock update, not the product "stock"."""
    product = _find(sku)
    changes = {name: value for name, value in payload.dict(exclude_unset=True).items() if value is not None}
    try:
        product = services.product_update(product=product, **changes, actor=request.user)
    except services.ProductError as error:
        raise _refused_product(error) from None
    return product_dict(product)
