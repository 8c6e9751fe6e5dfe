"""The voice providers are set up as the server loads the app, before it accepts a socket,
so the first call after a restart does not wait for them."""

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# What a server does: import the ASGI application; then what it finds already built.
LOAD_THE_APP = """
import json
from callmeback.asgi import application
from voice.consumers import shared_providers
print(json.dumps({"built": shared_providers.cache_info().currsize}))
"""


def test_loading_the_asgi_application_builds_the_voice_providers_before_any_stream():
    loaded = subprocess.run(
        [sys.executable, "-c", LOAD_THE_APP], cwd=REPO, capture_output=True, text=True, timeout=120, check=True
    )

    assert json.loads(loaded.stdout.strip().splitlines()[-1]) == {"built": 1}
