"""Access control for back-office views: login required everywhere, permissions checked on the server.

A refused permission answers 403 with a readable message (never a redirect loop to the login page).
"""

from __future__ import annotations

import zoneinfo
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

TIME_ZONE_COOKIE = "tz"


def user_time_zone(request):
    """The browser's time zone (set by app.js in the ``tz`` cookie) when it names a real zone, else None."""
    name = request.COOKIES.get(TIME_ZONE_COOKIE, "")
    if not name or len(name) > 64:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def forbidden(request, message: str | None = None):
    return render(
        request, "web/403.html",
        {"message": message or _("You do not have permission to do this.")}, status=403,
    )


def require(*permissions: str):
    """Decorator: the user must be logged in and hold every permission in ``permissions``."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not request.user.is_active:
                return forbidden(request)
            missing = [perm for perm in permissions if not request.user.has_perm(perm)]
            if missing:
                return forbidden(request)
            # Dates are shown (and "today" counted) in the user's time zone; they are stored in UTC.
            zone = user_time_zone(request)
            if zone is None:
                return view(request, *args, **kwargs)
            with timezone.override(zone):
                return view(request, *args, **kwargs)

        wrapper.required_permissions = permissions
        return wrapper

    return decorator


login_only = require()
