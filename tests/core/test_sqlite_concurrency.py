"""The embedded default (SQLite) takes web, worker and beat writing at once: WAL, write
transactions that take the lock when they start, and a busy timeout, so no process fails
with "database is locked"."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Read, then write, in one transaction: the pattern that fails at once on SQLite's default
# deferred transactions when another process writes in between.
WRITER = """
from django.db import connection, transaction
from accounts.models import User
mode = connection.cursor().execute("PRAGMA journal_mode").fetchone()[0]
assert mode == "wal", mode
for n in range(150):
    with transaction.atomic():
        User.objects.count()
        User.objects.create(email=f"w{ident}-{{n}}@example.com", name="Writer", phone=f"+1{ident}{{n:09d}}")
"""


def _env(database: Path) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "SECRET_KEY": "sqlite-concurrency-test", "DATABASE_URL": f"sqlite:///{database}"}


def test_concurrent_writers_on_the_embedded_database_never_fail_as_locked(tmp_path):
    database = tmp_path / "db.sqlite3"
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=_env(database), check=True
    )

    writers = [
        subprocess.Popen(
            [sys.executable, "manage.py", "shell", "-c", WRITER.format(ident=ident)],
            cwd=ROOT,
            env=_env(database),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for ident in range(2, 6)
    ]
    outputs = [writer.communicate(timeout=300)[0] for writer in writers]

    assert [writer.returncode for writer in writers] == [0, 0, 0, 0], "\n".join(outputs)
    count = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", "from accounts.models import User; print(User.objects.count())"],
        cwd=ROOT,
        env=_env(database),
        capture_output=True,
        text=True,
        check=True,
    )
    assert count.stdout.split()[-1] == str(4 * 150)
