"""Back-office shell: sign-in, dashboard, settings (order statuses, stores, users)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _

from saleschannel.catalog.models import Store
from saleschannel.core.access import forbidden, login_only, require
from saleschannel.core.errors import DomainError
from saleschannel.core.money import format_money
from saleschannel.core.roles import ROLE_LABELS, role_of
from saleschannel.sales import selectors
from saleschannel.sales import services as sales_services
from saleschannel.sales.errors import OrderActionError
from saleschannel.sales.models import OrderState, OrderStatus
from saleschannel.web import services
from saleschannel.web.forms import OrderStatusForm, StoreForm, ThrottledAuthenticationForm, UserForm


class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    authentication_form = ThrottledAuthenticationForm
    redirect_authenticated_user = True


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "web/password_change.html"
    success_url = reverse_lazy("web:dashboard")

    def form_valid(self, form):
        messages.success(self.request, _("Your password was changed."))
        return super().form_valid(form)


password_change = method_decorator(login_only, name="dispatch")(PasswordChangeView).as_view()


def svg_number(value: float) -> str:
    """An SVG coordinate: "12.5", "0", never "12,5" whatever the reader's language."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


@login_only
def dashboard(request):
    summary = selectors.dashboard_summary()
    chart = summary["chart"]
    peak = max((count for _day, count in chart), default=0) or 1
    width, height, gap = 600, 160, 2
    bar_width = width / max(len(chart), 1)
    # SVG coordinates are strings written here with a point, never localised by the template ("12,5" in French
    # would be an invalid attribute: no bar drawn).
    bars = [
        {
            "x": svg_number(i * bar_width), "width": svg_number(bar_width - gap),
            "height": svg_number(count / peak * (height - 20)), "y": svg_number(height - count / peak * (height - 20)),
            "day": day, "count": count,
        }
        for i, (day, count) in enumerate(chart)
    ]
    periods = [
        {
            "days": period.days, "order_count": period.order_count,
            "revenue": [format_money(amount, currency) for currency, amount in period.revenue],
        }
        for period in summary["periods"]
    ]
    status_labels = selectors.order_status_labels()
    latest = [(order, status_labels.get(order.status, order.status), format_money(order.grand_total, order.currency))
              for order in summary["latest_orders"]]
    return render(request, "web/dashboard.html", {
        "periods": periods, "bars": bars, "chart_width": svg_number(width),
        "chart_height": svg_number(height), "view_height": svg_number(height + 20), "label_y": svg_number(height + 14),
        "peak": peak,
        "latest": latest, "can_view_orders": request.user.has_perm("sales.view_order"),
    })


# --- Settings: order statuses --------------------------------------------------------------------------------------

@require("sales.change_orderstatus")
def status_list(request):
    form = OrderStatusForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sales_services.order_status_create(
                code=form.cleaned_data["code"], label=form.cleaned_data["label"], state=form.cleaned_data["state"],
                actor=request.user,
            )
        except OrderActionError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, _("You saved the order status."))
            return redirect("web:status_list")
    statuses = OrderStatus.objects.all()
    states = dict(OrderState.choices)
    labels = selectors.order_status_labels()
    rows = [(status, labels.get(status.code, status.label), states.get(status.state, status.state))
            for status in statuses]
    return render(request, "web/settings/status_list.html", {"rows": rows, "form": form},
                  status=400 if form.is_bound and form.errors else 200)


# --- Settings: stores ----------------------------------------------------------------------------------------------

@require("catalog.change_store")
def store_list(request):
    return render(request, "web/settings/store_list.html", {"stores": Store.objects.all()})


@require("catalog.change_store")
def store_edit(request, store_id: int | None = None):
    store = get_object_or_404(Store, pk=store_id) if store_id else None
    if store is None and not request.user.has_perm("catalog.add_store"):
        return forbidden(request)
    form = StoreForm(request.POST or None, instance=store)
    if request.method == "POST" and form.is_valid():
        try:
            services.store_save(form=form)
        except DomainError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, _("You saved the store."))
            return redirect("web:store_list")
    return render(request, "web/settings/store_edit.html", {"form": form, "store": store},
                  status=400 if form.is_bound and form.errors else 200)


# --- Settings: users -----------------------------------------------------------------------------------------------

@require("auth.change_user")
def user_list(request):
    users = get_user_model().objects.prefetch_related("groups").order_by("username")
    keyword = request.GET.get("q", "").strip()
    if keyword:
        users = users.filter(Q(username__icontains=keyword) | Q(email__icontains=keyword)
                             | Q(first_name__icontains=keyword) | Q(last_name__icontains=keyword))
    page = Paginator(users, 50).get_page(request.GET.get("page"))
    rows = [(user, ROLE_LABELS.get(role_of(user), "—")) for user in page.object_list]
    return render(request, "web/settings/user_list.html", {"rows": rows, "page": page, "q": keyword})


@require("auth.change_user")
def user_edit(request, user_id: int | None = None):
    user = get_object_or_404(get_user_model(), pk=user_id) if user_id else None
    if user is None and not request.user.has_perm("auth.add_user"):
        return forbidden(request)
    initial = {}
    if user is not None:
        initial = {"username": user.username, "email": user.email, "first_name": user.first_name,
                   "last_name": user.last_name, "role": role_of(user) or "Viewer", "is_active": user.is_active}
    form = UserForm(request.POST or None, instance=user, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if user is not None and user.pk == request.user.pk and (not data["is_active"] or data["role"] != role_of(user)):
            form.add_error("role", _("You cannot change your own role or deactivate yourself."))
        else:
            try:
                services.user_save(user=user, username=data["username"], email=data["email"],
                                   first_name=data["first_name"], last_name=data["last_name"], role=data["role"],
                                   is_active=data["is_active"], password=data["password"])
            except DomainError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                messages.success(request, _("You saved the user."))
                return redirect("web:user_list")
    return render(request, "web/settings/user_edit.html", {"form": form, "edited_user": user},
                  status=400 if form.is_bound and form.errors else 200)
