"""Sales screens: order grid, order view and its actions, new invoice / shipment / credit memo (document grids,
pages and PDFs: ``document_views``).

Views are thin: reads come from ``selectors``, what is allowed from ``rules`` and every change from ``services``.
A refused action (``OrderActionError``) becomes a message (or a form error next to its field) and changes nothing.
"""

from __future__ import annotations

import logging

from django.contrib import messages
from django.http import Http404, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from saleschannel.catalog.models import Store
from saleschannel.core.access import forbidden, require
from saleschannel.core.collector import rarer_garbage_collections
from saleschannel.core.models import SavedGridView
from saleschannel.core.money import format_money
from saleschannel.sales import channels, document_views, grid, item_rows, pdf, rules, selectors, services
from saleschannel.sales.errors import OrderActionError
from saleschannel.sales.forms import (
    PAGE_SIZES,
    CommentForm,
    CreditMemoForm,
    InvoiceForm,
    MassActionForm,
    ShipmentForm,
    TrackFormSet,
)
from saleschannel.sales.models import Order
from saleschannel.sales.responses import bad_request, pdf_response, safe_next

logger = logging.getLogger(__name__)

# The order and new-document pages of an order of 10,000 lines build tens of thousands of short-lived objects: the
# cycle collector runs less often meanwhile (``core.collector``).
LARGE_ORDER_PAGE = rarer_garbage_collections(collect=True)

VIEW = "sales.view_order"
PROCESS = "sales.process_order"
ORDER_GRID = "orders"
MAX_SKIPPED_MESSAGES = 20
MAX_SAVED_QUERY = 4000  # characters of a saved grid view's query string


def _grid_choices():
    statuses = list(selectors.order_status_labels().items())
    stores = [(str(pk), name) for pk, name in Store.objects.values_list("pk", "name")]
    return statuses, stores


# --- Order grid --------------------------------------------------------------------------------------------------

@require(VIEW)
def order_list(request):
    statuses, stores = _grid_choices()
    order_grid = grid.OrderGrid(request.GET, statuses=statuses, stores=stores)
    page, orders = order_grid.page(request.GET.get("page"))
    context = {
        "grid": order_grid,
        "page": page,
        "rows": order_grid.rows(orders),
        "page_sizes": PAGE_SIZES,
        "saved_views": SavedGridView.objects.filter(user=request.user, grid=ORDER_GRID),
        "mass_form": MassActionForm(),
        "can_process": request.user.has_perm(PROCESS),
        "current_url": request.get_full_path(),
    }
    return render(request, "sales/order_list.html", context)


@require(VIEW)
def order_export_csv(request):
    statuses, stores = _grid_choices()
    return grid.csv_response(grid.OrderGrid(request.GET, statuses=statuses, stores=stores))


@require(VIEW)
@require_POST
def order_view_save(request):
    name = request.POST.get("name", "").strip()[:64]
    # Kept as a query string we encode ourselves: a raw value could hold line breaks (in the redirect's header) or
    # NUL characters (which PostgreSQL's text columns refuse).
    query = QueryDict(request.POST.get("query", "")[:MAX_SAVED_QUERY]).urlencode()
    if not name:
        messages.error(request, _("Enter a name for the view."))
    elif "\x00" in name:
        messages.error(request, _("The name of the view holds characters that cannot be saved."))
    else:
        SavedGridView.objects.update_or_create(
            user=request.user, grid=ORDER_GRID, name=name, defaults={"query": query}
        )
        messages.success(request, _('View "%(name)s" saved.') % {"name": name})
    return redirect(reverse("sales:order_list") + ("?" + query if query else ""))


@require(VIEW)
@require_POST
def order_view_delete(request, view_id: int):
    saved = get_object_or_404(SavedGridView, pk=view_id, user=request.user, grid=ORDER_GRID)
    saved.delete()
    messages.success(request, _('View "%(name)s" deleted.') % {"name": saved.name})
    return redirect("sales:order_list")


def _report(request, *, applied: list[Order], skipped: list[tuple[Order, str]], done_message: str) -> None:
    if applied:
        messages.success(request, done_message % {"count": len(applied)})
    for order, reason in skipped[:MAX_SKIPPED_MESSAGES]:
        messages.warning(request, grid.skipped_message(order, reason))
    if len(skipped) > MAX_SKIPPED_MESSAGES:
        more = len(skipped) - MAX_SKIPPED_MESSAGES
        messages.warning(request, ngettext("… and %(count)d more order skipped.",
                                           "… and %(count)d more orders skipped.", more) % {"count": more})


