"""Demo data: four Commerce stores, a catalog, customers and about sixty orders in every state.

Everything is built through the services (``order_create``, ``invoice_create`` …), so the demo shows orders exactly as
the product makes them: numbers from the store sequences, reservations, history lines with their author. The data is
generated from a fixed seed, so every demo looks the same. ``load_demo_data`` does nothing but report when orders
already exist.
"""

from __future__ import annotations

import random
import unicodedata
from collections import Counter
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from saleschannel.catalog.models import Product, Store
from saleschannel.core.money import quantum
from saleschannel.customers.services import customer_get_or_create
from saleschannel.sales import services
from saleschannel.sales.errors import OrderActionError
from saleschannel.sales.models import CreditMemo, Invoice, Order, OrderHistory, OrderState, OrderStatus, Shipment

SEED = 2026
SUPPLIER_STATUS = "awaiting_supplier"  # a merchant's own status, under the processing state
ORDER_COUNT = 60

# code, name, currency, locale, order number prefix, price factor from the catalog's USD prices, tax rate, shipping.
STORES = [
    ("us", "US Store", "USD", "en", "US", Decimal("1"), Decimal("0.0825"), Decimal("4.99")),
    ("uk", "UK Store", "GBP", "en", "UK", Decimal("0.80"), Decimal("0.20"), Decimal("3.49")),
    ("fr", "Boutique France", "EUR", "fr", "FR", Decimal("0.92"), Decimal("0.20"), Decimal("4.49")),
    ("jp", "Japan Store", "JPY", "en", "JP", Decimal("150"), Decimal("0.10"), Decimal("450")),
]

# sku, name, USD price, qty, managed stock, enabled
PRODUCTS = [
    ("TEE-ORG-S", "Organic Cotton T-shirt S", "19.99", 120, True, True),
    ("TEE-ORG-M", "Organic Cotton T-shirt M", "19.99", 150, True, True),
    ("TEE-ORG-L", "Organic Cotton T-shirt L", "19.99", 90, True, True),
    ("HOODIE-GRY", "Merino Hoodie Grey", "64.00", 40, True, True),
    ("SOCKS-3PK", "Wool Socks (3 pairs)", "14.50", 200, True, True),
    ("CAP-CANVAS", "Canvas Cap", "22.00", 60, True, True),
    ("MUG-STONE", "Stoneware Mug", "12.90", 80, True, True),
    ("MUG-ENAMEL", "Enamel Camp Mug", "9.95", 75, True, True),
    ("BOTTLE-STL", "Steel Water Bottle 750 ml", "24.00", 110, True, True),
    ("BOARD-WAL", "Walnut Cutting Board", "48.00", 25, True, True),
    ("KNIFE-CHEF", "Chef's Knife 20 cm", "89.00", 18, True, True),
    ("APRON-LIN", "Linen Apron", "29.00", 45, True, True),
    ("TOWEL-TEA", "Tea Towels (2)", "11.00", 130, True, True),
    ("CANDLE-FIG", "Fig Scented Candle", "18.50", 70, True, True),
    ("NOTE-A5", "Dot-grid Notebook A5", "8.75", 300, True, True),
    ("PEN-BRASS", "Brass Pen", "34.00", 35, True, True),
    ("BAG-TOTE", "Recycled Tote Bag", "6.50", 500, True, True),
    ("LAMP-DESK", "Oak Desk Lamp", "119.00", 12, True, True),
    ("PLANT-POT", "Terracotta Plant Pot", "15.00", 65, True, True),
    ("TEA-SENCHA", "Sencha Green Tea 100 g", "13.20", 90, True, True),
    ("COFFEE-ETH", "Ethiopian Coffee Beans 250 g", "16.80", 85, True, True),
    ("CHOC-NOIR", "Dark Chocolate 72 %", "4.90", 400, True, True),
    # Not managed: made to order or digital, never limited by stock.
    ("GIFT-CARD-25", "Gift Card 25", "25.00", 0, False, True),
    ("ENGRAVING", "Personal Engraving", "10.00", 0, False, True),
    ("PRINT-A3", "Art Print A3 (printed on demand)", "39.00", 0, False, True),
    # Low stock: the dashboard and the Amazon import have something to warn about.
    ("VASE-RARE", "Hand-blown Glass Vase", "145.00", 2, True, True),
    ("RUG-WOOL", "Wool Rug 120×180", "230.00", 1, True, True),
    ("CHAIR-OAK", "Oak Chair", "310.00", 3, True, True),
    # Disabled: no longer sold.
    ("MUG-2019", "Anniversary Mug 2019", "9.00", 14, True, False),
    ("LAMP-OLD", "Brass Lamp (discontinued)", "99.00", 0, True, True),
]

