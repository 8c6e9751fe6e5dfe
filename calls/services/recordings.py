"""A call's recording: Twilio's recording-status reports, the short-lived signed link the
person plays it from, and deleting it at Twilio and here."""

from datetime import datetime, timedelta

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from callmeback.errors import NotFound, ValidationFailed
from callmeback.twilio import MediaStream
from calls import gateways, selectors
from calls.models import Call, CallRecording
from calls.services.changes import call_changed
from calls.services.lifecycle import call_find_for_report, report_int

RECORDING_LINK_SALT = "calls.recording-link"


def recording_record(*, params: dict, call_id: object = None) -> CallRecording | None:
    """Stores what Twilio's recording-status callback says (sid, status, duration, channels)."""
    sid = params.get("RecordingSid", "")
    if not sid:
        raise ValidationFailed.for_field("RecordingSid", "RecordingSid is required.")
    with transaction.atomic():
        call = call_find_for_report(sid=params.get("CallSid", ""), call_id=call_id)
        if call is None:
            return None
        recording, _ = CallRecording.objects.select_for_update().get_or_create(
            sid=sid, defaults={"call": call, "status": "in-progress"}
        )
        if recording.call_id != call.pk or recording.deleted_at is not None:
            return recording
        recording.status = (params.get("RecordingStatus") or recording.status)[:20]
        recording.duration = report_int(params, "RecordingDuration") or recording.duration
        recording.channels = report_int(params, "RecordingChannels") or recording.channels
        recording.save()
        call_changed(call)
    return recording


def recording_link(*, call: Call) -> tuple[str, datetime]:
    """A short-lived signed link to our own endpoint that streams the call's recording."""
    recording = selectors.recording_playable(call=call)
    if recording is None:
        raise NotFound("This call has no recording.")
    token = signing.dumps({"recording": str(recording.pk), "user": str(call.user_id)}, salt=RECORDING_LINK_SALT)
    expires_at = timezone.now() + timedelta(seconds=settings.RECORDING_LINK_SECONDS)
    url = f"{settings.SITE_URL}{reverse('calls_api:recording-audio', args=[token])}"
    return url, expires_at


def recording_from_link(*, token: str) -> CallRecording:
    """The recording a signed link points to, while the link is fresh and the recording still there."""
    try:
        payload = signing.loads(token, salt=RECORDING_LINK_SALT, max_age=settings.RECORDING_LINK_SECONDS)
    except signing.BadSignature:
        raise NotFound("This recording link is invalid or has expired.") from None
    recording = (
        CallRecording.objects.filter(pk=payload.get("recording"), call__user_id=payload.get("user"))
        .filter(deleted_at__isnull=True, status="completed")
        .first()
    )
    if recording is None:
        raise NotFound("This recording link is invalid or has expired.")
    return recording


async def recording_audio_open(*, token: str) -> MediaStream:
    """The audio behind a signed link: the link and the recording are checked first (404 for a
    stale or tampered link, or a deleted recording), then Twilio's answer is opened, its body
    left to stream through `chunks`."""
    recording = await sync_to_async(recording_from_link)(token=token)
    return await gateways.twilio_recording_audio(sid=recording.sid)


def recording_delete(*, call: Call) -> None:
    """Deletes the call's recordings at Twilio, then here."""
    recordings = list(call.recordings.filter(deleted_at__isnull=True))
    if not recordings:
        raise NotFound("This call has no recording.")
    for recording in recordings:
        gateways.twilio_recording_delete(sid=recording.sid)
        CallRecording.objects.filter(pk=recording.pk).update(deleted_at=timezone.now())
    call_changed(call)
