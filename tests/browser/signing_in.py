"""Signing in from a browser test: a user with a role, then the login form that the first page leads to."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from saleschannel.core.roles import assign_role

PASSWORD = "Browser-pass-2026"


def make_browser_user(username: str, role: str):
    user = get_user_model().objects.create_user(username=username, password=PASSWORD)
    assign_role(user=user, role=role)
    return user


def sign_in(page, live_server, path: str, username: str) -> None:
    """Open ``path`` signed out and sign in as ``username`` on the login page it redirects to; the browser then
    follows the login's ``next`` back to ``path``."""
    page.goto(f"{live_server.url}{path}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
