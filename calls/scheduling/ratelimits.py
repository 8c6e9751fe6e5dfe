"""Rate limits of the booked-call and series endpoints (`001_*` rate-limit table), shared by
the API and the dashboard: one counter per limit."""

from callmeback.ratelimit import RateLimit

SCHEDULE_CREATE = RateLimit("scheduling.schedule-create", "10/hour")
SCHEDULE_CANCEL = RateLimit("scheduling.schedule-cancel", "20/min")
SCHEDULE_LIST = RateLimit("scheduling.schedule-list", "60/min")
SERIES_CREATE = RateLimit("scheduling.series-create", "10/hour")
SERIES_UPDATE = RateLimit("scheduling.series-update", "30/hour")
SERIES_LIST = RateLimit("scheduling.series-list", "60/min")
