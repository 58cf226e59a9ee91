from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class CustomerForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=128)
    last_name = forms.CharField(label=_("Last name"), max_length=128)
    email = forms.EmailField(label=_("Email"), max_length=254)
    phone = forms.CharField(label=_("Phone"), max_length=64, required=False)
