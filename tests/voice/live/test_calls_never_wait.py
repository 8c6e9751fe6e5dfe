"""Live calls never wait on each other: while one call's hang-up is held at Twilio (a slow
Twilio), another call still starts, hears its opening line and has its transcript stored."""

from django.db import connection

from billing.services import payment_methods
from calls.models import Call, CallTurn
from tests.fakes.openai_sse import Reply
from tests.voice.live.conftest import hear_the_opening, run, say_and_hear_the_reply, wait_for

GOODBYE = "I have to go now, bye."


def hung_up_at_twilio(twilio, call: Call) -> bool:
    return twilio.calls[call.sid].status == "completed"


def test_a_hang_up_held_at_twilio_holds_up_no_other_calls_start_opening_or_transcript(
    card_user, user_factory, make_card, place_call, open_stream, deepgram, llm, twilio
):
    ending_call = place_call(card_user)
    other = user_factory()
    payment_methods.payment_method_add(user=other, payment_method_id=make_card(), set_as_default=True)
    new_call = place_call(other)
    deepgram.utterances = [GOODBYE]
    llm.default_reply = Reply(deltas=["Okay,", " bye", " for", " now!"], tool_calls=[("end_call", {})])
    seen: dict[str, bool] = {}

    def while_the_hang_up_is_held() -> None:
        """Runs while Twilio holds the first call's hang-up request, before answering it."""
        new_stream = open_stream(new_call)

        async def new_call_picks_up() -> bool:
            heard = await hear_the_opening(new_stream)
            await new_stream.stop()
            return heard

        try:
            seen["opening heard"] = run(new_call_picks_up())
            seen["transcript stored"] = bool(
                wait_for(lambda: CallTurn.objects.filter(call=new_call).exists(), what="the new call's transcript")
            )
        except AssertionError:
            seen.setdefault("transcript stored", False)
        finally:
            connection.close()

    twilio.probe("POST", rf"/Calls/{ending_call.sid}", while_the_hang_up_is_held)
    ending_stream = open_stream(ending_call)

    async def first_call_says_goodbye() -> bool:
        await hear_the_opening(ending_stream)
        await say_and_hear_the_reply(ending_stream, GOODBYE)
        hung_up = await ending_stream.wait_until(lambda: hung_up_at_twilio(twilio, ending_call), timeout=30)
        await ending_stream.stop()
        return hung_up

    assert run(first_call_says_goodbye())
    assert seen == {"opening heard": True, "transcript stored": True}
    assert Call.objects.get(pk=ending_call.pk).ended_by == Call.EndedBy.PERSONA
