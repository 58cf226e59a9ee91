"""French translations of the sales, catalog and customers apps: complete, compiled, and in the glossary's words."""

from __future__ import annotations

import ast
import gettext
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.utils import translation
from django.utils.translation import gettext as _

import saleschannel
from saleschannel.catalog.models import Product, Store
from saleschannel.customers.models import Customer
from saleschannel.sales import rules
from saleschannel.sales.models import Carrier, CreditMemo, Order, OrderItem, OrderState, ShipmentTrack

APPS = ("sales", "catalog", "customers")
PACKAGE_DIR = Path(saleschannel.__file__).parent
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%[sd]")


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str = ""
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)


def read_po(path: Path) -> list[Entry]:
    """The translated entries of a .po file (the header excluded)."""
    entries: list[Entry] = []
    entry, target = Entry(), None
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if entry.msgid or entry.msgstr:
                entries.append(entry)
            entry, target = Entry(), None
        elif line.startswith("#,"):
            entry.flags |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        else:
            keyword, _space, rest = line.partition(" ")
            if line.startswith('"'):
                keyword, rest = target, line
            text = ast.literal_eval(rest)
            if keyword.startswith("msgstr"):
                index = int(keyword[7:-1]) if "[" in keyword else 0
                entry.msgstr[index] = entry.msgstr.get(index, "") + text
            else:
                setattr(entry, keyword, (getattr(entry, keyword) or "") + text)
            target = keyword
    return [entry for entry in entries if entry.msgid]


def po_path(app: str) -> Path:
    return PACKAGE_DIR / app / "locale" / "fr" / "LC_MESSAGES" / "django.po"


@pytest.mark.parametrize("app", APPS)
def test_every_message_is_translated(app):
    entries = read_po(po_path(app))

    assert entries, f"{app} has no French messages"
    untranslated = [e.msgid for e in entries if not all(e.msgstr.values()) or not e.msgstr]
    fuzzy = [e.msgid for e in entries if "fuzzy" in e.flags]
    assert untranslated == []
    assert fuzzy == []


@pytest.mark.parametrize("app", APPS)
def test_translations_keep_their_placeholders(app):
    for entry in read_po(po_path(app)):
        expected = sorted(PLACEHOLDER.findall(entry.msgid))
        for msgstr in entry.msgstr.values():
            assert sorted(PLACEHOLDER.findall(msgstr)) == expected, entry.msgid


@pytest.mark.parametrize("app", APPS)
def test_compiled_catalog_matches_the_po_file(app):
    """The committed .mo was compiled from the current .po (run compilemessages after editing it)."""
    path = po_path(app)
    with path.with_suffix(".mo").open("rb") as mo_file:
        catalog = gettext.GNUTranslations(mo_file)

    for entry in read_po(path):
        if not all(entry.msgstr.values()) or "fuzzy" in entry.flags:
            continue  # not compiled on purpose; test_every_message_is_translated reports it
        if entry.msgid_plural:
            assert catalog.ngettext(entry.msgid, entry.msgid_plural, 1) == entry.msgstr[0]
            assert catalog.ngettext(entry.msgid, entry.msgid_plural, 5) == entry.msgstr[1]
        elif entry.msgctxt is not None:
            assert catalog.pgettext(entry.msgctxt, entry.msgid) == entry.msgstr[0]
        else:
            assert catalog.gettext(entry.msgid) == entry.msgstr[0], entry.msgid


def test_glossary_words_in_french():
    with translation.override("fr"):
        assert _("Credit Memo") == "Avoir"
        assert _("Tracking Number") == "Numéro de suivi"
        assert _("Carrier") == "Transporteur"
        assert _("Grand Total") == "Total général"
        assert _("Shipping & Handling") == "Frais de port et de manutention"
        assert _("Billing Address") == "Adresse de facturation"
        assert _("Notify Customer by Email") == "Informer le client par e-mail"
        assert _("Return to Stock") == "Remettre en stock"
        assert _("Adjustment Fee") == "Frais d'ajustement"
        assert _("Update Qty's") == "Mettre à jour les quantités"
        assert _("Amazon Order Number") == "Numéro de commande Amazon"
        assert _("Notes for this Order") == "Remarques sur cette commande"


def test_model_names_and_choices_in_french():
    with translation.override("fr"):
        assert str(Order._meta.verbose_name) == "commande"
        assert str(Order._meta.get_field("grand_total").verbose_name) == "total général"
        assert str(OrderItem._meta.get_field("qty_shipped").verbose_name) == "qté expédiée"
        assert str(CreditMemo._meta.get_field("adjustment_refund").verbose_name) == "remboursement d'ajustement"
        assert str(ShipmentTrack._meta.get_field("number").verbose_name) == "numéro de suivi"
        assert str(OrderState.HOLDED.label) == "Bloquée"
        assert str(OrderState.CANCELED.label) == "Annulée"
        assert str(OrderState.CLOSED.label) == "Clôturée"
        assert str(OrderState.COMPLETE.label) == "Terminée"
        assert str(Carrier.CUSTOM.label) == "Valeur personnalisée"
        assert str(Store._meta.verbose_name) == "magasin"
        assert str(Product._meta.get_field("qty_reserved").verbose_name) == "quantité réservée"
        assert str(Customer._meta.verbose_name_plural) == "clients"


def test_rule_reasons_in_french():
    held = Order(state=OrderState.HOLDED, origin="backoffice")

    with translation.override("fr"):
        verdict = rules.check(held, rules.Action.INVOICE)
        assert not verdict
        assert str(verdict.reason) == "La commande est bloquée. Débloquez-la d'abord."
        assert str(rules.check(held, rules.Action.HOLD).reason) == "La commande est déjà bloquée."
    with translation.override("en"):
        assert str(rules.check(held, rules.Action.INVOICE).reason) == "The order is on hold. Release the hold first."
