"""Reference data of the sandbox: marketplaces, the default SKU catalog, tax rates, names and addresses."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Marketplace:
    code: str
    marketplace_id: str
    name: str  # the v0 SalesChannel / 2026 marketplaceName
    currency: str
    country: str
    order_prefix: str  # first block of the 3-7-7 order id
    tax_rate: Decimal  # sales tax (US) or VAT, applied to item and shipping
    price_factor: Decimal  # converts the catalog's USD base price
    shipping: Decimal  # standard shipping price per line (0 for Prime / FBA)
    minor_units: int  # 0 for JPY

    def quantize(self, amount: Decimal) -> Decimal:
        return amount.quantize(Decimal(1).scaleb(-self.minor_units))

    def fmt(self, amount: Decimal) -> str:
        return str(self.quantize(amount))


MARKETPLACES: dict[str, Marketplace] = {
    m.code: m
    for m in (
        Marketplace("US", "ATVPDKIKX0DER", "Amazon.com", "USD", "US", "111", Decimal("0.0825"), Decimal("1"),
                    Decimal("4.99"), 2),
        Marketplace("UK", "A1F83G8C2ARO7P", "Amazon.co.uk", "GBP", "GB", "202", Decimal("0.20"), Decimal("0.80"),
                    Decimal("3.49"), 2),
        Marketplace("DE", "A1PA6795UKMFR9", "Amazon.de", "EUR", "DE", "302", Decimal("0.19"), Decimal("0.92"),
                    Decimal("3.99"), 2),
        Marketplace("FR", "A13V1IB3VIYZZH", "Amazon.fr", "EUR", "FR", "402", Decimal("0.20"), Decimal("0.92"),
                    Decimal("4.49"), 2),
        Marketplace("JP", "A1VC38T7YXB528", "Amazon.co.jp", "JPY", "JP", "503", Decimal("0.10"), Decimal("150"),
                    Decimal("450"), 0),
    )
}
BY_ID: dict[str, Marketplace] = {m.marketplace_id: m for m in MARKETPLACES.values()}
# Weights of the random marketplace mix (when an order spec names none).
MARKETPLACE_WEIGHTS = {"US": 40, "UK": 15, "DE": 20, "FR": 15, "JP": 10}


def marketplace(value: str | None) -> Marketplace:
    """Accept a code (``US``, ``UK``/``GB``, ``DE``...) or a marketplace id."""
    if value is None:
        raise ValueError("marketplace is required")
    key = value.strip()
    if key.upper() == "GB":
        key = "UK"
    if key.upper() in MARKETPLACES:
        return MARKETPLACES[key.upper()]
    if key in BY_ID:
        return BY_ID[key]
    raise ValueError(f"unknown marketplace {value!r} (use one of {', '.join(MARKETPLACES)} or a marketplace id)")


_ADJECTIVES = ["Ceramic", "Bamboo", "Steel", "Linen", "Walnut", "Cotton", "Glass", "Copper", "Wool", "Cork"]
_NOUNS = ["Mug", "Cutting Board", "Water Bottle"]


@dataclass(frozen=True)
class Sku:
    sku: str
    asin: str
    title: str
    base_price: Decimal  # USD

    def price_in(self, mp: Marketplace) -> Decimal:
        price = mp.quantize(self.base_price * mp.price_factor)
        if mp.minor_units == 0:
            price = (price / 10).quantize(Decimal(1)) * 10  # JPY prices end in 0
        return price


def _default_skus() -> list[Sku]:
    skus = []
    for n in range(1, 31):
        adjective = _ADJECTIVES[(n - 1) % len(_ADJECTIVES)]
        noun = _NOUNS[(n - 1) // len(_ADJECTIVES)]
        price = Decimal("7.99") + Decimal(n * 3) + Decimal("0.50") * (n % 3)
        skus.append(Sku(f"SANDBOX-SKU-{n:03d}", f"B0SANDB{n:03d}", f"Sandbox {adjective} {noun}", price))
    return skus


DEFAULT_SKUS: list[Sku] = _default_skus()
SKUS_BY_NAME = {s.sku: s for s in DEFAULT_SKUS}


def sku(name: str) -> Sku:
    """A catalog SKU, or a stable made-up one for names outside the default catalog."""
    if name in SKUS_BY_NAME:
        return SKUS_BY_NAME[name]
    digest = sum(ord(c) * (i + 1) for i, c in enumerate(name))
    return Sku(name, f"B0X{digest % 10_000_000:07d}", f"Sandbox item {name}", Decimal("10.00") + digest % 50)


# Buyers and addresses per country: realistic shapes, including non-ASCII names and streets.
PEOPLE = {
    "US": ["John Smith", "María José García", "Zoë Carter", "Chloé Nguyen", "Björn Anderson", "Ana Lucía Pérez"],
    "GB": ["James Wilson", "Siân Evans", "Ciarán O'Brien", "Amelia Hughes", "Zoë Ellis"],
    "DE": ["Jürgen Weiß", "Ömer Yılmaz", "Anna Müller", "Lukas Schäfer", "Käthe Groß"],
    "FR": ["François Lefèvre", "Hélène Dupré", "Zoé Gauthier", "Loïc Bénard", "Maëlle Rousseau"],
    "JP": ["山田 太郎", "佐藤 花子", "鈴木 一郎", "高橋 美咲", "田中 健"],
}
ADDRESSES = {
    "US": [("123 Main Street", "Apt 4B", "Seattle", "WA", "98101", "King County"),
           ("500 Elm Ave", "", "Austin", "TX", "78701", "Travis County"),
           ("77 Ocean Drive", "Suite 200", "Miami", "FL", "33139", "Miami-Dade")],
    "GB": [("12 High Street", "Flat 3", "Manchester", "Greater Manchester", "M1 2AB", ""),
           ("4 Queen's Road", "", "Cardiff", "Cardiff", "CF10 1AA", "")],
    "DE": [("Königstraße 12", "Hinterhaus", "Stuttgart", "Baden-Württemberg", "70173", ""),
           ("Große Bäckerstraße 5", "", "Hamburg", "Hamburg", "20095", ""),
           ("Straße des 17. Juni 100", "", "Berlin", "Berlin", "10557", "")],
    "FR": [("8 rue de l'Église", "Bâtiment B", "Lyon", "Rhône", "69002", ""),
           ("21 avenue des Champs-Élysées", "", "Paris", "Île-de-France", "75008", "")],
    "JP": [("千代田区丸の内1-1-1", "パレスビル5階", "東京都", "東京都", "100-0005", ""),
           ("北区梅田3-1-3", "", "大阪市", "大阪府", "530-0001", "")],
}
PHONES = {"US": "+1 206-555-0142", "GB": "+44 161 496 0000", "DE": "+49 30 901820", "FR": "+33 1 99 00 12 34",
          "JP": "+81 3-1234-5678"}
SHIP_SERVICE_LEVELS = {
    "MFN": [("Std US D2D Dom", "Standard"), ("Expedited", "Expedited"), ("NextDay", "NextDay")],
    "AFN": [("Standard", "Standard"), ("Expedited", "Expedited")],
}
# 2026-01-01 fulfillmentServiceLevel for a v0 ShipmentServiceLevelCategory.
SERVICE_LEVEL_2026 = {"Standard": "STANDARD", "Expedited": "EXPEDITED", "NextDay": "NEXT_DAY",
                      "SecondDay": "SECOND_DAY", "Scheduled": "SCHEDULED", "FreeEconomy": "FREE_ECONOMY"}
GIFT_MESSAGES = ["Happy birthday!", "Joyeux anniversaire !", "Alles Gute zum Geburtstag!", "お誕生日おめでとう！",
                 "Congratulations 🎉"]
