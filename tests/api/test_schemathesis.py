"""Property-based tests of the REST API against its own OpenAPI schema (schemathesis).

The schema is the one clients read (``/api/v1/openapi.json``, through Django's WSGI application, in process), and
every operation in it is one test: schemathesis generates requests (valid ones, and invalid ones its checks expect
to be refused) and checks each response: no server error, a documented status code, a documented content type, a
body matching the documented schema, invalid input refused, valid input not refused for being invalid, auth
enforced. The token is an Administrator's (every permission), the data a few orders (new, invoiced, shipped),
Amazon orders and products, so ids and SKUs the generator guesses sometimes exist. The rate limit is raised out of
the way: each test sends hundreds of requests. A bounded, derandomized number of examples keeps it reproducible
and quick (well under two minutes).
"""

from __future__ import annotations

import itertools

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis import checks

from saleschannel.api.tokens import token_create
from saleschannel.sales.services import creditmemo_create, invoice_create, shipment_create
from tests import factories
from tests.api.conftest import make_amazon_order

SCHEMA_PATH = "/api/v1/openapi.json"


def schema_valid_body_is_not_refused_as_invalid(ctx, response, case):
    """For writes, in place of positive_data_acceptance: a body the schema allows may be refused by the services
    (422 naming the field: units left to invoice, a known carrier, an existing SKU, an Amazon reason; 409 by the
    order's state), which no schema can express; but never as malformed (400) nor by the API's own validation of
    the schema (422 listing validation errors other than the services' "invalid")."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return None
    if response.status_code == 400:
        raise AssertionError(f"A schema-valid request was refused as malformed: {response.text[:300]}")
    if response.status_code == 422:
        errors = [error for error in response.json().get("errors") or [] if error.get("type") != "invalid"]
        if errors:
            raise AssertionError(f"A schema-valid body failed the API's validation: {errors}")
    return None


CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
    checks.negative_data_rejection,
    checks.ignored_auth,
]
# Query parameters whose valid values no schema can list: a cursor is opaque (only a next_cursor the API gave is
# one: 400 otherwise), and the grids' filter forms refuse stores and order statuses that are not in the database
# and dates or totals out of their range (400, as on the screens).
GRID_LISTS = ("/api/v1/orders", "/api/v1/invoices", "/api/v1/shipments", "/api/v1/creditmemos")
DYNAMIC_QUERY = ("store", "status", "created_from", "created_to", "total_min", "total_max")


def _checks_for(case) -> list:
    if case.method in ("POST", "PATCH"):
        return [*CHECKS, schema_valid_body_is_not_refused_as_invalid]
    query = case.query or {}
    if query.get("cursor") or (case.path in GRID_LISTS and any(
            query.get(name) not in (None, "", []) for name in DYNAMIC_QUERY)):
        return CHECKS
    return [*CHECKS, checks.positive_data_acceptance]


schema = schemathesis.openapi.from_wsgi(SCHEMA_PATH, get_wsgi_application())
# Query parameters the API does not know are ignored, as by any web page (a cache-buster `_=...`, a newer client's
# filter): OpenAPI cannot say so, so requests with made-up extra parameters are not sent as "invalid" ones.
schema.config.generation.update(allow_extra_parameters=False)

# Ids and SKUs of the objects the fixture made, by path parameter: generated strings seldom name an existing order,
# so half the time a path parameter is swapped for a real one and the operation works on real data.
KNOWN: dict[str, list[str]] = {}
_requests = itertools.count(1)


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    path_parameters = path_parameters or {}
    variants = [{**path_parameters, name: value} for name in path_parameters for value in KNOWN.get(name, ())]
    return st.one_of(st.just(path_parameters), st.sampled_from(variants)) if variants else st.just(path_parameters)


@pytest.fixture(autouse=True)
def connection_kept_between_requests():
    """The WSGI handler closes old database connections when a request starts and when it finishes; in a test that
    connection holds the test's transaction (on PostgreSQL it would be gone after the first call). Django's own test
    client does the same."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def admin_secret(settings, administrator, store, products, amazon_store) -> str:
    """An Administrator's token, with a few orders in different states, two Amazon orders and the products."""
    settings.API_RATE_LIMIT = (1_000_000, 60)
    tshirt, mug, _cap = products
    orders = [factories.make_order(store=store, items=[factories.line(tshirt, 2), factories.line(mug, 1)],
                                   shipping_amount="5.00") for _ in range(3)]
    invoices = [invoice_create(order=orders[1], actor="tests"), invoice_create(order=orders[2], actor="tests")]
    shipment = shipment_create(order=orders[2], actor="tests")
    amazon = [make_amazon_order(amazon_store), make_amazon_order(amazon_store, invoiced=False)]
    memo = creditmemo_create(order=orders[1], actor="tests")
    KNOWN.clear()
    KNOWN.update({
        "order_id": [str(order.pk) for order in [*orders, *(a.commerce_order for a in amazon)]],
        "invoice_id": [str(invoice.pk) for invoice in invoices], "shipment_id": [str(shipment.pk)],
        "creditmemo_id": [str(memo.pk)], "amazon_order_id": [a.amazon_order_id for a in amazon],
        "store_id": [str(store.pk)], "sku": [product.sku for product in products],
    })
    return token_create(user=administrator, name="schemathesis").secret


@schema.parametrize()
# The data and the token are made once per operation, on purpose: its examples share them (hence the health check).
@hypothesis_settings(max_examples=25, derandomize=True, database=None, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                            HealthCheck.filter_too_much])
def test_api_conforms_to_its_schema(case, admin_secret):
    key = (case.headers or {}).get("Idempotency-Key")
    if key and len(key) < 200:
        # A client's key is unique per request (docs/api.md); the generator repeats short ones ("0") across
        # examples, which the API rightly refuses as a key reused for another request (422).
        case.headers["Idempotency-Key"] = f"{key}-{next(_requests)}"
    case.call_and_validate(headers={"Authorization": f"Bearer {admin_secret}"}, checks=_checks_for(case))
