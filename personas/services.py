"""Every write to personas, contacts and scenario templates, and the rules they follow:
validation and sanitising, ownership, per-plan limits, the voice catalogue."""

import copy
import hashlib
import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F

from accounts.models import User
from callmeback.db import declared_constraint_names, violated_constraint
from callmeback.errors import ApplicationError, Forbidden, NotFound, ValidationFailed
from callmeback.validation import Rule, clean_fields, parse_uuid
from personas import cache, selectors, signals
from personas.gateways import Voice, VoiceApiError, voice_catalogue
from personas.models import CatalogueEntry, Contact, Persona, ScenarioTemplate
from personas.validators import (
    DESCRIPTION,
    GREETING,
    LLM_TEMPERATURE,
    PRETEXT,
    SYSTEM_PROMPT,
    VOICE_SIMILARITY,
    VOICE_SPEED,
    VOICE_STABILITY,
    clean_llm_model,
    clean_name,
    clean_tags,
)

PERSONA_LIMITS = {User.Plan.FREE: 10, User.Plan.PREMIUM: 50}
MAX_CONTACTS = 50


class DuplicateName(ApplicationError):
    code = "DUPLICATE_NAME"
    default_message = "You already have one with this name."


class PersonaInUse(ApplicationError):
    code = "PERSONA_IN_USE"
    status_code = 409
    default_message = "This persona has scheduled calls. Cancel them before deleting it."


class MaxPersonas(ApplicationError):
    code = "MAX_PERSONAS"
    status_code = 429


class AlreadyExists(ApplicationError):
    code = "ALREADY_EXISTS"
    default_message = "This persona is already in your contacts."


class MaxContacts(ApplicationError):
    code = "MAX_CONTACTS"
    status_code = 429
    default_message = f"You can keep at most {MAX_CONTACTS} contacts. Remove one to add another."


class _Unset:
    """Marks an optional argument the caller did not pass, where None is a value."""


UNSET = _Unset()


# --- Shared rules --------------------------------------------------------------------------


def ensure_owner(*, entry: CatalogueEntry, actor: User, action: str) -> None:
    """Only an entry's owner may change it; system entries only through the admin."""
    label = entry._meta.verbose_name
    if entry.is_system:
        raise Forbidden(f"System {label}s cannot be {action}d.")
    if entry.owner_id != actor.pk:
        raise Forbidden(f"You can only {action} your own {label}s.")


def _ensure_name_free(entry: CatalogueEntry) -> None:
    """Names are unique per owner, whatever their case (also a database constraint)."""
    others = type(entry).objects.filter(owner_id=entry.owner_id, name__iexact=entry.name).exclude(pk=entry.pk)
    if others.exists():
        raise DuplicateName(f"You already have a {entry._meta.verbose_name} named '{entry.name}'.")


def _save(entry: CatalogueEntry, *, fields: list[str] | None = None) -> None:
    """Saves, turning a lost race on the unique name into DUPLICATE_NAME."""
    try:
        with transaction.atomic():
            entry.save(update_fields=fields)
    except IntegrityError as error:
        if violated_constraint(error) not in _name_constraints(type(entry)):
            raise
        raise DuplicateName(f"You already have a {entry._meta.verbose_name} named '{entry.name}'.") from None


def _with_changes(entry: CatalogueEntry, changes: dict[str, Any]) -> CatalogueEntry:
    """A copy of `entry` with `changes` applied, so a check or save that fails leaves the
    caller's object as it was."""
    updated = copy.copy(entry)
    for field, value in changes.items():
        setattr(updated, field, value)
    return updated


def _name_constraints(model: type[CatalogueEntry]) -> set[str]:
    """The unique-name constraints of a catalogue model (per owner, and among system entries)."""
    return {name for name in declared_constraint_names(model) if name.endswith(("_name_per_owner", "_system_name"))}


def _lock_user(user: User) -> User:
    """Serialises one user's writes that count rows against a limit."""
    return User.objects.select_for_update().only("pk", "plan").get(pk=user.pk)


# --- Voices ----------------------------------------------------------------------------------


def voice_list() -> list[Voice]:
    """The voices personas may use, cached for `VOICES_CACHE_SECONDS` (per API key)."""
    source = hashlib.sha256(f"{settings.ELEVENLABS_API_KEY}|{settings.ELEVENLABS_API_URL}".encode()).hexdigest()
    return cache.cached(
        f"personas:voices:{source[:24]}", settings.VOICES_CACHE_SECONDS, lambda: voice_catalogue().list_voices()
    )


def voice_resolve(value: str) -> str:
    """A voice id from the list, given its id or its name ("rachel"); else a field error."""
    wanted = value.strip()
    voices = voice_list()
    for voice in voices:
        if voice.voice_id == wanted:
            return voice.voice_id
    for voice in voices:
        if voice.name.lower() == wanted.lower():
            return voice.voice_id
    raise ValidationError("Unknown voice. Choose a voice id or name from GET /api/voices.")


def voice_name(voice_id: str) -> str:
    """The voice's display name, or its id when the list is unavailable (pages only)."""
    try:
        voices = voice_list()
    except VoiceApiError:
        return voice_id
    return next((voice.name for voice in voices if voice.voice_id == voice_id), voice_id)


