"""The local Twilio's calls, kept in a JSON file between runs, as Twilio keeps every call
resource forever: an app that lost a call's final callback (its server stopped mid-call)
can still fetch how the call ended after the local Twilio itself was restarted.

While calls are in play the file is rewritten every `HEARTBEAT_SECONDS` with the time it
was written, so a local Twilio killed outright still knows, on its next start, roughly
when its calls were cut: a call that was on the line is then `completed` with the time it
had been answered for until that moment (within its time limit), one still ringing is
`no-answer`. Nobody is on those lines any more; the callbacks they never posted are not
posted late (Twilio would not either), so the app's sweeper finds them by fetching.
"""

import asyncio
import dataclasses
import json
import math
from datetime import datetime
from pathlib import Path

from devtools.localtwilio.state import Call, Store, now

HEARTBEAT_SECONDS = 1.0
_MOMENTS = ("date_created", "date_updated", "start_time", "end_time")


def _call_record(call: Call) -> dict:
    record = dataclasses.asdict(call)
    for name in _MOMENTS:
        record[name] = record[name].isoformat() if record[name] else None
    record["redirect"] = None  # a pending redirect dies with the process that would play it
    return record


def _call_from(record: dict) -> Call:
    """A saved call; fields this version no longer has are dropped."""
    known = {field.name for field in dataclasses.fields(Call)}
    record = {name: value for name, value in record.items() if name in known}
    for name in _MOMENTS:
        record[name] = datetime.fromisoformat(record[name]) if record.get(name) else None
    return Call(**record)


def _cut_off(call: Call, moment: datetime) -> None:
    """Ends a call the previous run was playing when it stopped, at `moment`."""
    if call.status == "in-progress" and call.start_time is not None:
        answered_for = max((moment - call.start_time).total_seconds(), 0)
        call.finish("completed", duration=min(math.ceil(answered_for), call.time_limit), moment=moment)
    else:
        call.finish("no-answer", duration=0, moment=moment)


class CallJournal:
    """The calls of `store`, written to `path` (atomically) and read back at start-up."""

    def __init__(self, path: Path, store: Store) -> None:
        self.path = path
        self.store = store

    def load(self) -> None:
        """Reads the calls of the previous run; ends the ones it was playing when it stopped."""
        try:
            saved = json.loads(self.path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return  # a first run, or a file cut short: start with no calls
        saved_at = datetime.fromisoformat(saved["saved_at"])
        with self.store.lock:
            for record in saved["calls"]:
                call = _call_from(record)
                if not call.finished:
                    _cut_off(call, saved_at)
                self.store.calls[call.sid] = call
        self.save()

    def save(self) -> None:
        with self.store.lock:
            calls = [_call_record(call) for call in self.store.calls.values()]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".partial")
        partial.write_text(json.dumps({"saved_at": now().isoformat(), "calls": calls}))
        partial.replace(self.path)

    def in_play(self) -> bool:
        with self.store.lock:
            return any(not call.finished for call in self.store.calls.values())

    async def heartbeat(self) -> None:
        """While calls are in play, rewrites the file every `HEARTBEAT_SECONDS`."""
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            if self.in_play():
                await asyncio.to_thread(self.save)
