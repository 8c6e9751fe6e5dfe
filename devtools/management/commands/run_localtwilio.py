"""`manage.py run_localtwilio`: Twilio on one machine, with no account (see devtools.localtwilio)."""

from pathlib import Path

from aiohttp import web
from django.conf import settings
from django.core.management.base import BaseCommand

from callmeback.stand_ins import LOCALTWILIO_PORT
from devtools.localtwilio.phone_audio import PhoneAudioBridge
from devtools.localtwilio.server import LocalTwilio
from devtools.loopback import bind_loopback


class Command(BaseCommand):
    help = "Runs a local Twilio (REST API, signed callbacks, a phone page) on 127.0.0.1."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=LOCALTWILIO_PORT, help="0 picks a free port.")
        parser.add_argument("--auto-answer", action="store_true", help="Answer every call after a ring.")
        parser.add_argument(
            "--numbers-file",
            type=Path,
            default=settings.VAR_DIR / "localtwilio-numbers.json",
            help="Where the numbers bought on the local Twilio are kept between runs.",
        )
        parser.add_argument(
            "--calls-file",
            type=Path,
            default=settings.VAR_DIR / "localtwilio-calls.json",
            help="Where the local Twilio's calls are kept between runs (Twilio keeps every call).",
        )

    def handle(self, *args, port: int, auto_answer: bool, numbers_file: Path, calls_file: Path, **options):
        twilio = LocalTwilio(auto_answer=auto_answer, numbers_file=numbers_file, calls_file=calls_file, log=self._log)
        twilio.media_bridge = PhoneAudioBridge(twilio)  # the phone page talks on <Connect><Stream>
        sock = bind_loopback(port)
        host, bound_port = sock.getsockname()
        twilio.url = f"http://{host}:{bound_port}"
        self._log(f"Local Twilio listening on {twilio.url} (phone page: {twilio.url}/phone)")
        web.run_app(twilio.app(), sock=sock, print=None, access_log=None)

    def _log(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()
