"""`manage.py run_localtwilio`: the one-machine Twilio, on 127.0.0.1, keeping bought numbers."""

import requests
from twilio.rest import Client

from callmeback.stand_ins import LOCALTWILIO_ACCOUNT_SID, LOCALTWILIO_AUTH_TOKEN, LOCALTWILIO_CALLER_ID
from tests.devtools.command_server import serving
from tests.fakes.twilio import RebasedHttpClient


def test_listens_on_loopback_serves_the_phone_page_and_keeps_bought_numbers(tmp_path):
    numbers_file = tmp_path / "numbers.json"
    with serving("run_localtwilio", "--numbers-file", str(numbers_file)) as url:
        assert url.startswith("http://127.0.0.1:")
        assert "Answer calls automatically" in requests.get(f"{url}/phone", timeout=5).text
        client = Client(LOCALTWILIO_ACCOUNT_SID, LOCALTWILIO_AUTH_TOKEN, http_client=RebasedHttpClient(url))
        client.incoming_phone_numbers.create(phone_number="+12125550142")

    with serving("run_localtwilio", "--numbers-file", str(numbers_file)) as url:
        client = Client(LOCALTWILIO_ACCOUNT_SID, LOCALTWILIO_AUTH_TOKEN, http_client=RebasedHttpClient(url))
        owned = [number.phone_number for number in client.incoming_phone_numbers.list()]
        assert "+12125550142" in owned


def test_keeps_its_calls_across_restarts_as_twilio_keeps_every_call(tmp_path):
    files = ("--numbers-file", str(tmp_path / "numbers.json"), "--calls-file", str(tmp_path / "calls.json"))
    with serving("run_localtwilio", *files) as url:
        client = Client(LOCALTWILIO_ACCOUNT_SID, LOCALTWILIO_AUTH_TOKEN, http_client=RebasedHttpClient(url))
        sid = client.calls.create(to="+14155550123", from_=LOCALTWILIO_CALLER_ID, twiml="<Response/>").sid

    with serving("run_localtwilio", *files) as url:
        client = Client(LOCALTWILIO_ACCOUNT_SID, LOCALTWILIO_AUTH_TOKEN, http_client=RebasedHttpClient(url))
        kept = client.calls(sid).fetch()
        listed = [call.sid for call in client.calls.list(to="+14155550123")]

    # Nobody is on a line the stopped process was ringing: it ended unanswered.
    assert (kept.status, kept.duration, listed) == ("no-answer", "0", [sid])
