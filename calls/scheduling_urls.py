"""URLs of booked calls and series: `api_urlpatterns` under /api/, `urlpatterns` for the dashboard."""

from django.urls import path

from calls import scheduling_api, scheduling_views

api_urlpatterns = [
    path("calls/schedule", scheduling_api.ScheduleCreateApi.as_view(), name="api-schedule-create"),
    path("calls/schedule/<str:booking_id>", scheduling_api.ScheduledCallApi.as_view(), name="api-scheduled-call"),
    path("calls/scheduled", scheduling_api.ScheduledListApi.as_view(), name="api-scheduled-list"),
    path("calls/series", scheduling_api.SeriesListCreateApi.as_view(), name="api-series"),
    path("calls/series/<str:series_id>", scheduling_api.SeriesDetailApi.as_view(), name="api-series-detail"),
]

urlpatterns = [
    path("calls/scheduled/", scheduling_views.scheduled_page, name="scheduled"),
    path("calls/scheduled/<uuid:booking_id>/cancel", scheduling_views.booking_cancel, name="scheduled-cancel"),
    path("calls/series/<uuid:series_id>/pause", scheduling_views.series_pause, name="series-pause"),
    path("calls/series/<uuid:series_id>/resume", scheduling_views.series_resume, name="series-resume"),
]
