from django.urls import path

from personas import views

app_name = "personas"

urlpatterns = [
    path("personas", views.persona_list_view, name="list"),
    path("personas/new", views.persona_create_view, name="create"),
    path("personas/<uuid:persona_id>", views.persona_detail_view, name="detail"),
    path("personas/<uuid:persona_id>/edit", views.persona_edit_view, name="edit"),
    path("personas/<uuid:persona_id>/delete", views.persona_delete_view, name="delete"),
    path("contacts", views.contact_list_view, name="contacts"),
    path("contacts/<uuid:persona_id>/add", views.contact_add_view, name="contact-add"),
    path("contacts/<uuid:persona_id>/remove", views.contact_remove_view, name="contact-remove"),
    path("scenarios", views.scenario_list_view, name="scenarios"),
    path("scenarios/new", views.scenario_create_view, name="scenario-create"),
    path("scenarios/<uuid:template_id>/edit", views.scenario_edit_view, name="scenario-edit"),
    path("scenarios/<uuid:template_id>/delete", views.scenario_delete_view, name="scenario-delete"),
]
