"""Run by the restart tests in the app's environment (its private PostgreSQL), where the
test process's own database is not: `place <payment method id>` makes a person with that
card on file and a persona, places a call to them (the hold at localstripe, the dial at the
local Twilio) and prints it as JSON with an API token of the person's; `inspect <call id>`
prints what the database holds of the call and its money.

    python -m tests.voice.restarts.app_side place pm_...
"""

import json
import sys
import uuid

import django


def place(payment_method_id: str) -> dict:
    from accounts.tokens import token_pair_issue
    from billing.services import holds, payment_methods
    from calls.services import placing
    from tests.factories import UserFactory
    from tests.personas.factories import PersonaFactory

    # Each run is a process of its own: the factories' sequences start again every time.
    unique = uuid.uuid4().int
    user = UserFactory(email=f"restarts-{unique}@example.com", phone=f"+1555{unique % 10**7:07d}")
    payment_methods.payment_method_add(user=user, payment_method_id=payment_method_id, set_as_default=True)
    persona = PersonaFactory(owner=user, is_public=True, name="Best Friend", greeting="Hey you! How's your day going?")
    authorization = holds.authorization_create(user=user, estimated_duration=10).authorization
    call = placing.call_create(user=user, phone_number=user.phone, persona=persona, authorization=authorization)
    call = placing.call_dial(call=call)
    return {
        "id": str(call.pk),
        "sid": call.sid,
        "persona_id": str(call.persona_id),
        "token": token_pair_issue(user=user).access,
    }


def inspect(call_id: str) -> dict:
    from billing.models import AuthorizationSettlement, PaymentAuthorization
    from calls.models import Call, CallTurn

    call = Call.objects.get(pk=call_id)
    authorization = PaymentAuthorization.objects.get(pk=call.authorization_id)
    return {
        "status": call.status,
        "ended_by": call.ended_by,
        "duration": call.duration,
        "live_stream_sid": call.live_stream_sid,
        "turns": list(CallTurn.objects.filter(call=call).order_by("index").values_list("speaker", flat=True)),
        "amount_captured": authorization.amount_captured,
        "settlements": list(
            AuthorizationSettlement.objects.filter(authorization_id=authorization.pk).values_list("kind", flat=True)
        ),
    }


if __name__ == "__main__":
    django.setup()
    command, argument = sys.argv[1:3]
    print(json.dumps({"place": place, "inspect": inspect}[command](argument)))
