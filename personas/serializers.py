"""Request and response shapes of the personas, contacts, voices and scenario API
(`000_*` §3-4, `001_*` scenario templates). Content rules live in `personas.services`."""

from rest_framework import serializers

from personas.models import Contact, Persona, ScenarioTemplate
from personas.selectors import suggested_persona_for


class PersonaSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(read_only=True)

    class Meta:
        model = Persona
        fields = [
            "id",
            "name",
            "description",
            "voice",
            "system_prompt",
            "greeting",
            "is_public",
            "created_by",
            "tags",
            "voice_stability",
            "voice_similarity",
            "voice_speed",
            "llm_model",
            "llm_temperature",
            "use_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class PersonaInput(serializers.Serializer):
    """Types only; `partial=True` for updates, where every field is optional."""

    name = serializers.CharField(trim_whitespace=False)
    description = serializers.CharField(trim_whitespace=False)
    voice = serializers.CharField()
    system_prompt = serializers.CharField(trim_whitespace=False)
    is_public = serializers.BooleanField(required=False)
    tags = serializers.ListField(child=serializers.CharField(allow_blank=True), required=False, max_length=100)
    greeting = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    voice_stability = serializers.FloatField(required=False)
    voice_similarity = serializers.FloatField(required=False)
    voice_speed = serializers.FloatField(required=False)
    llm_model = serializers.CharField(required=False, allow_blank=True)
    llm_temperature = serializers.FloatField(required=False)


class ContactSerializer(serializers.ModelSerializer):
    persona = PersonaSerializer(read_only=True)

    class Meta:
        model = Contact
        fields = ["id", "persona_id", "persona", "added_at"]
        read_only_fields = fields


class NewContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = ["id", "persona_id", "added_at"]
        read_only_fields = fields


class ContactInput(serializers.Serializer):
    persona_id = serializers.UUIDField()


class VoiceSerializer(serializers.Serializer):
    voice_id = serializers.CharField()
    name = serializers.CharField()
    category = serializers.CharField()
    labels = serializers.DictField(child=serializers.CharField())


class SuggestedPersonaSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class ScenarioTemplateSerializer(serializers.ModelSerializer):
    """Needs `viewer` in its context: a suggested persona the viewer cannot see is null."""

    created_by = serializers.CharField(read_only=True)
    suggested_persona = serializers.SerializerMethodField()

    class Meta:
        model = ScenarioTemplate
        fields = [
            "id",
            "name",
            "description",
            "pretext",
            "suggested_persona",
            "is_public",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_suggested_persona(self, template: ScenarioTemplate) -> dict | None:
        persona = suggested_persona_for(template, self.context["viewer"])
        return SuggestedPersonaSerializer(persona).data if persona else None


class ScenarioTemplateInput(serializers.Serializer):
    name = serializers.CharField(trim_whitespace=False)
    description = serializers.CharField(trim_whitespace=False)
    pretext = serializers.CharField(trim_whitespace=False)
    is_public = serializers.BooleanField(required=False)
    suggested_persona_id = serializers.UUIDField(required=False, allow_null=True)
