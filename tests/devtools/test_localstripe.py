"""The local Stripe reports cards as Stripe does."""

import pytest

from devtools.localstripe.server import card_brand


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        ("4242424242424242", "visa"),
        ("5555555555554444", "mastercard"),
        ("2223003122003222", "mastercard"),
        ("378282246310005", "amex"),
        ("6011111111111117", "discover"),
        ("3566002020360505", "jcb"),
        ("36227206271667", "diners"),
        ("6200000000000005", "unionpay"),
        ("9999999999999995", "unknown"),
    ],
)
def test_local_stripe_reports_the_brand_of_a_test_card(number, brand):
    assert card_brand(number) == brand