# first name, last name, store code, has an account
CUSTOMERS = [
    ("Zoë", "Carter", "us", True),
    ("María José", "García", "us", False),
    ("Björn", "Andersson", "us", True),
    ("Chloé", "Nguyen", "us", False),
    ("Siân", "Evans", "uk", True),
    ("Ciarán", "O'Brien", "uk", False),
    ("Amelia", "Hughes", "uk", True),
    ("François", "Lefèvre", "fr", True),
    ("Hélène", "Dupré", "fr", False),
    ("Loïc", "Bénard", "fr", True),
    ("Maëlle", "Rousseau", "fr", False),
    ("太郎", "山田", "jp", True),
    ("花子", "佐藤", "jp", False),
    ("美咲", "高橋", "jp", True),
]
ADDRESSES = {
    "us": {"street1": "123 Main Street", "street2": "Apt 4B", "city": "Seattle", "region": "WA", "postcode": "98101",
           "country_code": "US", "phone": "+1 206-555-0142"},
    "uk": {"street1": "4 Queen's Road", "city": "Cardiff", "region": "Cardiff", "postcode": "CF10 1AA",
           "country_code": "GB", "phone": "+44 29 2018 0000"},
    "fr": {"street1": "8 rue de l'Église", "street2": "Bâtiment B", "city": "Lyon", "region": "Rhône",
           "postcode": "69002", "country_code": "FR", "phone": "+33 4 72 00 00 00"},
    "jp": {"street1": "千代田区丸の内1-1-1", "street2": "パレスビル5階", "city": "東京都", "region": "東京都",
           "postcode": "100-0005", "country_code": "JP", "phone": "+81 3-1234-5678"},
}

# What happens to each order after it is placed, and how many orders get it (60 in all).
SCENARIOS = [
    ("new", 10),
    ("partly_invoiced", 7),
    ("partly_shipped", 6),
    ("partly_refunded", 4),
    ("complete", 15),
    ("closed", 6),
    ("canceled", 7),
    ("on_hold", 5),
]


def _demo_actor():
    """The demo admin when it exists (history then shows a person), else a label."""
    user = get_user_model().objects.filter(username="admin").first()
    return user or "Demo data"


def _ensure_catalog() -> tuple[dict[str, tuple[Store, Decimal, Decimal, Decimal]], list[Product]]:
    stores = {}
    for code, name, currency, locale, prefix, factor, tax_rate, shipping in STORES:
        store, _ = Store.objects.get_or_create(
            code=code,
            defaults={"name": name, "currency": currency, "locale": locale, "order_number_prefix": prefix},
        )
        stores[code] = (store, factor, tax_rate, shipping)
    for sku, name, price, qty, managed, enabled in PRODUCTS:
        Product.objects.get_or_create(
            sku=sku,
            defaults={"name": name, "price": Decimal(price), "qty": qty, "manage_stock": managed, "enabled": enabled,
                      "is_in_stock": sku != "LAMP-OLD"},
        )
    _add_sandbox_skus()
    if not OrderStatus.objects.filter(code=SUPPLIER_STATUS).exists():
        services.order_status_create(code=SUPPLIER_STATUS, label="Awaiting supplier", state=OrderState.PROCESSING,
                                     actor="Demo data")
    sellable = [p for p in Product.objects.filter(sku__in=[row[0] for row in PRODUCTS]) if p.enabled and (
        not p.manage_stock or p.qty >= 20)]
    return stores, sellable


