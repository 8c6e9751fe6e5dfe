"""The calls API (`000_*` §2.1, §2.2, §5.2, §7.1; `002_*` §3; `004_*` webhooks)."""

from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.errors import PaymentDeclined, StripeServiceError
from callmeback import idempotency
from callmeback import twilio_webhooks as webhooks
from callmeback.api import AsyncPublicApiView, MessageOutput, parse_input
from callmeback.pagination import PageRequest
from callmeback.twilio import TwilioServiceError
from calls import ratelimits, selectors
from calls.serializers import (
    CallDetailOutput,
    CallListOutput,
    CallRowOutput,
    FeedbackInput,
    PlaceCallInput,
    PlacedCallOutput,
    RecordingLinkOutput,
    TwilioCallStatusForm,
    TwilioRecordingStatusForm,
    UsageOutput,
)
from calls.services import ending, lifecycle, placing, recordings
from calls.services.feedback import call_feedback_save


class PlaceCallApi(APIView):
    rate_limits = {"POST": ratelimits.PLACE_CALL}
    error_codes = {
        "POST": [
            placing.PhoneNotVerified,
            placing.PaymentRequired,
            PaymentDeclined,
            placing.ConcurrentCalls,
            TwilioServiceError,
            StripeServiceError,
            idempotency.IdempotencyKeyReused,
            idempotency.IdempotencyKeyInUse,
        ]
    }

    @extend_schema(
        request=PlaceCallInput,
        parameters=[idempotency.HEADER_PARAMETER],
        responses={200: PlacedCallOutput},
    )
    def post(self, request):
        def place() -> dict:
            call = placing.call_place(user=request.user, **parse_input(PlaceCallInput, request))
            return {"call": PlacedCallOutput(call).data}

        return idempotency.idempotent_response(request, scope="place-call", answer=place)


class CallListApi(APIView):
    rate_limits = {"GET": ratelimits.CALL_HISTORY}

    @extend_schema(
        operation_id="calls_list",
        parameters=[
            OpenApiParameter("page", int),
            OpenApiParameter("limit", int),
            OpenApiParameter("status", str, enum=["initiated", "in-progress", "completed", "failed"]),
            OpenApiParameter("sort", str, enum=list(selectors.SORTS)),
            OpenApiParameter("from_date", str, description="ISO 8601 date or date-time."),
            OpenApiParameter("to_date", str, description="ISO 8601 date or date-time."),
        ],
        responses={200: CallListOutput},
    )
    def get(self, request):
        filters = selectors.CallFilters.from_query(request.query_params)
        page = selectors.call_page(
            user=request.user, filters=filters, page=PageRequest.from_query(request.query_params)
        )
        context = {"transcripts": selectors.transcripts_for(rows=page.items)}
        calls = CallRowOutput(page.items, many=True, context=context).data
        return Response({"calls": calls, "pagination": page.pagination()})


class CallDetailApi(APIView):
    rate_limits = {"GET": ratelimits.CALL_DETAIL}

    @extend_schema(responses={200: CallDetailOutput})
    def get(self, request, call_id: str):
        call = selectors.call_detail(user=request.user, call_id=call_id)
        return Response({"call": CallDetailOutput(call).data})


class EndCallApi(APIView):
    rate_limits = {"POST": ratelimits.END_CALL}
    error_codes = {"POST": [TwilioServiceError]}

    @extend_schema(request=None, responses={200: CallDetailOutput})
    def post(self, request, call_id: str):
        call = selectors.call_get_owned(user=request.user, call_id=call_id)
        ending.call_end(call=call)
        detail = selectors.call_detail(user=request.user, call_id=call.pk)
        return Response({"message": "Hanging up", "call": CallDetailOutput(detail).data})


class FeedbackApi(APIView):
    rate_limits = {"POST": ratelimits.FEEDBACK}

    @extend_schema(request=FeedbackInput, responses={200: MessageOutput})
    def post(self, request, call_id: str):
        call = selectors.call_get_owned(user=request.user, call_id=call_id)
        call_feedback_save(call=call, **parse_input(FeedbackInput, request))
        return Response({"message": "Thank you for your feedback"})


class RecordingApi(APIView):
    rate_limits = {"GET": ratelimits.RECORDING, "DELETE": ratelimits.RECORDING_DELETE}
    error_codes = {"DELETE": [TwilioServiceError]}

    @extend_schema(responses={200: RecordingLinkOutput})
    def get(self, request, call_id: str):
        call = selectors.call_get_owned(user=request.user, call_id=call_id)
        url, expires_at = recordings.recording_link(call=call)
        return Response(RecordingLinkOutput({"recording_url": url, "expires_at": expires_at}).data)

    @extend_schema(responses={200: MessageOutput})
    def delete(self, request, call_id: str):
        call = selectors.call_get_owned(user=request.user, call_id=call_id)
        recordings.recording_delete(call=call)
        return Response({"message": "Recording deleted"})


class RecordingAudioApi(AsyncPublicApiView):
    """The audio behind a signed link from `GET /api/calls/:id/recording`: the link is the
    credential (an `<audio>` element sends no bearer token), short-lived and bound to its owner."""

    rate_limits = {"GET": ratelimits.RECORDING_AUDIO}
    error_codes = {"GET": [TwilioServiceError]}

    # Served on the event loop: Twilio's status and headers are awaited before answering (so a
    # refusal is an error in the envelope), then its body is passed on chunk by chunk as it
    # arrives, so the listener hears the start at once and a long recording never sits in
    # memory. Streaming needs the ASGI server, as the project always runs.
    @extend_schema(responses={(200, "audio/x-wav"): bytes})
    async def get(self, request, token: str):
        audio = await recordings.recording_audio_open(token=token)
        response = StreamingHttpResponse(audio.chunks, content_type=audio.content_type)
        if audio.content_length:
            response["Content-Length"] = audio.content_length
        response["Cache-Control"] = "private, no-store"
        return response


class UsageApi(APIView):
    rate_limits = {"GET": ratelimits.USAGE}

    @extend_schema(parameters=[OpenApiParameter("months", int)], responses={200: UsageOutput})
    def get(self, request):
        months = selectors.usage_months_from_query(request.query_params)
        return Response(UsageOutput.shape(selectors.user_usage(user=request.user, months=months)))


# Twilio reads nothing of a callback's answer but its status.
CALLBACK_TAKEN = {204: OpenApiResponse(description="Taken (or dropped: an unknown call, a stale report).")}


class TwilioCallStatusApi(webhooks.TwilioWebhookApi):
    """`POST /api/twilio/callback` (and `/webhooks/twilio/call-status`): a call's progress."""

    @extend_schema(request=TwilioCallStatusForm, parameters=[webhooks.CALL_ID_PARAMETER], responses=CALLBACK_TAKEN)
    def post(self, request):
        params = webhooks.twilio_params(request)
        lifecycle.call_apply_status(
            sid=params.get("CallSid") or "", params=params, call_id=request.query_params.get("call")
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class TwilioRecordingStatusApi(webhooks.TwilioWebhookApi):
    """`POST /webhooks/twilio/recording-status`: a recording started, finished or failed."""

    @extend_schema(request=TwilioRecordingStatusForm, parameters=[webhooks.CALL_ID_PARAMETER], responses=CALLBACK_TAKEN)
    def post(self, request):
        params = webhooks.twilio_params(request)
        recordings.recording_record(params=params, call_id=request.query_params.get("call"))
        return Response(status=status.HTTP_204_NO_CONTENT)
