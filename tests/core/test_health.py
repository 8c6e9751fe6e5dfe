import pytest

from callmeback.celery import app as celery_app

pytestmark = pytest.mark.django_db


def test_health_reports_ok_with_a_timestamp(client):
    body = client.get("/health").json()

    assert body["status"] == "ok"
    assert body["timestamp"]


def test_readiness_checks_database_cache_and_broker(client):
    response = client.get("/readiness")

    assert response.status_code == 200
    assert response.json() == {"database": "ok", "cache": "ok", "broker": "ok"}


def test_readiness_names_an_unreachable_cache(client, settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }

    response = client.get("/readiness")

    assert response.status_code == 503
    assert response.json() == {"database": "ok", "cache": "unavailable", "broker": "ok"}


@pytest.fixture
def unreachable_broker():
    previous = celery_app.conf.broker_url
    celery_app.conf.broker_url = "redis://127.0.0.1:1/0"
    yield
    celery_app.conf.broker_url = previous


def test_readiness_names_an_unreachable_broker(client, unreachable_broker):
    response = client.get("/readiness")

    assert response.status_code == 503
    assert response.json()["broker"] == "unavailable"
