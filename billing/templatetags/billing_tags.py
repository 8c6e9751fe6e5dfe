from django import template

from billing.pricing import cents_to_dollars

register = template.Library()

# Stripe's `card.brand` values as people know them.
_BRAND_NAMES = {
    "amex": "American Express",
    "cartes_bancaires": "Cartes Bancaires",
    "diners": "Diners Club",
    "discover": "Discover",
    "eftpos_au": "eftpos Australia",
    "jcb": "JCB",
    "mastercard": "Mastercard",
    "unionpay": "UnionPay",
    "visa": "Visa",
}


@register.filter
def dollars(cents: int | None) -> str:
    """`245` → `$2.45`, for amounts kept in cents."""
    return f"${cents_to_dollars(cents or 0):,.2f}"


@register.filter
def card_brand(brand: str) -> str:
    """`mastercard` → `Mastercard`, `amex` → `American Express`; an unknown brand → `Card`."""
    return _BRAND_NAMES.get(brand, "Card")
