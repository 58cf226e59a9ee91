"""Fixtures of the Amazon channel tests: a real SP-API sandbox (subprocess, HTTP), a Commerce store and catalog."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from saleschannel.amazon.models import AmazonOrder, AmazonStore, SyncRunState
from saleschannel.amazon.services import amazon_store_create
from saleschannel.amazon.sync import sync_store
from saleschannel.catalog.models import Product, Store
from saleschannel.sandbox.catalog import DEFAULT_SKUS

US = "ATVPDKIKX0DER"
# The sandbox runs 600× faster than real time: the 2-minute rule is 0.2 s, Amazon's 3-minute refill of searchOrders
# 0.3 s; the pending delay (600 sandbox seconds) is one real second.
TIME_SCALE = 600
PENDING_DELAY = 1800


@pytest.fixture(scope="module")
def sandbox_server(tmp_path_factory):
    from saleschannel.sandbox.testing import run_sandbox
    from tests.sandbox.fixtures import contract_models

    # Contract mode when Amazon's models are there: the gateway's requests and their answers are checked against them.
    with run_sandbox(tmp_path_factory.mktemp("sandbox"), time_scale=TIME_SCALE,
                     pending_delay_seconds=PENDING_DELAY, contract_models=contract_models()) as handle:
        yield handle


# What settle() moves both clocks by, in real seconds: the 2-minute rule (scaled) plus a second of rounding.
SETTLE_SECONDS = 1.3


class Clock:
    """The sandbox's clock and the product's (``timezone.now``), moved together by ``advance``: the sandbox's is
    real time plus an offset (``POST /_sandbox/clock``), the product's gets the same offset during a test."""

    sandbox = None  # the handle of the running test's sandbox, while it runs
    offset = timedelta(0)
    real_now = staticmethod(timezone.now)

    @classmethod
    def now(cls):
        return cls.real_now() + cls.offset


@pytest.fixture
def sandbox(sandbox_server, request, monkeypatch):
    from tests.sandbox.fixtures import contract_checked

    sandbox_server.reset()  # its clock back to real time as well
    # Access tokens live an hour of sandbox time (6 real seconds at this scale): keep them for the whole test.
    sandbox_server.configure(token_ttl_seconds=3600 * TIME_SCALE)
    Clock.sandbox, Clock.offset = sandbox_server, timedelta(0)
    monkeypatch.setattr(timezone, "now", Clock.now)
    try:
        # Fails the test at teardown if the gateway sent a request (or got an answer) that Amazon's models do not
        # allow.
        yield from contract_checked(sandbox_server, request)
    finally:
        Clock.sandbox = None


def advance(sandbox_seconds: float) -> None:
    """Move the sandbox's clock and the product's forward together; what became due in the sandbox (payments
    verified, feeds processed) is done when this returns."""
    clock = Clock.sandbox.advance_clock(sandbox_seconds)
    Clock.offset = timedelta(milliseconds=clock["offset_ms"])


def settle(*, real_time: bool = False):
    """Make what the sandbox just changed older than the 2-minute rule (scaled) plus a second of rounding, by moving
    both clocks. ``real_time``, or without a running ``sandbox`` fixture: wait that long for real, for a product that
    runs in another process (a subprocess, a worker), whose clock only real time moves."""
    if real_time or Clock.sandbox is None:
        time.sleep(SETTLE_SECONDS)  # the other process's clock is real time: only a real wait moves it
        return
    advance(SETTLE_SECONDS * TIME_SCALE)


@pytest.fixture
def commerce_store(db):
    return Store.objects.create(code="us", name="US Store", currency="USD", order_number_prefix="US")


@pytest.fixture
def catalog(db):
    """Every SKU the sandbox sells, in stock (100 units each)."""
    return {
        p.sku: p for p in Product.objects.bulk_create([
            Product(sku=s.sku, name=s.title, price=s.base_price, qty=100) for s in DEFAULT_SKUS
        ])
    }


def connect_store(sandbox, commerce_store, **options) -> AmazonStore:
    creds = sandbox.credentials
    options.setdefault("time_scale", Decimal(TIME_SCALE))
    return amazon_store_create(
        name=options.pop("name", "Sandbox US"), seller_id=creds["seller_id"], region=options.pop("region", "NA"),
        marketplace_ids=options.pop("marketplace_ids", [US]), store=commerce_store, client_id=creds["client_id"],
        client_secret=creds["client_secret"], refresh_token=creds["refresh_token"],
        endpoint_override=sandbox.url, token_url_override=sandbox.token_url, **options,
    )


@pytest.fixture
def amazon_store(sandbox, commerce_store, catalog):
    return connect_store(sandbox, commerce_store)


def sync(store):
    """One sync pass of ``store`` that must succeed; returns its run."""
    run = sync_store(store=store)
    assert run.state == SyncRunState.SUCCEEDED, run.error
    return run


def amazon(order_id: str):
    """The Amazon order (with its Commerce order) of ``order_id``."""
    return AmazonOrder.objects.select_related("commerce_order").get(amazon_order_id=order_id)
