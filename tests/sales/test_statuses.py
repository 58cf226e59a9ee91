import pytest
from django.core.management import call_command

from saleschannel.sales.models import OrderStatus
from saleschannel.sales.statuses import DEFAULT_STATUSES, ensure_default_statuses


@pytest.mark.django_db
def test_missing_default_statuses_are_recreated_and_edits_kept():
    OrderStatus.objects.filter(code="fraud").delete()
    OrderStatus.objects.filter(code="processing").update(label="In progress")
    assert ensure_default_statuses() == 1
    assert OrderStatus.objects.get(code="processing").label == "In progress"
    assert set(OrderStatus.objects.values_list("code", flat=True)) >= {code for code, *_ in DEFAULT_STATUSES}


@pytest.mark.django_db(transaction=True)
def test_statuses_survive_a_flush():
    call_command("flush", interactive=False, verbosity=0)
    assert OrderStatus.objects.filter(is_default=True).count() == 8
