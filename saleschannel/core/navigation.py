"""The back office's navigation menu, with a registry other apps fill (the Amazon channel adds its entries).

``register(section, label, url_name, *, permission=None, order=100)`` adds an entry under a section. The built-in
sections are Dashboard, Sales, Catalog, Customers, Amazon and Settings; the Amazon section is empty until the
Amazon channel registers its screens (it is then shown).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

SECTIONS = {
    "dashboard": _("Dashboard"),
    "sales": _("Sales"),
    "catalog": _("Catalog"),
    "customers": _("Customers"),
    "amazon": _("Amazon"),
    "settings": _("Settings"),
}


@dataclass(frozen=True)
class MenuEntry:
    section: str
    label: str
    url_name: str
    permission: str | None = None
    order: int = 100
    url_kwargs: tuple = ()


_entries: list[MenuEntry] = []


def register(section: str, label, url_name: str, *, permission: str | None = None, order: int = 100) -> None:
    """Add a menu entry. ``label`` should be a lazy translation; ``url_name`` a URL name to reverse."""
    if section not in SECTIONS:
        raise ValueError(f"unknown navigation section {section!r}")
    entry = MenuEntry(section, label, url_name, permission, order)
    if entry not in _entries:
        _entries.append(entry)


def registered_entries(section: str) -> list[MenuEntry]:
    return sorted((e for e in _entries if e.section == section), key=lambda e: e.order)


def menu_for(user, current_path: str = "") -> list[dict]:
    """Sections with the entries ``user`` may see, each entry with its url and whether it is the current page."""
    menu = []
    for key, title in SECTIONS.items():
        items = []
        for entry in registered_entries(key):
            if entry.permission and not user.has_perm(entry.permission):
                continue
            try:
                url = reverse(entry.url_name)
            except NoReverseMatch:
                continue
            active = url == current_path if url == "/" else current_path.startswith(url)
            items.append({"label": entry.label, "url": url, "active": active})
        if items or key == "amazon":
            menu.append({"key": key, "title": title, "items": items})
    return menu


# The entries of the back office itself.
register("dashboard", _("Dashboard"), "web:dashboard", order=0)
register("sales", _("Orders"), "sales:order_list", permission="sales.view_order", order=10)
register("sales", _("Invoices"), "sales:invoice_list", permission="sales.view_invoice", order=20)
register("sales", _("Shipments"), "sales:shipment_list", permission="sales.view_shipment", order=30)
register("sales", _("Credit Memos"), "sales:creditmemo_list", permission="sales.view_creditmemo", order=40)
register("catalog", _("Products"), "catalog:product_list", permission="catalog.view_product", order=10)
register("customers", _("All Customers"), "customers:customer_list", permission="customers.view_customer", order=10)
register("settings", _("Order Statuses"), "web:status_list", permission="sales.change_orderstatus", order=10)
register("settings", _("Stores"), "web:store_list", permission="catalog.change_store", order=20)
register("settings", _("Users"), "web:user_list", permission="auth.change_user", order=30)
