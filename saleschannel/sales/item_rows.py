"""The item rows of the order page, the new invoice / shipment / credit memo pages and the document pages.

An order may have 10,000 lines. Through the template engine each row's dozen ``{{ … }}`` (a money filter, a
translation, an integer to localize, each escaped) took about 0.1 ms, most of a second per page; here each row is
one string format over values escaped once, with amounts from one money writer (the text of the ``money`` filter)
and the words translated once per page. The markup is the one the templates had (the tables' ``<tbody>`` only; the
pages' templates keep everything else). What a line allows still comes from the models, rules and forms
(``OrderItem.item_status``, ``rules.item_tax_percent``, the document forms' ``qty_limit`` and ``line_inputs``).
"""

from __future__ import annotations

from django.template.defaultfilters import floatformat, yesno
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from saleschannel.core.money import money_formatter
from saleschannel.sales import rules


def _html(template: str, *values) -> str:
    """``template`` (markup with ``{}`` slots) with every value escaped (safe strings, e.g. inputs, as they are)."""
    return template.format(*map(conditional_escape, values))


def _rows(rows: list[str]) -> SafeString:
    return mark_safe("".join(rows))  # noqa: S308 - every value went through _html's escaping


def _words() -> dict[str, str]:
    """The words of the rows, translated and escaped once per page."""
    return {word: conditional_escape(text) for word, text in (
        ("SKU", _("SKU")), ("Ordered", _("Ordered")), ("Invoiced", _("Invoiced")), ("Shipped", _("Shipped")),
        ("Refunded", _("Refunded")), ("Canceled", _("Canceled")),
    )}


def _quantities(item, words: dict[str, str], shown: tuple[tuple[str, str, bool], ...]) -> str:
    """"Ordered 2<br>Invoiced 1…": the ordered quantity, then each of ``shown`` ((word, attribute, always)) that is
    above zero or always shown."""
    text = f"{words['Ordered']} {item.qty_ordered}"
    for word, attribute, always in shown:
        qty = getattr(item, attribute)
        if qty or always:
            text += f"<br>{words[word]} {qty}"
    return text


ORDER_ROW = (
    '\n    <tr data-sku="{0}">\n      <td>{1}<div class="muted">{2}: {0}</div></td>\n      <td>{3}</td>\n'
    '      <td class="num">{4}</td>\n      <td class="num">{5}</td>\n'
    '      <td class="item-qtys" style="white-space:nowrap">{6}</td>\n      <td class="num">{7}</td>\n'
    '      <td class="num">{8}</td>\n      <td class="num">{9}</td>\n      <td class="num">{10}</td>\n'
    '      <td class="num">{11}</td>\n    </tr>'
)
ORDER_QUANTITIES = (("Invoiced", "qty_invoiced", False), ("Shipped", "qty_shipped", False),
                    ("Refunded", "qty_refunded", False), ("Canceled", "qty_canceled", False))


def order_rows(items, currency: str) -> SafeString:
    """The order page's "Items Ordered" rows."""
    money = money_formatter(currency)
    words = _words()
    percents: dict = {}  # a few distinct rates per order: each written once
    rows = []
    for item in items:
        percent = rules.item_tax_percent(item)
        if percent not in percents:
            percents[percent] = "—" if percent is None else f"{floatformat(percent, 2)}%"
        rows.append(_html(
            ORDER_ROW, item.sku, item.name, words["SKU"], item.item_status.label, money(item.original_price),
            money(item.price), mark_safe(_quantities(item, words, ORDER_QUANTITIES)),  # noqa: S308 - numbers, words
            money(item.row_total), money(item.tax_amount), percents[percent], money(item.discount_amount),
            money(item.row_total_incl_tax),
        ))
    return _rows(rows)


# The new-document pages: the product, then per kind the columns before the input, the input, the columns after it.
PRODUCT = '\n      <tr data-sku="{0}"><td>{1}<div class="muted">{2}: {0}</div></td>'
QTY = '\n        <td class="{}">{}{}</td>'
AMOUNTS = '\n        <td class="num">{}</td><td class="num">{}</td><td class="num">{}</td></tr>'
NEW_DOCUMENT = {  # the quantities shown per kind (a credit memo's lines are all invoiced: always shown)
    "invoice": (("Invoiced", "qty_invoiced", False),),
    "shipment": (("Shipped", "qty_shipped", False),),
    "creditmemo": (("Invoiced", "qty_invoiced", True), ("Shipped", "qty_shipped", False),
                   ("Refunded", "qty_refunded", False)),
}


def new_document_rows(form, currency: str) -> SafeString:
    """The lines of a new invoice / shipment / credit memo page (``form.kind``), with their inputs
    (``form.line_inputs``)."""
    money = money_formatter(currency)
    words = _words()
    kind = form.kind
    shown = NEW_DOCUMENT[kind]
    rows = []
    for item, qty, errors, *stock in form.line_inputs():
        row = _html(PRODUCT, item.sku, item.name, words["SKU"])
        if kind != "shipment":
            row += _html('<td class="num">{}</td>', money(item.price))
        quantities = _quantities(item, words, shown)
        row += f"\n        <td>{quantities}</td>"
        if stock:
            row += f"\n        <td>{stock[0]}</td>"
        row += _html(QTY, "field-error" if errors else "", qty, errors or "")
        if kind == "shipment":
            row += "</tr>"
        else:
            row += _html(AMOUNTS, money(item.row_total), money(item.tax_amount), money(item.discount_amount))
        rows.append(row)
    return _rows(rows)


DOCUMENT_ROW = '<tr><td>{0}<div class="muted">{1}: {2}</div></td>\n    '


def document_rows(lines, kind: str, currency: str) -> SafeString:
    """The lines of an invoice, shipment or credit memo page (each line with its ``order_item``)."""
    money = money_formatter(currency)
    sku = _words()["SKU"]
    yes_no = {True: yesno(True), False: yesno(False)}  # the ``yesno`` filter's words, translated once
    rows = []
    for line in lines:
        row = _html(DOCUMENT_ROW, line.order_item.name, sku, line.order_item.sku)
        if kind != "shipment":
            row += _html('<td class="num">{}</td>', money(line.price))
        row += f'<td class="num">{line.qty}</td>\n    '
        if kind == "creditmemo":
            row += _html("<td>{}</td>\n    ", yes_no[bool(line.back_to_stock)])
        if kind != "shipment":
            row += _html('<td class="num">{}</td><td class="num">{}</td><td class="num">{}</td>',
                         money(line.row_total), money(line.tax_amount), money(line.discount_amount))
        rows.append(row + "</tr>\n")
    return _rows(rows)
