"""Template context every dashboard page may use."""

from billing import pricing


def call_tariff(request) -> dict:
    """What a call costs, as the pricing module charges it (pages must not restate it)."""
    return {
        "call_tariff": {
            "connection_fee": pricing.format_dollars(pricing.CONNECTION_FEE_CENTS),
            "per_minute": pricing.format_dollars(pricing.PER_MINUTE_CENTS),
        }
    }
