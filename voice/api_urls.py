from django.urls import path

from voice import api

app_name = "voice_api"

urlpatterns = [
    path("voice/answer", api.VoiceAnswerApi.as_view(), name="answer"),
]
