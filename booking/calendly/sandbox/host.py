"""The sandbox's fixed host and the JSON shapes Calendly gives its resources.

One Calendly user (with its organisation and team), its event types (each with the
locations and custom questions a real account declares; one secret, one a team's
round-robin type), and the weekly hours its availability comes from. ``Host`` knows
where the sandbox lives (its API base URL and our public URL), so it can spell every URI
and resource shape; it holds no state and reads no database: rows come in,
Calendly-shaped dicts go out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from booking.domain.catalogue import Analyst, MeetingType

USER_UUID = "SANDBOXUSER00001"
ORG_UUID = "SANDBOXORG000001"
USER_NAME = "Assassin"
USER_SLUG = "assassin"
USER_EMAIL = "assassin@example.com"
HOST_ZONE = "America/New_York"
QUESTION = "What would you like to discuss?"
MARKET = "Which market do you trade?"
MARKETS = ("Equities", "FX", "Futures", "Crypto")
PHONE_QUESTION = "Phone number"


def _question(name: str, kind: str, position: int, required: bool, choices=()) -> dict:
    """A custom question as Calendly lists it on an event type."""
    return {
        "name": name,
        "type": kind,
        "position": position,
        "enabled": True,
        "required": required,
        "answer_choices": list(choices),
        "include_other": False,
    }


NOTES_Q = _question(QUESTION, "text", 0, False)
# The host's event types, as strict as a real account's: each declares its location (a
# conference, a phone call the host places, none for the round-robin team type) and its
# questions (a required single select, a phone number); one is secret and one a team's.
EVENT_TYPES = (
    {
        "uuid": "SBXSTRATEGY00001",
        "name": "Strategy Session",
        "slug": "strategy-session",
        "duration": 60,
        "color": "#0069ff",
        "description": "One hour on your trading plan: entries, exits and risk.",
        "locations": [{"kind": "zoom_conference"}],
        "questions": [NOTES_Q],
    },
    {
        "uuid": "SBXQUICKCALL0001",
        "name": "Quick Consult",
        "slug": "quick-consult",
        "duration": 30,
        "color": "#8247f5",
        "description": "Thirty minutes for one focused question.",
        "locations": [{"kind": "google_conference"}],
        "questions": [NOTES_Q],
    },
    {
        "uuid": "SBXCLINIC0000001",
        "name": "Options Clinic",
        "slug": "options-clinic",
        "duration": 45,
        "color": "#0ae8f0",
        "description": "Forty-five minutes on the phone about your options positions.",
        "locations": [{"kind": "outbound_call"}],
        "questions": [
            _question(MARKET, "single_select", 0, True, MARKETS),
            _question(QUESTION, "text", 1, False),
        ],
    },
    {
        "uuid": "SBXDESKCALL00001",
        "name": "Desk Call",
        "slug": "desk-call",
        "duration": 30,
        "color": "#f8e436",
        "description": "Whoever of the desk is free first calls you back.",
        "locations": [],  # round robin: Calendly assigns the host and place
        "pooling_type": "round_robin",
        "team": "Assassin Trading Desk",
        "questions": [
            _question(PHONE_QUESTION, "phone_number", 0, True),
            NOTES_Q | {"position": 1},
        ],
    },
    {
        "uuid": "SBXPRIVATE000001",
        "name": "Private Review",
        "slug": "private-review",
        "duration": 90,
        "color": "#e55cff",
        "description": "By invitation only.",
        "locations": [{"kind": "zoom_conference"}],
        "questions": [NOTES_Q],
        "secret": True,
    },
)
WEBHOOK_EVENTS = (
    "invitee.created",
    "invitee.canceled",
    "invitee_no_show.created",
    "invitee_no_show.deleted",
)
# The host's Calendly availability: weekdays 09:00-17:00 New York, 4 hours' notice.
HOURS = Analyst(
    slug="sandbox-host",
    name=USER_NAME,
    provider="local",
    timezone=HOST_ZONE,
    hours={d: ("09:00-17:00",) for d in ("mon", "tue", "wed", "thu", "fri")},
    min_notice_hours=4,
    horizon_days=60,
    slot_step_minutes=30,
)


def event_type(uri_or_uuid: str) -> dict | None:
    """Find an event type by its URI or bare uuid, as API callers give either."""
    uuid = uri_or_uuid.rstrip("/").rsplit("/", 1)[-1]
    return next((e for e in EVENT_TYPES if e["uuid"] == uuid), None)


def meeting(et: dict) -> MeetingType:
    """The event type as the desk's slot maths wants it."""
    return MeetingType(id=et["slug"], name=et["name"], duration_minutes=et["duration"])


