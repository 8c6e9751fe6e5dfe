"""Site-wide pieces every page shares."""

import pytest

pytestmark = pytest.mark.django_db


def test_favicon_ico_leads_to_the_icon_every_page_links(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 301
    icon = client.get(response["Location"])
    assert icon.status_code == 200
    assert b"<svg" in b"".join(icon.streaming_content)
    assert f'<link rel="icon" href="{response["Location"]}"' in client.get("/login").content.decode()
