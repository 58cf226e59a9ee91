"""Login throttling: after too many failed attempts for one user name or one address, refuse for a while.

Counts live in Django's cache (per process with the default local-memory cache; shared when a shared cache is
configured). Both the user name and the client address are counted, so neither guessing one user's password from
many addresses nor many users' passwords from one address goes unchecked.
"""

from __future__ import annotations

import hashlib

from django.core.cache import cache

MAX_FAILURES = 5
LOCKOUT_SECONDS = 15 * 60


def _keys(username: str, address: str) -> list[str]:
    def digest(value: str) -> str:
        return hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]

    return [f"login-fail:user:{digest(username)}", f"login-fail:addr:{digest(address)}"]


def client_address(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


def is_locked(username: str, address: str) -> bool:
    return any((cache.get(key) or 0) >= MAX_FAILURES for key in _keys(username, address))


def record_failure(username: str, address: str) -> None:
    for key in _keys(username, address):
        cache.add(key, 0, LOCKOUT_SECONDS)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, LOCKOUT_SECONDS)


def reset(username: str, address: str) -> None:
    cache.delete_many(_keys(username, address))
