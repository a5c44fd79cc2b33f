"""What a Calendly event type asks of an invitee, read from its resource (pure).

Booking directly (``POST /invitees``) Calendly wants what its own booking page would have
asked: the ``location`` the event type declares (keyed ``kind``; left out for round-robin
types) and an answer to every required custom question, each under its exact question
text and its real ``position``. ``BookingForm.of(event_type)`` reads both from the event
type, says which fields our details form must ask (``asks``), checks what the visitor gave
(``check``), and spells the body's ``location`` and ``questions_and_answers``. A type whose
questions or location we cannot ask for is ``blocked``: it goes through the link instead.

Answers are keyed by ``q<position>`` (and ``location`` for the invitee's part of the
location), so a question renamed on Calendly meanwhile is never answered under a stale text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import phonenumbers

from booking.errors import InvalidInput

# Location kinds Calendly fills in itself (conferencing, or the invitee calls the host).
NO_INPUT = frozenset(
    {
        "zoom_conference",
        "google_conference",
        "microsoft_teams_conference",
        "gotomeeting_conference",
        "webex_conference",
        "inbound_call",
    }
)
FIXED = frozenset({"physical", "custom"})  # the host's configured place or text
INPUT = {"outbound_call": "phone", "ask_invitee": "text"}  # the invitee must give it
LOCATION_KEY = "location"
FREE_TEXT = ("string", "text")
ASKABLE = (*FREE_TEXT, "phone_number", "single_select", "multi_select")
MAX_ANSWER = 1000


def normalise_phone(text: str) -> str:
    """A phone number in E.164 (+14155551234), or ValueError: Calendly refuses anything it
    cannot dial, and it needs the country code to dial."""
    try:
        number = phonenumbers.parse(text.strip(), None)
    except phonenumbers.NumberParseException:
        raise ValueError(text) from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(text)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@dataclass(frozen=True)
class Question:
    """One enabled custom question of an event type."""

    name: str
    type: str
    position: int
    required: bool
    choices: tuple[str, ...] = ()
    include_other: bool = False

    @property
    def key(self) -> str:
        return f"q{self.position}"

    @property
    def free_text(self) -> bool:
        return self.type in FREE_TEXT

    @classmethod
    def of(cls, raw: Mapping) -> Question:
        return cls(
            name=str(raw.get("name") or ""),
            type=str(raw.get("type") or ""),
            position=int(raw.get("position") or 0),
            required=bool(raw.get("required")),
            choices=tuple(str(c) for c in raw.get("answer_choices") or ()),
            include_other=bool(raw.get("include_other")),
        )


@dataclass(frozen=True)
class Place:
    """The location sent with a direct booking: Calendly's ``kind``, the host's configured
    text (``fixed``) or, for ``ask``, what the invitee must give ('phone' or 'text')."""

    kind: str
    fixed: str | None = None
    ask: str | None = None


@dataclass(frozen=True)
class Ask:
    """One field our details form asks for a direct booking."""

    key: str
    label: str
    kind: str  # 'text', 'phone', 'single_select' or 'multi_select'
    required: bool = True
    choices: tuple[str, ...] = ()
    help: str = ""


@dataclass(frozen=True)
class BookingForm:
    """What an event type asks of an invitee, and whether we can ask it on our page."""

    event_type: str
    questions: tuple[Question, ...] = ()
    place: Place | None = None
    round_robin: bool = False
    blocked: str | None = None  # why booking directly cannot work (the link can)

    @classmethod
    def of(cls, resource: Mapping) -> BookingForm:
        """Read an event type resource (``GET /event_types/{uuid}`` or a list item)."""
        questions = tuple(
            sorted(
                (
                    Question.of(q)
                    for q in resource.get("custom_questions") or ()
                    if isinstance(q, Mapping) and q.get("enabled", True)
                ),
                key=lambda q: q.position,
            )
        )
        round_robin = resource.get("pooling_type") == "round_robin"
        blocked = next(
            (
                f"it asks {q.name!r}, a {q.type or 'untyped'} question this site cannot ask"
                for q in questions
                if q.required and q.type not in ASKABLE
            ),
            None,
        )
        place = None
        if not round_robin:
            place, why = _place(resource.get("locations") or ())
            blocked = blocked or why
        return cls(str(resource.get("uri") or ""), questions, place, round_robin, blocked)

    # -- the visitor's notes ---------------------------------------------------------------
    @property
    def notes_question(self) -> Question | None:
        """The first free-text question: where the visitor's notes go."""
        return next((q for q in self.questions if q.free_text), None)

    @property
    def notes_prefill_key(self) -> str | None:
        """The booking page's pre-fill key of the notes question (``a1`` is the first
        question by position, whatever its type)."""
        notes = self.notes_question
        return None if notes is None else f"a{self.questions.index(notes) + 1}"

    # -- what our form asks ----------------------------------------------------------------
    def asks(self) -> tuple[Ask, ...]:
        """The invitee's part of the location, then each required question (the notes
        question apart: the form's notes field answers it)."""
        asks = []
        if self.place is not None and self.place.ask == "phone":
            asks.append(
                Ask(
                    LOCATION_KEY,
                    "Phone number to call you on",
                    "phone",
                    help="With the country code, e.g. +44 20 7946 0958. The analyst calls you.",
                )
            )
        elif self.place is not None and self.place.ask == "text":
            asks.append(Ask(LOCATION_KEY, "Where should the meeting take place?", "text"))
        notes = self.notes_question
        for q in self.questions:
            if q.required and q is not notes:
                kind = {"phone_number": "phone"}.get(q.type, q.type)
                asks.append(Ask(q.key, q.name, "text" if q.free_text else kind, True, q.choices))
        return tuple(asks)

    @property
    def notes_required(self) -> bool:
        notes = self.notes_question
        return bool(notes and notes.required)

    def check(self, given: Mapping[str, object], notes: str = "") -> dict[str, str]:
        """The answers to keep (``q<position>``/``location`` → text), checked; InvalidInput
        naming the field otherwise. Multi-select answers are newline-joined, as Calendly
        writes them."""
        if self.notes_required and not notes.strip():
            raise InvalidInput(
                f"Please answer “{self.notes_question.name}” in the notes.", field="notes"
            )
        answers: dict[str, str] = {}
        for ask in self.asks():
            value = given.get(ask.key)
            if isinstance(value, list | tuple):
                picked = [str(v) for v in value if str(v).strip()]
                value = "\n".join(picked)
            text = " ".join(str(value or "").split()) if ask.kind != "multi_select" else value
            text = str(text or "").strip()
            if not text:
                raise InvalidInput(f"Please answer “{ask.label}”.", field=ask.key)
            if len(text) > MAX_ANSWER:
                raise InvalidInput(
                    f"Please keep “{ask.label}” under {MAX_ANSWER:,} characters.", field=ask.key
                )
            if ask.kind == "phone":
                try:
                    text = normalise_phone(text)
                except ValueError:
                    raise InvalidInput(
                        f"“{ask.label}”: {text!r} is not a phone number we can dial; "
                        "please include the country code, e.g. +44 20 7946 0958.",
                        field=ask.key,
                    ) from None
            if ask.kind in ("single_select", "multi_select"):
                picked = text.split("\n") if ask.kind == "multi_select" else [text]
                wrong = [p for p in picked if p not in ask.choices]
                if wrong:
                    raise InvalidInput(
                        f"“{ask.label}”: please choose from {', '.join(ask.choices)}.",
                        field=ask.key,
                    )
            answers[ask.key] = text
        return answers

    # -- the body of POST /invitees --------------------------------------------------------
    def location(self, answers: Mapping[str, str]) -> dict | None:
        """Calendly's ``location`` object for this type, or None (round robin, or none)."""
        place = self.place
        if place is None:
            return None
        body: dict = {"kind": place.kind}
        if place.ask:
            body["location"] = answers.get(LOCATION_KEY, "")
        elif place.fixed:
            body["location"] = place.fixed
        return body

    def questions_and_answers(self, answers: Mapping[str, str], notes: str = "") -> list[dict]:
        """Every answer under its question's exact text and real position; the notes go to
        the first free-text question."""
        notes_q = self.notes_question
        out = []
        for q in self.questions:
            answer = notes.strip() if q is notes_q else answers.get(q.key, "")
            if answer:
                out.append({"question": q.name, "answer": answer, "position": q.position})
        return out


def _place(locations) -> tuple[Place | None, str | None]:
    """The location to send: the first (by position) Calendly fills in itself, else the
    first the invitee can give on our form; (None, why) when none of them fits."""
    configured = sorted(
        (loc for loc in locations if isinstance(loc, Mapping) and loc.get("kind")),
        key=lambda loc: loc.get("position") or 0,
    )
    if not configured:
        return None, None
    for loc in configured:
        kind = str(loc["kind"])
        if kind in NO_INPUT:
            return Place(kind), None
        if kind in FIXED:
            text = loc.get("location") or loc.get("additional_info")
            return Place(kind, fixed=str(text) if text else None), None
    for loc in configured:
        kind = str(loc["kind"])
        if kind in INPUT:
            return Place(kind, ask=INPUT[kind]), None
    kinds = ", ".join(str(loc["kind"]) for loc in configured)
    return None, f"its location ({kinds}) is not one this site can book"
