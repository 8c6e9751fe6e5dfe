"""Rate limits of the booked-call and series endpoints (`001_*` rate-limit table), shared by
the API and the dashboard: one counter per limit."""

from callmeback.ratelimit import RateLimit

SCHEDULE_CREATE = RateLimit("calls.schedule-create", "10/hour")
SCHEDULE_CANCEL = RateLimit("calls.schedule-cancel", "20/min")
SCHEDULE_LIST = RateLimit("calls.schedule-list", "60/min")
SERIES_CREATE = RateLimit("calls.series-create", "10/hour")
SERIES_UPDATE = RateLimit("calls.series-update", "30/hour")
SERIES_LIST = RateLimit("calls.series-list", "60/min")
