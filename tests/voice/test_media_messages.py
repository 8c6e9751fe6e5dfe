"""Reading an inbound `media` message's audio without parsing the whole message."""

import base64
import json

from voice.streams import media_message_audio

FRAME = bytes(range(160))
PAYLOAD = base64.b64encode(FRAME).decode("ascii")


def twilio_media(payload: str = PAYLOAD) -> str:
    """A `media` message exactly as Twilio sends it (compact JSON, its field order)."""
    return (
        '{"event":"media","sequenceNumber":"4","media":{"track":"inbound","chunk":"2","timestamp":"20",'
        f'"payload":"{payload}"}},"streamSid":"MZ0123456789abcdef0123456789abcdef"}}'
    )


def test_twilios_media_message_gives_the_same_audio_as_parsing_it_in_full():
    message = twilio_media()
    assert media_message_audio(message) == base64.b64decode(json.loads(message)["media"]["payload"]) == FRAME


def test_an_empty_payload_is_no_audio():
    assert media_message_audio(twilio_media("")) == b""


def test_other_events_are_left_to_the_full_parse():
    mark = '{"event":"mark","sequenceNumber":"5","streamSid":"MZ01","mark":{"name":"payload"}}'
    assert media_message_audio(mark) is None
    assert media_message_audio('{"event":"stop","stop":{"payload":"AAAA"}}') is None


def test_another_layout_of_the_same_message_is_left_to_the_full_parse():
    spaced = json.dumps(json.loads(twilio_media()))  # ", " and ": " separators
    reordered = json.dumps({"media": {"payload": PAYLOAD}, "event": "media"}, separators=(",", ":"))
    assert media_message_audio(spaced) is None
    assert media_message_audio(reordered) is None


def test_a_payload_that_is_not_strict_base64_is_left_to_the_full_parse():
    escaped = twilio_media("\\/\\/\\/\\/")  # JSON may escape "/" (here "////"); the full parse undoes it
    assert media_message_audio(twilio_media("AB$D")) is None
    assert media_message_audio(twilio_media("AA=A")) is None
    assert media_message_audio(twilio_media("AAA")) is None
    assert media_message_audio(escaped) is None
    assert base64.b64decode(json.loads(escaped)["media"]["payload"]) == b"\xff\xff\xff"


def test_a_truncated_message_is_left_to_the_full_parse():
    message = twilio_media()
    assert media_message_audio(message[:-2]) is None
    assert media_message_audio(message[: message.index(PAYLOAD) + 8]) is None
