from django import template

from billing.pricing import cents_to_dollars

register = template.Library()


@register.filter
def dollars(cents: int | None) -> str:
    """`245` → `$2.45`, for amounts kept in cents."""
    return f"${cents_to_dollars(cents or 0):,.2f}"
