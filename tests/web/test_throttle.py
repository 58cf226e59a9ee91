"""Login throttling counts per user, per address and per pair separately (issue 11, finding 10)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from saleschannel.core.roles import OPERATOR, VIEWER
from saleschannel.web import throttle
from tests.factories import ROLE_USER_PASSWORD as PASSWORD
from tests.factories import make_role_user

OFFICE = "203.0.113.7"
LOCKED = b"Too many failed sign-in attempts"


@pytest.fixture(autouse=True)
def _clear_throttle():
    cache.clear()
    yield
    cache.clear()


def sign_in(username, password, address=OFFICE):
    client = Client(REMOTE_ADDR=address)
    response = client.post("/login/", {"username": username, "password": password})
    return response, "_auth_user_id" in client.session


def test_one_users_mistakes_do_not_lock_out_colleagues_at_the_same_address(db):
    alice, bob = make_role_user(OPERATOR, "alice"), make_role_user(VIEWER, "bob")
    for _ in range(throttle.PAIR_MAX_FAILURES):
        response, signed_in = sign_in(alice.username, "wrong")
        assert not signed_in and LOCKED not in response.content
    # Alice is refused from the office, even with the right password ...
    response, signed_in = sign_in(alice.username, PASSWORD)
    assert not signed_in and LOCKED in response.content
    # ... Bob, behind the same address, signs in.
    response, signed_in = sign_in(bob.username, PASSWORD)
    assert signed_in and response.status_code == 302
    # And Alice can from another address (her own account is not locked everywhere by 5 mistakes).
    assert sign_in(alice.username, PASSWORD, address="198.51.100.1")[1]


def test_a_brute_force_on_one_account_from_many_addresses_is_stopped(db):
    alice = make_role_user(OPERATOR, "alice")
    for i in range(throttle.USER_MAX_FAILURES):
        response, _signed_in = sign_in(alice.username, f"guess-{i}", address=f"10.0.{i // 250}.{i % 250}")
        assert LOCKED not in response.content  # each address stays under its own limit
    response, signed_in = sign_in(alice.username, PASSWORD, address="10.9.9.9")  # a fresh address
    assert not signed_in and LOCKED in response.content
    # Other accounts are not affected.
    assert sign_in(make_role_user(VIEWER, "bob").username, PASSWORD, address="10.9.9.9")[1]


def test_a_spray_of_many_accounts_from_one_address_is_stopped_at_a_higher_threshold(db):
    bob = make_role_user(VIEWER, "bob")
    for i in range(throttle.ADDRESS_MAX_FAILURES - 1):
        sign_in(f"user{i}", "Password1")
    assert sign_in(bob.username, PASSWORD)[1]  # under the threshold the office still works
    sign_in("user-last", "Password1")
    response, signed_in = sign_in(bob.username, PASSWORD)
    assert not signed_in and LOCKED in response.content
    assert sign_in(bob.username, PASSWORD, address="198.51.100.1")[1]  # another address is not concerned
    assert throttle.PAIR_MAX_FAILURES < throttle.USER_MAX_FAILURES and throttle.PAIR_MAX_FAILURES < \
        throttle.ADDRESS_MAX_FAILURES


def test_refused_attempts_are_not_counted_and_success_clears_only_the_pair(db):
    alice, bob = make_role_user(OPERATOR, "alice"), make_role_user(VIEWER, "bob")
    for _ in range(throttle.PAIR_MAX_FAILURES - 1):
        sign_in(alice.username, "wrong")
    assert sign_in(alice.username, PASSWORD)[1]  # success: her pair counter starts again
    for _ in range(throttle.PAIR_MAX_FAILURES - 1):
        sign_in(alice.username, "wrong")
    assert sign_in(alice.username, PASSWORD)[1]
    # The address counter kept every failure (a valid sign-in does not wipe a spray's trace).
    counts = cache.get_many([key for key, _limit in throttle._counters(alice.username, OFFICE)])
    assert counts[throttle._counters("x", OFFICE)[2][0]] == 2 * (throttle.PAIR_MAX_FAILURES - 1)
    # Attempts refused by a lock are not counted.
    for _ in range(throttle.PAIR_MAX_FAILURES):
        sign_in(bob.username, "wrong")
    for _ in range(10):
        sign_in(bob.username, "wrong")
    assert cache.get(throttle._counters(bob.username, OFFICE)[1][0]) == throttle.PAIR_MAX_FAILURES