def _add_sandbox_skus() -> None:
    """The SP-API sandbox sells ``SANDBOX-SKU-001`` … ``030``: stock them so that its orders can be imported."""
    try:
        from saleschannel.sandbox.catalog import DEFAULT_SKUS
    except ImportError:  # the sandbox is optional for the Commerce demo
        return
    existing = set(Product.objects.filter(sku__in=[s.sku for s in DEFAULT_SKUS]).values_list("sku", flat=True))
    Product.objects.bulk_create([
        Product(sku=s.sku, name=s.title, price=s.base_price, qty=1000, manage_stock=True)
        for s in DEFAULT_SKUS if s.sku not in existing
    ])


def _price(usd: Decimal, factor: Decimal, currency: str) -> Decimal:
    price = (usd * factor).quantize(quantum(currency), rounding=ROUND_HALF_UP)
    if currency == "JPY":
        price = (price / 10).quantize(Decimal(1), rounding=ROUND_HALF_UP) * 10  # yen prices end in 0
    return price


def _scenario_list(rng: random.Random) -> list[str]:
    scenarios = [name for name, count in SCENARIOS for _ in range(count)]
    rng.shuffle(scenarios)
    return scenarios


def _place_order(rng, stores, products, customer_row, created_at, actor, send_email) -> Order:
    first, last, store_code, has_account = customer_row
    store, factor, tax_rate, shipping = stores[store_code]
    currency = store.currency
    q = quantum(currency)
    email = f"{_ascii(first)}.{_ascii(last)}@example.com".lower()
    customer = (customer_get_or_create(email=email, first_name=first, last_name=last, store=store)
                if has_account else None)
    items = []
    for product in rng.sample(products, rng.choice([1, 1, 2, 2, 3])):
        qty = rng.choice([1, 1, 1, 2, 3])
        price = _price(product.price, factor, currency)
        row = price * qty
        discount = (row * Decimal("0.10")).quantize(q) if rng.random() < 0.2 else Decimal(0)
        tax = ((row - discount) * tax_rate).quantize(q, rounding=ROUND_HALF_UP)
        items.append({"sku": product.sku, "qty": qty, "price": price, "tax_amount": tax,
                      "tax_percent": tax_rate * 100, "discount_amount": discount})
    address = {"first_name": first, "last_name": last, **ADDRESSES[store_code]}
    return services.order_create(draft=services.OrderDraft(
        store=store, items=items, customer=customer, customer_email=email, customer_first_name=first,
        customer_last_name=last, billing_address=address,
        shipping_method_code="flatrate", shipping_method_title="Flat Rate - Fixed",
        shipping_amount=shipping, shipping_tax_amount=(shipping * tax_rate).quantize(q, rounding=ROUND_HALF_UP),
        created_at=created_at, send_email=send_email,
    ), actor=actor)


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().replace(" ", "").replace("'", "")
    return plain or f"customer{sum(map(ord, text)) % 1000}"


CARRIERS = [("ups", ""), ("fedex", ""), ("dhl", ""), ("usps", ""), ("royal_mail", ""), ("colissimo", ""),
            ("custom", "Yamato Transport")]


def _track(rng) -> dict:
    code, title = rng.choice(CARRIERS)
    return {"carrier_code": code, "title": title, "number": f"{code[:2].upper()}{rng.randrange(10**9, 10**10)}"}


