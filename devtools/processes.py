"""For tests and benchmarks that start the app's processes beside themselves (uvicorn,
Celery, the local stand-ins): where the child may listen, and which database it must use."""

import socket

from django.db import connection

from callmeback.stand_ins import LOOPBACK_HOST


def free_port() -> int:
    """A loopback port nobody listens on right now, for a child process to take."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK_HOST, 0))
        return probe.getsockname()[1]


def database_url() -> str:
    """The URL of the PostgreSQL database this process uses (the test database under pytest),
    for a child process's DATABASE_URL."""
    db = connection.settings_dict
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