@require(VIEW)
@require_POST
def order_mass_action(request):
    back = safe_next(request, reverse("sales:order_list"))
    form = MassActionForm(request.POST)
    if not form.is_valid():
        if form.has_error("order_ids", "invalid") or form.has_error("order_ids", "too_many"):
            return bad_request(request, " ".join(form.errors["order_ids"]))
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(back)
    action, ids = form.cleaned_data["action"], form.cleaned_data["order_ids"]
    orders = list(Order.objects.filter(pk__in=ids).prefetch_related("items").order_by("-created_at", "-id"))
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")

    if action.startswith("print_"):
        kind = {
            "print_invoices": (selectors.invoices_for_orders, "invoices_pdf", "invoices"),
            "print_packing_slips": (selectors.shipments_for_orders, "packing_slips_pdf", "packingslips"),
            "print_creditmemos": (selectors.creditmemos_for_orders, "creditmemos_pdf", "creditmemos"),
        }[action]
        documents = kind[0]([order.pk for order in orders])
        if not documents:
            messages.error(request, _("There are no printable documents related to selected orders."))
            return redirect(back)
        with_documents = {document.order_id for document in documents}
        skipped = [(order, _("it has no such document")) for order in orders if order.pk not in with_documents]
        printed = [o for o in orders if o.pk in with_documents]
        _report(request, applied=printed, skipped=skipped,
                done_message=ngettext("Printed the documents of %(count)d order.",
                                      "Printed the documents of %(count)d orders.", len(printed)))
        content = getattr(pdf, kind[1])(documents)
        return pdf_response(content, f"{kind[2]}-{stamp}.pdf")

    if not request.user.has_perm(PROCESS):
        return forbidden(request, _("You are not allowed to change orders."))
    rule_action = {"cancel": rules.Action.CANCEL, "hold": rules.Action.HOLD, "unhold": rules.Action.UNHOLD}[action]
    service = {"cancel": services.order_cancel, "hold": services.order_hold, "unhold": services.order_unhold}[action]
    if action in MassActionForm.CONFIRMED and request.POST.get("confirmed") != "1":
        verdicts = [(order, rules.check(order, rule_action)) for order in orders]
        allowed = [order for order, verdict in verdicts if verdict]
        refused = [(order, verdict.reason) for order, verdict in verdicts if not verdict]
        if allowed:
            return render(request, "sales/mass_action_confirm.html", {
                "action": action, "allowed": allowed, "refused": refused, "next": back,
                "order_ids": [order.pk for order in orders], "orders": orders,
            })
        _report(request, applied=[], skipped=refused, done_message="")
        messages.error(request, _("None of the selected orders can be canceled: nothing was done."))
        return redirect(back)
    applied, skipped = [], []
    for order in orders:
        verdict = rules.check(order, rule_action)
        if not verdict:
            skipped.append((order, verdict.reason))
            continue
        try:
            service(order=order, actor=request.user)
        except OrderActionError as error:
            skipped.append((order, error.message))
        else:
            applied.append(order)
    done = {
        "cancel": ngettext("%(count)d order canceled.", "%(count)d orders canceled.", len(applied)),
        "hold": ngettext("%(count)d order put on hold.", "%(count)d orders put on hold.", len(applied)),
        "unhold": ngettext("%(count)d order released from hold.", "%(count)d orders released from hold.",
                           len(applied)),
    }[action]
    _report(request, applied=applied, skipped=skipped, done_message=done)
    if not applied and not skipped:
        messages.error(request, _("None of the selected orders exists any more."))
    return redirect(back)


# --- Order view --------------------------------------------------------------------------------------------------

TABS = ("information", "invoices", "creditmemos", "shipments", "history")

# (rules action, url name, method), in the reference back office's order.
HEADER_BUTTONS = [
    ("cancel", "sales:order_cancel", "post"),
    ("email", "sales:order_email", "post"),
    ("hold", "sales:order_hold", "post"),
    ("unhold", "sales:order_unhold", "post"),
    ("invoice", "sales:invoice_new", "get"),
    ("creditmemo", "sales:creditmemo_new", "get"),
    ("ship", "sales:shipment_new", "get"),
    ("reorder", "sales:order_reorder", "post"),
]


