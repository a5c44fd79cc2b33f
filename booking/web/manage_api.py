"""The JSON routes behind a booking's private manage link (mounted in the /api app):

    GET  /bookings/{reference}?token=T            200 the booking · 404 wrong token
    POST /bookings/{reference}/reschedule         {token, startTime, timezone} → 200 the
                                                  booking (same reference, new times) ·
                                                  409 taken · 422 not offered · 404
    POST /bookings/{reference}/cancel             {token, reason} → 200 the booking
    GET  /bookings/{reference}/ics?token=T        text/calendar (REQUEST, or CANCEL)

A wrong token and an unknown reference get the same 404, so neither says whether a
booking exists.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import FastAPI, Query
from fastapi.responses import JSONResponse, Response
from pydantic import Field

from booking.desk import Desk
from booking.desk.manage import MAX_REASON
from booking.domain.records import Booking
from booking.errors import SlotTaken, SlotUnavailable
from booking.web.api import BookingOut, CamelModel, ErrorOut, _booking_out, error

TOKEN = Field(max_length=200, description="The booking's manage token.")


class RescheduleIn(CamelModel):
    token: str = TOKEN
    start_time: datetime
    timezone: str = Field(max_length=64)


class CancelIn(CamelModel):
    token: str = TOKEN
    reason: str = Field(default="", max_length=MAX_REASON)


class BookingAnswer(CamelModel):
    success: bool = True
    booking: BookingOut


def add_manage_routes(api: FastAPI, desk: Desk) -> None:
    """Register the manage routes on the /api app."""

    def answer(booking: Booking, token: str) -> BookingAnswer:
        url = desk.manage.url(booking.reference, token)
        return BookingAnswer(booking=_booking_out(booking, token=token, url=url))

    wrong = {404: {"model": ErrorOut, "description": "No booking for this reference and token."}}

    @api.get(
        "/bookings/{reference}",
        response_model=BookingAnswer,
        response_model_by_alias=True,
        responses=wrong,
    )
    def get_booking(
        reference: str, token: str = Query(default="", max_length=200)
    ) -> BookingAnswer:
        """The booking, for the holder of its manage token."""
        return answer(desk.manage.open(reference, token), token)

    @api.post(
        "/bookings/{reference}/reschedule",
        response_model=BookingAnswer,
        response_model_by_alias=True,
        responses={
            **wrong,
            409: {"model": ErrorOut, "description": "Someone has that time (or it cannot move)."},
            422: {"model": ErrorOut, "description": "The analyst does not offer that time."},
        },
    )
    def reschedule_booking(reference: str, body: RescheduleIn) -> BookingAnswer | JSONResponse:
        """Move the booking to another time the analyst offers for its meeting type: the
        new time is taken and the old one released at once; the reference stays."""
        try:
            booking = desk.manage.reschedule(reference, body.token, body.start_time, body.timezone)
        except SlotTaken:
            raise
        except SlotUnavailable as exc:  # not offered at all: the request itself is wrong
            return error(422, exc.code, str(exc), exc.field)
        return answer(booking, body.token)

    @api.post(
        "/bookings/{reference}/cancel",
        response_model=BookingAnswer,
        response_model_by_alias=True,
        responses={**wrong, 409: {"model": ErrorOut}},
    )
    def cancel_booking(reference: str, body: CancelIn) -> BookingAnswer:
        """Cancel the booking (cancelling twice is harmless); a paid one is refunded."""
        return answer(desk.manage.cancel(reference, body.token, body.reason), body.token)

    @api.get(
        "/bookings/{reference}/ics",
        response_class=Response,
        responses={200: {"content": {"text/calendar": {}}}, **wrong},
    )
    def booking_ics(reference: str, token: str = Query(default="", max_length=200)) -> Response:
        """The booking's calendar invitation as it stands (METHOD:CANCEL once cancelled)."""
        booking = desk.manage.open(reference, token)
        return Response(
            desk.manage.ics(booking, manage_url=desk.manage.url(booking.reference, token)),
            media_type="text/calendar; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{booking.reference}.ics"',
                "Cache-Control": "no-store",
            },
        )
