"""The Scheduling API's request: the body of ``POST /invitees`` as a pydantic model.

``NewInvitee`` checks what Calendly checks when booking directly (a zoned start, the
invitee's name, email and time zone, a Zoom location, answers to the host's question, all
tracking keys once tracking is sent, at most ten guests). Each refusal carries Calendly's
wording, and ``calendly_details`` turns a ``ValidationError`` into Calendly's ``details``
list of ``{"parameter", "message"}``, in the order Calendly gives them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
)
from pydantic_core import PydanticCustomError

from booking.calendly.client import TRACKING_KEYS, parse_calendly_time
from booking.calendly.sandbox.host import QUESTION


def _refusal(message: str, parameter: str | None = None) -> PydanticCustomError:
    """A refusal worded as Calendly words it; ``parameter`` when it is not the field's path."""
    return PydanticCustomError("calendly", message, {"parameter": parameter})


def _text(value: object) -> str:
    """Calendly reads a missing, null or empty field as blank, anything else as text."""
    return str(value or "")


def _object(value: object) -> object:
    """Something other than a JSON object counts as an empty one, so each field is named."""
    return value if isinstance(value, dict) else {}


def _maybe_object(value: object) -> object:
    """Like ``_object``, but an absent (null) field stays absent."""
    return None if value is None else _object(value)


def _or_empty(value: object) -> object:
    """A missing or null list is an empty one."""
    return value or []


def _start(value: object) -> datetime:
    """A start with a time zone; anything else is a missing start."""
    try:
        start = parse_calendly_time(str(value))
    except ValueError:
        raise _refusal("is required") from None
    if start.tzinfo is None:
        raise _refusal("is required")
    return start


def _email(email: str) -> str:
    """Calendly checks the address loosely; so does the sandbox."""
    if "@" not in email:
        raise _refusal("is invalid")
    return email


def _zone(zone: str) -> str:
    """The invitee's time zone must be an IANA name."""
    try:
        ZoneInfo(zone)
    except (ValueError, KeyError):
        raise _refusal("is invalid") from None
    return zone


def _zoom(location: object) -> object:
    """The host's event types meet on Zoom only."""
    if location is not None and (
        not isinstance(location, dict) or location.get("kind") != "zoom_conference"
    ):
        raise _refusal("invalid location choice", "location_configuration.kind")
    return location


def _answers(value: object) -> list:
    """A missing list is an empty one; anything but a list is a bad question."""
    value = _or_empty(value)
    if not isinstance(value, list):
        raise _refusal("question is invalid", "questions_and_answers")
    return value


def _answer(qa: object) -> str:
    """An answer to the host's one question, as its text."""
    if not isinstance(qa, dict) or qa.get("question") != QUESTION or "answer" not in qa:
        raise _refusal("question is invalid", "questions_and_answers")
    return str(qa["answer"] or "")


def _few_guests(guests: list) -> list:
    """Calendly takes at most ten guests."""
    if len(guests) > 10:
        raise _refusal("at most 10 guests")
    return guests


Text = Annotated[str, BeforeValidator(_text)]

# Once ``tracking`` is sent, Calendly wants all of its keys (null values are fine).
Tracking = create_model("Tracking", **{key: (Any, ...) for key in TRACKING_KEYS})


class Invitee(BaseModel):
    """Who books: ``name`` (or first and last name), email and time zone."""

    model_config = ConfigDict(validate_default=True)

    first_name: Text = ""
    last_name: Text = ""
    name: Text = ""
    email: Annotated[Text, AfterValidator(_email)] = ""
    timezone: Annotated[Text, AfterValidator(_zone)] = ""

    @field_validator("name")
    @classmethod
    def _full_name(cls, name: str, info: ValidationInfo) -> str:
        """Calendly takes ``name`` or else the first and last names; one is required."""
        parts = (info.data.get("first_name"), info.data.get("last_name"))
        name = name or " ".join(filter(None, parts))
        if not name.strip():
            raise _refusal("is required")
        return name


class NewInvitee(BaseModel):
    """The body of ``POST /invitees``, as far as the sandbox checks it (event type apart)."""

    model_config = ConfigDict(validate_default=True)

    start_time: Annotated[datetime, PlainValidator(_start)] = None
    invitee: Annotated[Invitee, BeforeValidator(_object)] = Field(default_factory=dict)
    location: Annotated[object, AfterValidator(_zoom)] = None
    questions_and_answers: Annotated[
        list[Annotated[object, AfterValidator(_answer)]], BeforeValidator(_answers)
    ] = []
    tracking: Annotated[Tracking | None, BeforeValidator(_maybe_object)] = None
    event_guests: Annotated[
        list[object], BeforeValidator(_or_empty), AfterValidator(_few_guests)
    ] = []


def calendly_details(exc: ValidationError) -> list[dict]:
    """Pydantic's errors as Calendly's ``details``: a parameter path and its message."""
    details = []
    for err in exc.errors():
        parameter = (err.get("ctx") or {}).get("parameter")
        message = {"calendly": err["msg"], "missing": "is missing"}.get(err["type"], "is invalid")
        details.append(
            {"parameter": parameter or ".".join(map(str, err["loc"])), "message": message}
        )
    return details
