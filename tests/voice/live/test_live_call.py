"""A live call end to end over real sockets: Twilio's media stream into the consumer, the
engine and the real provider adapters against loopback Deepgram, LLM and ElevenLabs, the
transcript written in the background (encrypted), the hang-up through the local Twilio and
the money captured when its status callback reports the real duration."""

import asyncio
import time

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import DEFAULT_CHANNEL_LAYER, channel_layers
from django.db import connection

from billing import pricing
from billing.models import AuthorizationSettlement, PaymentAuthorization
from calls.models import Call, CallTurn
from calls.services.changes import call_group
from calls.tasks import hang_up_after_goodbye
from tests.conftest import client_for
from tests.fakes.openai_sse import Reply
from tests.fakes.twilio_media import speech
from tests.voice.live.conftest import hear_the_opening, run, say_and_hear_the_reply, wait_for
from voice.engine.config import ConversationConfig

ANSWER = "I'm doing great, thanks for calling."


def turns_of(call: Call) -> list[CallTurn]:
    return list(CallTurn.objects.filter(call=call).order_by("index"))


def hung_up_at_twilio(twilio, call: Call) -> bool:
    return twilio.calls[call.sid].status == "completed"


async def hang_up_reaches_twilio(stream, twilio, call: Call) -> bool:
    """Waits (bounded) for our hang-up to reach Twilio, which then ends the stream."""
    hung_up = await stream.wait_until(lambda: hung_up_at_twilio(twilio, call), timeout=15)
    await stream.stop()
    return hung_up


def finish_at_twilio(twilio, call: Call) -> Call:
    """Twilio reports the end (the signed `completed` callback, over HTTP) with the real duration."""
    twilio.advance(call.sid, "completed", duration=twilio.calls[call.sid].duration)
    call.refresh_from_db()
    return call


def test_a_call_is_heard_answered_stored_encrypted_and_billed_for_its_real_duration(
    live_call, open_stream, deepgram, llm, twilio
):
    deepgram.utterances = [ANSWER]
    llm.default_reply = Reply(deltas=["So", " glad", " to", " hear", " it."])
    stream = open_stream(live_call)

    async def scenario():
        opening_heard = await hear_the_opening(stream)
        opening_marks = len(stream.received.echoed)
        reply_heard = await say_and_hear_the_reply(stream, ANSWER)
        await stream.stop()
        return opening_heard, opening_marks, reply_heard

    opening_heard, opening_marks, reply_heard = run(scenario())

    assert opening_heard and opening_marks > 0
    assert reply_heard
    media, marks = stream.received.media, stream.received.marks
    assert len(marks) == len(media)  # each chunk of audio is followed by its mark
    assert all(mark_at >= media_at for (media_at, _), (mark_at, _) in zip(media, marks, strict=True))
    turns = wait_for(lambda: len(turns_of(live_call)) >= 3 and turns_of(live_call), what="three stored turns")
    assert [(turn.speaker, turn.text) for turn in turns] == [
        ("persona", live_call.persona.opening_line),
        ("person", ANSWER),
        ("persona", "So glad to hear it."),
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT text FROM calls_callturn WHERE call_id = %s", [live_call.pk])
        assert not any("glad" in stored for (stored,) in cursor.fetchall())

    call = finish_at_twilio(twilio, live_call)
    authorization = PaymentAuthorization.objects.get(pk=call.authorization_id)
    assert call.status == Call.Status.COMPLETED
    assert call.duration == twilio.calls[call.sid].duration
    assert authorization.amount_captured == pricing.call_cost_cents(call.duration)


def test_the_call_page_group_hears_each_transcript_line_as_it_is_stored(live_call, open_stream, deepgram):
    deepgram.utterances = [ANSWER]
    layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)  # the page's own connection, not the server's
    listener = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(call_group(live_call.pk), listener)
    stream = open_stream(live_call)

    async def scenario():
        await hear_the_opening(stream)
        await say_and_hear_the_reply(stream, ANSWER)
        lines = []
        while len(lines) < 2:
            message = await layer.receive(listener)
            if message["type"] == "call.transcript":
                lines.append((message["speaker"], message["text"]))
        await stream.stop()
        return lines

    assert run(scenario()) == [("persona", live_call.persona.opening_line), ("person", ANSWER)]


