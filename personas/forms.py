"""Dashboard forms. They only collect input: the rules live in `personas.services`, which
each form runs in the same round as its own checks, so every problem shows at once. The
length limits also go into the HTML (`minlength`, `maxlength`)."""

import uuid
from typing import Any

from django import forms

from callmeback.dashboard import ServiceValidatedMixin
from callmeback.validation import parse_uuid
from personas import services
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
    TextRule,
)

NAME = TextRule("Name", NAME_MIN_LENGTH, NAME_MAX_LENGTH)


def _text(rule: TextRule, *, rows: int | None = None, required: bool = True, **kwargs: Any) -> forms.CharField:
    """A text field whose rule the service checks; the browser gets its limits as hints."""
    attrs: dict[str, Any] = {"maxlength": rule.max_length}
    if rule.min_length:
        attrs["minlength"] = rule.min_length
    if required:
        attrs["required"] = True
    widget = forms.Textarea(attrs={"rows": rows, **attrs}) if rows else forms.TextInput(attrs=attrs)
    return forms.CharField(required=False, strip=False, widget=widget, **kwargs)


class PersonaForm(ServiceValidatedMixin, forms.Form):
    name = _text(NAME, help_text=f"{NAME.bounds}: letters, numbers, spaces, hyphens and apostrophes.")
    description = _text(DESCRIPTION, rows=3, help_text=f"{DESCRIPTION.bounds}, shown in the catalogue.")
    voice = forms.ChoiceField()
    greeting = _text(
        GREETING,
        rows=2,
        required=False,
        help_text=f"The first thing the persona says when you pick up ({GREETING.bounds.lower()}). "
        "Leave empty for a simple hello.",
    )
    system_prompt = _text(
        SYSTEM_PROMPT, rows=8, help_text=f"{SYSTEM_PROMPT.bounds}. Who the persona is and how it talks on the phone."
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
    # The voice is checked against the list by its choice field.
    validated_fields = ("name", "description", "greeting", "system_prompt", "tags", *TUNING_FIELDS)
    validate = staticmethod(services.persona_validate)

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


class ScenarioTemplateForm(ServiceValidatedMixin, forms.Form):
    name = _text(NAME, help_text=f"{NAME.bounds}.")
    description = _text(DESCRIPTION, rows=3, help_text=f"{DESCRIPTION.bounds}.")
    pretext = _text(
        PRETEXT,
        rows=5,
        help_text=f"{PRETEXT.bounds}, added to the persona's instructions for the call, e.g. "
        "“You are calling to wake them up for their 9am interview.”",
    )
    suggested_persona_id = forms.ChoiceField(required=False, label="Suggested persona")
    is_public = forms.BooleanField(required=False, label="Public: everyone can use this scenario")

    validated_fields = ("name", "description", "pretext")
    validate = staticmethod(services.scenario_template_validate)

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
        return parse_uuid(value)