def _questions_and_answers(inv: dict) -> list[dict]:
    """Calendly lists only the questions the invitee answered (older rows kept one)."""
    if inv.get("answers"):
        return json.loads(inv["answers"])
    answer = inv.get("answer")
    return [{"question": QUESTION, "answer": answer, "position": 0}] if answer else []


def _event_location(row: dict, et: dict) -> dict:
    """The scheduled event's location, keyed ``type`` (not ``kind``) as Calendly gives it."""
    chosen = json.loads(row["location"]) if row.get("location") else None
    kind = (chosen or {}).get("kind") or next(
        (loc["kind"] for loc in et.get("locations") or ()), None
    )
    if kind is None:  # round robin without a location: Calendly shows none
        return {"type": "custom", "location": None}
    if kind.endswith("_conference"):
        return {"type": kind, "status": "pushed", "join_url": "https://zoom.us/j/000000000"}
    return {"type": kind, "location": (chosen or {}).get("location")}


@dataclass(frozen=True)
class Host:
    """Where the sandbox lives, so URIs and resources point at it and at our pages."""

    api_url: str
    public_url: str

    @property
    def user_uri(self) -> str:
        """The host user's API URI, which callers pass back as ``user=``."""
        return f"{self.api_url}/users/{USER_UUID}"

    @property
    def org_uri(self) -> str:
        """The host's organisation URI, as resources name their owner."""
        return f"{self.api_url}/organizations/{ORG_UUID}"

    @property
    def team_uri(self) -> str:
        """The host's team (round-robin types belong to it, not to the user)."""
        return f"{self.api_url}/teams/{ORG_UUID}"

    @property
    def pages_url(self) -> str:
        """Where the sandbox's public pages (booking, cancel, reschedule) are served."""
        return f"{self.public_url}/sandbox/calendly"

    def event_type_uri(self, uuid: str) -> str:
        """An event type's API URI."""
        return f"{self.api_url}/event_types/{uuid}"

    def event_uri(self, event_uuid: str) -> str:
        """A scheduled event's API URI."""
        return f"{self.api_url}/scheduled_events/{event_uuid}"

    def invitee_uri(self, inv: dict) -> str:
        """An invitee's API URI (it sits beneath its event)."""
        return f"{self.event_uri(inv['event_uuid'])}/invitees/{inv['uuid']}"

    def link_url(self, code: str, et: dict) -> str:
        """A single-use scheduling link's booking page."""
        return f"{self.pages_url}/d/{code}/{et['slug']}"

    def slot_url(self, et: dict, start: datetime) -> str:
        """The booking page opened on one free time, as available times carry it."""
        day = start.astimezone(ZoneInfo(HOST_ZONE)).date()
        stamp = start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return (
            f"{self.pages_url}/{USER_SLUG}/{et['slug']}/{stamp}"
            f"?month={day:%Y-%m}&date={day.isoformat()}"
        )

    def user(self) -> dict:
        """The host as ``GET /users/me`` returns it."""
        return {
            "uri": self.user_uri,
            "name": USER_NAME,
            "slug": USER_SLUG,
            "email": USER_EMAIL,
            "scheduling_url": f"{self.pages_url}/{USER_SLUG}",
            "timezone": HOST_ZONE,
            "avatar_url": None,
            "created_at": "2024-03-01T10:00:00.000000Z",
            "updated_at": "2025-09-30T08:12:44.123456Z",
            "current_organization": self.org_uri,
        }

    def event_type_resource(self, et: dict, position: int) -> dict:
        """An event type as ``GET /event_types`` returns it."""
        return {
            "uri": self.event_type_uri(et["uuid"]),
            "name": et["name"],
            "active": True,
            "slug": et["slug"],
            "scheduling_url": f"{self.pages_url}/{USER_SLUG}/{et['slug']}",
            "duration": et["duration"],
            "duration_options": None,
            "kind": "solo",
            "pooling_type": et.get("pooling_type"),
            "type": "StandardEventType",
            "color": et["color"],
            "created_at": "2024-03-01T10:05:00.000000Z",
            "updated_at": "2025-10-01T09:00:00.000000Z",
            "internal_note": None,
            "description_plain": et["description"],
            "description_html": f"<p>{et['description']}</p>",
            "profile": (
                {"type": "Team", "name": et["team"], "owner": self.team_uri}
                if et.get("team")
                else {"type": "User", "name": USER_NAME, "owner": self.user_uri}
            ),
            "secret": bool(et.get("secret")),
            "booking_method": "instant",
            "custom_questions": [dict(q) for q in et["questions"]],
            "deleted_at": None,
            "admin_managed": False,
            "locations": [dict(loc) for loc in et["locations"]],
            "position": position,
        }

    def event_resource(self, row: dict) -> dict:
        """A ``sandbox_events`` row as ``GET /scheduled_events`` returns it."""
        et = event_type(row["event_type_uuid"])
        active = row["status"] == "active"
        resource = {
            "uri": self.event_uri(row["uuid"]),
            "name": et["name"],
            "status": row["status"],
            "start_time": row["start_time"],
            "end_time": row["end_time"],
            "event_type": self.event_type_uri(et["uuid"]),
            "location": _event_location(row, et),
            "invitees_counter": {"total": 1, "active": 1 if active else 0, "limit": 1},
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
            "event_memberships": [
                {"user": self.user_uri, "user_email": USER_EMAIL, "user_name": USER_NAME}
            ],
            "event_guests": [],
            "meeting_notes_plain": None,
            "meeting_notes_html": None,
        }
        if row.get("cancellation"):
            resource["cancellation"] = json.loads(row["cancellation"])
        return resource

    def invitee_resource(self, inv: dict, event: dict, *, embed: bool = True) -> dict:
        """An invitee as GET returns it, or (``embed``) as a webhook payload carries it."""
        resource = {
            "uri": self.invitee_uri(inv),
            "email": inv["email"],
            "name": inv["name"],
            "first_name": None,
            "last_name": None,
            "status": inv["status"],
            "timezone": inv["timezone"],
            "event": self.event_uri(inv["event_uuid"]),
            "created_at": inv["created_at"],
            "updated_at": inv["updated_at"],
            "questions_and_answers": _questions_and_answers(inv),
            "tracking": json.loads(inv["tracking"]),
            "text_reminder_number": None,
            "rescheduled": bool(inv["rescheduled"]),
            "old_invitee": inv["old_invitee"],
            "new_invitee": inv["new_invitee"],
            "cancel_url": f"{self.pages_url}/cancellations/{inv['uuid']}",
            "reschedule_url": f"{self.pages_url}/reschedulings/{inv['uuid']}",
            "routing_form_submission": None,
            "payment": None,
            "no_show": json.loads(inv["no_show"]) if inv.get("no_show") else None,
            "reconfirmation": None,
            "scheduling_method": None,
            "invitee_scheduled_by": None,
            "scheduled_event": self.event_resource(event),
        }
        if inv.get("cancellation"):
            resource["cancellation"] = json.loads(inv["cancellation"])
        if not embed:
            del resource["scheduled_event"]
        return resource

    def webhook_resource(self, row: dict) -> dict:
        """A ``sandbox_webhooks`` row as ``GET /webhook_subscriptions`` returns it."""
        return {
            "uri": f"{self.api_url}/webhook_subscriptions/{row['uuid']}",
            "callback_url": row["callback_url"],
            "created_at": row["created_at"],
            "updated_at": row["created_at"],
            "retry_started_at": row.get("retry_started_at"),
            "state": row["state"],
            "events": json.loads(row["events"]),
            "scope": row["scope"],
            "organization": self.org_uri,
            "user": self.user_uri if row["scope"] == "user" else None,
            "group": None,
            "creator": self.user_uri,
        }

    def no_show_uri(self, no_show_uuid: str) -> str:
        """A no-show mark's URI (Calendly gives each mark its own, a new one each time)."""
        return f"{self.api_url}/invitee_no_shows/{no_show_uuid}"
