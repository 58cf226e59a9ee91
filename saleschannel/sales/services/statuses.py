"""Order statuses: the merchant's own statuses, and the lookups of a status's state, label and a state's default.

Lookups made inside ``statuses_cached()`` are remembered for the block (batch imports ask the same questions for
every order); outside it every lookup asks the database.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import transaction

from saleschannel.core.i18n import gettext as _
from saleschannel.sales.errors import OrderActionError
from saleschannel.sales.models import OrderState, OrderStatus

# Status lookups remembered inside ``statuses_cached()`` (None outside it: every lookup asks the database).
_status_memo: ContextVar[dict | None] = ContextVar("sales_status_memo", default=None)


@contextmanager
def statuses_cached() -> Iterator[None]:
    """Remember order-status lookups (default status of a state, state and label of a status) inside the block.

    For batch callers such as the Amazon import, which create many orders in a few seconds and would otherwise ask
    the same questions for every order; statuses are configuration that staff rarely change.
    """
    token = _status_memo.set({})
    try:
        yield
    finally:
        _status_memo.reset(token)


def _remembered(key: tuple, compute: Callable[[], Any]) -> Any:
    memo = _status_memo.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def _default_status(state: str) -> str:
    code = _remembered(("default", state), lambda: OrderStatus.objects.filter(
        state=state, is_default=True).values_list("code", flat=True).first())
    return code or state


def _state_of_status(code: str) -> str | None:
    return _remembered(("state", code), lambda: OrderStatus.objects.filter(
        code=code).values_list("state", flat=True).first())


def _status_label(code: str) -> str:
    """The label of status ``code`` (the code itself for a status that does not exist)."""
    return _remembered(("label", code), lambda: OrderStatus.objects.filter(
        code=code).values_list("label", flat=True).first()) or code


STATUS_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


def order_status_create(*, code: str, label: str, state: str, actor) -> OrderStatus:
    """A merchant's own status, assigned to ``state`` (not its default)."""
    code = (code or "").strip()
    label = (label or "").strip()
    if not STATUS_CODE.match(code):
        raise OrderActionError(
            _("The status code must be up to 32 lowercase letters, digits, dashes or underscores."), code="invalid",
            field="code",
        )
    if not label or len(label) > 128:
        raise OrderActionError(_("Enter a label of up to 128 characters."), code="invalid", field="label")
    if state not in OrderState.values:
        raise OrderActionError(_('Unknown order state "%(state)s".') % {"state": state}, code="invalid",
                               field="state")
    with transaction.atomic():
        if OrderStatus.objects.filter(code=code).exists():
            raise OrderActionError(_('A status with code "%(code)s" already exists.') % {"code": code},
                                   code="duplicate", field="code")
        return OrderStatus.objects.create(code=code, label=label, state=state, is_default=False)
