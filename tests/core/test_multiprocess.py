"""The production layout, many processes over PostgreSQL and Redis: two web processes and
two workers (the general one and the dispatch one) started from the Procfile. A call live on
one web process is ended through the other: the hang-up crosses the channel layer to the
stream's consumer, which says goodbye and cuts the line, and a worker captures the money."""

import asyncio
import time

import pytest
import requests
from django.conf import settings as django_settings

from accounts.tokens import token_pair_issue
from billing import pricing
from billing.models import PaymentAuthorization
from billing.services import holds as billing_holds
from calls.models import Call
from calls.services import placing
from devtools.processes import database_url, free_port
from tests.billing.conftest import _stripe_settings, card_user, localstripe, make_card, stripe_client, stripe_front  # noqa: F401
from tests.conftest import needs_real_processes
from tests.fakes.twilio import LocalTwilioServer, wait_until
from tests.fakes.twilio_media import caller_stream
from tests.personas.factories import PersonaFactory
from tests.procfile import ProcfileProcesses

pytestmark = [pytest.mark.django_db(transaction=True), needs_real_processes]


@pytest.fixture
def twilio() -> LocalTwilioServer:
    twilio = LocalTwilioServer.shared()
    twilio.reset()
    return twilio


@pytest.fixture
def layout(tmp_path, settings, twilio, localstripe):  # noqa: F811
    """Web A and web B, a general and a dispatch worker, on this test's database and Redis,
    the local Twilio and localstripe. Web A is the public address Twilio calls back."""
    port_a = free_port()
    public_url = f"http://127.0.0.1:{port_a}"
    processes = ProcfileProcesses(
        env={
            "DATABASE_URL": database_url(),
            "REDIS_URL": django_settings.REDIS_URL,
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "false",  # no TLS in front of them here
            "SITE_URL": public_url,
            "TWILIO_ACCOUNT_SID": twilio.account_sid,
            "TWILIO_AUTH_TOKEN": twilio.auth_token,
            "TWILIO_API_BASE": twilio.url,
            "TWILIO_CALLER_ID": twilio.caller_id,
            "TWILIO_VERIFY_SERVICE_SID": twilio.verify_service_sid,
            "STRIPE_SECRET_KEY": "",
            "STRIPE_API_BASE": localstripe.url,
            # The hang-up must come from the stream's consumer, long before the safety net's.
            "CALL_GOODBYE_TIMEOUT_SECONDS": "120",
            "WORKER_CONCURRENCY": "1",
            "DISPATCH_CONCURRENCY": "1",
            "LOG_LEVEL": "INFO",
        },
        log_dir=tmp_path,
    )
    settings.SITE_URL = public_url
    twilio.configure(settings)
    try:
        processes.start("worker", "worker")
        processes.start("dispatch", "dispatch")
        web_a = processes.start_web("web-a", port=port_a)
        web_b = processes.start_web("web-b", port=free_port())
        yield processes, web_a, web_b
    finally:
        processes.stop_all()


def test_a_hang_up_sent_to_one_web_process_ends_the_call_live_on_another(layout, twilio, card_user):  # noqa: F811
    processes, web_a, web_b = layout
    persona = PersonaFactory(is_public=True, name="Best Friend", greeting="Hey you! How's your day going?")
    hold = billing_holds.authorization_create(user=card_user, estimated_duration=10).authorization
    call = placing.call_dial(
        call=placing.call_create(user=card_user, phone_number=card_user.phone, persona=persona, authorization=hold)
    )
    twilio.advance(call.sid, "ringing")  # signed callbacks to web A
    twilio.advance(call.sid, "in-progress")
    stream = caller_stream(ws_url="ws" + web_a.removeprefix("http"), call=call, auth_token=twilio.auth_token)
    token = token_pair_issue(user=card_user).access

    async def scenario():
        await stream.open()
        stream.start_line()
        opening_heard = await stream.listen(timeout=30, quiet=0.5)
        asked = time.monotonic()
        ended = await asyncio.to_thread(
            requests.post,
            f"{web_b}/api/calls/{call.pk}/end",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        goodbye_heard = await stream.listen(timeout=30, quiet=0.3, since=asked)
        hung_up = await stream.wait_until(lambda: twilio.calls[call.sid].status == "completed", timeout=30)
        await stream.stop()
        return opening_heard, ended, goodbye_heard, hung_up

    opening_heard, ended, goodbye_heard, hung_up = asyncio.run(scenario())

    assert opening_heard, processes.log("web-a")
    assert ended.status_code == 200, ended.text
    assert (ended.json()["call"]["status"], ended.json()["call"]["ended_by"]) == ("in-progress", "user")
    assert goodbye_heard and hung_up, processes.log("web-a")
    twilio.advance(call.sid, "completed", duration=twilio.calls[call.sid].duration)
    call.refresh_from_db()
    assert (call.status, call.ended_by) == (Call.Status.COMPLETED, Call.EndedBy.USER)
    captured = wait_until(
        lambda: PaymentAuthorization.objects.filter(pk=call.authorization_id, amount_captured__gt=0).first(),
        timeout=60,
        message="the capture by a worker",
    )
    assert captured.amount_captured == pricing.call_cost_cents(call.duration)