def _first_item_quantities(order: Order, attr: str) -> dict[int, int]:
    """A partial quantity: half of the first item with something left (at least one unit)."""
    for item in order.items.all():
        available = getattr(item, attr)
        if available:
            return {item.pk: max(available // 2, 1)}
    return {}


def _play(order: Order, scenario: str, rng: random.Random, actor) -> None:
    if scenario == "new":
        return
    if scenario == "canceled":
        services.order_cancel(order=order, reason="Customer asked to cancel", actor=actor)
        return
    if scenario == "on_hold":
        services.order_comment_add(order=order, comment="Address to be confirmed with the customer.", actor=actor)
        services.order_hold(order=order, actor=actor)
        return
    if scenario == "partly_invoiced":
        services.invoice_create(order=order, quantities=_first_item_quantities(order, "qty_to_invoice"), actor=actor)
        if rng.random() < 0.5:
            services.order_comment_add(order=order, comment="The rest comes from the supplier next week.",
                                       status=SUPPLIER_STATUS, visible_on_front=True, actor=actor)
        return
    services.invoice_create(order=order, actor=actor)
    if scenario == "partly_shipped":
        items = list(order.items.all())
        if sum(i.qty_ordered for i in items) > 1:  # a single unit cannot ship partly: it stays invoiced only
            first = items[0]
            quantities = {first.pk: first.qty_ordered // 2} if first.qty_ordered > 1 else {first.pk: 1}
            services.shipment_create(order=order, quantities=quantities, tracks=[_track(rng)], actor=actor)
        return
    if scenario == "partly_refunded":
        services.creditmemo_create(order=order, quantities=_first_item_quantities(order, "qty_to_refund"),
                                   shipping_refund=0, comment="One item arrived damaged.", actor=actor)
        return
    services.shipment_create(order=order, tracks=[_track(rng) for _ in range(rng.choice([1, 1, 2]))], actor=actor)
    if scenario == "closed":
        services.creditmemo_create(order=order, return_to_stock=True, reason="CustomerReturn",
                                   comment="Returned within 30 days.", actor=actor)


def _backdate(order: Order, created_at) -> None:
    """Documents and history of a demo order happen after its purchase date, not today."""
    later = min(created_at + timedelta(hours=5), timezone.now())
    for model in (Invoice, Shipment, CreditMemo):
        model.objects.filter(order=order).update(created_at=later)
    for minutes, pk in enumerate(OrderHistory.objects.filter(order=order).order_by("id").values_list("pk", flat=True)):
        OrderHistory.objects.filter(pk=pk).update(created_at=min(created_at + timedelta(minutes=minutes * 47),
                                                                 timezone.now()))


def load_demo_data() -> str:
    """Create the demo stores, catalog, customers and orders; return a one-paragraph summary."""
    if Order.objects.exists():
        states = Counter(Order.objects.values_list("state", flat=True))
        return (f"Demo data not loaded: the database already has {sum(states.values())} orders "
                f"({_states_text(states)}).")
    rng = random.Random(SEED)
    actor = _demo_actor()
    now = timezone.now()
    with transaction.atomic():
        stores, products = _ensure_catalog()
        scenarios = _scenario_list(rng)
        placed = []
        for index, scenario in enumerate(scenarios):
            created_at = now - timedelta(days=30 * (len(scenarios) - index) / len(scenarios),
                                         minutes=rng.randrange(0, 600))
            customer = CUSTOMERS[rng.randrange(len(CUSTOMERS))]
            # A couple of orders send their email, so that the mail folder has examples; the bulk stays quiet.
            order = _place_order(rng, stores, products, customer, created_at, actor, send_email=index < 2)
            try:
                _play(order, scenario, rng, actor)
            except OrderActionError:  # a scenario that does not fit this order's quantities: keep it as placed
                pass
            _backdate(order, created_at)
            placed.append(order)
    states = Counter(Order.objects.values_list("state", flat=True))
    currencies = sorted({o.currency for o in placed})
    return (
        f"Demo data loaded: {len(stores)} stores ({', '.join(s.name for s, *_ in stores.values())}), "
        f"{Product.objects.count()} products ({Product.objects.filter(manage_stock=False).count()} without stock "
        f"management, {Product.objects.filter(enabled=False).count()} disabled), "
        f"{len(CUSTOMERS)} customers ({sum(1 for c in CUSTOMERS if c[3])} with an account) and {len(placed)} "
        f"orders over the last 30 days in "
        f"{', '.join(currencies)}: {_states_text(states)}."
    )


def _states_text(states: Counter) -> str:
    labels = dict(OrderState.choices)
    return ", ".join(f"{count} {str(labels.get(state, state)).lower()}" for state, count in sorted(states.items()))
