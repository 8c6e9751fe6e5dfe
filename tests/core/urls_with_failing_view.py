"""The project's URLs plus an API view that fails, to test the 500 envelope end to end, and
a plain Django view under /api that CSRF guards, to test the 403 envelope."""

from django.http import HttpResponse
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from callmeback.urls import urlpatterns as project_urlpatterns


class FailingApi(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise RuntimeError("database password is hunter2")


def csrf_guarded(request):
    return HttpResponse("ok")


urlpatterns = [
    path("api/test/failing", FailingApi.as_view()),
    path("api/test/csrf-guarded", csrf_guarded),
    *project_urlpatterns,
]
