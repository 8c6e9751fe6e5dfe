"""The booked-call API (`000_*` §2.3-2.5) and recurring series (`003_*`): thin views over
the scheduling services."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from billing import pricing
from billing.errors import NoPaymentMethod, PaymentDeclined, StripeServiceError
from callmeback.api import MessageOutput, parse_input
from callmeback.errors import Forbidden, NotFound, ValidationFailed
from calls.scheduling import ratelimits, recurring, selectors, services
from calls.scheduling.serializers import (
    ScheduledCallCancelOutput,
    ScheduledCallEnvelope,
    ScheduledCallListOutput,
    ScheduledCallOutput,
    ScheduledListQuery,
    ScheduleInput,
    SeriesEnvelope,
    SeriesInput,
    SeriesListOutput,
    SeriesOutput,
    SeriesUpdateInput,
)
from calls.services.placing import PaymentRequired, PhoneNotVerified


class ScheduleCreateApi(APIView):
    rate_limits = {"POST": ratelimits.SCHEDULE_CREATE}
    error_codes = {
        "POST": [PhoneNotVerified, PaymentRequired, PaymentDeclined, services.MaxScheduled, StripeServiceError]
    }

    @extend_schema(request=ScheduleInput, responses={201: ScheduledCallEnvelope})
    def post(self, request):
        booking = services.booking_create(user=request.user, **parse_input(ScheduleInput, request))
        return Response({"scheduled_call": ScheduledCallOutput(booking).data}, status=status.HTTP_201_CREATED)


class ScheduledListApi(APIView):
    rate_limits = {"GET": ratelimits.SCHEDULE_LIST}

    @extend_schema(
        operation_id="calls_scheduled_list", parameters=[ScheduledListQuery], responses={200: ScheduledCallListOutput}
    )
    def get(self, request):
        query = ScheduledListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        bookings = selectors.booking_list(user=request.user, **query.validated_data)
        return Response({"scheduled_calls": ScheduledCallOutput(bookings, many=True).data})


def _owned_booking(request, booking_id: str):
    booking = selectors.booking_get(booking_id=booking_id)
    if booking is None:
        raise NotFound("Scheduled call not found.")
    if booking.user_id != request.user.pk:
        raise Forbidden("This scheduled call belongs to someone else.")
    return booking


class ScheduledCallApi(APIView):
    """One booking: read it, or cancel it (`000_*` §2.4: another person's → 403)."""

    rate_limits = {"GET": ratelimits.SCHEDULE_LIST, "DELETE": ratelimits.SCHEDULE_CANCEL}
    error_codes = {"GET": [Forbidden], "DELETE": [services.CancellationDenied, Forbidden, services.RefundFailed]}

    @extend_schema(responses={200: ScheduledCallEnvelope})
    def get(self, request, booking_id: str):
        return Response({"scheduled_call": ScheduledCallOutput(_owned_booking(request, booking_id)).data})

    @extend_schema(responses={200: ScheduledCallCancelOutput})
    def delete(self, request, booking_id: str):
        released = services.booking_cancel(booking_id=booking_id, user=request.user)
        refund = None
        if released is not None:
            refund = {
                "amount": pricing.cents_to_dollars(released.amount_authorized),
                "status": "released",
                "refund_id": released.payment_intent_id,
            }
        return Response({"message": "Scheduled call cancelled successfully", "refund": refund})


class SeriesListCreateApi(APIView):
    rate_limits = {"GET": ratelimits.SERIES_LIST, "POST": ratelimits.SERIES_CREATE}
    # Each occurrence is held on the default card as it is booked; a refused card only fails that booking.
    error_codes = {"POST": [PhoneNotVerified, NoPaymentMethod, StripeServiceError]}

    @extend_schema(operation_id="calls_series_list", responses={200: SeriesListOutput})
    def get(self, request):
        return Response({"series": SeriesOutput(selectors.series_list(user=request.user), many=True).data})

    @extend_schema(request=SeriesInput, responses={201: SeriesEnvelope})
    def post(self, request):
        series = recurring.series_create(user=request.user, **parse_input(SeriesInput, request))
        return Response({"series": SeriesOutput(series).data}, status=status.HTTP_201_CREATED)


def _owned_series(request, series_id: str):
    series = selectors.series_get_owned(user=request.user, series_id=series_id)
    if series is None:
        raise NotFound("Series not found.")
    return series


class SeriesDetailApi(APIView):
    rate_limits = {"GET": ratelimits.SERIES_LIST, "PATCH": ratelimits.SERIES_UPDATE, "DELETE": ratelimits.SERIES_UPDATE}
    error_codes = {"PATCH": [StripeServiceError]}

    @extend_schema(responses={200: SeriesEnvelope})
    def get(self, request, series_id: str):
        return Response({"series": SeriesOutput(_owned_series(request, series_id)).data})

    @extend_schema(request=SeriesUpdateInput, responses={200: SeriesEnvelope})
    def patch(self, request, series_id: str):
        series = _owned_series(request, series_id)
        changes = parse_input(SeriesUpdateInput, request)
        if not changes:
            raise ValidationFailed("Nothing to change: give status, local_time, weekdays, timezone or end_date.")
        series = recurring.series_update(series=series, **changes)
        return Response({"series": SeriesOutput(series).data})

    @extend_schema(responses={200: MessageOutput})
    def delete(self, request, series_id: str):
        recurring.series_end(series=_owned_series(request, series_id))
        return Response({"message": "Series stopped; its upcoming calls are cancelled"})
