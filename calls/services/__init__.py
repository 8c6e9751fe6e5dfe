"""Every write about calls, one module per job: `placing` (validate, hold, create, dial),
`lifecycle` (Twilio's status reports, calls that never rang, the sweeper), `ending` (hanging
up, with or without the persona's goodbye), `recordings`, `feedback`, `caller_ids` (the pool
calls are made from) and `changes` (what every write does after it: cache and listeners).

Money: a call is created in the same transaction that attaches its hold, so no hold is
spent twice and no call runs without one. Its cost is fixed once, in the transaction that
records its terminal status, and the hold is settled after commit by billing's task,
which moves money at most once however many callbacks, sweeps or workers ask. Twilio
failing at dial releases the hold at once; the sweeper settles anything left behind.
"""