def _header_buttons(request, order: Order, channel_cancel) -> list[dict]:
    """The header's buttons, from the rules. Shown to those who may process orders; an action the rules refuse is
    shown disabled with the rule's reason (tooltip, and the line under the buttons). Hold and Unhold are one toggle:
    Unhold while the order is on hold, Hold otherwise. On an order its channel cancels its own way (Amazon), Cancel
    opens the channel's dialog and follows the channel's verdict."""
    if not request.user.has_perm(PROCESS):
        return []
    labels = {
        "cancel": _("Cancel"), "email": _("Send Email"), "hold": _("Hold"), "unhold": _("Unhold"),
        "invoice": _("Invoice"), "creditmemo": _("Credit Memo"), "ship": _("Ship"), "reorder": _("Reorder"),
    }
    confirmations = {
        "cancel": _("Are you sure you want to cancel this order?"),
        "email": _("Are you sure you want to send an order email to customer?"),
        "reorder": _("Create a new order with the same items?"),
    }
    verdicts = {str(action): verdict for action, verdict in rules.available_actions(order).items()}
    if channel_cancel is not None:
        verdicts["cancel"] = rules.Verdict(channel_cancel.allowed, channel_cancel.reason)
    toggle = "unhold" if verdicts["unhold"] else "hold"
    buttons = []
    for action, url_name, method in HEADER_BUTTONS:
        if action in ("hold", "unhold") and action != toggle:
            continue
        verdict = verdicts[action]
        dialog = "cancel-dialog" if action == "cancel" and channel_cancel is not None else ""
        buttons.append({
            "action": action, "label": labels[action], "url": reverse(url_name, args=[order.pk]),
            "method": method, "confirm": "" if dialog else confirmations.get(action, ""), "dialog": dialog,
            "danger": action == "cancel", "primary": action in ("invoice", "ship"),
            "enabled": verdict.allowed, "reason": verdict.message,
        })
    return buttons


def _refusals(buttons: list[dict]) -> list[dict]:
    """The reasons of the disabled buttons, each once, with the buttons it disables."""
    grouped: dict[str, list[str]] = {}
    for button in buttons:
        if not button["enabled"]:
            grouped.setdefault(button["reason"], []).append(str(button["label"]))
    return [{"labels": ", ".join(labels), "reason": reason} for reason, labels in grouped.items()]


def _order_context(request, order: Order, *, tab: str = "information", comment_form=None) -> dict:
    addresses = selectors.addresses_by_type(order)
    payment = getattr(order, "payment", None)
    status_labels = selectors.order_status_labels()
    history = list(order.history.all())
    channel = channels.channel_for(order)
    can_process = request.user.has_perm(PROCESS)
    channel_cancel = channel.cancel_dialog(order) if can_process else None
    buttons = _header_buttons(request, order, channel_cancel)
    return {
        "order": order,
        "tab": tab if tab in TABS else "information",
        "buttons": buttons,
        "refusals": _refusals(buttons),
        "cancel_dialog": channel_cancel if channel_cancel else None,
        "billing": addresses.get("billing"),
        "shipping": addresses.get("shipping"),
        "payment": payment,
        "payment_information": channel.payment_information(
            order, list((payment.additional_information or {}).items()) if payment else []),
        "payment_links": channel.payment_links(order),
        "channel_badges": channel.badges(order),
        "status_label": status_labels.get(order.status, order.status),
        "status_labels": status_labels,
        "item_rows": item_rows.order_rows(order.items.all(), order.currency),
        "history": history,
        "comments": [entry for entry in history if entry.comment],
        "comment_form": comment_form or CommentForm(order=order),
        "can_process": can_process,
        "money": lambda amount: format_money(amount, order.currency),
    }


@require(VIEW)
@LARGE_ORDER_PAGE
def order_view(request, order_id: int):
    try:
        order = selectors.order_for_view(order_id)
    except Order.DoesNotExist:
        raise Http404(_("This order no longer exists."))
    tab = request.GET.get("tab", "information")
    return render(request, "sales/order_view.html", _order_context(request, order, tab=tab))


