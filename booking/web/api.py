"""The JSON API (FastAPI, camelCase) mounted at /api, with no streamlit import.

The use cases return values and raise the ``BookingError`` tree; this edge alone turns
them into status codes and the error envelope ``{"success": false, "error", "message"}``.
"""

from __future__ import annotations

import logging
import math
from datetime import date, datetime

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from starlette.exceptions import HTTPException as StarletteHTTPException

from booking.desk import Desk
from booking.domain.records import Booking, Receipt
from booking.domain.request import MAX_NAME, MAX_NOTES, BookingRequest, zone
from booking.errors import BookingError, InvalidInput, NotBookable, NotFound, SlotUnavailable
from booking.signatures import HEADER as SIGNATURE_HEADER
from booking.web.clients import request_client
from booking.web.ingest import GroupCommit

log = logging.getLogger(__name__)
MAX_WEBHOOK_BYTES = 256 * 1024
DELIVERY_TOO_LARGE = "The delivery is larger than we accept."
INTERNAL = (
    "Something went wrong on our side. Please try again in a minute; if it keeps "
    "happening, contact us (whatever was already saved is kept)."
)


class CamelModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class MeetingTypeOut(CamelModel):
    id: str
    name: str
    duration_minutes: int
    price: float
    currency: str
    description: str


class AnalystOut(CamelModel):
    slug: str
    name: str
    provider: str
    headline: str
    timezone: str
    bookable: bool
    unavailable_reason: str | None = None
    meeting_types: list[MeetingTypeOut]


class AnalystsOut(CamelModel):
    analysts: list[AnalystOut]


class SlotOut(CamelModel):
    start_time: datetime
    end_time: datetime


class AvailabilityOut(CamelModel):
    timezone: str
    slots: list[SlotOut]


class BookingIn(CamelModel):
    analyst: str
    meeting_type: str
    start_time: datetime
    name: str = Field(max_length=MAX_NAME * 2)
    email: str = Field(max_length=320)
    notes: str = Field(default="", max_length=MAX_NOTES * 2)
    timezone: str


class CalendlyBookingIn(CamelModel):
    """The seed's request: everything needed to hand a visitor to Calendly."""

    event_type_uri: str = Field(max_length=300)
    name: str = Field(max_length=10_000)
    email: str = Field(max_length=10_000)
    start_time: datetime
    notes: str = Field(default="", max_length=100_000)
    timezone: str | None = Field(
        default=None, description="The visitor's IANA zone; opens Calendly on their date."
    )


class CalendlyBookingOut(CamelModel):
    success: bool = True
    booking_url: str = Field(
        description="Where the visitor must go next: the pre-filled single-use Calendly link "
        "for a free event type; for a priced one the checkout, which continues to Calendly "
        "once paid."
    )
    message: str


class BookingOut(CamelModel):
    reference: str
    status: str
    analyst: str
    meeting_type: str
    start_time: datetime
    end_time: datetime
    timezone: str
    name: str
    email: str
    location: str | None = Field(
        default=None, description="Where to meet: a video link, a phone number or an address."
    )
    sequence: int = Field(default=0, description="The invitation's SEQUENCE (one per change).")
    manage_token: str | None = Field(
        default=None, description="The private key to see, move or cancel this booking."
    )
    manage_url: str | None = Field(default=None, description="The private manage page.")


class BookingCreated(CamelModel):
    success: bool = True
    booking: BookingOut


class ErrorOut(CamelModel):
    success: bool = False
    error: str
    message: str


