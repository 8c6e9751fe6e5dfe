"""What a call costs (`000_*` Appendix A): $0.25 to connect plus $0.40 a minute, billed per second.

Every amount is integer cents; this module is the only place that knows the tariff.
"""

CONNECTION_FEE_CENTS = 25
PER_MINUTE_CENTS = 40
MIN_ESTIMATE_MINUTES = 1
MAX_ESTIMATE_MINUTES = 30


def call_cost_cents(seconds: int) -> int:
    """25 + 40 * seconds / 60, rounded half up to the cent (330 s → 245, 300 s → 225).

    Integer arithmetic, so no float ever rounds a customer's bill the wrong way.
    """
    if seconds < 0:
        raise ValueError("A call cannot last a negative number of seconds.")
    return CONNECTION_FEE_CENTS + (PER_MINUTE_CENTS * seconds + 30) // 60


def seconds_covered(cents: int) -> int:
    """The longest call whose cost fits in `cents` (225 → 300 s): a held call's time limit."""
    if cents < CONNECTION_FEE_CENTS:
        return 0
    per_minute_cents = cents - CONNECTION_FEE_CENTS
    # The largest s with (40 s + 30) // 60 <= per_minute_cents.
    return (60 * per_minute_cents + 29) // PER_MINUTE_CENTS


def estimate_cents(minutes: int) -> int:
    """The pre-authorisation for a call expected to last `minutes` (5 → 225)."""
    return call_cost_cents(minutes * 60)


def cents_to_dollars(cents: int) -> float:
    """For the JSON fields the spec writes in dollars (`"cost": 2.45`)."""
    return round(cents / 100, 2)
