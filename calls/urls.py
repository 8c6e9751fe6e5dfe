from django.urls import path

from calls import views

app_name = "calls"

urlpatterns = [
    path("calls/new", views.call_new_view, name="new"),
    path("calls", views.call_list_view, name="list"),
    path("calls/<uuid:call_id>", views.call_detail_view, name="detail"),
    path("calls/<uuid:call_id>/end", views.call_end_view, name="end"),
    path("calls/<uuid:call_id>/feedback", views.call_feedback_view, name="feedback"),
    path("usage", views.usage_view, name="usage"),
]
