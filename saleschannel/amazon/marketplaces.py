"""Amazon's marketplaces: id, country and the currency each one sells in (Amazon's "Marketplace IDs" reference).

python-amazon-sp-api's ``Marketplaces`` enum knows the ids and endpoints but not the currencies; this table adds
them. ``services`` uses it to refuse linking a marketplace to a Commerce store in another currency (every order of
that marketplace would fail to import). A test keeps it in step with the library's enum.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Marketplace:
    id: str
    code: str  # the library's enum name / country code
    country: str  # lazy translation
    currency: str
    region: str  # NA, EU or FE


MARKETPLACES: dict[str, Marketplace] = {m.id: m for m in (
    # North America
    Marketplace("A2EUQ1WTGCTBG2", "CA", _("Canada"), "CAD", "NA"),
    Marketplace("ATVPDKIKX0DER", "US", _("United States"), "USD", "NA"),
    Marketplace("A1AM78C64UM0Y8", "MX", _("Mexico"), "MXN", "NA"),
    Marketplace("A2Q3Y263D00KWC", "BR", _("Brazil"), "BRL", "NA"),
    # Europe, Middle East, Africa and India
    Marketplace("A28R8C7NBKEWEA", "IE", _("Ireland"), "EUR", "EU"),
    Marketplace("A1RKKUPIHCS9HS", "ES", _("Spain"), "EUR", "EU"),
    Marketplace("A1F83G8C2ARO7P", "UK", _("United Kingdom"), "GBP", "EU"),
    Marketplace("A13V1IB3VIYZZH", "FR", _("France"), "EUR", "EU"),
    Marketplace("AMEN7PMS3EDWL", "BE", _("Belgium"), "EUR", "EU"),
    Marketplace("A1805IZSGTT6HS", "NL", _("Netherlands"), "EUR", "EU"),
    Marketplace("A1PA6795UKMFR9", "DE", _("Germany"), "EUR", "EU"),
    Marketplace("APJ6JRA9NG5V4", "IT", _("Italy"), "EUR", "EU"),
    Marketplace("A2NODRKZP88ZB9", "SE", _("Sweden"), "SEK", "EU"),
    Marketplace("AE08WJ6YKNBMC", "ZA", _("South Africa"), "ZAR", "EU"),
    Marketplace("A1C3SOZRARQ6R3", "PL", _("Poland"), "PLN", "EU"),
    Marketplace("ARBP9OOSHTCHU", "EG", _("Egypt"), "EGP", "EU"),
    Marketplace("A33AVAJ2PDY3EV", "TR", _("Turkey"), "TRY", "EU"),
    Marketplace("A17E79C6D8DWNP", "SA", _("Saudi Arabia"), "SAR", "EU"),
    Marketplace("A2VIGQ35RCS4UG", "AE", _("United Arab Emirates"), "AED", "EU"),
    Marketplace("A21TJRUUN4KGV", "IN", _("India"), "INR", "EU"),
    # Far East
    Marketplace("A19VAU5U5O7RUS", "SG", _("Singapore"), "SGD", "FE"),
    Marketplace("A39IBJ37TRP1C6", "AU", _("Australia"), "AUD", "FE"),
    Marketplace("A1VC38T7YXB528", "JP", _("Japan"), "JPY", "FE"),
)}


def marketplace(marketplace_id: str) -> Marketplace | None:
    """The marketplace with this id, or None for an id Amazon's reference does not list (yet)."""
    return MARKETPLACES.get(marketplace_id)
