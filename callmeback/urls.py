from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path, re_path
from django.utils.functional import lazy
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from callmeback import errors, health
from calls.scheduling import urls as scheduling_urls

# Lists get the whole width of a laptop screen; the home page links every model anyway.
admin.site.enable_nav_sidebar = False

handler400 = "callmeback.errors.handler400"
handler403 = "callmeback.errors.handler403"
handler404 = "callmeback.errors.handler404"
handler500 = "callmeback.errors.handler500"

api_patterns = [
    path("", include("accounts.api_urls")),
    path("", include("personas.api_urls")),
    path("", include("billing.api_urls")),
    path("", include(scheduling_urls.api_urlpatterns)),
    path("", include("calls.api_urls")),
    path("", include("voice.api_urls")),
]

urlpatterns = [
    path("health", health.health, name="health"),
    # Browsers (and the admin's pages, which have no icon link) ask for /favicon.ico.
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("favicon.svg"), permanent=True)),
    path("readiness", health.readiness, name="readiness"),
    path("api/schema", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/", include(api_patterns)),
    # Unknown API paths answer in the error envelope, whatever DEBUG says.
    re_path(r"^api(?:/.*)?$", errors.api_not_found),
    path("webhooks/", include("calls.webhook_urls")),
    path("admin/", admin.site.urls),
    path("", include("accounts.urls")),
    path("", include("personas.urls")),
    path("", include("billing.urls")),
    path("", include("calls.urls")),
    path("", include((scheduling_urls.urlpatterns, "scheduling"))),
]
