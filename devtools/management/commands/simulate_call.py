"""Play Twilio against a running server: a WAV as the caller, the persona's side to a WAV.

    manage.py simulate_call --url http://127.0.0.1:8000 --call-id <id> --wav hello.wav --out persona.wav

Without `--call-id` it creates a simulated call (no phone, no hold) for `--email`'s account and
`--persona`. The handshake is signed with TWILIO_AUTH_TOKEN over SITE_URL's stream URL, as
Twilio would sign it for that server; run it with the same settings as the server.
"""

import asyncio
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from calls.models import Call
from devtools.stream_client import TwilioMediaStream, mulaw_to_wav
from voice.audio import SAMPLE_RATE, wav_to_mulaw
from voice.services import call_simulation_create
from voice.streams import handshake_signature, stream_url


class Command(BaseCommand):
    help = "Plays Twilio's side of a call against a running server and records the persona's side."

    def add_arguments(self, parser):
        parser.add_argument("--url", default=settings.SITE_URL, help="The server's base URL (default: SITE_URL).")
        parser.add_argument("--call-id", help="An active call with a Twilio SID; default: create a simulated call.")
        parser.add_argument("--email", help="Whose simulated call (without --call-id).")
        parser.add_argument("--persona", help="Persona id or name for the simulated call (without --call-id).")
        parser.add_argument("--wav", action="append", default=[], help="The caller's audio; repeat for more turns.")
        parser.add_argument("--out", default="persona.wav", help="Where to write what the persona said.")
        parser.add_argument("--speed", type=float, default=1.0, help="Play faster than real time (e.g. 4).")
        parser.add_argument("--timeout", type=float, default=30.0, help="Seconds to wait for each persona turn.")

    def handle(self, *args, **options):
        if not settings.TWILIO_AUTH_TOKEN:
            raise CommandError("TWILIO_AUTH_TOKEN is not set: the server would refuse the stream.")
        call = self._call(options)
        turns = [self._caller_audio(Path(path)) for path in options["wav"]]
        stream = TwilioMediaStream.for_call(
            url=stream_url(options["url"]),
            auth_token=settings.TWILIO_AUTH_TOKEN,
            signature=handshake_signature(stream_url(), settings.TWILIO_AUTH_TOKEN),
            call_sid=call.sid,
            call_id=str(call.id),
            persona_id=str(call.persona_id),
            speed=options["speed"],
        )
        heard = asyncio.run(self._play(stream, turns, timeout=options["timeout"]))
        Path(options["out"]).write_bytes(mulaw_to_wav(heard))
        seconds = len(heard) / SAMPLE_RATE
        self.stdout.write(f"Call {call.id}: {seconds:.1f} s of the persona written to {options['out']}")
        if stream.close_code not in (None, 1000):
            self.stdout.write(f"The server closed the stream with code {stream.close_code}.")

    @staticmethod
    def _caller_audio(path: Path) -> bytes:
        """The caller's WAV as the phone line carries it (the project's one WAV reader)."""
        try:
            return wav_to_mulaw(path.read_bytes())
        except ValueError as error:
            raise CommandError(f"{path}: {error}") from error

    def _call(self, options) -> Call:
        if options["call_id"]:
            call = Call.objects.filter(id=options["call_id"], status__in=Call.ACTIVE).exclude(sid=None).first()
            if call is None:
                raise CommandError("No active call with a Twilio SID has that id.")
            return call
        if not options["email"] or not options["persona"]:
            raise CommandError("Give --call-id, or --email and --persona to create a simulated call.")
        try:
            return call_simulation_create(email=options["email"], persona=options["persona"])
        except ValueError as error:
            raise CommandError(str(error)) from error

    async def _play(self, stream: TwilioMediaStream, turns: list[bytes], *, timeout: float) -> bytes:
        await stream.open()
        try:
            await stream.listen(timeout=timeout)
            for turn in turns:
                if stream.closed:
                    break
                await stream.send_audio(turn)
                await stream.listen(timeout=timeout)
            return stream.heard_audio()
        finally:
            await stream.stop()
