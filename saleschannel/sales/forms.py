"""Forms of the sales screens: grid filters, comments, and the new invoice / shipment / credit memo pages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from saleschannel.catalog.models import Store
from saleschannel.core.money import MAX_AMOUNT, MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS, minor_units
from saleschannel.sales.ids import parse_id
from saleschannel.sales.models import Carrier, OrderStatus

ORIGIN_CHOICES = [("", _("Any")), ("amazon", _("Amazon")), ("other", _("Other than Amazon"))]
PAGE_SIZES = (20, 30, 50, 100, 200)
DateInput = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
# Dates a filter accepts: a day before or after these is a form error (the grids compute the next day's midnight
# in the user's time zone, which does not exist for 9999-12-31).
FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(9998, 12, 31)


def date_filter(label) -> forms.DateField:
    return forms.DateField(label=label, required=False, widget=DateInput,
                           validators=[MinValueValidator(FIRST_DAY), MaxValueValidator(LAST_DAY)])

# --- Ids ---------------------------------------------------------------------------------------------------------

class IdListField(forms.Field):
    """A list of primary keys (a multi-valued form key); any value that is not an id makes the field invalid."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {
        "invalid": _("“%(value)s” is not a valid id."),
        "too_many": _("Select at most %(max)d items at once."),
    }

    def __init__(self, *, max_count: int = 10_000, **kwargs):
        self.max_count = max_count
        super().__init__(**kwargs)

    def to_python(self, value) -> list[int]:
        if value in self.empty_values:
            return []
        values = value if isinstance(value, list | tuple) else [value]
        if len(values) > self.max_count:
            raise forms.ValidationError(self.error_messages["too_many"], code="too_many",
                                        params={"max": self.max_count})
        ids = []
        for raw in values:
            number = parse_id(raw)
            if number is None:
                raise forms.ValidationError(self.error_messages["invalid"], code="invalid",
                                            params={"value": str(raw)[:40]})
            ids.append(number)
        return list(dict.fromkeys(ids))


# --- Amounts -----------------------------------------------------------------------------------------------------

def money_field(label, *, currency: str | None = None, **kwargs) -> forms.DecimalField:
    """A form field for an amount that fits a money column: at most ``MAX_AMOUNT`` and, given the currency, no more
    decimals than it has (``1e30`` or ``0.001`` are form errors, never a failure further on)."""
    places = minor_units(currency) if currency else MONEY_DECIMAL_PLACES
    max_value = min(kwargs.pop("max_value", MAX_AMOUNT), MAX_AMOUNT)
    return forms.DecimalField(
        label=label, max_digits=MONEY_MAX_DIGITS - MONEY_DECIMAL_PLACES + places, decimal_places=places,
        max_value=max_value, **kwargs,
    )


# --- Widgets fast enough for 10,000 lines ------------------------------------------------------------------------

class _FastRender:
    """Renders the ``<input>`` directly instead of through the template engine.

    Django's widget templates cost about a millisecond per field; a 10,000-line credit memo has 20,000 fields.
    The markup is that of Django's ``input.html``: every value escaped, True as a bare attribute, False and None left
    out.
    """

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        parts = [f'<input type="{escape(widget["type"])}" name="{escape(widget["name"])}"']
        if widget.get("value") is not None:
            parts.append(f' value="{escape(widget["value"])}"')
        for key, item in widget["attrs"].items():
            if item is True:
                parts.append(f" {escape(key)}")
            elif item is not False and item is not None:
                parts.append(f' {escape(key)}="{escape(item)}"')
        parts.append(">")
        return mark_safe("".join(parts))  # noqa: S308 - every part above is escaped


class QuantityInput(_FastRender, forms.NumberInput):
    pass


