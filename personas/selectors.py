"""Read queries: who sees which persona, list filters and sorting, contacts, scenarios."""

import uuid
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import connections
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower

from accounts.models import User
from callmeback.errors import NotFound, ValidationFailed
from callmeback.pagination import Page, PageRequest, paginate
from callmeback.validation import parse_uuid
from personas import cache
from personas.models import CatalogueEntry, Contact, Persona, ScenarioTemplate
from personas.validators import MAX_TAGS, clean_search, clean_tag

PUBLIC_LIST_CACHE_SECONDS = 5 * 60
CONTACTS_CACHE_SECONDS = 60

SORTS = {
    "name_asc": (Lower("name").asc(), "id"),
    "name_desc": (Lower("name").desc(), "id"),
    "created_asc": ("created_at", "id"),
    "created_desc": ("-created_at", "-id"),
}
DEFAULT_SORT = "name_asc"
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


def visible_to(queryset: QuerySet, viewer: User | None) -> QuerySet:
    """Public entries, plus the viewer's own private ones."""
    if viewer is None:
        return queryset.filter(is_public=True)
    return queryset.filter(Q(is_public=True) | Q(owner=viewer))


def _get_visible(queryset: QuerySet, entry_id: object, viewer: User | None, label: str) -> CatalogueEntry:
    """Missing and someone else's private entry look the same: NOT_FOUND."""
    parsed = parse_uuid(entry_id)
    entry = visible_to(queryset, viewer).filter(pk=parsed).first() if parsed else None
    if entry is None:
        raise NotFound(f"{label} not found.")
    return entry


def persona_get_visible(*, persona_id: object, viewer: User | None) -> Persona:
    return _get_visible(Persona.objects.all(), persona_id, viewer, "Persona")


def search_from_query(params) -> str:
    """The `search` query parameter of a list, or "" when absent."""
    search = (params.get("search") or "").strip()
    if not search:
        return ""
    try:
        return clean_search(search)
    except ValidationError as error:
        raise ValidationFailed(error.messages[0], details={"search": error.messages}) from None


@dataclass(frozen=True)
class PersonaFilters:
    search: str = ""
    tags: tuple[str, ...] = ()
    is_public: bool | None = None
    created_by: str = ""  # "system" or a user id
    sort: str = DEFAULT_SORT

    @classmethod
    def from_query(cls, params) -> "PersonaFilters":
        """Reads the query string of `GET /api/personas`; anything invalid is a VALIDATION_ERROR."""
        errors: dict[str, list[str]] = {}
        values: dict = {}

        try:
            values["search"] = search_from_query(params)
        except ValidationFailed as error:
            errors.update(error.details)

        raw_tags = [part for part in (params.get("tags") or "").split(",") if part.strip()]
        try:
            tags = tuple(dict.fromkeys(clean_tag(part) for part in raw_tags))
            if len(tags) > MAX_TAGS:
                raise ValidationError(f"Filter by at most {MAX_TAGS} tags.")
            values["tags"] = tags
        except ValidationError as error:
            errors["tags"] = error.messages

        is_public = (params.get("is_public") or "").strip().lower()
        if is_public:
            if is_public in _BOOLEANS:
                values["is_public"] = _BOOLEANS[is_public]
            else:
                errors["is_public"] = ["is_public must be true or false."]

        created_by = (params.get("created_by") or "").strip()
        if created_by:
            parsed = parse_uuid(created_by)
            if created_by.lower() == "system":
                values["created_by"] = "system"
            elif parsed:
                values["created_by"] = str(parsed)
            else:
                errors["created_by"] = ["created_by must be a user id or 'system'."]

        sort = (params.get("sort") or "").strip() or DEFAULT_SORT
        if sort in SORTS:
            values["sort"] = sort
        else:
            errors["sort"] = [f"sort must be one of: {', '.join(SORTS)}."]

        if errors:
            raise ValidationFailed.for_fields(errors)
        return cls(**values)


_SQLITE_HAS_TAG = 'EXISTS (SELECT 1 FROM json_each("personas_persona"."tags") WHERE json_each.value = %s)'