def _order_action(request, order_id: int, run, success_message: str):
    order = get_object_or_404(Order, pk=order_id)
    try:
        result = run(order)
    except OrderActionError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, success_message)
        if isinstance(result, Order) and result.pk != order.pk:
            return redirect("sales:order_view", result.pk)
    return redirect("sales:order_view", order.pk)


@require(PROCESS)
@require_POST
def order_cancel(request, order_id: int):
    return _order_action(request, order_id, lambda order: services.order_cancel(order=order, actor=request.user),
                         _("You canceled the order."))


@require(PROCESS)
@require_POST
def order_hold(request, order_id: int):
    return _order_action(request, order_id, lambda order: services.order_hold(order=order, actor=request.user),
                         _("You put the order on hold."))


@require(PROCESS)
@require_POST
def order_unhold(request, order_id: int):
    return _order_action(request, order_id, lambda order: services.order_unhold(order=order, actor=request.user),
                         _("You released the order from holding status."))


@require(PROCESS)
@require_POST
def order_email(request, order_id: int):
    return _order_action(request, order_id,
                         lambda order: services.order_email_send(order=order, actor=request.user),
                         _("You sent the order email."))


@require(PROCESS)
@require_POST
def order_reorder(request, order_id: int):
    return _order_action(request, order_id,
                         lambda order: services.order_reorder(order=order, actor=request.user),
                         _("You created the new order."))


@require(PROCESS)
@require_POST
def order_comment(request, order_id: int):
    order = get_object_or_404(Order, pk=order_id)
    form = CommentForm(request.POST, order=order)
    if form.is_valid():
        try:
            services.order_comment_add(
                order=order, comment=form.cleaned_data["comment"],
                status=form.cleaned_data["status"] or None,
                notify_customer=form.cleaned_data["notify_customer"],
                visible_on_front=form.cleaned_data["visible_on_front"],
                actor=request.user,
            )
        except OrderActionError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, _("The comment was added."))
            return redirect(reverse("sales:order_view", args=[order.pk]) + "#notes")
    order = selectors.order_for_view(order.pk)
    return render(request, "sales/order_view.html", _order_context(request, order, comment_form=form), status=400)


# --- New invoice / shipment / credit memo ------------------------------------------------------------------------

def _apply_error(form, error: OrderActionError) -> None:
    """Show a service refusal next to its field when the form has it, else above the form."""
    field = error.field or ""
    for candidate in (field, f"qty_{field}", field.replace("quantities.", "qty_")):
        if candidate and form.has_field(candidate):
            form.add_error(candidate, error.message)
            return
    form.add_error(None, error.message)


def _document_order(request, order_id: int, action_name: str):
    """The order for a new-document page, or a redirect with the reason when the rules refuse the action."""
    try:
        order = selectors.order_for_document(order_id)
    except Order.DoesNotExist:
        raise Http404(_("This order no longer exists."))
    verdict = rules.check(order, rules.Action(action_name))
    if not verdict:
        messages.error(request, verdict.reason)
        return order, redirect("sales:order_view", order.pk)
    return order, None


def _document_page(request, order, form, template: str, *, invalid: bool = False, **extra):
    addresses = selectors.addresses_by_type(order)
    context = {
        "order": order, "form": form, "billing": addresses.get("billing"), "shipping": addresses.get("shipping"),
        "payment": getattr(order, "payment", None), "money": lambda amount: format_money(amount, order.currency),
        "lines": item_rows.new_document_rows(form, order.currency), **extra,
    }
    invalid = invalid or (form.is_bound and bool(form.errors))
    return render(request, template, context, status=400 if invalid else 200)


def _preview(form, preview, order: Order) -> dict:
    """The page's totals: what ``preview`` (``invoice_preview`` / ``creditmemo_preview``) computes for the form's
    input, that is exactly what the document would hold. A refusal shows instead of a number, as a submit would show
    it: next to its field, or above the totals while the form is not submitted. A form with errors shows none."""
    if form.is_bound and form.errors:
        return {}
    try:
        return {"totals": preview(order=order, **form.document_input())}
    except OrderActionError as error:
        if not form.is_bound:
            return {"totals_refused": error.message}
        _apply_error(form, error)
        return {}


