"""The consumer reads Twilio's compact `media` messages through a shortcut; a media message
laid out any other way (spaces, another field order) still reaches the conversation."""

import base64
import json

from tests.voice.live.conftest import hear_the_opening, run, say_and_hear_the_reply

ANSWER = "I'm doing great, thanks for calling."


def test_media_messages_in_another_json_layout_are_heard_and_answered(live_call, open_stream, deepgram):
    deepgram.utterances = [ANSWER]
    stream = open_stream(live_call)

    async def send_spaced_frame(frame: bytes) -> None:
        message = {"streamSid": stream.stream_sid, "media": {"payload": base64.b64encode(frame).decode()}}
        await stream._send_text(json.dumps({**message, "event": "media"}, indent=1), raise_on_closed=False)

    async def scenario():
        await hear_the_opening(stream)
        stream.send_frame = send_spaced_frame  # from here on, every frame the phone line sends
        answered = await say_and_hear_the_reply(stream, ANSWER)
        await stream.stop()
        return answered

    assert run(scenario())
