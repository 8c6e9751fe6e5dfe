"""A call played out as Twilio plays it (autopilot): initiated and ringing callbacks, the
phone page rings, on answer the answer URL is fetched and its TwiML followed, the time
limit enforced, and the final status posted with the real duration, then the recording."""

import asyncio
import math
from xml.etree import ElementTree

import aiohttp
from aiohttp import web

from devtools.localtwilio.account import TwilioAccount
from devtools.localtwilio.callbacks import (
    SignedCallback,
    answer_request,
    recording_callback,
    status_callback,
    subscribed,
)
from devtools.localtwilio.media import StreamRequest
from devtools.localtwilio.state import Call, last4, now

# Twilio answers the REST request before it dials; the first callback follows a moment later.
DIAL_DELAY_SECONDS = 0.5
AUTO_ANSWER_SECONDS = 1.0
SPOKEN_WORDS_PER_SECOND = 2.5
APPLICATION_ERROR = "We are sorry, an application error has occurred. Goodbye."


class Hangup(Exception):
    """The TwiML ended the call (`<Hangup/>`, the end of the document, or an error)."""


class Redirect(Exception):
    def __init__(self, url: str, method: str) -> None:
        super().__init__(url)
        self.url, self.method = url, method


class CallRunner:
    """Plays one call. The phone page and the REST API act on it through `act()`:
    "answer", "decline", "hangup" (the callee); "canceled", "completed", "redirect" (REST).
    Like Twilio, a REST "canceled" ends only a call not yet answered."""

    def __init__(self, twilio: TwilioAccount, call: Call) -> None:
        self.twilio = twilio
        self.call = call
        self.actions: asyncio.Queue[str] = asyncio.Queue()
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self.run(), name=f"call {self.call.sid}")

    def stop(self) -> None:
        """Drops the call without a word (from any thread): the local Twilio is being reset."""
        if self.task is not None:
            self.task.get_loop().call_soon_threadsafe(self.task.cancel)

    def act(self, action: str) -> None:
        self.actions.put_nowait(action)

    async def run(self) -> None:
        call = self.call
        await asyncio.sleep(DIAL_DELAY_SECONDS)
        await self.report("initiated")
        await self.report("ringing")
        self.twilio.log(f"Call {call.sid} to {last4(call.to)} ringing: answer it at {self.twilio.url}/phone")
        outcome = await self.ring()
        if outcome != "answer":
            await self.end(outcome)
            return
        with self.twilio.store.lock:
            call.answer()
        await self.report("in-progress")
        await self.converse()
        await self.end("completed")

    async def ring(self) -> str:
        """Until answered, declined (busy), canceled or unanswered after `Timeout` (no-answer)."""
        auto = self.twilio.auto_answer
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (AUTO_ANSWER_SECONDS if auto else self.call.timeout)
        while True:
            try:
                action = await asyncio.wait_for(self.actions.get(), timeout=max(deadline - loop.time(), 0))
            except TimeoutError:
                return "answer" if auto else "no-answer"
            if action == "answer":
                return "answer"
            if action == "decline":
                return "busy"
            if action in ("hangup", "canceled", "completed"):
                return "canceled"

    async def converse(self) -> None:
        """Follows the TwiML until it hangs up, either side hangs up, or the time limit."""
        call = self.call
        loop = asyncio.get_running_loop()
        deadline = loop.time() + call.time_limit
        request: tuple[str, str, str] = (call.url, call.method, call.twiml)
        while True:
            follow = asyncio.create_task(self.follow(*request))
            try:
                action = await self.next_action(follow, timeout=max(deadline - loop.time(), 0))
            finally:
                follow.cancel()
            if action == "redirect" and call.redirect:
                request, call.redirect = call.redirect, None
                continue
            if isinstance(action, Redirect):
                request = (action.url, action.method, "")
                continue
            if action is None:
                self.twilio.log(f"Call {call.sid}: time limit of {call.time_limit} s reached")
            return

    async def next_action(self, follow: asyncio.Task, *, timeout: float) -> "str | Redirect | Hangup | None":
        """What ends the current TwiML: an action, the TwiML's own end, or None at the time limit."""
        while True:
            waiting = asyncio.create_task(self.actions.get())
            done, _ = await asyncio.wait({follow, waiting}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            if waiting not in done:
                waiting.cancel()
            if waiting in done:
                action = waiting.result()
                if action in ("hangup", "completed", "redirect"):
                    return action
                continue
            if follow in done:
                outcome = follow.exception()
                if not isinstance(outcome, Redirect | Hangup):
                    self.twilio.log(f"Call {self.call.sid}: the local Twilio failed ({outcome!r}); hanging up")
                return outcome if isinstance(outcome, Redirect) else Hangup()
            return None

    async def follow(self, url: str, method: str, twiml: str) -> None:
        """Fetches (unless given) and plays one TwiML document; raises Redirect or Hangup."""
        if not twiml:
            twiml = await self.fetch_twiml(url, method)
        try:
            document = ElementTree.fromstring(twiml)  # noqa: S314 - the app's own TwiML, on loopback
        except ElementTree.ParseError:
            await self.application_error(f"the TwiML from {url} is not XML")
        if document.tag != "Response":
            await self.application_error("the TwiML has no <Response>")
        for verb in document:
            await self.play(verb)
        raise Hangup()

    async def fetch_twiml(self, url: str, method: str) -> str:
        request = answer_request(self.call, url=url, method=method, auth_token=self.twilio.auth_token)
        try:
            status, body = await request.post(self.twilio.session())
        except (aiohttp.ClientError, TimeoutError) as error:
            await self.application_error(f"the answer URL could not be reached ({error.__class__.__name__})")
        if status != 200:
            await self.application_error(f"the answer URL answered HTTP {status}")
        return body

    async def application_error(self, reason: str) -> None:
        """What Twilio does when the app's TwiML fails: apologise and hang up."""
        self.twilio.log(f"Call {self.call.sid}: application error, {reason}")
        self.call.said.append(APPLICATION_ERROR)
        raise Hangup()

    async def play(self, verb: ElementTree.Element) -> None:
        call = self.call
        if verb.tag == "Say":
            text = (verb.text or "").strip()
            for _ in range(max(int(verb.get("loop", "1")), 1)):
                call.said.append(text)
                await asyncio.sleep(max(len(text.split()) / SPOKEN_WORDS_PER_SECOND, 1))
        elif verb.tag == "Pause":
            await asyncio.sleep(int(verb.get("length", "1")))
        elif verb.tag == "Hangup":
            raise Hangup()
        elif verb.tag == "Redirect":
            raise Redirect((verb.text or "").strip(), verb.get("method", "POST"))
        elif verb.tag == "Connect":
            for noun in verb:
                if noun.tag == "Stream":
                    await self.stream(noun)
        else:
            self.twilio.log(f"Call {call.sid}: <{verb.tag}> is not played by the local Twilio; skipped")

    async def stream(self, noun: ElementTree.Element) -> None:
        request = StreamRequest(
            url=noun.get("url", ""),
            track=noun.get("track", "inbound_track"),
            parameters={p.get("name", ""): p.get("value", "") for p in noun if p.tag == "Parameter"},
        )
        self.call.stream_url = request.url
        try:
            await self.twilio.media_bridge.run(call=self.call, stream=request, session=self.twilio.session())
        finally:
            self.call.stream_url = ""

    async def end(self, status: str) -> None:
        call = self.call
        with self.twilio.store.lock:
            if status == "completed" and call.start_time:
                elapsed = (now() - call.start_time).total_seconds()
                call.finish(status, duration=min(math.ceil(elapsed), call.time_limit))
            else:
                call.finish(status)
        await self.report(status)
        self.twilio.log(f"Call {call.sid} to {last4(call.to)} {status} after {call.duration} s")
        if call.record and call.duration:
            recording = self.twilio.recording_made(call)
            if call.recording_status_callback:
                media_url = self.twilio.recording_media_url(recording.sid)
                await self.deliver(
                    recording_callback(call, recording, media_url=media_url, auth_token=self.twilio.auth_token)
                )

    async def report(self, status: str) -> None:
        """Sets the status and posts its callback, if the call asked for that event."""
        with self.twilio.store.lock:
            if status in ("initiated", "ringing"):
                self.call.status = status
            callback = (
                status_callback(self.call, status, auth_token=self.twilio.auth_token)
                if subscribed(self.call, status)
                else None
            )
        self.twilio.calls_changed()
        if callback is not None:
            await self.deliver(callback)

    async def deliver(self, callback: SignedCallback) -> None:
        """Twilio does not retry a failed callback by default; it notes a warning and goes on."""
        try:
            status, _ = await callback.post(self.twilio.session())
        except (aiohttp.ClientError, TimeoutError) as error:
            self.twilio.log(f"Callback to {callback.url} failed: {error.__class__.__name__}")
            return
        if status >= 400:
            self.twilio.log(f"Callback to {callback.url} answered HTTP {status}")


class Switchboard:
    """The calls in play: under autopilot each new call gets a CallRunner, and the REST API's
    and the phone page's actions reach the call's runner through here."""

    def __init__(self, twilio: TwilioAccount) -> None:
        self.twilio = twilio
        self.runners: dict[str, CallRunner] = {}

    def call_created(self, call: Call) -> None:
        self.twilio.log(f"Call {call.sid} to {last4(call.to)} queued")
        if self.twilio.autopilot:
            self.runners[call.sid] = runner = CallRunner(self.twilio, call)
            runner.start()

    def call_hangup_requested(self, call: Call, status: str) -> None:
        """A REST hang-up: a call not yet answered is canceled, an answered one completed
        (`Status=canceled` leaves an answered call alone, as Twilio does).
        A played-out call ends through its runner, which posts the final callback."""
        runner = self.runners.get(call.sid)
        if runner is not None:
            runner.act(status)
            return
        with self.twilio.store.lock:
            if call.status != "in-progress":
                call.finish("canceled")
            elif status == "completed":
                call.finish("completed")
        self.twilio.calls_changed()

    def call_redirected(self, call: Call) -> None:
        """A REST redirect (new Twiml or Url): the runner plays it instead of the current TwiML."""
        runner = self.runners.get(call.sid)
        if runner is not None:
            runner.act("redirect")

    def set_auto_answer(self, on: bool) -> None:
        """Turning it on also picks up the calls ringing now."""
        self.twilio.auto_answer = on
        if on:
            for sid, runner in list(self.runners.items()):
                if runner.call.status == "ringing":
                    self.phone_action(sid, "answer")

    def phone_action(self, sid: str, action: str) -> bool:
        """The person answers, declines or hangs up on the phone page; False if that call
        is not ringing (answer, decline) or on the line (hang up) under autopilot."""
        runner = self.runners.get(sid)
        expected = "in-progress" if action == "hangup" else "ringing"
        if runner is None or runner.call.status != expected:
            return False
        runner.act(action)
        return True

    def drop_calls(self) -> None:
        """Drops every call in play without a word (from any thread)."""
        with self.twilio.store.lock:
            for runner in self.runners.values():
                runner.stop()
            self.runners.clear()


SWITCHBOARD = web.AppKey("localtwilio-switchboard", Switchboard)