class OrderGridFilterForm(forms.Form):
    """The order grid's filters, read from the query string."""

    q = forms.CharField(label=_("Keyword"), required=False, max_length=200)
    created_from = date_filter(_("Purchase date from"))
    created_to = date_filter(_("Purchase date to"))
    status = forms.MultipleChoiceField(
        label=_("Status"), required=False, widget=forms.SelectMultiple(attrs={"size": 4})
    )
    store = forms.MultipleChoiceField(label=_("Store"), required=False, widget=forms.SelectMultiple(attrs={"size": 4}))
    total_min = money_field(_("Grand total from"), required=False, min_value=0)
    total_max = money_field(_("Grand total to"), required=False, min_value=0)
    bill_to = forms.CharField(label=_("Bill-to Name"), required=False, max_length=128)
    ship_to = forms.CharField(label=_("Ship-to Name"), required=False, max_length=128)
    origin = forms.ChoiceField(label=_("Origin"), required=False, choices=ORIGIN_CHOICES)

    def __init__(self, *args, statuses: list[tuple[str, str]] | None = None, stores=None, **kwargs):
        super().__init__(*args, **kwargs)
        if statuses is None:
            statuses = list(OrderStatus.objects.values_list("code", "label"))
        if stores is None:
            stores = [(str(pk), name) for pk, name in Store.objects.values_list("pk", "name")]
        self.fields["status"].choices = statuses
        self.fields["store"].choices = stores


class DocumentGridFilterForm(forms.Form):
    q = forms.CharField(label=_("Keyword"), required=False, max_length=200)
    created_from = date_filter(_("Created from"))
    created_to = date_filter(_("Created to"))


class CommentForm(forms.Form):
    comment = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 3}), required=True)
    status = forms.ChoiceField(label=_("Status"), required=False)
    notify_customer = forms.BooleanField(label=_("Notify Customer by Email"), required=False)
    visible_on_front = forms.BooleanField(label=_("Visible on Storefront"), required=False)

    def __init__(self, *args, order=None, **kwargs):
        super().__init__(*args, **kwargs)
        choices = []
        if order is not None:
            choices = [(code, gettext(label))
                       for code, label in OrderStatus.objects.filter(state=order.state).values_list("code", "label")]
            self.fields["status"].initial = order.status
        self.fields["status"].choices = choices


# The checks of every document line but its limit, and of its "Return to Stock" checkbox (fields shared by the lines,
# outside the forms: a field declared on a form would be one of its fields).
_QUANTITY = forms.IntegerField(min_value=0)
_STOCK = forms.BooleanField(required=False)


