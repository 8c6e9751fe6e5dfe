"""`manage.py run_localstripe`: Stripe on one machine, with no account (see billing.conf)."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.urls import reverse

from billing.conf import stripe_config
from callmeback.stand_ins import LOCALSTRIPE_PORT
from devtools.localstripe import server as localstripe
from devtools.loopback import bind_loopback


class Command(BaseCommand):
    help = "Runs localstripe, a stand-in for Stripe's API and Stripe.js, on 127.0.0.1."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=LOCALSTRIPE_PORT, help="0 picks a free port.")
        parser.add_argument(
            "--data-file",
            type=Path,
            default=settings.VAR_DIR / "localstripe.pickle",
            help="Where localstripe keeps customers, cards and payments between runs.",
        )
        parser.add_argument("--from-scratch", action="store_true", help="Ignore the data saved by earlier runs.")

    def handle(self, *args, port: int, data_file: Path, from_scratch: bool, **options):
        localstripe.use_data_file(data_file, load=not from_scratch)
        sock = bind_loopback(port)
        host, bound_port = sock.getsockname()
        self.stdout.write(f"localstripe listening on http://{host}:{bound_port} (data in {data_file})")
        self.stdout.flush()
        config = stripe_config()
        localstripe.serve(
            sock=sock,
            webhook_url=f"{settings.SITE_URL}{reverse('api-stripe-webhook')}",
            webhook_secret=config.webhook_secret if config.local else "",
        )
