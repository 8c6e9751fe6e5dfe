"""The person decides whether their calls are recorded (`record_calls`, off by default)."""


def test_recording_is_off_until_the_person_turns_it_on(auth_client, user):
    assert auth_client.get("/api/auth/me").json()["user"]["record_calls"] is False

    response = auth_client.put("/api/user/profile", {"record_calls": True}, format="json")

    assert response.status_code == 200
    user.refresh_from_db()
    assert user.record_calls is True
    assert auth_client.get("/api/auth/me").json()["user"]["record_calls"] is True


def test_updating_the_name_leaves_the_recording_setting_alone(auth_client, user):
    user.record_calls = True
    user.save(update_fields=["record_calls"])

    auth_client.put("/api/user/profile", {"name": "Ann Smith"}, format="json")

    user.refresh_from_db()
    assert user.record_calls is True
