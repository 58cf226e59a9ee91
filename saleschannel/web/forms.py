from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.password_validation import validate_password
from django.utils.translation import gettext_lazy as _

from saleschannel.catalog.models import Store
from saleschannel.catalog.rules import order_number_prefix_problem
from saleschannel.core.roles import ROLE_LABELS
from saleschannel.sales.models import OrderState
from saleschannel.web import throttle


class ThrottledAuthenticationForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "throttled": _("Too many failed sign-in attempts. Please wait a few minutes and try again."),
    }

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        address = throttle.client_address(self.request) if self.request else ""
        if throttle.is_locked(username, address):
            raise forms.ValidationError(self.error_messages["throttled"], code="throttled")
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            throttle.record_failure(username, address)
            raise
        throttle.reset(username, address)
        return cleaned


ROLE_CHOICES = list(ROLE_LABELS.items())


class UserForm(forms.Form):
    username = forms.CharField(label=_("User name"), max_length=150)
    email = forms.EmailField(label=_("Email"), required=False)
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    role = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    password = forms.CharField(
        label=_("Password"), widget=forms.PasswordInput, required=False,
        help_text=_("Leave empty to keep the current password."),
    )

    def __init__(self, *args, instance=None, **kwargs):
        self.instance = instance
        super().__init__(*args, **kwargs)
        if instance is None:
            self.fields["password"].required = True
            self.fields["password"].help_text = ""

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        others = get_user_model().objects.filter(username__iexact=username)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise forms.ValidationError(_("This user name is already taken."))
        return username

    def clean_password(self):
        password = self.cleaned_data.get("password")
        if password:
            validate_password(password, self.instance)
        return password


class StoreForm(forms.ModelForm):
    class Meta:
        model = Store
        fields = ["code", "name", "currency", "locale", "order_number_prefix", "is_active"]
        widgets = {"locale": forms.Select(choices=[("en", "English"), ("fr", "Français")])}
        labels = {
            "code": _("Code"), "name": _("Name"), "currency": _("Currency"), "locale": _("Language of customer emails"),
            "order_number_prefix": _("Order number prefix"), "is_active": _("Active"),
        }
        help_texts = {"locale": ""}

    def clean_order_number_prefix(self):
        prefix = self.cleaned_data["order_number_prefix"]
        problem = order_number_prefix_problem(prefix, store=self.instance)
        if problem:
            raise forms.ValidationError(problem, code="invalid_prefix")
        return prefix

    def clean_currency(self):
        currency = self.cleaned_data["currency"].upper()
        if len(currency) != 3 or not currency.isalpha():
            raise forms.ValidationError(_("Enter a three-letter ISO currency code, e.g. EUR."))
        return currency


class OrderStatusForm(forms.Form):
    code = forms.SlugField(label=_("Status code"), max_length=32)
    label = forms.CharField(label=_("Status label"), max_length=128)
    state = forms.ChoiceField(label=_("Assigned to state"), choices=OrderState.choices)