def _with_tags(queryset: QuerySet, tags: tuple[str, ...]) -> QuerySet:
    """Personas carrying every one of `tags`.

    PostgreSQL answers with JSONB containment (`tags @> '["a","b"]'`), which the GIN index
    serves; SQLite has no containment operator for JSON, so each tag is looked up among the
    array's elements with json_each.
    """
    if not tags:
        return queryset
    if connections[queryset.db].vendor == "postgresql":
        return queryset.filter(tags__contains=list(tags))
    for tag in tags:
        # Constant SQL; the tag is a query parameter.
        queryset = queryset.filter(RawSQL(_SQLITE_HAS_TAG, (tag,), output_field=BooleanField()))  # noqa: S611
    return queryset


def persona_list(*, viewer: User | None, filters: PersonaFilters) -> QuerySet:
    queryset = visible_to(Persona.objects.all(), viewer)
    if filters.search:
        queryset = queryset.filter(Q(name__icontains=filters.search) | Q(description__icontains=filters.search))
    queryset = _with_tags(queryset, filters.tags)
    if filters.is_public is not None:
        queryset = queryset.filter(is_public=filters.is_public)
    if filters.created_by == "system":
        queryset = queryset.filter(owner__isnull=True)
    elif filters.created_by:
        queryset = queryset.filter(owner_id=filters.created_by)
    return queryset.order_by(*SORTS[filters.sort])


def persona_page(*, viewer: User | None, filters: PersonaFilters, page: PageRequest) -> Page:
    """One page of `persona_list`, cached for 5 minutes until the next persona write.

    Anonymous visitors share one cached copy per query; a signed-in user's copy is their
    own, since it also holds their private personas.
    """
    audience = f"user:{viewer.pk}" if viewer else "public"
    key = cache.versioned_key("list", (cache.CATALOGUE,), audience, filters, page)
    return cache.cached(
        key, PUBLIC_LIST_CACHE_SECONDS, lambda: paginate(persona_list(viewer=viewer, filters=filters), page)
    )


def contact_list(*, user: User) -> list[Contact]:
    """The user's contacts, newest first, with their personas; cached for a minute.

    A persona its owner has since made private drops out of everyone else's list.
    """
    key = cache.versioned_key("contacts", (cache.CATALOGUE, cache.contacts_scope(user.pk)), user.pk)

    def load() -> list[Contact]:
        visible = Q(persona__is_public=True) | Q(persona__owner=user)
        return list(Contact.objects.filter(user=user).filter(visible).select_related("persona").order_by("-added_at"))

    return cache.cached(key, CONTACTS_CACHE_SECONDS, load)


def contact_persona_ids(*, user: User | None, persona_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Which of `persona_ids` are in the user's contacts (for "add to contacts" buttons)."""
    if user is None or not persona_ids:
        return set()
    return set(Contact.objects.filter(user=user, persona_id__in=persona_ids).values_list("persona_id", flat=True))


def persona_suggestion_choices(*, user: User) -> QuerySet:
    """Personas a user's scenario can suggest in the dashboard: system, own, contacts."""
    in_contacts = Contact.objects.filter(user=user, persona=OuterRef("pk"))
    return (
        visible_to(Persona.objects.all(), user)
        .filter(Q(owner__isnull=True) | Q(owner=user) | Exists(in_contacts))
        .order_by(Lower("name"))
    )


def scenario_template_list(*, viewer: User, search: str = "") -> QuerySet:
    """System and public scenarios plus the viewer's own: system first, then by name."""
    queryset = visible_to(ScenarioTemplate.objects.all(), viewer).select_related("suggested_persona")
    if search:
        queryset = queryset.filter(Q(name__icontains=search) | Q(description__icontains=search))
    is_custom = ExpressionWrapper(Q(owner__isnull=False), output_field=BooleanField())
    return queryset.alias(is_custom=is_custom).order_by("is_custom", Lower("name"), "id")


def scenario_template_get_visible(*, template_id: object, viewer: User) -> ScenarioTemplate:
    return _get_visible(
        ScenarioTemplate.objects.select_related("suggested_persona"), template_id, viewer, "Scenario template"
    )


def suggested_persona_for(template: ScenarioTemplate, viewer: User | None) -> Persona | None:
    """The scenario's suggested persona, if the viewer may see it."""
    persona = template.suggested_persona
    if persona is None or persona.is_public or (viewer is not None and persona.owner_id == viewer.pk):
        return persona
    return None