@require(PROCESS)
@LARGE_ORDER_PAGE
def invoice_new(request, order_id: int):
    order, refused = _document_order(request, order_id, "invoice")
    if refused:
        return refused
    form = InvoiceForm(request.POST or None, order=order)
    if request.method == "POST" and form.is_valid() and not request.POST.get("update"):
        try:
            invoice = services.invoice_create(
                order=order, **form.document_input(), comment=form.cleaned_data["comment"],
                notify_customer=form.cleaned_data["notify_customer"], actor=request.user,
            )
        except OrderActionError as error:
            _apply_error(form, error)
        else:
            messages.success(request, _("The invoice %(number)s has been created.") % {"number": invoice.number})
            return redirect("sales:order_view", order.pk)
    totals = _preview(form, services.invoice_preview, order)
    return _document_page(request, order, form, "sales/invoice_new.html", **totals)


@require(PROCESS)
@LARGE_ORDER_PAGE
def shipment_new(request, order_id: int):
    order, refused = _document_order(request, order_id, "ship")
    if refused:
        return refused
    data = request.POST or None
    form = ShipmentForm(data, order=order)
    tracks = TrackFormSet(data, prefix="track", initial=None if data else [{}])
    if data and request.POST.get("add_track"):
        # Add an empty tracking row and show the page again (the reference back office's "Add Tracking Number").
        rows = [{k: request.POST.get(f"track-{i}-{k}", "") for k in ("carrier_code", "title", "number")}
                for i in range(tracks.total_form_count())]
        tracks = TrackFormSet(prefix="track", initial=[*rows, {}])
        form = ShipmentForm(data, order=order)
        form.is_valid()
        form._errors = {}
        return _document_page(request, order, form, "sales/shipment_new.html", tracks=tracks)
    if data and form.is_valid() & tracks.is_valid():
        track_rows = [track for track in (f.track() for f in tracks.forms) if track]
        try:
            shipment = services.shipment_create(
                order=order, quantities=form.quantities(), tracks=track_rows, comment=form.cleaned_data["comment"],
                notify_customer=form.cleaned_data["notify_customer"], actor=request.user,
            )
        except OrderActionError as error:
            _apply_error(form, error)
        else:
            messages.success(request, _("The shipment %(number)s has been created.") % {"number": shipment.number})
            for warning in channels.channel_for(order).shipment_warnings(order, track_rows):
                messages.warning(request, warning)
            return redirect("sales:order_view", order.pk)
    invalid = bool(data) and (bool(form.errors) or not tracks.is_valid())
    return _document_page(request, order, form, "sales/shipment_new.html", tracks=tracks, invalid=invalid)


@require(PROCESS)
@LARGE_ORDER_PAGE
def creditmemo_new(request, order_id: int):
    order, refused = _document_order(request, order_id, "creditmemo")
    if refused:
        return refused
    form = CreditMemoForm(request.POST or None, order=order)
    if request.method == "POST" and form.is_valid() and not request.POST.get("update"):
        try:
            creditmemo = services.creditmemo_create(
                order=order, **form.document_input(), return_to_stock=form.return_to_stock(),
                comment=form.cleaned_data["comment"], notify_customer=form.cleaned_data["notify_customer"],
                actor=request.user,
            )
        except OrderActionError as error:
            _apply_error(form, error)
        else:
            messages.success(request, _("You created the credit memo %(number)s.") % {"number": creditmemo.number})
            return redirect("sales:order_view", order.pk)
    totals = _preview(form, services.creditmemo_preview, order)
    return _document_page(request, order, form, "sales/creditmemo_new.html", **totals)


# The document screens live in document_views; their names stay importable from here as well.
invoice_list = document_views.invoice_list
invoice_view = document_views.invoice_view
invoice_pdf = document_views.invoice_pdf
invoice_mass_print = document_views.invoice_mass_print
shipment_list = document_views.shipment_list
shipment_view = document_views.shipment_view
shipment_pdf = document_views.shipment_pdf
shipment_mass_print = document_views.shipment_mass_print
creditmemo_list = document_views.creditmemo_list
creditmemo_view = document_views.creditmemo_view
creditmemo_pdf = document_views.creditmemo_pdf
creditmemo_mass_print = document_views.creditmemo_mass_print