def error(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    body = {"success": False, "error": code, "message": message}
    if field:
        body["field"] = field
    return JSONResponse(body, status_code=status)


def _booking_out(b: Booking, *, token: str | None = None, url: str | None = None) -> BookingOut:
    """A booking in the API's words; ``token`` and ``url`` only for the key's holder."""
    tz = b.zone
    place = b.place
    return BookingOut(
        location=place.text if place else None,
        sequence=b.sequence,
        manage_token=token,
        manage_url=url,
        reference=b.reference,
        status=b.status,
        analyst=b.analyst.slug,
        meeting_type=b.meeting.id,
        start_time=b.start.astimezone(tz),
        end_time=b.end.astimezone(tz),
        timezone=b.visitor_tz,
        name=b.name,
        email=b.email,
    )


def create_api(desk: Desk) -> FastAPI:
    trusted = desk.settings.proxy_networks

    def client_of(request: Request) -> str:
        """The client's address, for the per-client limits (see web/clients.py)."""
        return request_client(request, trusted)

    ingest = GroupCommit(desk.inbox.calendly_batch, "webhook-ingest")
    api = FastAPI(
        title=f"{desk.settings.brand_name} API",
        version="1",
        description="Analysts, availability and bookings. All times are ISO 8601 with offset.",
        responses={
            400: {"model": ErrorOut, "description": "The request body could not be read."},
            413: {"model": ErrorOut, "description": "The request body is larger than we read."},
            422: {"model": ErrorOut},
            429: {"model": ErrorOut, "description": "Over a limit; see Retry-After."},
            500: {"model": ErrorOut, "description": "A fault of ours; try again."},
            503: {"model": ErrorOut, "description": "Nothing was saved; see Retry-After."},
        },
    )

    @api.exception_handler(StarletteHTTPException)
    async def httperror(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        """FastAPI's own refusals (an unreadable body, an unknown path) in our envelope."""
        code = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}
        message = {
            400: "The request body could not be read; send UTF-8 JSON.",
            404: "There is no such address in this API.",
        }
        response = error(
            exc.status_code,
            code.get(exc.status_code, "http_error"),
            message.get(exc.status_code, str(exc.detail)),
        )
        response.headers.update(exc.headers or {})  # e.g. Allow on a 405
        return response

    @api.exception_handler(BookingError)
    async def bookingerror(_: Request, exc: BookingError) -> JSONResponse:
        if exc.status >= 500:
            log.error("booking error: %s", exc)
        response = error(exc.status, exc.code, str(exc), exc.field)
        if (wait := getattr(exc, "retry_after", None)) is not None:
            response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return response

    @api.exception_handler(Exception)
    async def fault(_: Request, exc: Exception) -> JSONResponse:
        """A fault of ours: the envelope and a sentence, never a bare 'Internal Server
        Error' (the traceback goes to the log)."""
        return error(500, "internal_error", INTERNAL)

    @api.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        if first.get("type") == "json_invalid":
            return error(400, "bad_request", "The request body is not valid JSON.")
        field = ".".join(str(p) for p in first["loc"] if p not in ("body", "query", "path"))
        message = f"{field}: {first['msg']}" if field else str(first["msg"])
        return error(422, "invalid_input", message, field or None)

    def analyst_out(a) -> AnalystOut:
        try:
            types, reason = desk.offers.meeting_types(a), None
        except BookingError as exc:  # Calendly down: list the analyst, say why it is empty
            types, reason = (), str(exc)
        return AnalystOut(
            slug=a.slug,
            name=a.name,
            provider=a.provider,
            headline=a.headline,
            timezone=a.timezone,
            bookable=reason is None,
            unavailable_reason=reason,
            meeting_types=[
                MeetingTypeOut(
                    id=m.id,
                    name=m.name,
                    duration_minutes=m.duration_minutes,
                    price=float(m.price),
                    currency=m.currency,
                    description=m.description,
                )
                for m in types
            ],
        )

    @api.get(
        "/analysts",
        response_model=AnalystsOut,
        response_model_by_alias=True,
        response_model_exclude_none=True,
    )
    def analysts() -> AnalystsOut:
        return AnalystsOut(analysts=[analyst_out(a) for a in desk.catalogue.analysts])

    @api.get(
        "/analysts/{slug}/availability",
        response_model=AvailabilityOut,
        response_model_by_alias=True,
        responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}},
    )
    def availability(
        request: Request,
        slug: str,
        meeting_type: str = Query(alias="meetingType"),
        start: date = Query(),
        end: date = Query(),
        timezone: str = Query(default="UTC"),
    ) -> AvailabilityOut:
        tz = zone(timezone)
        slots = desk.offers.slots_between_dates(
            slug, meeting_type, start, end, tz, client=client_of(request)
        )
        return AvailabilityOut(
            timezone=timezone,
            slots=[
                SlotOut(start_time=s.start.astimezone(tz), end_time=s.end.astimezone(tz))
                for s in slots
            ],
        )

    @api.post(
        "/bookings",
        status_code=201,
        response_model=BookingCreated,
        response_model_by_alias=True,
        responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}},
    )
    def create_booking(request: Request, body: BookingIn) -> BookingCreated:
        booking = desk.local.book(
            BookingRequest(
                analyst=body.analyst,
                meeting_type=body.meeting_type,
                start=body.start_time,
                name=body.name,
                email=body.email,
                notes=body.notes,
                timezone=body.timezone,
                source="api",
                client=client_of(request),
            )
        )
        token = booking.manage_token
        url = desk.manage.url(booking.reference, token) if token else None
        return BookingCreated(booking=_booking_out(booking, token=token, url=url))

    @api.post(
        "/calendly/create-booking",
        response_model=CalendlyBookingOut,
        response_model_by_alias=True,
        responses={422: {"model": ErrorOut}, 502: {"model": ErrorOut}},
    )
    def create_calendly_booking(
        request: Request, body: CalendlyBookingIn
    ) -> CalendlyBookingOut | JSONResponse:
        """Where the visitor must go next (the seed's contract): for a free event type a
        fresh pre-filled single-use Calendly link; for a priced one the checkout, which
        continues to Calendly once paid. Either way it is `bookingUrl`."""
        try:
            url, checkout = desk.handoff.seed_link(
                BookingRequest(
                    analyst=None,
                    meeting_type=body.event_type_uri,
                    start=body.start_time,
                    name=body.name,
                    email=body.email,
                    notes=body.notes,
                    timezone=body.timezone or desk.settings.default_timezone,
                    source="api",
                    client=client_of(request),
                )
            )
        except (InvalidInput, NotFound, SlotUnavailable, NotBookable) as exc:
            return error(422, exc.code, str(exc), exc.field)
        if checkout:
            message = "Checkout created: pay at bookingUrl, then Calendly opens to book"
            return CalendlyBookingOut(booking_url=url, message=message)
        return CalendlyBookingOut(booking_url=url, message="Scheduling link created successfully")

    @api.post(
        "/calendly/webhook",
        responses={
            200: {"description": "Stored and applied, or a repeat that changed nothing."},
            400: {"model": ErrorOut},
            401: {"model": ErrorOut},
            413: {"model": ErrorOut},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        },
    )
    async def calendly_webhook(request: Request) -> JSONResponse:
        """Calendly deliveries, signed with `Calendly-Webhook-Signature` (t=<unix>,v1=<hex>).
        Served behind ``BodyLimit`` (routes.py), so the body read here is bounded."""
        body = await request.body()
        # One writer thread, committing every delivery that queued meanwhile at once.
        receipt = await ingest.submit((body, request.headers.get(SIGNATURE_HEADER)))
        return answer(receipt)

    from booking.web.manage_api import add_manage_routes  # it builds on this module

    add_manage_routes(api, desk)
    return api


def answer(receipt: Receipt) -> JSONResponse:
    """A webhook delivery's receipt as the HTTP answer its sender reads."""
    if receipt.error:
        return error(receipt.status, *receipt.error)
    return JSONResponse({"success": True, "outcome": receipt.outcome}, status_code=receipt.status)
