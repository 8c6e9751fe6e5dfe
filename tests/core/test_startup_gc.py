"""What the web server has loaded once the ASGI application is imported is taken out of the
garbage collector's reach, so a full collection no longer walks it while live calls wait."""

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

LOAD_THE_APP = """
import gc, json
from callmeback.asgi import application
from channels.layers import get_channel_layer
from voice.consumers import shared_providers
print(json.dumps({
    "frozen": gc.get_freeze_count(),
    "tracked": len(gc.get_objects()),
    "providers_frozen": gc.is_tracked(shared_providers()) and not any(
        obj is shared_providers() for obj in gc.get_objects()
    ),
    "layer_frozen": not any(obj is get_channel_layer() for obj in gc.get_objects()),
}))
"""


def test_loading_the_asgi_application_freezes_what_it_loaded():
    loaded = subprocess.run(
        [sys.executable, "-c", LOAD_THE_APP], cwd=REPO, capture_output=True, text=True, timeout=120, check=True
    )
    figures = json.loads(loaded.stdout.strip().splitlines()[-1])

    assert figures["frozen"] > 50_000  # modules, settings, URL patterns, providers...
    assert figures["tracked"] < figures["frozen"] / 10  # ...and next to nothing left for the collector to walk
    assert figures["providers_frozen"] and figures["layer_frozen"]