class DocumentForm(forms.Form):
    """Base for the new invoice / shipment / credit memo pages: one quantity per order line.

    ``qty_limit(item)`` says how many units of a line may go on the document; quantity inputs are named
    ``qty_<order_item_id>`` and start at that limit, as in the reference back office.

    The lines are not form fields (10,000 lines would be 10,000 fields to build, clean and render at tens of
    microseconds each): they are read in one pass by ``_clean_lines`` with the checks and messages of an
    ``IntegerField(min_value=0, max_value=limit)`` (the field itself checks any value that is not plain digits), and
    written by ``line_inputs`` with that field's markup. A line with an error becomes a real field (``add_error``), so
    its input, its message and ``form.errors`` are exactly Django's.
    """

    comment = forms.CharField(label=_("Comment Text"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    notify_customer = forms.BooleanField(label=_("Email Copy"), required=False)

    def __init__(self, *args, order, **kwargs):
        self.order = order
        self.items = [item for item in order.items.all() if self.qty_limit(item) > 0]
        self.line_items = {f"qty_{item.pk}": item for item in self.items}
        super().__init__(*args, **kwargs)

    @staticmethod
    def qty_limit(item) -> int:
        raise NotImplementedError

    def has_field(self, name: str) -> bool:
        """True when ``name`` is a field or a line of the form (an error can be shown next to it)."""
        return name in self.fields or name in self.line_items

    def _line_field(self, item) -> forms.IntegerField:
        limit = self.qty_limit(item)
        return forms.IntegerField(
            label=item.sku, min_value=0, max_value=limit, initial=limit,
            widget=QuantityInput(attrs={"class": "qty", "min": 0, "max": limit}),
        )

    def add_error(self, field, error):
        if field in self.line_items and field not in self.fields:
            self.fields[field] = self._line_field(self.line_items[field])
        super().add_error(field, error)

    def _clean_fields(self):
        super()._clean_fields()
        self._clean_lines()

    def _clean_lines(self) -> None:
        for name, item in self.line_items.items():
            raw, limit = self.data.get(name), self.qty_limit(item)
            try:
                if type(raw) is str and len(raw) < 10 and raw.isascii() and raw.isdigit():
                    value = int(raw)  # the usual case: what the field would give, without its machinery
                else:
                    value = _QUANTITY.clean(raw)
                if value > limit:
                    MaxValueValidator(limit)(value)
            except forms.ValidationError as error:
                self.add_error(name, error)
            else:
                self.cleaned_data[name] = value

    def value(self, name: str):
        """A field's valid value, or its initial value while the form is not submitted (what the page shows)."""
        if self.is_bound:
            return self.cleaned_data.get(name)
        if name in self.line_items:
            return self.qty_limit(self.line_items[name])
        return self.get_initial_for_field(self.fields[name], name)

    def quantities(self) -> dict[int, int]:
        """{order_item_id: qty} from valid data, or the initial quantities (only the lines with a quantity above
        zero)."""
        wanted = {item.pk: self.value(f"qty_{item.pk}") for item in self.items}
        return {item_id: qty for item_id, qty in wanted.items() if qty}

    def document_input(self) -> dict:
        """The keywords the page's service (``*_create`` and its ``*_preview``) takes from the form: the one source
        of what the preview shows and the document then holds."""
        return {"quantities": self.quantities()}

    def line_inputs(self):
        """(item, quantity input, its errors) for every line: the input as ``_line_field``'s widget writes it."""
        errors = self.errors if self.is_bound else {}
        lines = []
        for name, item in self.line_items.items():
            if name in errors:
                field = self[name]
                lines.append((item, field.as_widget(), field.errors))
                continue
            value = self.data.get(name) if self.is_bound else self.qty_limit(item)
            shown = "" if value is None or value == "" else f' value="{escape(value)}"'
            lines.append((item, mark_safe(  # noqa: S308 - the only outside value is escaped
                f'<input type="number" name="{name}"{shown} class="qty" min="0" max="{self.qty_limit(item)}" required'
                f' id="id_{name}">'), None))
        return lines

    def clean(self):
        cleaned = super().clean()
        if self.items and not self.errors and not any(cleaned.get(f"qty_{item.pk}") for item in self.items):
            raise forms.ValidationError(self.empty_message, code="empty")
        return cleaned


class InvoiceForm(DocumentForm):
    kind = "invoice"
    empty_message = _("Enter a quantity to invoice for at least one item.")

    @staticmethod
    def qty_limit(item) -> int:
        return item.qty_to_invoice


class ShipmentForm(DocumentForm):
    kind = "shipment"
    empty_message = _("Enter a quantity to ship for at least one item.")

    @staticmethod
    def qty_limit(item) -> int:
        return item.qty_to_ship


class TrackForm(forms.Form):
    carrier_code = forms.ChoiceField(label=_("Carrier"), choices=[("", "—"), *Carrier.choices], required=False)
    title = forms.CharField(label=_("Title"), max_length=128, required=False)
    number = forms.CharField(label=_("Number"), max_length=128, required=False)

    def clean(self):
        cleaned = super().clean()
        carrier, title, number = (cleaned.get(k, "").strip() for k in ("carrier_code", "title", "number"))
        if not (carrier or title or number):
            return cleaned  # an empty row is ignored
        if not carrier:
            self.add_error("carrier_code", _("Choose a carrier."))
        if not number:
            self.add_error("number", _("Enter the tracking number."))
        if carrier == Carrier.CUSTOM and not title:
            self.add_error("title", _("Enter the carrier's name for a custom carrier."))
        if carrier and not title:
            cleaned["title"] = Carrier(carrier).label
        return cleaned

    def track(self) -> dict | None:
        data = self.cleaned_data
        if not data.get("carrier_code"):
            return None
        return {"carrier_code": data["carrier_code"], "title": str(data["title"]), "number": data["number"].strip()}


TrackFormSet = forms.formset_factory(TrackForm, extra=0, max_num=20, absolute_max=20)


class CreditMemoForm(DocumentForm):
    kind = "creditmemo"
    empty_message = _("Enter a quantity to refund, a shipping refund or an adjustment refund.")

    def __init__(self, *args, order, **kwargs):
        super().__init__(*args, order=order, **kwargs)
        remaining_shipping = max(order.shipping_invoiced - order.shipping_refunded, Decimal("0"))
        # Amounts in the order's currency: its decimals, and no more than a money column holds.
        self.fields["shipping_refund"] = money_field(
            _("Refund Shipping"), currency=order.currency, required=False, min_value=0, initial=remaining_shipping,
            max_value=remaining_shipping)
        self.fields["adjustment_refund"] = money_field(
            _("Adjustment Refund"), currency=order.currency, required=False, min_value=0, initial=Decimal("0"))
        self.fields["adjustment_fee"] = money_field(
            _("Adjustment Fee"), currency=order.currency, required=False, min_value=0, initial=Decimal("0"))

    @staticmethod
    def qty_limit(item) -> int:
        return item.qty_to_refund

    def _clean_lines(self) -> None:
        super()._clean_lines()
        for item in self.items:  # "Return to Stock": a checkbox (BooleanField, not required) per line
            name = f"stock_{item.pk}"
            self.cleaned_data[name] = _STOCK.clean(_STOCK.widget.value_from_datadict(self.data, None, name))

    def line_inputs(self):
        """(item, quantity input, its errors, "Return to Stock" checkbox) for every line."""
        checked = {}
        if self.is_bound:
            read = _STOCK.widget.value_from_datadict
            checked = {item.pk: read(self.data, None, f"stock_{item.pk}") for item in self.items}
        return [
            (item, qty, errors, mark_safe(  # noqa: S308 - ids only
                f'<input type="checkbox" name="stock_{item.pk}" id="id_stock_{item.pk}"'
                f'{" checked" if checked.get(item.pk) else ""}>'))
            for item, qty, errors in super().line_inputs()
        ]

    def document_input(self) -> dict:
        return {
            "quantities": self.quantities(), "shipping_refund": self.value("shipping_refund"),
            "adjustment_refund": self.value("adjustment_refund") or 0,
            "adjustment_fee": self.value("adjustment_fee") or 0,
        }

    def return_to_stock(self) -> list[int]:
        return [
            item.pk for item in self.items
            if self.cleaned_data.get(f"stock_{item.pk}") and self.cleaned_data.get(f"qty_{item.pk}")
        ]

    def clean(self):
        cleaned = forms.Form.clean(self)
        if self.errors:
            return cleaned
        has_lines = any(cleaned.get(f"qty_{item.pk}") for item in self.items)
        if not (has_lines or cleaned.get("shipping_refund") or cleaned.get("adjustment_refund")):
            raise forms.ValidationError(self.empty_message, code="empty")
        return cleaned


class MassActionForm(forms.Form):
    ACTIONS = [
        ("cancel", _("Cancel")),
        ("hold", _("Hold")),
        ("unhold", _("Unhold")),
        ("print_invoices", _("Print Invoices")),
        ("print_packing_slips", _("Print Packing Slips")),
        ("print_creditmemos", _("Print Credit Memos")),
    ]
    # Irreversible actions: the grid asks for a confirmation (count and consequence) before doing them.
    CONFIRMED = frozenset({"cancel"})
    # No default: the select starts on a placeholder, and a Submit without a choice does nothing and says so.
    action = forms.ChoiceField(label=_("Actions"), choices=ACTIONS, error_messages={
        "required": _("Choose an action first: nothing was done.")})
    # The ids are checked against the database by the view; here they must be ids (ASCII digits, within a bigint).
    order_ids = IdListField(required=True, error_messages={"required": _("Select at least one order.")})
