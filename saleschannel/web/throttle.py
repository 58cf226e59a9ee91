"""Login throttling, counted per user, per address and per user-and-address separately (issue 11, finding 10).

An office behind one address must not be locked out because one person mistyped a password, yet guessing must
stay slow. Failed sign-ins are counted, for ``LOCKOUT_SECONDS`` after the first one, under three keys:

================================  =========  ===================================================================
counter                           threshold  what it stops
================================  =========  ===================================================================
one user name from one address    5          guessing one account's password from one place; only that name is
                                             refused from that address, colleagues there can still sign in
one user name, any address        20         a brute force on one account spread over many addresses
one address, any user name        30         a spray of many accounts from one address (also covers a brute force
                                             from one address that rotates through user names)
================================  =========  ===================================================================

A sign-in is refused while any counter that applies has reached its threshold. Refused attempts are not counted
(hammering the button does not lengthen or widen a lock). A successful sign-in clears only its own user-and-address
counter: it proves nothing about the other addresses trying that name, or the other names tried from the address.

Counts live in Django's cache (per process with the default local-memory cache; shared when a shared cache is
configured). The address is ``REMOTE_ADDR``: behind a reverse proxy, make the proxy pass the client's address there.
"""

from __future__ import annotations

import hashlib

from django.core.cache import cache

PAIR_MAX_FAILURES = 5
USER_MAX_FAILURES = 20
ADDRESS_MAX_FAILURES = 30
MAX_FAILURES = PAIR_MAX_FAILURES  # the first limit anyone meets
LOCKOUT_SECONDS = 15 * 60


def _digest(value: str) -> str:
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]


def _counters(username: str, address: str) -> list[tuple[str, int]]:
    user, addr = _digest(username), _digest(address)
    return [
        (f"login-fail:pair:{user}:{addr}", PAIR_MAX_FAILURES),
        (f"login-fail:user:{user}", USER_MAX_FAILURES),
        (f"login-fail:addr:{addr}", ADDRESS_MAX_FAILURES),
    ]


def client_address(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


def is_locked(username: str, address: str) -> bool:
    counters = _counters(username, address)
    counts = cache.get_many([key for key, _limit in counters])
    return any((counts.get(key) or 0) >= limit for key, limit in counters)


def record_failure(username: str, address: str) -> None:
    for key, _limit in _counters(username, address):
        cache.add(key, 0, LOCKOUT_SECONDS)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, LOCKOUT_SECONDS)


def reset(username: str, address: str) -> None:
    """A successful sign-in: forget this user name's failures from this address."""
    cache.delete(_counters(username, address)[0][0])
