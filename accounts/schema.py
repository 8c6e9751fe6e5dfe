"""Describes our bearer authentication to drf-spectacular (the OpenAPI schema)."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme


class BearerTokenScheme(SimpleJWTScheme):
    target_class = "accounts.authentication.BearerTokenAuthentication"
    name = "bearerAuth"
