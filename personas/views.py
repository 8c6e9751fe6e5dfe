"""Dashboard pages for personas, contacts and scenarios: the same selectors and services
as the API, rendered as HTML."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from callmeback.dashboard import add_service_error, error_message, run_action
from callmeback.errors import ApplicationError, Forbidden, NotFound, ValidationFailed
from callmeback.pagination import PageRequest, paginate
from callmeback.ratelimit import enforce_rate_limit
from personas import ratelimits, selectors, services
from personas.forms import PersonaForm, ScenarioTemplateForm
from personas.gateways import Voice, VoiceApiError

PAGE_SIZE = 12
SORT_LABELS = {
    "name_asc": "Name A-Z",
    "name_desc": "Name Z-A",
    "created_desc": "Newest first",
    "created_asc": "Oldest first",
}


def _viewer(request):
    return request.user if request.user.is_authenticated else None


def _visible_persona(request, persona_id):
    try:
        return selectors.persona_get_visible(persona_id=persona_id, viewer=_viewer(request))
    except NotFound:
        raise Http404("Persona not found.") from None


def _owned(entry, request, action: str):
    try:
        services.ensure_owner(entry=entry, actor=request.user, action=action)
    except Forbidden as error:
        raise PermissionDenied(error.message) from None
    return entry


def _next_url(request, default: str) -> str:
    next_url = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        return next_url
    return default


def _voices(request) -> list[Voice]:
    try:
        return services.voice_list()
    except VoiceApiError as error:
        messages.error(request, error_message(error))
        return []


# --- Personas --------------------------------------------------------------------------------


def persona_list_view(request):
    viewer = _viewer(request)
    try:
        filters = selectors.PersonaFilters.from_query(request.GET)
        page_request = PageRequest.from_query(request.GET, default_limit=PAGE_SIZE)
    except ValidationFailed as error:
        messages.error(request, error_message(error))
        filters, page_request = selectors.PersonaFilters(), PageRequest(page=1, limit=PAGE_SIZE)
    page = selectors.persona_page(viewer=viewer, filters=filters, page=page_request)
    context = {
        "page": page,
        "filters": filters,
        "sorts": SORT_LABELS,
        "tags_text": ", ".join(filters.tags),
    }
    return render(request, "personas/persona_list.html", context)


def persona_detail_view(request, persona_id):
    persona = _visible_persona(request, persona_id)
    context = {
        "persona": persona,
        "voice_name": services.voice_name(persona.voice),
        "in_contacts": bool(selectors.contact_persona_ids(user=_viewer(request), persona_ids=[persona.pk])),
        "is_owner": request.user.is_authenticated and persona.owner_id == request.user.pk,
    }
    return render(request, "personas/persona_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def persona_create_view(request):
    form = PersonaForm(request.POST or None, voices=_voices(request))
    if request.method == "POST" and form.is_valid():
        try:
            enforce_rate_limit(request, ratelimits.PERSONA_CREATE)
            persona = services.persona_create(owner=request.user, **form.cleaned_data)
        except ApplicationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, f"Created {persona.name}.")
            return redirect("personas:detail", persona_id=persona.pk)
    return render(request, "personas/persona_form.html", {"form": form, "persona": None})


@login_required
@require_http_methods(["GET", "POST"])
def persona_edit_view(request, persona_id):
    persona = _owned(_visible_persona(request, persona_id), request, "update")
    form = PersonaForm(request.POST or None, initial=PersonaForm.initial_for(persona), voices=_voices(request))
    if (
        request.method == "POST"
        and form.is_valid()
        and run_action(
            request,
            lambda: services.persona_update(persona=persona, actor=request.user, **form.cleaned_data),
            lambda updated: f"Saved {updated.name}.",
            limit=ratelimits.PERSONA_UPDATE,
            form=form,
        )
    ):
        return redirect("personas:detail", persona_id=persona.pk)
    return render(request, "personas/persona_form.html", {"form": form, "persona": persona})


@login_required
@require_http_methods(["GET", "POST"])
def persona_delete_view(request, persona_id):
    persona = _owned(_visible_persona(request, persona_id), request, "delete")
    if request.method == "POST":
        deleted = run_action(
            request,
            lambda: services.persona_delete(persona=persona, actor=request.user),
            f"Deleted {persona.name}.",
            limit=ratelimits.PERSONA_DELETE,
        )
        return redirect("personas:list") if deleted else redirect("personas:detail", persona_id=persona.pk)
    context = {"entry": persona, "kind": "persona", "cancel_url": reverse("personas:detail", args=[persona.pk])}
    return render(request, "personas/confirm_delete.html", context)


# --- Contacts ----------------------------------------------------------------------------------


@login_required
def contact_list_view(request):
    return render(request, "personas/contact_list.html", {"contacts": selectors.contact_list(user=request.user)})


@login_required
@require_POST
def contact_add_view(request, persona_id):
    run_action(
        request,
        lambda: services.contact_add(user=request.user, persona_id=persona_id),
        lambda contact: f"Added {contact.persona.name} to your contacts.",
        limit=ratelimits.CONTACT_ADD,
    )
    return redirect(_next_url(request, reverse("personas:detail", args=[persona_id])))


@login_required
@require_POST
def contact_remove_view(request, persona_id):
    run_action(
        request,
        lambda: services.contact_remove(user=request.user, persona_id=persona_id),
        "Removed from your contacts.",
        limit=ratelimits.CONTACT_REMOVE,
    )
    return redirect(_next_url(request, reverse("personas:contacts")))


# --- Scenario templates ------------------------------------------------------------------------


def _visible_template(request, template_id):
    try:
        return selectors.scenario_template_get_visible(template_id=template_id, viewer=request.user)
    except NotFound:
        raise Http404("Scenario not found.") from None


def _suggestion_choices(request, template=None) -> list:
    personas = list(selectors.persona_suggestion_choices(user=request.user))
    current = template and selectors.suggested_persona_for(template, request.user)
    if current and current not in personas:
        personas.append(current)
    return personas


@login_required
def scenario_list_view(request):
    try:
        search = selectors.search_from_query(request.GET)
        page_request = PageRequest.from_query(request.GET, default_limit=PAGE_SIZE)
    except ValidationFailed as error:
        messages.error(request, error_message(error))
        search, page_request = "", PageRequest(page=1, limit=PAGE_SIZE)
    page = paginate(selectors.scenario_template_list(viewer=request.user, search=search), page_request)
    for template in page.items:
        template.visible_suggestion = selectors.suggested_persona_for(template, request.user)
    return render(request, "personas/scenario_list.html", {"page": page, "search": search})


@login_required
@require_http_methods(["GET", "POST"])
def scenario_create_view(request):
    form = ScenarioTemplateForm(request.POST or None, personas=_suggestion_choices(request))
    if (
        request.method == "POST"
        and form.is_valid()
        and run_action(
            request,
            lambda: services.scenario_template_create(owner=request.user, **form.cleaned_data),
            lambda template: f"Created the scenario {template.name}.",
            limit=ratelimits.SCENARIO_CREATE,
            form=form,
        )
    ):
        return redirect("personas:scenarios")
    return render(request, "personas/scenario_form.html", {"form": form, "template": None})


@login_required
@require_http_methods(["GET", "POST"])
def scenario_edit_view(request, template_id):
    template = _owned(_visible_template(request, template_id), request, "update")
    form = ScenarioTemplateForm(
        request.POST or None,
        initial=ScenarioTemplateForm.initial_for(template),
        personas=_suggestion_choices(request, template),
    )
    if (
        request.method == "POST"
        and form.is_valid()
        and run_action(
            request,
            lambda: services.scenario_template_update(template=template, actor=request.user, **form.cleaned_data),
            lambda updated: f"Saved the scenario {updated.name}.",
            limit=ratelimits.SCENARIO_UPDATE,
            form=form,
        )
    ):
        return redirect("personas:scenarios")
    return render(request, "personas/scenario_form.html", {"form": form, "template": template})


@login_required
@require_http_methods(["GET", "POST"])
def scenario_delete_view(request, template_id):
    template = _owned(_visible_template(request, template_id), request, "delete")
    if request.method == "POST":
        run_action(
            request,
            lambda: services.scenario_template_delete(template=template, actor=request.user),
            f"Deleted the scenario {template.name}.",
            limit=ratelimits.SCENARIO_DELETE,
        )
        return redirect("personas:scenarios")
    context = {"entry": template, "kind": "scenario", "cancel_url": reverse("personas:scenarios")}
    return render(request, "personas/confirm_delete.html", context)