# --- Personas --------------------------------------------------------------------------------

_PERSONA_RULES: dict[str, Rule] = {
    "name": clean_name,
    "description": DESCRIPTION.clean,
    "system_prompt": SYSTEM_PROMPT.clean,
    "greeting": GREETING.clean,
    "tags": clean_tags,
    "is_public": bool,
    "voice_stability": VOICE_STABILITY.clean,
    "voice_similarity": VOICE_SIMILARITY.clean,
    "voice_speed": VOICE_SPEED.clean,
    "llm_model": clean_llm_model,
    "llm_temperature": LLM_TEMPERATURE.clean,
    # Checked against the voice list, which raises VOICE_API_ERROR when ElevenLabs cannot be asked.
    "voice": voice_resolve,
}


def persona_validate(**fields: Any) -> dict[str, Any]:
    """Sanitised, checked values of the given fields (None = not given); every bad field is
    reported at once."""
    return clean_fields(_PERSONA_RULES, fields)


def persona_limit(*, user: User) -> int:
    return PERSONA_LIMITS.get(user.plan, PERSONA_LIMITS[User.Plan.FREE])


def persona_create(
    *,
    owner: User,
    name: str,
    description: str,
    voice: str,
    system_prompt: str,
    is_public: bool = False,
    tags: list[str] | None = None,
    greeting: str | None = None,
    voice_stability: float | None = None,
    voice_similarity: float | None = None,
    voice_speed: float | None = None,
    llm_model: str | None = None,
    llm_temperature: float | None = None,
) -> Persona:
    """A custom persona, within the owner's plan limit (`PERSONA_LIMITS`)."""
    cleaned = persona_validate(
        name=name,
        description=description,
        voice=voice,
        system_prompt=system_prompt,
        is_public=is_public,
        tags=tags,
        greeting=greeting,
        voice_stability=voice_stability,
        voice_similarity=voice_similarity,
        voice_speed=voice_speed,
        llm_model=llm_model,
        llm_temperature=llm_temperature,
    )
    persona = Persona(owner=owner, **cleaned)
    with transaction.atomic():
        locked = _lock_user(owner)
        limit = persona_limit(user=locked)
        if Persona.objects.filter(owner=owner).count() >= limit:
            raise MaxPersonas(
                f"You have reached the limit of {limit} custom personas on the {locked.get_plan_display()} plan. "
                "Delete one to create another"
                + (
                    f", or upgrade to Premium for up to {PERSONA_LIMITS[User.Plan.PREMIUM]}."
                    if locked.plan == User.Plan.FREE
                    else "."
                ),
                details={"limit": limit},
            )
        _ensure_name_free(persona)
        _save(persona)
    cache.bump(cache.CATALOGUE)
    return persona


def persona_update(
    *,
    persona: Persona,
    actor: User,
    name: str | None = None,
    description: str | None = None,
    voice: str | None = None,
    system_prompt: str | None = None,
    is_public: bool | None = None,
    tags: list[str] | None = None,
    greeting: str | None = None,
    voice_stability: float | None = None,
    voice_similarity: float | None = None,
    voice_speed: float | None = None,
    llm_model: str | None = None,
    llm_temperature: float | None = None,
) -> Persona:
    """Changes the given fields of the actor's own persona; system personas are read-only.
    Returns the updated persona; the one passed in is left as it was, even on failure."""
    ensure_owner(entry=persona, actor=actor, action="update")
    cleaned = persona_validate(
        name=name,
        description=description,
        # An unchanged voice needs no look-up (and no ElevenLabs round trip).
        voice=None if voice == persona.voice else voice,
        system_prompt=system_prompt,
        is_public=is_public,
        tags=tags,
        greeting=greeting,
        voice_stability=voice_stability,
        voice_similarity=voice_similarity,
        voice_speed=voice_speed,
        llm_model=llm_model,
        llm_temperature=llm_temperature,
    )
    if not cleaned:
        return persona
    updated = _with_changes(persona, cleaned)
    with transaction.atomic():
        if "name" in cleaned:
            _ensure_name_free(updated)
        _save(updated, fields=[*cleaned, "updated_at"])
        _persona_saved(updated, was_public=persona.is_public)
    return updated


def _persona_saved(persona: Persona, *, was_public: bool) -> None:
    """A persona made private leaves the contact lists of everyone but its owner."""
    if was_public and not persona.is_public:
        Contact.objects.filter(persona=persona).exclude(user_id=persona.owner_id).delete()
    cache.bump(cache.CATALOGUE)


def persona_delete(*, persona: Persona, actor: User) -> None:
    """Deletes the actor's own persona and removes it from every contact list."""
    ensure_owner(entry=persona, actor=actor, action="delete")
    answers = signals.persona_delete_requested.send(sender=Persona, persona=persona)
    if any(in_use for _receiver, in_use in answers):
        raise PersonaInUse()
    persona.delete()  # personas.signals refreshes the cached lists


