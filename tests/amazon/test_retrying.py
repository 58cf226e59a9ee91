"""The one retry policy (saleschannel/amazon/retrying.py): bounds, jitter within the caps, a monotone ceiling, and the
tenacity Retrying it gives the gateway (attempts, total time, what is never retried)."""

from __future__ import annotations

import pytest

from saleschannel.amazon.retrying import (
    EQUAL_JITTER,
    FULL_JITTER,
    GATEWAY_RETRY,
    OUTBOX_GATEWAY_RETRY,
    OUTBOX_RETRY,
    RetryPolicy,
)

POLICIES = [GATEWAY_RETRY, OUTBOX_GATEWAY_RETRY, OUTBOX_RETRY, RetryPolicy(base_delay=1, max_delay=100),
            RetryPolicy(base_delay=0.01, max_delay=0.05, jitter=EQUAL_JITTER)]


@pytest.mark.parametrize("policy", POLICIES)
def test_ceiling_is_exponential_capped_and_monotone(policy):
    ceilings = [policy.ceiling(n) for n in range(1, 60)]
    assert ceilings == sorted(ceilings)  # never shrinks
    assert all(0 < c <= policy.max_delay for c in ceilings)
    assert ceilings[-1] == policy.max_delay  # reaches the cap, and stays there (no overflow at large n)
    for n, ceiling in enumerate(ceilings, start=1):
        assert ceiling == min(policy.max_delay, policy.base_delay * 2 ** n)


@pytest.mark.parametrize("policy", POLICIES)
def test_delays_stay_within_the_jitter_bounds(policy):
    low = 0.0 if policy.jitter == FULL_JITTER else 0.5
    for n in (1, 2, 3, 5, 8, 13, 40, 1000):
        ceiling = policy.ceiling(n)
        delays = [policy.delay(n) for _ in range(200)]
        assert all(low * ceiling <= d <= ceiling for d in delays), (n, min(delays), max(delays))
        assert len(set(delays)) > 1  # jittered, not a constant
        assert max(delays) > 0.9 * ceiling  # spread up to the ceiling


def test_the_settings():
    assert GATEWAY_RETRY == RetryPolicy()  # the gateway's default
    assert (GATEWAY_RETRY.max_attempts, GATEWAY_RETRY.max_total_seconds) == (6, 120.0)
    assert GATEWAY_RETRY.ceiling(1) == 1.0 and GATEWAY_RETRY.max_delay == 30.0
    assert GATEWAY_RETRY.jitter == FULL_JITTER
    assert (OUTBOX_GATEWAY_RETRY.max_attempts, OUTBOX_GATEWAY_RETRY.max_total_seconds) == (4, 60)
    # The outbox: first retry 15-30 s later, at most an hour.
    assert OUTBOX_RETRY.jitter == EQUAL_JITTER
    assert OUTBOX_RETRY.ceiling(1) == 30.0 and OUTBOX_RETRY.max_delay == 3600.0
    with pytest.raises(ValueError):
        RetryPolicy(jitter="none")


def _retrying(policy, sleeps, **kwargs):
    return policy.retrying(retry_if=lambda e: isinstance(e, TimeoutError), sleep=sleeps.append, **kwargs)


def test_retrying_stops_after_max_attempts_and_raises_the_last_error():
    sleeps, calls = [], []

    def failing():
        calls.append(1)
        raise TimeoutError(len(calls))

    with pytest.raises(TimeoutError) as caught:
        _retrying(RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05), sleeps)(failing)
    assert caught.value.args == (4,) and len(calls) == 4 and len(sleeps) == 3
    assert all(0 <= s <= 0.05 for s in sleeps)


def test_retrying_gives_up_when_the_next_wait_would_end_past_the_total_time():
    sleeps, calls = [], []

    def failing():
        calls.append(1)
        raise TimeoutError

    given_up = []

    def give_up(state):
        given_up.append(state.attempt_number)
        raise RuntimeError("gave up")

    policy = RetryPolicy(max_attempts=50, max_total_seconds=3, base_delay=1, max_delay=100, jitter=EQUAL_JITTER)
    with pytest.raises(RuntimeError):
        _retrying(policy, sleeps, give_up=give_up)(failing)
    # The sleeps are not real here: only the waits count. After the 2nd attempt the wait is 2-4 s, after the 3rd 4-8 s.
    assert len(calls) in (2, 3) and given_up == [len(calls)] and len(sleeps) == len(calls) - 1


def test_retrying_never_retries_what_retry_if_refuses_and_returns_the_result():
    sleeps, calls = [], []

    def refused():
        calls.append(1)
        raise ValueError("refused")

    with pytest.raises(ValueError):
        _retrying(GATEWAY_RETRY, sleeps)(refused)
    assert len(calls) == 1 and sleeps == []

    answers = iter([TimeoutError(), TimeoutError(), "ok"])

    def flaky():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert _retrying(RetryPolicy(base_delay=0.001), sleeps)(flaky) == "ok" and len(sleeps) == 2
