"""The Scheduling API's request: the body of ``POST /invitees`` as a pydantic model.

``NewInvitee`` checks the body's shape as Calendly does when booking directly (a zoned
start, the invitee's name, email and time zone, well-formed answers, all tracking keys once
tracking is sent, at most ten guests); ``calendly_details`` turns its ``ValidationError``
into Calendly's ``details`` list of ``{"parameter", "message"}``. Then, against the event
type booked, ``location_refusal`` checks the location (the kind it declares, none for a
round-robin type; the live API's body when it does not match) and ``answer_refusals`` the
answers (each question's exact text and position, required ones not blank, a phone number
that dials, a choice that is offered), each refusal in Calendly's words.
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
from booking.calendly.questions import normalise_phone


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


def _answers(value: object) -> list:
    """A missing list is an empty one; anything but a list is a bad question."""
    value = _or_empty(value)
    if not isinstance(value, list):
        raise _refusal("question is invalid", "questions_and_answers")
    return value


def _answer(qa: object) -> dict:
    """One ``{question, answer, position}``: all three are required."""
    if (
        not isinstance(qa, dict)
        or not isinstance(qa.get("question"), str)
        or "answer" not in qa
        or not isinstance(qa.get("position"), int)
    ):
        raise _refusal("question is invalid", "questions_and_answers")
    return {**qa, "answer": str(qa["answer"] or "")}


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
    location: Annotated[object, BeforeValidator(_maybe_object)] = None
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


# The live API's answer to a location that is missing, of a kind the event type does not
# declare, or sent for a round-robin type (recorded from api.calendly.com).
LOCATION_MESSAGE = "Specified location kind is not configured for this event type."
LOCATION_DETAILS = [
    {
        "parameter": "event.location_configuration.location",
        "message": "invalid location choice",
        "code": "invalid_location_choice",
    }
]
BLANK = "Required Questions and Answers cannot be blank."
BAD_PHONE = "Phone Number is not a valid phone number"


def location_refusal(et: dict, location: dict | None) -> list[dict] | None:
    """Calendly's details when ``location`` does not fit the event type, else None."""
    kinds = [loc["kind"] for loc in et.get("locations") or ()]
    if et.get("pooling_type") == "round_robin" or not kinds:
        return LOCATION_DETAILS if location is not None else None
    if location is None or location.get("kind") not in kinds:
        return LOCATION_DETAILS
    if location["kind"] == "outbound_call":
        try:
            normalise_phone(str(location.get("location") or ""))
        except ValueError:
            return [{"parameter": "location.location", "message": BAD_PHONE}]
    if location["kind"] == "ask_invitee" and not str(location.get("location") or "").strip():
        return [{"parameter": "location.location", "message": BLANK}]
    return None


def answer_refusals(et: dict, answers: list[dict]) -> list[dict]:
    """Calendly's details for answers that do not fit the event type's questions."""
    questions = {q["name"]: q for q in et["questions"] if q.get("enabled", True)}
    refusals, answered = [], set()
    for qa in answers:
        q = questions.get(qa["question"])
        if q is None or q["position"] != qa["position"]:
            refusals.append(
                {"parameter": "questions_and_answers", "message": "question is invalid"}
            )
            continue
        text = qa["answer"].strip()
        if text:
            answered.add(q["name"])
        if text and q["type"] == "phone_number":
            try:
                normalise_phone(text)
            except ValueError:
                refusals.append({"parameter": "questions_and_answers", "message": BAD_PHONE})
        if text and q["type"] in ("single_select", "multi_select") and not q["include_other"]:
            picked = text.split("\n") if q["type"] == "multi_select" else [text]
            if any(p not in q["answer_choices"] for p in picked):
                refusals.append(
                    {"parameter": "questions_and_answers", "message": "answer is not a choice"}
                )
    if any(q["required"] and name not in answered for name, q in questions.items()):
        refusals.append({"parameter": "questions_and_answers", "message": BLANK})
    return refusals
