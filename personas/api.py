"""The personas, contacts, voices and scenario-template API (`000_*` §3-4, `001_*`)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.response import Response
from rest_framework.views import APIView

from callmeback.api import MessageOutput, parse_input
from callmeback.errors import Forbidden, NotFound
from callmeback.pagination import PageRequest, paginate
from personas import ratelimits, selectors, services
from personas.gateways import VoiceApiError
from personas.serializers import (
    ContactInput,
    ContactSerializer,
    NewContactSerializer,
    PersonaInput,
    PersonaSerializer,
    ScenarioTemplateInput,
    ScenarioTemplateSerializer,
    VoiceSerializer,
)


def _viewer(request):
    return request.user if request.user.is_authenticated else None


PAGINATION = inline_serializer(
    "Pagination", {field: serializers.IntegerField() for field in ("page", "limit", "total", "pages")}
)


def _pagination_output(name: str, item_serializer) -> serializers.Serializer:
    return inline_serializer(f"{name}Page", {name: item_serializer(many=True), "pagination": PAGINATION})


PersonaOutput = inline_serializer("PersonaOutput", {"persona": PersonaSerializer()})
LIST_PARAMETERS = [
    OpenApiParameter("page", int),
    OpenApiParameter("limit", int, description="1 to 100, default 20"),
    OpenApiParameter("search", str, description="2 to 100 characters, matches name and description"),
    OpenApiParameter("tags", str, description="Comma-separated, at most 10; personas with every tag"),
    OpenApiParameter("is_public", bool),
    OpenApiParameter("created_by", str, description="A user id or 'system'"),
    OpenApiParameter("sort", str, enum=list(selectors.SORTS)),
]


class PersonaListApi(APIView):
    permission_classes = [IsAuthenticatedOrReadOnly]
    rate_limits = {"GET": ratelimits.PERSONA_LIST, "POST": ratelimits.PERSONA_CREATE}
    error_codes = {"POST": [services.DuplicateName, services.MaxPersonas, VoiceApiError]}

    @extend_schema(
        operation_id="personas_list",
        parameters=LIST_PARAMETERS,
        responses={200: _pagination_output("personas", PersonaSerializer)},
    )
    def get(self, request):
        filters = selectors.PersonaFilters.from_query(request.query_params)
        page = selectors.persona_page(
            viewer=_viewer(request), filters=filters, page=PageRequest.from_query(request.query_params)
        )
        return Response({"personas": PersonaSerializer(page.items, many=True).data, "pagination": page.pagination()})

    @extend_schema(request=PersonaInput, responses={201: PersonaOutput})
    def post(self, request):
        persona = services.persona_create(owner=request.user, **parse_input(PersonaInput, request))
        return Response({"persona": PersonaSerializer(persona).data}, status=status.HTTP_201_CREATED)


class PersonaDetailApi(APIView):
    permission_classes = [IsAuthenticatedOrReadOnly]
    rate_limits = {
        "GET": ratelimits.PERSONA_DETAIL,
        "PUT": ratelimits.PERSONA_UPDATE,
        "DELETE": ratelimits.PERSONA_DELETE,
    }
    error_codes = {
        "PUT": [Forbidden, services.DuplicateName, VoiceApiError],
        "DELETE": [Forbidden, services.PersonaInUse],
    }

    @extend_schema(responses={200: PersonaOutput})
    def get(self, request, persona_id: str):
        persona = selectors.persona_get_visible(persona_id=persona_id, viewer=_viewer(request))
        return Response({"persona": PersonaSerializer(persona).data})

    @extend_schema(request=PersonaInput(partial=True), responses={200: PersonaOutput})
    def put(self, request, persona_id: str):
        persona = selectors.persona_get_visible(persona_id=persona_id, viewer=request.user)
        data = parse_input(PersonaInput, request, partial=True)
        persona = services.persona_update(persona=persona, actor=request.user, **data)
        return Response({"persona": PersonaSerializer(persona).data})

    @extend_schema(responses={200: MessageOutput})
    def delete(self, request, persona_id: str):
        persona = selectors.persona_get_visible(persona_id=persona_id, viewer=request.user)
        services.persona_delete(persona=persona, actor=request.user)
        return Response({"message": "Persona deleted successfully"})


class VoiceListApi(APIView):
    permission_classes = [AllowAny]
    rate_limits = {"GET": ratelimits.VOICE_LIST}
    error_codes = {"GET": [VoiceApiError]}

    @extend_schema(responses={200: inline_serializer("VoicesOutput", {"voices": VoiceSerializer(many=True)})})
    def get(self, request):
        return Response({"voices": VoiceSerializer(services.voice_list(), many=True).data})


class ContactListApi(APIView):
    permission_classes = [IsAuthenticated]
    rate_limits = {"GET": ratelimits.CONTACT_LIST, "POST": ratelimits.CONTACT_ADD}
    error_codes = {"POST": [NotFound, services.AlreadyExists, services.MaxContacts]}

    @extend_schema(responses={200: inline_serializer("ContactsOutput", {"contacts": ContactSerializer(many=True)})})
    def get(self, request):
        contacts = selectors.contact_list(user=request.user)
        return Response({"contacts": ContactSerializer(contacts, many=True).data})

    @extend_schema(
        request=ContactInput,
        responses={201: inline_serializer("NewContactOutput", {"contact": NewContactSerializer()})},
    )
    def post(self, request):
        contact = services.contact_add(user=request.user, **parse_input(ContactInput, request))
        return Response({"contact": NewContactSerializer(contact).data}, status=status.HTTP_201_CREATED)


class ContactDetailApi(APIView):
    permission_classes = [IsAuthenticated]
    rate_limits = {"DELETE": ratelimits.CONTACT_REMOVE}

    @extend_schema(responses={200: MessageOutput})
    def delete(self, request, persona_id: str):
        services.contact_remove(user=request.user, persona_id=persona_id)
        return Response({"message": "Removed from contacts"})


ScenarioTemplateOutput = inline_serializer(
    "ScenarioTemplateOutput", {"scenario_template": ScenarioTemplateSerializer()}
)


def _scenario_body(template, request) -> dict:
    return {"scenario_template": ScenarioTemplateSerializer(template, context={"viewer": request.user}).data}


class ScenarioTemplateListApi(APIView):
    permission_classes = [IsAuthenticated]
    rate_limits = {"GET": ratelimits.SCENARIO_LIST, "POST": ratelimits.SCENARIO_CREATE}
    error_codes = {"POST": [services.DuplicateName]}

    @extend_schema(
        operation_id="scenario_templates_list",
        parameters=[
            OpenApiParameter("page", int),
            OpenApiParameter("limit", int),
            OpenApiParameter("search", str),
        ],
        responses={200: _pagination_output("scenario_templates", ScenarioTemplateSerializer)},
    )
    def get(self, request):
        search = selectors.search_from_query(request.query_params)
        page_request = PageRequest.from_query(request.query_params)
        page = paginate(selectors.scenario_template_list(viewer=request.user, search=search), page_request)
        items = ScenarioTemplateSerializer(page.items, many=True, context={"viewer": request.user}).data
        return Response({"scenario_templates": items, "pagination": page.pagination()})

    @extend_schema(request=ScenarioTemplateInput, responses={201: ScenarioTemplateOutput})
    def post(self, request):
        template = services.scenario_template_create(owner=request.user, **parse_input(ScenarioTemplateInput, request))
        return Response(_scenario_body(template, request), status=status.HTTP_201_CREATED)


class ScenarioTemplateDetailApi(APIView):
    permission_classes = [IsAuthenticated]
    rate_limits = {
        "GET": ratelimits.SCENARIO_DETAIL,
        "PUT": ratelimits.SCENARIO_UPDATE,
        "DELETE": ratelimits.SCENARIO_DELETE,
    }
    error_codes = {"PUT": [Forbidden, services.DuplicateName], "DELETE": [Forbidden]}

    @extend_schema(responses={200: ScenarioTemplateOutput})
    def get(self, request, template_id: str):
        template = selectors.scenario_template_get_visible(template_id=template_id, viewer=request.user)
        return Response(_scenario_body(template, request))

    @extend_schema(request=ScenarioTemplateInput(partial=True), responses={200: ScenarioTemplateOutput})
    def put(self, request, template_id: str):
        template = selectors.scenario_template_get_visible(template_id=template_id, viewer=request.user)
        data = parse_input(ScenarioTemplateInput, request, partial=True)
        template = services.scenario_template_update(template=template, actor=request.user, **data)
        return Response(_scenario_body(template, request))

    @extend_schema(responses={200: MessageOutput})
    def delete(self, request, template_id: str):
        template = selectors.scenario_template_get_visible(template_id=template_id, viewer=request.user)
        services.scenario_template_delete(template=template, actor=request.user)
        return Response({"message": "Scenario template deleted successfully"})
