"""Forms of the Amazon screens: store connection, Order Settings, Amazon order filters, cancel and address."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from saleschannel.amazon.deadlines import ship_by_choices
from saleschannel.amazon.destinations import validate_override_url
from saleschannel.amazon.models import (
    AmazonOrder,
    AmazonOrderStatus,
    AmazonStore,
    ApiVersion,
    CustomerCreation,
    OrderNumberSource,
    OrderStatusMode,
    OutboxKind,
    OutboxState,
    Region,
)
from saleschannel.amazon.outbox import cancel_reason_choices
from saleschannel.catalog.models import Store

DateInput = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
ENABLED_CHOICES = [("1", _("Enabled")), ("0", _("Disabled"))]
YES_NO = [("1", _("Yes")), ("0", _("No"))]


def _bool(value) -> bool:
    return value in (True, "1", "true", "on", "True")


class AmazonStoreForm(forms.Form):
    """Connection of an Amazon seller account. Secrets are write-only: empty means "keep what is stored"."""

    name = forms.CharField(label=_("Name"), max_length=128)
    seller_id = forms.CharField(label=_("Seller id"), max_length=32,
                                help_text=_("Merchant token / selling partner id."))
    region = forms.ChoiceField(label=_("Region"), choices=Region.choices)
    marketplace_ids = forms.CharField(label=_("Marketplaces"), max_length=2000,
                                      help_text=_("Marketplace ids separated by commas or spaces, e.g. ATVPDKIKX0DER."))
    store = forms.ModelChoiceField(label=_("Commerce store"), queryset=Store.objects.all(), empty_label=None)
    client_id = forms.CharField(label=_("LWA client id"), required=False, max_length=512,
                                widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}))
    client_secret = forms.CharField(label=_("LWA client secret"), required=False, max_length=512,
                                    widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}))
    refresh_token = forms.CharField(label=_("Refresh token"), required=False, max_length=4096,
                                    widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}))
    endpoint_override = forms.URLField(
        label=_("Endpoint override"), required=False, assume_scheme="https", validators=[validate_override_url],
        widget=forms.URLInput(attrs={"list": "amazon-endpoints", "autocomplete": "off"}),
        help_text=_("SP-API base URL of the sandbox or a proxy. Empty: Amazon's (e.g. "
                    "https://sellingpartnerapi-na.amazon.com). https:// only; http:// only on this machine "
                    "(127.0.0.1, localhost). Changing it needs the three credentials again."))
    token_url_override = forms.URLField(
        label=_("LWA token URL override"), required=False, assume_scheme="https", validators=[validate_override_url],
        widget=forms.URLInput(attrs={"list": "amazon-token-urls", "autocomplete": "off"}),
        help_text=_("Empty: https://api.amazon.com/auth/o2/token. The secrets are sent there: https:// only "
                    "(http:// only on this machine). Changing it needs the three credentials again."))
    api_version = forms.ChoiceField(label=_("Orders API version"), choices=ApiVersion.choices)
    time_scale = forms.DecimalField(label=_("Time scale"), min_value=0.001, max_digits=9, decimal_places=3,
                                    initial=1, help_text=_("1 for Amazon; the sandbox's --time-scale otherwise."))
    pacing_enabled = forms.BooleanField(label=_("Pace calls to Amazon's published rates"), required=False,
                                        initial=True)
    is_active = forms.BooleanField(label=_("Active (synchronised on schedule)"), required=False, initial=True)

    SECRETS = ("client_id", "client_secret", "refresh_token")

    def __init__(self, *args, instance: AmazonStore | None = None, **kwargs):
        self.instance = instance
        if instance is not None and not kwargs.get("initial"):
            kwargs["initial"] = {
                "name": instance.name, "seller_id": instance.seller_id, "region": instance.region,
                "marketplace_ids": ", ".join(instance.marketplace_ids or []), "store": instance.store_id,
                "endpoint_override": instance.endpoint_override, "token_url_override": instance.token_url_override,
                "api_version": instance.api_version, "time_scale": instance.time_scale,
                "pacing_enabled": instance.pacing_enabled, "is_active": instance.is_active,
            }
        super().__init__(*args, **kwargs)
        stored = instance.credentials_set if instance is not None else {}
        for name in self.SECRETS:
            if stored.get(name):
                self.fields[name].help_text = _("•••• set — leave empty to keep it (enter it again when you "
                                                "change the endpoint or the token URL).")
            else:
                self.fields[name].required = True

    def connection(self) -> dict:
        data = dict(self.cleaned_data)
        for name in self.SECRETS:
            data.pop(name, None)
        return data

    def secrets(self) -> dict:
        return {name: self.cleaned_data.get(name) or None for name in self.SECRETS}


class OrderSettingsForm(forms.Form):
    """Order Settings of an Amazon store (DESIGN.md §4.2); the page greys the other fields out when import is off."""

    import_enabled = forms.TypedChoiceField(label=_("Import Amazon Orders"), choices=ENABLED_CHOICES, coerce=_bool,
                                            widget=forms.Select(attrs={"data-master": "import"}))
    import_store = forms.ModelChoiceField(label=_("Import into Commerce store"), queryset=Store.objects.all(),
                                          required=False, empty_label=_("The linked store"))
    customer_creation = forms.ChoiceField(label=_("Customer creation"), choices=CustomerCreation.choices)
    order_number_source = forms.ChoiceField(label=_("Order number source"), choices=OrderNumberSource.choices)
    reserve_pending = forms.TypedChoiceField(
        label=_("Pending orders"), coerce=_bool,
        choices=[("1", _("Reserve quantity")), ("0", _("Do not reserve"))])
    order_status_mode = forms.ChoiceField(label=_("Order status"), choices=OrderStatusMode.choices,
                                          widget=forms.Select(attrs={"data-master": "status"}))
    custom_processing_status = forms.ChoiceField(label=_("Custom processing status"), required=False,
                                                 widget=forms.Select(attrs={"data-follows": "status"}))
    invoice_on_import = forms.TypedChoiceField(label=_("Invoice on import (payment is captured by Amazon)"),
                                               choices=YES_NO, coerce=_bool)
    import_fba = forms.TypedChoiceField(
        label=_("FBA orders"), coerce=_bool,
        choices=[("1", _("Import when Shipped, as Complete, without touching stock")), ("0", _("Do not import"))])
    sync_frequency_minutes = forms.IntegerField(label=_("Sync frequency (minutes)"), min_value=1, max_value=60,
                                                widget=forms.NumberInput(attrs={"data-frequency": "1"}))
    ship_by_alert_hours = forms.IntegerField(
        label=_("Ship-by alert (hours before)"), min_value=1, max_value=72, required=False,
        help_text=_("Operators get a notice and an e-mail when an unshipped order is this close to its Latest Ship "
                    "Date."))

    def __init__(self, *args, instance: AmazonStore, statuses: list[tuple[str, str]], **kwargs):
        self.instance = instance
        if not kwargs.get("initial"):
            kwargs["initial"] = {
                "import_enabled": "1" if instance.import_enabled else "0",
                "import_store": instance.import_store_id,
                "customer_creation": instance.customer_creation,
                "order_number_source": instance.order_number_source,
                "reserve_pending": "1" if instance.reserve_pending else "0",
                "order_status_mode": instance.order_status_mode,
                "custom_processing_status": instance.custom_processing_status,
                "invoice_on_import": "1" if instance.invoice_on_import else "0",
                "import_fba": "1" if instance.import_fba else "0",
                "sync_frequency_minutes": instance.sync_frequency_minutes,
                "ship_by_alert_hours": instance.ship_by_alert_hours,
            }
        super().__init__(*args, **kwargs)
        self.fields["custom_processing_status"].choices = [("", "—"), *statuses]
        import_off = self.data.get("import_enabled", self.initial.get("import_enabled")) in ("0", False)
        for name, field in self.fields.items():
            if name != "import_enabled":
                field.widget.attrs["data-follows-import"] = "1"
                if import_off:
                    field.widget.attrs["disabled"] = "disabled"
                    field.required = False

    def clean(self):
        data = super().clean()
        if not data.get("import_enabled", True):
            return {"import_enabled": False}
        if data.get("ship_by_alert_hours") is None:  # left out (an older client): kept as it is
            data["ship_by_alert_hours"] = self.instance.ship_by_alert_hours
        if data.get("order_status_mode") == OrderStatusMode.CUSTOM and not data.get("custom_processing_status"):
            self.add_error("custom_processing_status", _("Choose a status of the Processing state."))
        return data


class AmazonOrderFilterForm(forms.Form):
    """Filters of the All Amazon orders grid (query string)."""

    purchased_from = forms.DateField(label=_("Purchase date from"), required=False, widget=DateInput)
    purchased_to = forms.DateField(label=_("Purchase date to"), required=False, widget=DateInput)
    number = forms.CharField(label=_("Order number"), required=False, max_length=64)
    buyer = forms.CharField(label=_("Buyer's name"), required=False, max_length=128)
    total_min = forms.DecimalField(label=_("Total from"), required=False, min_value=0, decimal_places=4)
    total_max = forms.DecimalField(label=_("Total to"), required=False, min_value=0, decimal_places=4)
    status = forms.MultipleChoiceField(label=_("Status"), required=False, choices=AmazonOrderStatus.choices,
                                       widget=forms.CheckboxSelectMultiple)
    buyer_cancel = forms.BooleanField(label=_("Buyer requested cancellation"), required=False)
    ship_by = forms.ChoiceField(label=_("Ship by"), required=False)
    store = forms.TypedChoiceField(label=_("Amazon store"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, stores: list[tuple[int, str]] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].choices = [("", _("All stores")), *[(str(pk), name) for pk, name in stores]]
        self.fields["ship_by"].choices = [("", "—"), *ship_by_choices()]

    def clean(self):
        data = super().clean()
        low, high = data.get("purchased_from"), data.get("purchased_to")
        if low and high and low > high:
            self.add_error("purchased_to", _("The end date is before the start date."))
        low, high = data.get("total_min"), data.get("total_max")
        if low is not None and high is not None and low > high:
            self.add_error("total_max", _("The maximum is below the minimum."))
        return data


class OutboxFilterForm(forms.Form):
    """Filters of the outbox page (query string): state, store, kind and the day the message was queued."""

    state = forms.MultipleChoiceField(label=_("State"), required=False, choices=OutboxState.choices,
                                      widget=forms.CheckboxSelectMultiple)
    kind = forms.MultipleChoiceField(label=_("Kind"), required=False, choices=OutboxKind.choices,
                                     widget=forms.CheckboxSelectMultiple)
    store = forms.TypedChoiceField(label=_("Amazon store"), required=False, coerce=int, empty_value=None)
    created_from = forms.DateField(label=_("Queued from"), required=False, widget=DateInput)
    created_to = forms.DateField(label=_("Queued to"), required=False, widget=DateInput)

    def __init__(self, *args, stores: list[tuple[int, str]] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].choices = [("", _("All stores")), *[(str(pk), name) for pk, name in stores]]

    def clean(self):
        data = super().clean()
        low, high = data.get("created_from"), data.get("created_to")
        if low and high and low > high:
            self.add_error("created_to", _("The end date is before the start date."))
        return data


class CancelOrderForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].choices = [("", _("Select a reason")), *cancel_reason_choices()]


class ShippingAddressForm(forms.Form):
    ship_address_line1 = forms.CharField(label=_("Address line 1"), max_length=255)
    ship_address_line2 = forms.CharField(label=_("Address line 2"), max_length=255, required=False)
    ship_address_line3 = forms.CharField(label=_("Address line 3"), max_length=255, required=False)
    ship_city = forms.CharField(label=_("City"), max_length=128, required=False)
    ship_region = forms.CharField(label=_("Region"), max_length=128, required=False)
    ship_postal_code = forms.CharField(label=_("Postal code"), max_length=32, required=False)
    ship_country_code = forms.CharField(label=_("Country"), min_length=2, max_length=2)

    @classmethod
    def for_order(cls, order: AmazonOrder, data=None) -> ShippingAddressForm:
        initial = {name: getattr(order, name) for name in cls.base_fields}
        return cls(data, initial=initial, prefix=None)
