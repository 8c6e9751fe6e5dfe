"""URLs of booked calls and series: `api_urlpatterns` under /api/, `urlpatterns` for the dashboard."""

from django.urls import path

from calls.scheduling import api, views

api_urlpatterns = [
    path("calls/schedule", api.ScheduleCreateApi.as_view(), name="api-schedule-create"),
    path("calls/schedule/<str:booking_id>", api.ScheduledCallApi.as_view(), name="api-scheduled-call"),
    path("calls/scheduled", api.ScheduledListApi.as_view(), name="api-scheduled-list"),
    path("calls/series", api.SeriesListCreateApi.as_view(), name="api-series"),
    path("calls/series/<str:series_id>", api.SeriesDetailApi.as_view(), name="api-series-detail"),
]

urlpatterns = [
    path("calls/scheduled/", views.scheduled_page, name="scheduled"),
    path("calls/scheduled/<uuid:booking_id>/cancel", views.booking_cancel, name="scheduled-cancel"),
    path("calls/series/<uuid:series_id>/pause", views.series_pause, name="series-pause"),
    path("calls/series/<uuid:series_id>/resume", views.series_resume, name="series-resume"),
]
