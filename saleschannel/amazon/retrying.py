"""The one retry policy of everything that talks to Amazon: exponential back-off with jitter, capped (over tenacity).

One policy type, ``RetryPolicy``, and its settings for each caller, all here:

* the SP-API gateway (``spapi.gateway``) retries a failed call in the same process a few times (429, 5xx, timeouts,
  unreadable answers), within a number of attempts and a total time: ``RetryPolicy.retrying`` gives it the
  ``tenacity.Retrying`` that runs the call (``GATEWAY_RETRY``, ``OUTBOX_GATEWAY_RETRY``);
* the outbox (``delivery``) tries a message again in a later delivery, up to an hour later: ``RetryPolicy.delay``
  gives the wait before its next attempt, from the same tenacity wait strategy, given the attempts made
  (``OUTBOX_RETRY``).

After ``n`` failed attempts the wait is drawn below the ceiling ``min(max_delay, base_delay × 2^n)``: from 0 with
"full" jitter (the gateway's: workers retrying at once spread out the most) or from half the ceiling with "equal"
jitter (the outbox's: a message never comes back much sooner than its back-off says).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity.stop import stop_base
from tenacity.wait import wait_base, wait_exponential, wait_random_exponential

FULL_JITTER = "full"  # anywhere between 0 and the ceiling
EQUAL_JITTER = "equal"  # between half the ceiling and the ceiling
JITTERS = (FULL_JITTER, EQUAL_JITTER)


class _StopPastTotal(stop_base):
    """Stop when the next wait would end more than ``seconds`` after the first attempt started."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __call__(self, retry_state: RetryCallState) -> bool:
        return retry_state.seconds_since_start + retry_state.upcoming_sleep > self.seconds


@dataclass
class RetryPolicy:
    """Exponential back-off with jitter, capped in each wait, in attempts and in total time.

    ``base_delay`` and ``max_delay`` shape the waits (see the module); ``max_attempts`` counts every attempt, the
    first one included; ``max_total_seconds`` bounds the time from the first attempt to the end of the last wait.
    """

    max_attempts: int = 6
    max_total_seconds: float = 120.0
    base_delay: float = 0.5
    max_delay: float = 30.0
    jitter: str = FULL_JITTER

    def __post_init__(self) -> None:
        if self.jitter not in JITTERS:
            raise ValueError(f"jitter must be one of {JITTERS}, not {self.jitter!r}")

    def wait(self) -> wait_base:
        """The tenacity wait strategy: after attempt number ``n`` failed, a wait below ``ceiling(n)``."""
        # tenacity's exponential waits are multiplier × 2^(n-1): the policy's base × 2^n is multiplier = 2 × base.
        if self.jitter == FULL_JITTER:
            return wait_random_exponential(multiplier=2 * self.base_delay, max=self.max_delay)
        half = {"multiplier": self.base_delay, "max": self.max_delay / 2}
        return wait_exponential(**half) + wait_random_exponential(**half)

    def ceiling(self, failures: int) -> float:
        """The longest wait after ``failures`` failed attempts: ``min(max_delay, base_delay × 2^failures)``."""
        return wait_exponential(multiplier=2 * self.base_delay, max=self.max_delay)(_after(failures))

    def delay(self, failures: int) -> float:
        """A wait drawn from ``wait()`` after ``failures`` failed attempts (for a retry scheduled, not slept)."""
        return self.wait()(_after(failures))

    def retrying(self, *, retry_if: Callable[[BaseException], bool], sleep: Callable[[float], None],
                 before_sleep: Callable[[RetryCallState], None] | None = None,
                 give_up: Callable[[RetryCallState], object] | None = None) -> Retrying:
        """A ``tenacity.Retrying`` that calls a function until it returns; retries the exceptions ``retry_if``
        accepts (any other one is raised at once, as is), waiting per ``wait()`` with ``sleep``; gives up after
        ``max_attempts`` attempts or when the next wait would end past ``max_total_seconds``. Giving up calls
        ``give_up(retry_state)`` (which raises) if given, else raises the last exception as is."""
        return Retrying(
            sleep=sleep,
            stop=stop_after_attempt(self.max_attempts) | _StopPastTotal(self.max_total_seconds),
            wait=self.wait(),
            retry=retry_if_exception(retry_if),
            before_sleep=before_sleep,
            retry_error_callback=give_up,
            reraise=True,
        )


def _after(failures: int) -> RetryCallState:
    """The state tenacity's wait strategies read (the attempt number) after ``failures`` failed attempts."""
    state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})
    state.attempt_number = failures
    return state


# --- The settings ---------------------------------------------------------------------------------------------

# The gateway's default: first retry within 1 s, then 2, 4 ... at most 30 s; 6 attempts within 2 minutes.
GATEWAY_RETRY = RetryPolicy()

# The gateway inside one delivery of the outbox: short, since the outbox tries the message again later anyway.
OUTBOX_GATEWAY_RETRY = RetryPolicy(max_attempts=4, max_total_seconds=60)

# The outbox: a message whose delivery failed is tried again 15-30 s later, then twice as late after each further
# failure, at most an hour. How many attempts before it is dead-lettered is the admin's setting
# (``ChannelSettings.outbox_max_attempts``, 8 by default), read at each delivery: not ``max_attempts`` here.
OUTBOX_RETRY = RetryPolicy(base_delay=15.0, max_delay=3600.0, jitter=EQUAL_JITTER)

# A person is waiting on the screen: "Test connection" on the store form, and "Check on Amazon" for an outbox message
# whose outcome is unknown. A few quick attempts, then the answer (or Amazon's error) is shown.
CONNECTION_TEST_RETRY = RetryPolicy(max_attempts=3, max_total_seconds=20)
INTERACTIVE_CHECK_RETRY = RetryPolicy(max_attempts=3, max_total_seconds=15)
