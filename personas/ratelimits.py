"""Rate limits of the personas, contacts, voices and scenario endpoints (`000_*` §3-4, §9),
shared by the API and the dashboard: one counter per limit."""

from callmeback.ratelimit import RateLimit

# Catalogue reads: anyone may browse, signed-in users a little more.
_READ_RATE = "120/min"
_ANONYMOUS_READ_RATE = "60/min"

PERSONA_LIST = RateLimit("personas.persona-list", _READ_RATE, anonymous=_ANONYMOUS_READ_RATE)
PERSONA_DETAIL = RateLimit("personas.persona-detail", _READ_RATE, anonymous=_ANONYMOUS_READ_RATE)
VOICE_LIST = RateLimit("personas.voice-list", _READ_RATE, anonymous=_ANONYMOUS_READ_RATE)
PERSONA_CREATE = RateLimit("personas.persona-create", "20/hour")
PERSONA_UPDATE = RateLimit("personas.persona-update", "30/hour")
PERSONA_DELETE = RateLimit("personas.persona-delete", "20/hour")

CONTACT_LIST = RateLimit("personas.contact-list", "60/min")
CONTACT_ADD = RateLimit("personas.contact-add", "30/min")
CONTACT_REMOVE = RateLimit("personas.contact-remove", "30/min")

SCENARIO_LIST = RateLimit("personas.scenario-list", "60/min")
SCENARIO_DETAIL = RateLimit("personas.scenario-detail", "60/min")
SCENARIO_CREATE = RateLimit("personas.scenario-create", "20/hour")
SCENARIO_UPDATE = RateLimit("personas.scenario-update", "30/hour")
SCENARIO_DELETE = RateLimit("personas.scenario-delete", "20/hour")
