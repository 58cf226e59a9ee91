"""Small responses shared by the sales screens: a 400 page, a PDF download and a safe "next" URL."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme


def bad_request(request, message: str):
    """A 400 page saying what was wrong with the request (a tampered form or URL: the screens never send it)."""
    return render(request, "sales/bad_request.html", {"message": message}, status=400)


def pdf_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return fallback
