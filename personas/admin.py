"""Django admin for personas, contacts and scenarios. Admins may edit system entries;
their input goes through the same rules as the API, and every change refreshes the
cached persona lists (deletes through `personas.signals`)."""

from django import forms
from django.contrib import admin
from django.utils.formats import date_format

from callmeback.dashboard import ServiceValidatedMixin
from personas import services
from personas.models import Contact, Persona, ScenarioTemplate

PERSONA_INPUT_FIELDS = [
    "name",
    "description",
    "voice",
    "system_prompt",
    "greeting",
    "tags",
    "is_public",
    "voice_stability",
    "voice_similarity",
    "voice_speed",
    "llm_model",
    "llm_temperature",
]


class PersonaAdminForm(ServiceValidatedMixin, forms.ModelForm):
    validated_fields = PERSONA_INPUT_FIELDS
    validate = staticmethod(services.persona_validate)

    class Meta:
        model = Persona
        fields = ["owner", *PERSONA_INPUT_FIELDS]


class ScenarioTemplateAdminForm(ServiceValidatedMixin, forms.ModelForm):
    validated_fields = ["name", "description", "pretext", "is_public"]
    validate = staticmethod(services.scenario_template_validate)

    class Meta:
        model = ScenarioTemplate
        fields = ["owner", "name", "description", "pretext", "suggested_persona", "is_public"]


class SystemFilter(admin.SimpleListFilter):
    title = "kind"
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [("system", "System"), ("custom", "Custom")]

    def queryset(self, request, queryset):
        if self.value() == "system":
            return queryset.filter(owner__isnull=True)
        if self.value() == "custom":
            return queryset.filter(owner__isnull=False)
        return queryset


@admin.register(Persona)
class PersonaAdmin(admin.ModelAdmin):
    form = PersonaAdminForm
    # Short columns, so the list fits a laptop screen: the voice by name, the owner's email
    # or "System", the day it was made.
    list_display = ["name", "owned_by", "is_public", "voice_name", "use_count", "created_on"]
    list_filter = [SystemFilter, "is_public", ("owner", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "description", "tags", "owner__email"]
    list_select_related = ["owner"]
    autocomplete_fields = ["owner"]
    readonly_fields = ["id", "use_count", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["id", "owner", "name", "description", "is_public", "tags"]}),
        ("Conversation", {"fields": ["greeting", "system_prompt", "llm_model", "llm_temperature"]}),
        ("Voice", {"fields": ["voice", "voice_stability", "voice_similarity", "voice_speed"]}),
        ("Usage", {"fields": ["use_count", "created_at", "updated_at"]}),
    ]

    @admin.display(description="Owner", ordering="owner__email")
    def owned_by(self, persona: Persona) -> str:
        return "System" if persona.is_system else persona.owner.email

    @admin.display(description="Voice", ordering="voice")
    def voice_name(self, persona: Persona) -> str:
        return services.voice_name(persona.voice)

    @admin.display(description="Created", ordering="created_at")
    def created_on(self, persona: Persona) -> str:
        return date_format(persona.created_at, "M j, Y")

    def save_model(self, request, obj, form, change):
        services.persona_admin_save(persona=obj)


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["persona", "user", "added_at"]
    search_fields = ["persona__name", "user__email"]
    list_select_related = ["persona", "user"]
    autocomplete_fields = ["user", "persona"]
    readonly_fields = ["added_at"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.catalogue_changed()


@admin.register(ScenarioTemplate)
class ScenarioTemplateAdmin(admin.ModelAdmin):
    form = ScenarioTemplateAdminForm
    list_display = ["name", "kind", "owner", "is_public", "suggested_persona", "created_at"]
    list_filter = [SystemFilter, "is_public"]
    search_fields = ["name", "description", "owner__email"]
    list_select_related = ["owner", "suggested_persona"]
    autocomplete_fields = ["owner", "suggested_persona"]
    readonly_fields = ["id", "created_at", "updated_at"]

    @admin.display(description="Kind")
    def kind(self, template: ScenarioTemplate) -> str:
        return "System" if template.is_system else "Custom"
