"""ASGI entry point: HTTP through Django, websockets (Twilio Media Streams) through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "callmeback.settings")
django_asgi_app = get_asgi_application()

from callmeback.startup import freeze_loaded_objects, require_secret_key  # noqa: E402  (needs Django set up)

require_secret_key()

from channels.layers import get_channel_layer  # noqa: E402  (needs Django set up)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from callmeback.middleware import RequestBodyReadLimitMiddleware  # noqa: E402
from callmeback.routing import websocket_urlpatterns  # noqa: E402
from voice.consumers import shared_providers_warm  # noqa: E402

# Before the server listens: the first caller hears the opening line as fast as the hundredth.
shared_providers_warm()
get_channel_layer()  # its backend's modules too, imported now rather than by the first call

application = ProtocolTypeRouter(
    {
        "http": RequestBodyReadLimitMiddleware(django_asgi_app),
        "websocket": URLRouter(websocket_urlpatterns),
    }
)

# Last: what the process has loaded lives as long as it does; the collector leaves it be.
freeze_loaded_objects()
