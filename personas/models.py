"""Personas people call with, their contact lists, and reusable call scenarios."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from callmeback.encryption import EncryptedTextField


class CatalogueEntry(models.Model):
    """What personas and scenario templates share: an owner (none for system entries),
    a name unique per owner regardless of case, and public/private visibility."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="%(class)ss",
        help_text="Empty for a system entry, which only admins can change.",
    )
    name = models.CharField(max_length=50)
    description = models.CharField(max_length=500)
    is_public = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), "owner", name="%(app_label)s_%(class)s_name_per_owner"),
            # NULL owners never collide in the constraint above: system names get their own.
            models.UniqueConstraint(
                Lower("name"), condition=models.Q(owner__isnull=True), name="%(app_label)s_%(class)s_system_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_system(self) -> bool:
        return self.owner_id is None

    @property
    def created_by(self) -> str:
        """The spec's `created_by`: "system" or the owner's user id."""
        return "system" if self.owner_id is None else str(self.owner_id)


class Persona(CatalogueEntry):
    voice = models.CharField(max_length=64, help_text="ElevenLabs voice id.")
    system_prompt = models.TextField(max_length=2000)
    greeting = models.CharField(
        max_length=300, blank=True, help_text="First words when the call connects; empty for a default hello."
    )
    tags = models.JSONField(default=list, blank=True, help_text='Lowercase tags, e.g. ["friendly", "calm"].')
    voice_stability = models.FloatField(default=0.5, help_text="ElevenLabs stability, 0 to 1.")
    voice_similarity = models.FloatField(default=0.75, help_text="ElevenLabs similarity boost, 0 to 1.")
    voice_speed = models.FloatField(default=1.0, help_text="Speaking rate, 0.7 to 1.2.")
    llm_model = models.CharField(max_length=100, blank=True, help_text="Empty for the deployment's default model.")
    llm_temperature = models.FloatField(default=0.8, help_text="0 to 2.")
    use_count = models.PositiveIntegerField(default=0, editable=False, help_text="Calls made with this persona.")

    class Meta(CatalogueEntry.Meta):
        indexes = [
            models.Index(fields=["is_public", "-created_at"], name="persona_public_created"),
            # Tags get a GIN index on PostgreSQL in migration 0002.
        ]
        constraints = [
            *CatalogueEntry.Meta.constraints,
            models.CheckConstraint(
                condition=models.Q(voice_stability__gte=0, voice_stability__lte=1), name="persona_voice_stability_range"
            ),
            models.CheckConstraint(
                condition=models.Q(voice_similarity__gte=0, voice_similarity__lte=1),
                name="persona_voice_similarity_range",
            ),
            models.CheckConstraint(
                condition=models.Q(voice_speed__gte=0.7, voice_speed__lte=1.2), name="persona_voice_speed_range"
            ),
            models.CheckConstraint(
                condition=models.Q(llm_temperature__gte=0, llm_temperature__lte=2), name="persona_llm_temperature_range"
            ),
        ]

    @property
    def opening_line(self) -> str:
        """What the persona says when the call connects."""
        return self.greeting or f"Hi, it's {self.name}. How are you doing?"


class Contact(models.Model):
    """A persona saved to a user's contact list."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contacts")
    persona = models.ForeignKey(Persona, on_delete=models.CASCADE, related_name="contacts")
    added_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-added_at"]
        constraints = [models.UniqueConstraint(fields=["user", "persona"], name="contact_unique_user_persona")]
        indexes = [models.Index(fields=["user", "-added_at"], name="contact_user_added")]

    def __str__(self) -> str:
        return f"{self.persona_id} in contacts of {self.user_id}"


class PersonaMemory(models.Model):
    """What a persona remembers about one person across calls: short notes distilled after
    each call, shown to the persona as data about the person at the start of the next.
    Encrypted at rest; bounded by `PERSONA_MEMORY_MAX_CHARS`. A person may edit or clear it,
    or switch it off (`enabled`), after which nothing is remembered or recalled."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="persona_memories")
    persona = models.ForeignKey(Persona, on_delete=models.CASCADE, related_name="memories")
    text = EncryptedTextField(blank=True)
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "persona"], name="memory_unique_user_persona")]

    def __str__(self) -> str:
        return f"memory of {self.persona_id} about {self.user_id}"


class ScenarioTemplate(CatalogueEntry):
    """A reusable situation for a call; its pretext is added to the persona's prompt."""

    pretext = models.TextField(max_length=1000)
    suggested_persona = models.ForeignKey(
        Persona, null=True, blank=True, on_delete=models.SET_NULL, related_name="suggested_in"
    )
