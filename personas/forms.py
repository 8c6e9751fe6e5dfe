"""Dashboard forms. They only collect input: the rules live in `personas.services`."""

import uuid

from django import forms

from personas.gateways import Voice
from personas.models import Persona, ScenarioTemplate
from personas.validators import (
    DESCRIPTION,
    GREETING,
    LLM_TEMPERATURE,
    MAX_TAGS,
    NAME_MAX_LENGTH,
    NAME_MIN_LENGTH,
    PRETEXT,
    SYSTEM_PROMPT,
    VOICE_SIMILARITY,
    VOICE_SPEED,
    VOICE_STABILITY,
)

NAME_BOUNDS = f"{NAME_MIN_LENGTH} to {NAME_MAX_LENGTH} characters"


def _textarea(rows: int) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


class PersonaForm(forms.Form):
    name = forms.CharField(help_text=f"{NAME_BOUNDS}: letters, numbers, spaces, hyphens and apostrophes.")
    description = forms.CharField(widget=_textarea(3), help_text=f"{DESCRIPTION.bounds}, shown in the catalogue.")
    voice = forms.ChoiceField()
    greeting = forms.CharField(
        required=False,
        widget=_textarea(2),
        help_text=f"The first thing the persona says when you pick up ({GREETING.bounds.lower()}). "
        "Leave empty for a simple hello.",
    )
    system_prompt = forms.CharField(
        widget=_textarea(8),
        help_text=f"{SYSTEM_PROMPT.bounds}. Who the persona is and how it talks on the phone.",
    )
    tags = forms.CharField(
        required=False, help_text=f"Up to {MAX_TAGS}, comma-separated, e.g. friendly, calm, wake-up."
    )
    is_public = forms.BooleanField(required=False, label="Public: anyone can find and call this persona")
    voice_stability = forms.FloatField(required=False, label="Voice stability", help_text=f"{VOICE_STABILITY.bounds}.")
    voice_similarity = forms.FloatField(
        required=False, label="Voice similarity", help_text=f"{VOICE_SIMILARITY.bounds}."
    )
    voice_speed = forms.FloatField(
        required=False, label="Speaking rate", help_text=f"{VOICE_SPEED.bounds} (slow to fast)."
    )
    llm_model = forms.CharField(required=False, label="Language model", help_text="Leave empty for the default.")
    llm_temperature = forms.FloatField(
        required=False, label="Temperature", help_text=f"{LLM_TEMPERATURE.bounds} (steady to playful)."
    )

    TUNING_FIELDS = ("voice_stability", "voice_similarity", "voice_speed", "llm_model", "llm_temperature")

    def __init__(self, *args, voices: list[Voice], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["voice"].choices = [("", "Choose a voice")] + [
            (voice.voice_id, _voice_label(voice)) for voice in voices
        ]
        for name in self.TUNING_FIELDS:
            self.fields[name].initial = Persona._meta.get_field(name).get_default()

    @staticmethod
    def initial_for(persona: Persona) -> dict:
        fields = ("name", "description", "voice", "greeting", "system_prompt", "is_public", *PersonaForm.TUNING_FIELDS)
        return {**{name: getattr(persona, name) for name in fields}, "tags": ", ".join(persona.tags)}

    def clean_tags(self) -> list[str]:
        return [part.strip() for part in self.cleaned_data["tags"].split(",") if part.strip()]


def _voice_label(voice: Voice) -> str:
    keys = ("gender", "age", "accent")
    details = ", ".join(voice.labels[key].replace("_", " ") for key in keys if key in voice.labels)
    return f"{voice.name} ({details})" if details else voice.name


class ScenarioTemplateForm(forms.Form):
    name = forms.CharField(help_text=f"{NAME_BOUNDS}.")
    description = forms.CharField(widget=_textarea(3), help_text=f"{DESCRIPTION.bounds}.")
    pretext = forms.CharField(
        widget=_textarea(5),
        help_text=f"{PRETEXT.bounds}, added to the persona's instructions for the call, e.g. "
        "“You are calling to wake them up for their 9am interview.”",
    )
    suggested_persona_id = forms.ChoiceField(required=False, label="Suggested persona")
    is_public = forms.BooleanField(required=False, label="Public: everyone can use this scenario")

    def __init__(self, *args, personas: list[Persona], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["suggested_persona_id"].choices = [("", "None")] + [
            (str(persona.pk), persona.name) for persona in personas
        ]

    @staticmethod
    def initial_for(template: ScenarioTemplate) -> dict:
        return {
            "name": template.name,
            "description": template.description,
            "pretext": template.pretext,
            "is_public": template.is_public,
            "suggested_persona_id": str(template.suggested_persona_id or ""),
        }

    def clean_suggested_persona_id(self) -> uuid.UUID | None:
        value = self.cleaned_data["suggested_persona_id"]
        return uuid.UUID(value) if value else None
