import pytest

from billing import pricing


@pytest.mark.parametrize(
    ("seconds", "cents"),
    [(0, 25), (1, 26), (2, 26), (60, 65), (300, 225), (330, 245), (600, 425), (1800, 1225)],
)
def test_call_cost_is_connection_fee_plus_per_second_minutes_rounded_half_up(seconds, cents):
    assert pricing.call_cost_cents(seconds) == cents


def test_rounding_is_half_up_to_the_cent():
    # 40 cents a minute is 2/3 of a cent a second: 1 s is 0.67¢ → 1¢, 2 s is 1.33¢ → 1¢.
    assert [pricing.call_cost_cents(s) - 25 for s in (1, 2, 3, 4)] == [1, 1, 2, 3]


def test_estimate_uses_the_same_tariff_as_the_real_duration():
    assert pricing.estimate_cents(5) == 225 == pricing.call_cost_cents(5 * 60)
    assert pricing.estimate_cents(10) == 425


def test_negative_duration_is_refused():
    with pytest.raises(ValueError):
        pricing.call_cost_cents(-1)


def test_cents_are_shown_as_dollars():
    assert pricing.cents_to_dollars(245) == 2.45
    assert pricing.cents_to_dollars(0) == 0
