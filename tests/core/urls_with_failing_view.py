"""The project's URLs plus one API view that fails, to test the 500 envelope end to end."""

from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from callmeback.urls import urlpatterns as project_urlpatterns


class FailingApi(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise RuntimeError("database password is hunter2")


urlpatterns = [path("api/test/failing", FailingApi.as_view()), *project_urlpatterns]
