from django.urls import path

from calls import api

app_name = "calls_api"

urlpatterns = [
    path("call", api.PlaceCallApi.as_view(), name="place"),
    path("calls", api.CallListApi.as_view(), name="list"),
    path("calls/<str:call_id>", api.CallDetailApi.as_view(), name="detail"),
    path("calls/<str:call_id>/end", api.EndCallApi.as_view(), name="end"),
    path("calls/<str:call_id>/feedback", api.FeedbackApi.as_view(), name="feedback"),
    path("calls/<str:call_id>/recording", api.RecordingApi.as_view(), name="recording"),
    path("recordings/<str:token>", api.RecordingAudioApi.as_view(), name="recording-audio"),
    path("user/usage", api.UsageApi.as_view(), name="usage"),
    path("twilio/callback", api.TwilioCallStatusApi.as_view(), name="twilio-callback"),
]
