"""The person's rating of a finished call."""

from django.core.exceptions import ValidationError
from django.db import transaction

from callmeback.errors import ValidationFailed
from calls.models import Call, CallFeedback
from calls.services.changes import call_changed
from personas.validators import TextRule

FEEDBACK_TEXT = TextRule("Feedback", 0, 2000)


def call_feedback_save(*, call: Call, rating: object, feedback_text: str = "") -> CallFeedback:
    """The person's rating of a finished call: one per call, saving again edits it."""
    errors: dict[str, list[str]] = {}
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        errors["rating"] = ["rating must be a whole number from 1 to 5."]
    try:
        text = FEEDBACK_TEXT.clean(feedback_text or "")
    except ValidationError as error:
        errors["feedback_text"] = error.messages
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], details=errors)
    if call.is_active:
        raise ValidationFailed.for_field("rating", "You can rate a call once it has ended.")
    with transaction.atomic():
        feedback, _ = CallFeedback.objects.update_or_create(
            call=call, defaults={"rating": rating, "feedback_text": text}
        )
        call_changed(call)
    return feedback