def test_barge_in_clears_the_line_cancels_the_reply_and_keeps_only_what_was_heard(
    live_call, open_stream, deepgram, llm, tts, twilio
):
    long_reply = "Well, let me tell you all about my morning, it was really quite a long story with many parts."
    deepgram.utterances = [ANSWER, "Hold on a second."]
    llm.default_reply = Reply(deltas=[word + " " for word in long_reply.split()])
    llm.token_delay = 0.15  # still streaming when the caller cuts in
    stream = open_stream(live_call)

    async def scenario():
        await hear_the_opening(stream)
        said = stream.say(speech(ANSWER))
        await said.done.wait()
        assert await stream.wait_until(lambda: stream.received.first_media_after(said.ended_at), timeout=15)
        await stream.wait_until(lambda: False, timeout=0.8)  # let the reply play a little
        interruption = stream.say(speech("Hold on a second."))
        cleared = await stream.wait_until(
            lambda: interruption.started_at and stream.received.first_clear_after(interruption.started_at), timeout=10
        )
        await stream.listen(timeout=15, quiet=0.5)
        await stream.stop()
        return cleared

    try:
        assert run(scenario())
    finally:
        llm.token_delay = 0.0
    turns = wait_for(lambda: len(turns_of(live_call)) >= 4 and turns_of(live_call), what="the interrupted turn")
    interrupted = turns[2]
    assert interrupted.speaker == "persona" and interrupted.interrupted
    assert interrupted.text and long_reply.startswith(interrupted.text.rstrip(".…"))
    assert len(interrupted.text) < len(long_reply)
    assert (turns[3].speaker, turns[3].text) == ("person", "Hold on a second.")
    assert llm.requests[0].aborted and not llm.requests[0].completed
    assert any(message.get("close_context") for connection_ in tts.connections for message in connection_.received)


def test_a_language_model_failing_mid_call_ends_it_with_an_apology_and_bills_the_real_duration(
    live_call, open_stream, deepgram, llm, twilio
):
    deepgram.utterances = [ANSWER]
    llm.replies = [Reply(deltas=["Oh", " really,", " tell", " me", " more."], drop_after=1)]  # cut mid-stream
    stream = open_stream(live_call)

    async def scenario():
        await hear_the_opening(stream)
        apology_heard = await say_and_hear_the_reply(stream, ANSWER)
        return apology_heard, await hang_up_reaches_twilio(stream, twilio, live_call)

    apology_heard, hung_up = run(scenario())

    assert apology_heard and hung_up
    call = finish_at_twilio(twilio, live_call)
    assert call.status == Call.Status.COMPLETED
    assert call.ended_by == Call.EndedBy.SYSTEM
    authorization = PaymentAuthorization.objects.get(pk=call.authorization_id)
    assert authorization.amount_captured == pricing.call_cost_cents(call.duration)


def test_the_persona_ending_the_call_hangs_up_after_its_goodbye(live_call, open_stream, deepgram, llm, twilio):
    deepgram.utterances = ["I have to go now, bye."]
    llm.default_reply = Reply(deltas=["Okay,", " bye", " for", " now!"], tool_calls=[("end_call", {})])
    stream = open_stream(live_call)

    async def scenario():
        await hear_the_opening(stream)
        goodbye_heard = await say_and_hear_the_reply(stream, "I have to go now, bye.")
        return goodbye_heard, await hang_up_reaches_twilio(stream, twilio, live_call)

    goodbye_heard, hung_up = run(scenario())

    assert goodbye_heard and hung_up
    assert finish_at_twilio(twilio, live_call).ended_by == Call.EndedBy.PERSONA


