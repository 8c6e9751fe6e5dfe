"""Django's async-safety check stays on outside the browser tests, so an ORM call made on
an event loop (say, in a websocket consumer) fails a test instead of blocking the loop."""

import asyncio

import pytest
from django.core.exceptions import SynchronousOnlyOperation

from accounts.models import User


@pytest.mark.django_db
def test_an_orm_call_on_the_event_loop_is_refused():
    async def count_users() -> int:
        return User.objects.count()

    with pytest.raises(SynchronousOnlyOperation):
        asyncio.run(count_users())
