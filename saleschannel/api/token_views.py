"""The "API tokens" screen of the user menu: a user's own personal API tokens — list, create (shown once), revoke.

Every signed-in user manages their own tokens only; a token acts as its user, with the user's role.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from saleschannel.api import tokens
from saleschannel.core.access import login_only
from saleschannel.core.errors import DomainError


class TokenForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100,
                           help_text=gettext_lazy("What the token is for, e.g. Warehouse."))
    expires_days = forms.IntegerField(label=gettext_lazy("Expires after (days)"), required=False, min_value=1,
                                      max_value=tokens.MAX_EXPIRY_DAYS,
                                      help_text=gettext_lazy("Empty: the token never expires."))


def _own_token(request, token_id: int):
    token = tokens.token_list(user=request.user).filter(pk=token_id).first()
    if token is None:
        raise Http404
    return token


def _rows(user):
    now = timezone.now()
    rows = []
    for token in tokens.token_list(user=user):
        if token.revoked_at:
            state = _("Revoked")
        elif token.expires_at and token.expires_at <= now:
            state = _("Expired")
        else:
            state = _("Active")
        rows.append((token, state, token.is_usable(now)))
    return rows


@login_only
def token_list(request):
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            new = tokens.token_create(user=request.user, name=form.cleaned_data["name"],
                                      expires_days=form.cleaned_data["expires_days"])
        except DomainError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            response = render(request, "api/token_created.html", {"token": new.token, "secret": new.secret})
            response["Cache-Control"] = "no-store"  # shown once: never from a cache either
            return response
    return render(request, "api/token_list.html", {"rows": _rows(request.user), "form": form},
                  status=400 if form.is_bound and form.errors else 200)


@login_only
def token_revoke(request, token_id: int):
    """GET asks for confirmation; POST revokes."""
    token = _own_token(request, token_id)
    if request.method == "POST":
        tokens.token_revoke(token=token)
        messages.success(request, _("You revoked the API token %(name)s.") % {"name": token.name})
        return redirect("api:token_list")
    return render(request, "api/token_revoke_confirm.html", {"token": token})


