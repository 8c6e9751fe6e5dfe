"""Reads for a live call: everything the conversation needs, loaded once when the stream starts."""


from django.conf import settings

from callmeback.validation import parse_uuid
from calls.models import Call
from voice.engine.call import CallContext
from voice.providers.base import VoiceSettings
from voice.streams import stream_token_is_valid


def stream_call_context(*, call_sid: str, call_id: str, persona_id: str, stream_token: str) -> CallContext | None:
    """The context of the live call a Twilio stream belongs to, or None when the stream's
    claims do not all match one of our active calls (SID, call id and persona together) or
    its token is not the one our answer gave this call and SID."""
    call_uuid, persona_uuid = parse_uuid(call_id), parse_uuid(persona_id)
    if call_uuid is None or persona_uuid is None:
        return None
    if not stream_token_is_valid(stream_token, call_id=str(call_uuid), call_sid=call_sid):
        return None
    call = (
        Call.objects.select_related("persona", "user", "scenario_template")
        .filter(id=call_uuid, sid=call_sid, persona_id=persona_uuid, status__in=Call.ACTIVE)
        .first()
    )
    if call is None or not call_sid:
        return None
    persona = call.persona
    pretext = call.call_pretext or (call.scenario_template.pretext if call.scenario_template else "")
    return CallContext(
        call_id=str(call.id),
        persona_name=persona.name,
        system_prompt=persona.system_prompt,
        pretext=pretext,
        first_name=(call.user.name.split() or [""])[0],
        opening_line=persona.opening_line,
        authorized_seconds=call.authorized_seconds,
        voice=VoiceSettings(
            voice_id=persona.voice,
            stability=persona.voice_stability,
            similarity=persona.voice_similarity,
            speed=persona.voice_speed,
        ),
        llm_model=persona.llm_model or settings.LLM_MODEL,
        llm_temperature=persona.llm_temperature,
    )
