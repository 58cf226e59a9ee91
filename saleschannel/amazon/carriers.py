"""Carriers Amazon recognises, per marketplace, and the shape of their tracking numbers (issue 15, §8.4 VTR).

One table, one rule: ``shipment_warnings(carrier_code, title, number, marketplace_id)`` says (without refusing
anything) when a shipment's carrier is not on Amazon's list for the marketplace — the shipment then does not count
as validly tracked — or when the tracking number does not look like one of that carrier's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

from saleschannel.amazon.marketplaces import MARKETPLACES
from saleschannel.amazon.metrics import TRACKABLE_CARRIERS


@dataclass(frozen=True)
class CarrierRule:
    amazon_code: str  # Amazon's carrier code
    regions: frozenset[str]  # marketplace country codes where Amazon lists it; empty: everywhere
    patterns: tuple[re.Pattern, ...]  # tracking number shapes (spaces removed, upper case)


def _re(*patterns: str) -> tuple[re.Pattern, ...]:
    return tuple(re.compile(rf"^(?:{p})$") for p in patterns)


EU = frozenset({"UK", "FR", "DE", "IT", "ES", "NL", "BE", "IE", "SE", "PL", "AT"})
# Our carrier codes (sales.models.Carrier) → what Amazon expects.
CARRIERS: dict[str, CarrierRule] = {
    "ups": CarrierRule("UPS", frozenset(), _re(r"1Z[0-9A-Z]{16}", r"T\d{10}", r"\d{9}", r"\d{26}")),
    "usps": CarrierRule("USPS", frozenset({"US"}),
                        _re(r"9[2345]\d{20}", r"9[2345]\d{24}", r"[A-Z]{2}\d{9}US", r"82\d{8}")),
    "fedex": CarrierRule("FedEx", frozenset(), _re(r"\d{12}", r"\d{15}", r"\d{20}", r"\d{22}")),
    "dhl": CarrierRule("DHL", frozenset(), _re(r"\d{10,11}", r"JJD\d{18,20}", r"JVGL\d{16,20}",
                                               r"00\d{18}", r"[A-Z]{2}\d{9}DE", r"\d{12,14}", r"\d{20}")),
    "royal_mail": CarrierRule("Royal Mail", frozenset({"UK"}), _re(r"[A-Z]{2}\d{9}GB")),
    "dpd": CarrierRule("DPD", EU, _re(r"\d{14}", r"\d{10}", r"0\d{13}[A-Z0-9]?")),
    "gls": CarrierRule("GLS", EU, _re(r"\d{11,12}", r"[A-Z0-9]{8}", r"\d{20}")),
    "colissimo": CarrierRule("Colissimo", frozenset({"FR", "BE"}),
                             _re(r"\d[A-Z]\d{11}", r"[A-Z]{2}\d{9}FR", r"[A-Z]{2}\d{11}")),
    "chronopost": CarrierRule("Chronopost", frozenset({"FR", "BE"}),
                              _re(r"[A-Z]{2}\d{9}[A-Z]{2}", r"[A-Z]{2}\d{11}", r"\d{13,14}")),
}
# A custom carrier (sent to Amazon as "Other" with its name): the shapes of the common ones, by lower-case name.
NAMED: dict[str, tuple[re.Pattern, ...]] = {
    "la poste": _re(r"\d[A-Z]\d{11}", r"[A-Z]{2}\d{9}FR"),
    "deutsche post": _re(r"[A-Z]{2}\d{9}DE", r"\d{20}", r"JJD\d{18,20}"),
    "dhl de": _re(r"\d{12,14}", r"JJD\d{18,20}", r"\d{20}"),
    "parcelforce": _re(r"[A-Z]{2}\d{7}", r"[A-Z]{2}\d{9}GB"),
    "evri": _re(r"[A-Z0-9]{16}"), "hermes": _re(r"[A-Z0-9]{16}"),
    "mondial relay": _re(r"\d{8}", r"\d{12}"),
}


def _patterns(carrier_code: str, title: str) -> tuple[re.Pattern, ...] | None:
    if carrier_code in CARRIERS:
        return CARRIERS[carrier_code].patterns
    return NAMED.get((title or "").strip().lower())


def normal_number(number: str) -> str:
    return re.sub(r"[\s-]", "", number or "").upper()


def number_fits(carrier_code: str, number: str, title: str = "") -> bool:
    """Whether ``number`` has one of the carrier's shapes (True for carriers without a known shape)."""
    patterns = _patterns(carrier_code, title)
    return patterns is None or any(p.match(normal_number(number)) for p in patterns)


def recognised(carrier_code: str, marketplace_id: str, title: str = "") -> bool:
    """Whether Amazon lists the carrier for ``marketplace_id`` (an unknown marketplace: any known carrier). A custom
    carrier counts when its name is on Amazon's list (``metrics.TRACKABLE_CARRIERS``, what the VTR counts)."""
    rule = CARRIERS.get(carrier_code)
    if rule is None:
        names = {name.lower() for name in TRACKABLE_CARRIERS}
        return (title or "").strip().lower() in names
    market = MARKETPLACES.get(marketplace_id)
    return not rule.regions or market is None or market.code in rule.regions


def shipment_warnings(*, carrier_code: str, title: str, number: str, marketplace_id: str) -> list[str]:
    """Why a shipment's tracking may not count as valid for Amazon (empty: nothing to say)."""
    warnings = []
    market = MARKETPLACES.get(marketplace_id)
    where = str(market.country) if market else marketplace_id
    name = title or carrier_code
    if not recognised(carrier_code, marketplace_id, title):
        warnings.append(_("Amazon does not recognise the carrier %(carrier)s on %(marketplace)s: the shipment is sent "
                          "as \"Other\" and does not count as validly tracked (Valid Tracking Rate, target above "
                          "95 %%).") % {"carrier": name, "marketplace": where})
    if not number.strip():
        warnings.append(_("The shipment has no tracking number: it does not count as validly tracked (Valid "
                          "Tracking Rate)."))
    elif not number_fits(carrier_code, number, title):
        warnings.append(_("The tracking number %(number)s does not look like a %(carrier)s tracking number. Check it: "
                          "Amazon may not be able to follow it.") % {"number": number, "carrier": name})
    return warnings
