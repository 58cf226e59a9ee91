"""Forms of the sales screens: grid filters, comments, and the new invoice / shipment / credit memo pages."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from saleschannel.catalog.models import Store
from saleschannel.sales.models import Carrier, OrderStatus

ORIGIN_CHOICES = [("", _("Any")), ("amazon", _("Amazon")), ("other", _("Other than Amazon"))]
PAGE_SIZES = (20, 30, 50, 100, 200)
DateInput = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class OrderGridFilterForm(forms.Form):
    """The order grid's filters, read from the query string."""

    q = forms.CharField(label=_("Keyword"), required=False, max_length=200)
    created_from = forms.DateField(label=_("Purchase date from"), required=False, widget=DateInput)
    created_to = forms.DateField(label=_("Purchase date to"), required=False, widget=DateInput)
    status = forms.MultipleChoiceField(
        label=_("Status"), required=False, widget=forms.SelectMultiple(attrs={"size": 4})
    )
    store = forms.MultipleChoiceField(label=_("Store"), required=False, widget=forms.SelectMultiple(attrs={"size": 4}))
    total_min = forms.DecimalField(label=_("Grand total from"), required=False, min_value=0, decimal_places=4)
    total_max = forms.DecimalField(label=_("Grand total to"), required=False, min_value=0, decimal_places=4)
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
    created_from = forms.DateField(label=_("Created from"), required=False, widget=DateInput)
    created_to = forms.DateField(label=_("Created to"), required=False, widget=DateInput)


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


class DocumentForm(forms.Form):
    """Base for the new invoice / shipment / credit memo pages: one quantity per order line.

    ``qty_limit(item)`` says how many units of a line may go on the document; quantity fields are named
    ``qty_<order_item_id>`` and start at that limit, as in the reference back office.
    """

    comment = forms.CharField(label=_("Comment Text"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    notify_customer = forms.BooleanField(label=_("Email Copy"), required=False)

    def __init__(self, *args, order, **kwargs):
        self.order = order
        self.items = [item for item in order.items.all() if self.qty_limit(item) > 0]
        super().__init__(*args, **kwargs)
        for item in self.items:
            self.fields[f"qty_{item.pk}"] = forms.IntegerField(
                label=item.sku, min_value=0, max_value=self.qty_limit(item), initial=self.qty_limit(item),
                widget=forms.NumberInput(attrs={"class": "qty", "min": 0, "max": self.qty_limit(item)}),
            )

    @staticmethod
    def qty_limit(item) -> int:
        raise NotImplementedError

    def quantities(self) -> dict[int, int]:
        """{order_item_id: qty} from valid data (only the lines with a quantity above zero)."""
        return {
            item.pk: self.cleaned_data[f"qty_{item.pk}"]
            for item in self.items
            if self.cleaned_data.get(f"qty_{item.pk}")
        }

    def lines(self):
        """(item, bound quantity field) pairs for the template."""
        return [(item, self[f"qty_{item.pk}"]) for item in self.items]

    def clean(self):
        cleaned = super().clean()
        if self.items and not self.errors and not any(cleaned.get(f"qty_{item.pk}") for item in self.items):
            raise forms.ValidationError(self.empty_message, code="empty")
        return cleaned


class InvoiceForm(DocumentForm):
    empty_message = _("Enter a quantity to invoice for at least one item.")

    @staticmethod
    def qty_limit(item) -> int:
        return item.qty_to_invoice


class ShipmentForm(DocumentForm):
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
    empty_message = _("Enter a quantity to refund, a shipping refund or an adjustment refund.")

    shipping_refund = forms.DecimalField(label=_("Refund Shipping"), required=False, min_value=0, decimal_places=4)
    adjustment_refund = forms.DecimalField(
        label=_("Adjustment Refund"), required=False, min_value=0, decimal_places=4, initial=Decimal("0")
    )
    adjustment_fee = forms.DecimalField(
        label=_("Adjustment Fee"), required=False, min_value=0, decimal_places=4, initial=Decimal("0")
    )

    def __init__(self, *args, order, **kwargs):
        super().__init__(*args, order=order, **kwargs)
        remaining_shipping = max(order.shipping_invoiced - order.shipping_refunded, Decimal("0"))
        self.fields["shipping_refund"].initial = remaining_shipping
        self.fields["shipping_refund"].max_value = remaining_shipping
        for item in self.items:
            self.fields[f"stock_{item.pk}"] = forms.BooleanField(label=_("Return to Stock"), required=False)

    @staticmethod
    def qty_limit(item) -> int:
        return item.qty_to_refund

    def lines(self):
        return [(item, self[f"qty_{item.pk}"], self[f"stock_{item.pk}"]) for item in self.items]

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
    action = forms.ChoiceField(label=_("Actions"), choices=ACTIONS)
    order_ids = forms.TypedMultipleChoiceField(coerce=int, required=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The ids are checked against the database by the view; here they only need to be integers.
        self.fields["order_ids"].valid_value = lambda value: str(value).isdigit()
        self.fields["order_ids"].error_messages["required"] = _("Select at least one order.")
