"""Billing's error codes (`000_*` §6, §8). The gateway raises the provider ones; services the rest."""

from callmeback.errors import ApplicationError


class PaymentDeclined(ApplicationError):
    """The card was refused: 402 with CARD_DECLINED, INSUFFICIENT_FUNDS or PAYMENT_FAILED."""

    code = "PAYMENT_FAILED"
    codes = ("PAYMENT_FAILED", "CARD_DECLINED", "INSUFFICIENT_FUNDS")
    status_code = 402
    default_message = "The payment could not be authorised. Try another card."

    @classmethod
    def from_stripe(cls, code: str | None, decline_code: str | None) -> "PaymentDeclined":
        details = {"code": code or "", "decline_code": decline_code or ""}
        if "insufficient_funds" in (code, decline_code):
            return cls("The card has insufficient funds.", code="INSUFFICIENT_FUNDS", details=details)
        if code == "card_declined":
            return cls("Your card was declined.", code="CARD_DECLINED", details=details)
        return cls(details=details)


class StripeServiceError(ApplicationError):
    """Stripe could not do what we asked; the client sees 500 STRIPE_ERROR."""

    code = "STRIPE_ERROR"
    status_code = 500
    default_message = "The payment provider could not complete the request. Please try again."


class StripeTemporaryError(StripeServiceError):
    """Stripe was unreachable, overloaded or failed inside: the same request may succeed later."""


class StripeRequestRejected(StripeServiceError):
    """Stripe refused the request itself (unknown id, wrong state); services decide what it means."""

    def __init__(self, message: str | None = None, *, stripe_code: str | None, http_status: int | None) -> None:
        super().__init__(message)
        self.stripe_code = stripe_code or ""
        self.http_status = http_status or 0

    @property
    def is_missing(self) -> bool:
        return self.http_status == 404 or self.stripe_code == "resource_missing"


class InvalidWebhookSignature(ApplicationError):
    code = "INVALID_SIGNATURE"
    status_code = 400
    default_message = "Invalid Stripe-Signature header."


class MalformedWebhookEvent(ApplicationError):
    code = "VALIDATION_ERROR"
    status_code = 400
    default_message = "The webhook body is not a Stripe event."


class ServiceUnavailable(ApplicationError):
    code = "SERVICE_UNAVAILABLE"
    status_code = 503
    default_message = "Service unavailable."


class NoPaymentMethod(ApplicationError):
    """A hold was asked for with no default card on file."""

    code = "NO_PAYMENT_METHOD"
    status_code = 400
    default_message = "No payment method on file. Add a card first."


class CannotRemoveDefault(ApplicationError):
    code = "CANNOT_REMOVE_DEFAULT"
    status_code = 400
    default_message = "Cannot remove the default payment method. Set another card as default first."


class NotCapturable(ApplicationError):
    code = "PAYMENT_REQUIRED"
    status_code = 402
    default_message = "This payment was never authorised, so there is nothing to capture."


class AlreadySubscribed(ApplicationError):
    code = "ALREADY_SUBSCRIBED"
    status_code = 409
    default_message = "You already have an active premium subscription."
