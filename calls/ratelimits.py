"""Rate limits of the calls endpoints (`000_*` §2.1, §2.2, §5.2, §9), shared by the API and
the dashboard. Twilio's webhooks have none: they are authenticated by signature."""

from callmeback.ratelimit import RateLimit

PLACE_CALL = RateLimit("calls.place", "5/min")
CALL_HISTORY = RateLimit("calls.history", "60/min")
CALL_DETAIL = RateLimit("calls.detail", "120/min")
END_CALL = RateLimit("calls.end", "20/min")
FEEDBACK = RateLimit("calls.feedback", "20/min")
RECORDING = RateLimit("calls.recording", "30/min")
RECORDING_DELETE = RateLimit("calls.recording-delete", "10/min")
# The signed audio link carries no session: limited per address.
RECORDING_AUDIO = RateLimit("calls.recording-audio", "60/min", per="ip")
USAGE = RateLimit("calls.usage", "60/min")
