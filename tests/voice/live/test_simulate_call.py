"""`manage.py simulate_call` plays Twilio against a running server and writes what the persona
said, as heard, to a WAV a person can listen to."""

import wave

from django.core.management import call_command

from devtools.stream_client import mulaw_to_wav
from tests.fakes.twilio_media import speech
from tests.voice.live.test_live_call import ANSWER


def test_simulate_call_records_the_personas_side_to_a_wav(live_call, asgi_server, deepgram, tmp_path):
    deepgram.utterances = [ANSWER]
    caller = tmp_path / "caller.wav"
    caller.write_bytes(mulaw_to_wav(speech(ANSWER)))
    persona_side = tmp_path / "persona.wav"

    call_command(
        "simulate_call", url=asgi_server.url, call_id=str(live_call.pk), wav=[str(caller)], out=str(persona_side)
    )

    with wave.open(str(persona_side)) as recorded:
        assert (recorded.getframerate(), recorded.getnchannels()) == (8000, 1)
        assert recorded.getnframes() > 8000  # the opening line and the reply, more than a second
