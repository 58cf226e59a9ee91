"""Customer screens: the customer list and a customer's page with its orders.

They live in sales, not customers, because a customer's page shows its orders and customers sits below sales in the
layers (docs/architecture.md). The URL namespace stays ``customers``."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from saleschannel.core.access import require
from saleschannel.core.money import format_money
from saleschannel.customers import services
from saleschannel.customers.forms import CustomerForm
from saleschannel.customers.models import Customer
from saleschannel.sales.selectors import order_status_labels


@require("customers.view_customer")
def customer_list(request):
    customers = Customer.objects.select_related("store").annotate(order_count=Count("orders"))
    keyword = request.GET.get("q", "").strip()
    for word in keyword.split():
        customers = customers.filter(
            Q(email__icontains=word) | Q(first_name__icontains=word) | Q(last_name__icontains=word)
            | Q(phone__icontains=word)
        )
    page = Paginator(customers.order_by("last_name", "first_name", "id"), 50).get_page(request.GET.get("page"))
    return render(request, "customers/customer_list.html", {"page": page, "q": keyword})


def _customer_page(request, customer, form, status=200):
    orders = customer.orders.select_related("store").order_by("-created_at", "-id")[:50]
    labels = order_status_labels()
    rows = [(order, labels.get(order.status, order.status), format_money(order.grand_total, order.currency))
            for order in orders]
    return render(request, "customers/customer_view.html", {"customer": customer, "orders": rows, "form": form},
                  status=status)


@require("customers.view_customer")
def customer_view(request, customer_id: int):
    customer = get_object_or_404(Customer.objects.select_related("store"), pk=customer_id)
    form = None
    if request.user.has_perm("customers.change_customer"):
        form = CustomerForm(initial={"first_name": customer.first_name, "last_name": customer.last_name,
                                     "email": customer.email, "phone": customer.phone})
    return _customer_page(request, customer, form)


@require("customers.change_customer")
def customer_edit(request, customer_id: int):
    customer = get_object_or_404(Customer.objects.select_related("store"), pk=customer_id)
    form = CustomerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.customer_update(customer=customer, **form.cleaned_data)
        except services.CustomerError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, _("You saved the customer."))
            return redirect("customers:customer_view", customer.pk)
    if request.method != "POST":
        return redirect("customers:customer_view", customer.pk)
    return _customer_page(request, customer, form, status=400)