def test_the_persona_says_goodbye_before_the_authorised_time_runs_out(card_user, place_call, open_stream, llm, twilio):
    call = place_call(card_user, estimated_minutes=1)
    Call.objects.filter(pk=call.pk).update(authorized_seconds=4)  # the wrap-up comes a second in
    llm.default_reply = Reply(deltas=["Oh,", " I", " have", " to", " run.", " Bye!"])
    stream = open_stream(call)

    async def scenario():
        await hear_the_opening(stream, quiet=0.3)
        goodbye_heard = await stream.listen(timeout=15, quiet=0.3)
        return goodbye_heard, await hang_up_reaches_twilio(stream, twilio, call)

    goodbye_heard, hung_up = run(scenario())

    assert goodbye_heard and hung_up
    assert "time for this call is almost up" in str(llm.requests[-1].body["messages"]).lower()
    assert finish_at_twilio(twilio, call).ended_by == Call.EndedBy.TIME_LIMIT


def end_from_the_app(client, call: Call):
    """`POST /api/calls/:id/end` from a thread of its own, whose database connection it closes
    (the test client keeps it open past the request)."""
    try:
        return client.post(f"/api/calls/{call.pk}/end")
    finally:
        connection.close()


def spoken_since(tts, connections_before: int) -> list[str]:
    """What the text-to-speech service was asked to say on the sessions opened since."""
    contexts = [context for opened in tts.connections[connections_before:] for context in opened.contexts.values()]
    return [text for context in contexts for text in context.spoken]


def hang_ups_seen_by(monkeypatch, twilio, stream) -> list[tuple[int, int, int]]:
    """Each hang-up request Twilio gets, with how much the stream had received then: media
    messages, marks, and marks echoed back (the audio before them played)."""
    seen: list[tuple[int, int, int]] = []
    hang_up = twilio.twilio.switchboard.call_hangup_requested

    def watched(call, status: str) -> None:
        received = stream.received
        seen.append((len(received.media), len(received.marks), len(received.echoed)))
        hang_up(call, status)

    monkeypatch.setattr(twilio.twilio.switchboard, "call_hangup_requested", watched)
    return seen


def test_ending_a_live_call_from_the_app_plays_the_goodbye_then_hangs_up_and_bills_once(
    celery_worker, monkeypatch, live_call, open_stream, tts, twilio
):
    stream = open_stream(live_call)
    hang_ups = hang_ups_seen_by(monkeypatch, twilio, stream)
    client = client_for(live_call.user)
    goodbye = ConversationConfig().hangup_line.format(first_name=(live_call.user.name.split() or [""])[0]).strip()
    connections_before = len(tts.connections)

    async def scenario():
        await hear_the_opening(stream)
        # The consumer marked the call live before the opening line began.
        marked = await database_sync_to_async(Call.objects.get)(pk=live_call.pk)
        assert marked.live_stream_sid == stream.stream_sid
        asked, media_before = time.monotonic(), len(stream.received.media)
        ended = await asyncio.to_thread(end_from_the_app, client, live_call)
        goodbye_heard = await stream.listen(timeout=15, quiet=0.3, since=asked)
        return ended, media_before, goodbye_heard, await hang_up_reaches_twilio(stream, twilio, live_call)

    ended, media_before, goodbye_heard, hung_up = run(scenario())

    assert ended.status_code == 200
    assert (ended.json()["call"]["status"], ended.json()["call"]["ended_by"]) == ("in-progress", "user")
    assert goodbye_heard and hung_up
    assert any(goodbye in text for text in spoken_since(tts, connections_before))
    [(media, marks, echoed)] = hang_ups  # one hang-up, once the goodbye had played to its last mark
    assert media > media_before and echoed == marks == len(stream.received.marks)
    wait_for(lambda: not Call.objects.get(pk=live_call.pk).live_stream_sid, what="the stream's end recorded")

    call = finish_at_twilio(twilio, live_call)
    assert (call.status, call.ended_by) == (Call.Status.COMPLETED, Call.EndedBy.USER)
    authorization = wait_for(
        lambda: PaymentAuthorization.objects.filter(pk=call.authorization_id, amount_captured__gt=0).first(),
        what="the capture by the worker",
    )
    assert authorization.amount_captured == pricing.call_cost_cents(call.duration)
    # The safety net's turn comes later: the call is over, so it changes nothing.
    assert hang_up_after_goodbye.apply(args=[str(call.pk)]).get() == "completed"
    assert len(hang_ups) == 1
    assert AuthorizationSettlement.objects.get(authorization_id=call.authorization_id).kind == "capture"
