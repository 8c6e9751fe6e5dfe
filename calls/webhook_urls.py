"""Twilio's webhooks under `/webhooks/` (`004_*`)."""

from django.urls import path

from calls import api

app_name = "calls_webhooks"

urlpatterns = [
    path("twilio/call-status", api.TwilioCallStatusApi.as_view(), name="call-status"),
    path("twilio/recording-status", api.TwilioRecordingStatusApi.as_view(), name="recording-status"),
]