def persona_record_use(*, persona: Persona) -> None:
    """Counts one call made with the persona (called by the calls feature) once the caller's
    transaction commits, in a statement of its own: the persona's row is then locked for that
    one UPDATE, not for the rest of the call's transaction, so calls placed together with one
    popular persona do not queue on its row. A process killed between the two loses one count
    of a popularity figure, never a call or money."""

    def count() -> None:
        Persona.objects.filter(pk=persona.pk).update(use_count=F("use_count") + 1)
        cache.bump(cache.CATALOGUE)

    transaction.on_commit(count)


def persona_admin_save(*, persona: Persona) -> None:
    """An admin's save: any persona, system ones included, already validated by the form."""
    was_public = Persona.objects.filter(pk=persona.pk).values_list("is_public", flat=True).first() or False
    with transaction.atomic():
        _save(persona)
        _persona_saved(persona, was_public=was_public)


def catalogue_changed() -> None:
    """Drops every cached persona and contact list (after an admin edit of a contact)."""
    cache.bump(cache.CATALOGUE)


# --- Contacts ----------------------------------------------------------------------------------


def contact_add(*, user: User, persona_id: uuid.UUID) -> Contact:
    """Saves a persona the user can see (public or their own) to their contacts."""
    persona = selectors.persona_get_visible(persona_id=persona_id, viewer=user)
    with transaction.atomic():
        _lock_user(user)
        if Contact.objects.filter(user=user, persona=persona).exists():
            raise AlreadyExists()
        if Contact.objects.filter(user=user).count() >= MAX_CONTACTS:
            raise MaxContacts(details={"limit": MAX_CONTACTS})
        try:
            with transaction.atomic():
                contact = Contact.objects.create(user=user, persona=persona)
        except IntegrityError:
            raise AlreadyExists() from None
    cache.bump(cache.contacts_scope(user.pk))
    return contact


def contact_remove(*, user: User, persona_id: object) -> None:
    parsed = parse_uuid(persona_id)
    if parsed is None:
        raise NotFound("This persona is not in your contacts.")
    deleted, _ = Contact.objects.filter(user=user, persona_id=parsed).delete()  # signals refresh the cache
    if not deleted:
        raise NotFound("This persona is not in your contacts.")


# --- Scenario templates -----------------------------------------------------------------------

_SCENARIO_RULES: dict[str, Rule] = {
    "name": clean_name,
    "description": DESCRIPTION.clean,
    "pretext": PRETEXT.clean,
    "is_public": bool,
}


def scenario_template_validate(**fields: Any) -> dict[str, Any]:
    return clean_fields(_SCENARIO_RULES, fields)


def _suggested_persona(persona_id: uuid.UUID | None, *, owner: User, is_public: bool) -> Persona | None:
    """The owner must see the persona; a public scenario may suggest only a public one."""
    if persona_id is None:
        return None
    try:
        persona = selectors.persona_get_visible(persona_id=persona_id, viewer=owner)
    except NotFound:
        raise ValidationFailed.for_field("suggested_persona_id", "Persona not found.") from None
    if is_public and not persona.is_public:
        raise ValidationFailed.for_field("suggested_persona_id", "A public scenario can only suggest a public persona.")
    return persona


def scenario_template_create(
    *,
    owner: User,
    name: str,
    description: str,
    pretext: str,
    is_public: bool = False,
    suggested_persona_id: uuid.UUID | None = None,
) -> ScenarioTemplate:
    cleaned = scenario_template_validate(name=name, description=description, pretext=pretext, is_public=is_public)
    template = ScenarioTemplate(
        owner=owner,
        suggested_persona=_suggested_persona(suggested_persona_id, owner=owner, is_public=cleaned["is_public"]),
        **cleaned,
    )
    with transaction.atomic():
        _ensure_name_free(template)
        _save(template)
    return template


def scenario_template_update(
    *,
    template: ScenarioTemplate,
    actor: User,
    name: str | None = None,
    description: str | None = None,
    pretext: str | None = None,
    is_public: bool | None = None,
    suggested_persona_id: uuid.UUID | _Unset | None = UNSET,
) -> ScenarioTemplate:
    """Changes the given fields; `suggested_persona_id=None` clears the suggestion. Returns
    the updated template; the one passed in is left as it was, even on failure."""
    ensure_owner(entry=template, actor=actor, action="update")
    cleaned = scenario_template_validate(name=name, description=description, pretext=pretext, is_public=is_public)
    public = cleaned.get("is_public", template.is_public)
    if not isinstance(suggested_persona_id, _Unset):
        cleaned["suggested_persona"] = _suggested_persona(suggested_persona_id, owner=actor, is_public=public)
    elif public and template.suggested_persona and not template.suggested_persona.is_public:
        raise ValidationFailed.for_field("suggested_persona_id", "A public scenario can only suggest a public persona.")
    if not cleaned:
        return template
    updated = _with_changes(template, cleaned)
    with transaction.atomic():
        if "name" in cleaned:
            _ensure_name_free(updated)
        _save(updated, fields=[*cleaned, "updated_at"])
    return updated


def scenario_template_delete(*, template: ScenarioTemplate, actor: User) -> None:
    ensure_owner(entry=template, actor=actor, action="delete")
    template.delete()
