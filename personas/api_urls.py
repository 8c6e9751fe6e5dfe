from django.urls import path

from personas import api

urlpatterns = [
    path("personas", api.PersonaListApi.as_view(), name="api-personas"),
    path("personas/<str:persona_id>", api.PersonaDetailApi.as_view(), name="api-persona"),
    path("voices", api.VoiceListApi.as_view(), name="api-voices"),
    path("contacts", api.ContactListApi.as_view(), name="api-contacts"),
    path("contacts/<str:persona_id>", api.ContactDetailApi.as_view(), name="api-contact"),
    path("scenario-templates", api.ScenarioTemplateListApi.as_view(), name="api-scenario-templates"),
    path("scenario-templates/<str:template_id>", api.ScenarioTemplateDetailApi.as_view(), name="api-scenario-template"),
]
