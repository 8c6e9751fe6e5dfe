"""Read queries for accounts."""

from accounts.models import User, VerifiedPhoneNumber


def phone_is_verified(*, user: User, phone: str) -> bool:
    """Whether the user proved `phone` (E.164) is theirs: their verified profile phone, or
    any number they confirmed with a code."""
    if phone == user.phone and user.phone_verified:
        return True
    return VerifiedPhoneNumber.objects.filter(user=user, phone_number=phone).exists()
