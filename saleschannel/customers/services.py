"""Customer accounts: find by email (case-insensitive) or create, and update."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from saleschannel.catalog.models import Store
from saleschannel.core.errors import DomainError
from saleschannel.customers.models import Customer


class CustomerError(DomainError):
    """A refused customer change (see saleschannel/errors.py)."""


def _clean_email(email: str) -> str:
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise CustomerError(_("Enter a valid email address."), field="email")
    return email


def customer_get_or_create(*, email: str, first_name: str, last_name: str, store: Store) -> Customer:
    """The customer with this email (any letter case), else a new one created in ``store``.

    An existing customer keeps their name (``customer.created_now`` tells which case it was). Safe when two
    processes create the same customer at once: the case-insensitive unique constraint decides, the loser reads
    the winner's row.
    """
    email = _clean_email(email)
    existing = Customer.objects.filter(email__iexact=email).first()
    if existing is not None:
        existing.created_now = False
        return existing
    try:
        with transaction.atomic():
            customer = Customer.objects.create(
                email=email, first_name=(first_name or "").strip(), last_name=(last_name or "").strip(), store=store
            )
        customer.created_now = True
        return customer
    except IntegrityError:
        customer = Customer.objects.get(email__iexact=email)
        customer.created_now = False
        return customer


def customer_update(
    *, customer: Customer, email: str | None = None, first_name: str | None = None, last_name: str | None = None,
    phone: str | None = None,
) -> Customer:
    """Change the given fields; an email already used by another customer (any letter case) is refused."""
    changed = []
    if email is not None:
        email = _clean_email(email)
        if Customer.objects.filter(email__iexact=email).exclude(pk=customer.pk).exists():
            raise CustomerError(_("Another customer already uses this email address."), field="email")
        customer.email = email
        changed.append("email")
    for field, value in (("first_name", first_name), ("last_name", last_name), ("phone", phone)):
        if value is not None:
            setattr(customer, field, value.strip())
            changed.append(field)
    if changed:
        with transaction.atomic():
            customer.save(update_fields=changed)
    return customer
