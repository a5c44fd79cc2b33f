"""The sandbox's public booking page: a plainly marked stand-in for calendly.com.

Served by app.py under /sandbox/calendly/. It honours Calendly's pre-fill parameters
(name, email, a1…a10, location, utm_*, month/date), asks the event type's questions and
the invitee's part of its location as Calendly's page does (refusing blank required ones
and numbers that do not dial), lets the visitor change the time, books on
"Schedule Event", spends the single-use link and sends the visitor back to our
confirmation page with the query parameters Calendly's "redirect to an external site"
option appends. Loaded embedded (`embed_type=Inline&embed_domain=…`, as Calendly's widget
does), it instead stays in its frame and posts Calendly's `calendly.*` messages to the parent
window. Every visitor-supplied value is HTML-escaped, and JSON-encoded inside scripts.
"""

from __future__ import annotations

import html
import json
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from booking.calendly.client import TRACKING_KEYS, parse_calendly_time
from booking.calendly.sandbox.host import USER_NAME
from booking.calendly.sandbox.scheduling import BAD_PHONE, answer_refusals, location_refusal
from booking.calendly.sandbox.state import SandboxError
from booking.html_page import page

if TYPE_CHECKING:
    from booking.calendly.sandbox import CalendlySandbox

PREFILL = ("name", "email", *(f"a{i}" for i in range(1, 11)), "location")
CALLS_YOU = ("outbound_call", "ask_invitee")  # location kinds the invitee fills in

BANNER = (
    "Calendly sandbox — an offline stand-in for Calendly's booking page. "
    "Nothing here reaches Calendly."
)

TZ_SCRIPT = """<script>
(function(){var u=new URL(window.location.href);
if(!u.searchParams.get('tz')){try{var z=Intl.DateTimeFormat().resolvedOptions().timeZone;
if(z){u.searchParams.set('tz',z);window.location.replace(u.toString());}}catch(e){}}})();
</script>"""


def _e(value) -> str:
    """A value as HTML text, safe inside elements and quoted attributes."""
    return html.escape(str(value or ""), quote=True)


def _page(title: str, body: str, status: int = 200, *, tz_script: bool = True) -> HTMLResponse:
    """A page in the shared shell, plainly marked; ``tz_script`` reloads it in the visitor's tz."""
    return page(
        f"{title} · Calendly sandbox",
        body,
        status=status,
        banner=BANNER,
        head=TZ_SCRIPT if tz_script else "",
    )


def _zone(name: str | None) -> ZoneInfo:
    """The visitor's zone from ``tz``; UTC when it is missing or unknown."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _picker(sandbox: CalendlySandbox, et: dict, params: dict, zone: ZoneInfo) -> str:
    """Date links and the time radio buttons for the chosen day (opened on ``date``)."""
    days: dict[date, list] = {}
    now = sandbox.clock()
    for slot in sandbox.free_slots(et, now, now + timedelta(days=31)):
        days.setdefault(slot.start.astimezone(zone).date(), []).append(slot)
    try:
        chosen = date.fromisoformat(params.get("date", ""))
    except ValueError:
        chosen = None
    if chosen not in days:
        chosen = next(iter(days), None)
    keep = {
        k: v for k, v in params.items() if k in (*PREFILL, *TRACKING_KEYS, "tz", *_embed(params))
    }
    day_links = "".join(
        f"<a href='?{_e(urlencode({**keep, 'date': d.isoformat(), 'month': f'{d:%Y-%m}'}))}'"
        f"{' aria-current=date' if d == chosen else ''}>{d:%a %-d %b}</a>"
        for d in days
    )
    selected = params.get("start_time", "")
    times = (
        "".join(
            f"<label><input type=radio name=start_time required value='{_e(s.start.isoformat())}'"
            f"{' checked' if s.start.isoformat() == selected else ''}>"
            f"{s.start.astimezone(zone):%H:%M}</label>"
            for s in days.get(chosen, [])
        )
        or "<p class=muted>No free times on this day.</p>"
    )
    heading = f"{chosen:%A %-d %B %Y}" if chosen else "No dates available"
    return (
        f"<h2>Select a date</h2><nav class=days aria-label='Available dates'>{day_links}</nav>"
        f"<fieldset style='border:0;padding:0'><legend><h2 style='margin:0'>{heading}</h2>"
        f"</legend><p class=muted>Times in {_e(zone.key)}</p><div class=times>{times}</div>"
        f"</fieldset>"
    )


# -- embedded mode -----------------------------------------------------------------------
# Calendly's widget loads the booking page with `embed_type=Inline&embed_domain=<host>`;
# the page then reports to its parent window with postMessage. The sandbox does the same,
# keeping both parameters through the day links, the form's hidden fields and the POST.
EMBED = ("embed_type", "embed_domain")

# The page posts with targetOrigin '*', as Calendly's own embedded page does. Narrowing it
# to embed_domain would buy nothing: that parameter is set by whoever frames the page, and
# the payload holds only the API URIs of the event and invitee (useless without a token).
# The receiving side is what must check: ui_kit/calendly_embed.py accepts only our iframe's
# messages, from the allowed origins.
EMBED_SCRIPT = """<script>
(function(){
function post(name,payload){window.parent.postMessage({event:name,payload:payload},'*');}
%s
})();
</script>"""

# As Calendly's embedded page does: its full height, so the parent sizes the frame to it
# (no nested scrolling), on load and whenever it changes.
PAGE_HEIGHT_JS = """var lastHeight=0;function height(){
var h=Math.ceil(document.body.getBoundingClientRect().height)+48;
if(h!==lastHeight){lastHeight=h;post('calendly.page_height',{height:h+'px'});}}
height();if(window.ResizeObserver){new ResizeObserver(height).observe(document.body);}"""

# On load, unless TZ_SCRIPT is about to reload the page with its `tz` parameter (then the
# reloaded page reports), and whenever a time is picked.
VIEWED_JS = (
    """var z;try{z=Intl.DateTimeFormat().resolvedOptions().timeZone;}catch(e){}
if(new URL(window.location.href).searchParams.get('tz')||!z){
post('calendly.event_type_viewed',{});}
document.addEventListener('change',function(e){var t=e.target;
if(t&&t.name==='start_time'&&t.checked){post('calendly.date_and_time_selected',{});}});
"""
    + PAGE_HEIGHT_JS
)


def _embed(params: dict) -> tuple[str, ...]:
    """The embed parameter names to keep: both when the page is embedded, else none."""
    embedded = params.get("embed_type") == "Inline" and bool(params.get("embed_domain"))
    return EMBED if embedded else ()


def _js_value(value) -> str:
    """``value`` as a JavaScript literal that cannot end the <script> element."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _scheduled_in_frame(sandbox: CalendlySandbox, booked: dict, zone: ZoneInfo) -> Response:
    """Embedded, Calendly stays in its frame and tells the parent what was booked."""
    event, invitee, et = booked["event"], booked["invitee"], booked["event_type"]
    payload = {
        "event": {"uri": sandbox.host.event_uri(event["uuid"])},
        "invitee": {"uri": sandbox.host.invitee_uri(invitee)},
    }
    script = EMBED_SCRIPT % f"post('calendly.event_scheduled',{_js_value(payload)});"
    return _page(
        "Scheduled",
        _summary(et, event, zone)
        + f"<h2 role=status>You are scheduled</h2><p>A calendar invitation has been sent to "
        f"{_e(invitee['email'])}.</p>{script}",
        tz_script=False,  # it answers a POST: TZ_SCRIPT's reload would GET the spent link
    )


def _chosen_start(form: dict) -> datetime | None:
    """The time the visitor picked; None unless it is a time with a zone."""
    try:
        start = datetime.fromisoformat(form.get("start_time", ""))
    except ValueError:
        return None
    return start if start.tzinfo else None


def _back_to_us(sandbox: CalendlySandbox, booked: dict, zone: ZoneInfo) -> Response:
    """Calendly's 'redirect to an external site', with event details passed along."""
    event, invitee, et = booked["event"], booked["invitee"], booked["event_type"]
    back = {
        "assigned_to": USER_NAME,
        "event_type_uuid": et["uuid"],
        "event_type_name": et["name"],
        "event_start_time": parse_calendly_time(event["start_time"]).astimezone(zone).isoformat(),
        "event_end_time": parse_calendly_time(event["end_time"]).astimezone(zone).isoformat(),
        "invitee_uuid": invitee["uuid"],
        "invitee_full_name": invitee["name"],
        "invitee_email": invitee["email"],
    }
    answered = json.loads(invitee.get("answers") or "[]")
    positions = [q["position"] for q in et["questions"]]
    for qa in answered:
        if qa["position"] in positions:
            back[f"answer_{positions.index(qa['position']) + 1}"] = qa["answer"]
    tracking = json.loads(invitee["tracking"]) if isinstance(invitee["tracking"], str) else {}
    back.update({k: v for k, v in tracking.items() if v and k.startswith("utm_")})
    return RedirectResponse(f"{sandbox.public_url}/confirmation?{urlencode(back)}", status_code=303)


def _unavailable(exc: SandboxError) -> HTMLResponse:
    """A spent, expired or unknown link (or booking) is gone: 410, saying why."""
    return _page(
        "Link unavailable",
        f"<h1>This link is no longer available</h1>"
        f"<p class=muted>{_e(exc)}</p><p>Please ask for a new link.</p>",
        status=410,
    )


def _summary(et: dict, event: dict | None, zone: ZoneInfo) -> str:
    """The host, meeting and (once booked) the time, atop every page as on Calendly."""
    when = ""
    if event is not None:
        start = parse_calendly_time(event["start_time"]).astimezone(zone)
        when = f"<p><strong>{start:%A %-d %B %Y, %H:%M}</strong> ({_e(zone.key)})</p>"
    return (
        f"<p class=muted>{_e(USER_NAME)}</p><h1>{_e(et['name'])}</h1>"
        f"<p class=muted>{et['duration']} min · {_e(et['description'])}</p>{when}"
    )


def _questions(et: dict, params: dict) -> str:
    """The event type's location line and custom questions, pre-filled from ``a1``…"""
    parts = []
    kinds = [loc["kind"] for loc in et.get("locations") or ()]
    if kinds and kinds[0] in CALLS_YOU:
        label = "Phone number" if kinds[0] == "outbound_call" else "Location"
        kind = "tel" if kinds[0] == "outbound_call" else "text"
        parts.append(
            f"<label class=field for=location>{label} *</label><input type={kind} id=location "
            f"name=location required value='{_e(params.get('location'))}'>"
        )
    elif kinds:
        parts.append(f"<p class=muted>Location: {_e(kinds[0].replace('_', ' '))}</p>")
    for i, q in enumerate(et["questions"], start=1):
        key, value, star = f"a{i}", params.get(f"a{i}") or "", " *" if q["required"] else ""
        required = " required" if q["required"] else ""
        if q["type"] in ("single_select", "multi_select"):
            kind = "radio" if q["type"] == "single_select" else "checkbox"
            picked = value.split(",") if kind == "checkbox" else [value]
            options = "".join(
                f"<label><input type={kind} name={key} value='{_e(c)}'"
                f"{required if kind == 'radio' else ''}{' checked' if c in picked else ''}>"
                f"{_e(c)}</label>"
                for c in q["answer_choices"]
            )
            parts.append(f"<fieldset><legend>{_e(q['name'])}{star}</legend>{options}</fieldset>")
        elif q["type"] == "phone_number":
            parts.append(
                f"<label class=field for={key}>{_e(q['name'])}{star}</label><input type=tel "
                f"id={key} name={key}{required} value='{_e(value)}'>"
            )
        else:
            parts.append(
                f"<label class=field for={key}>{_e(q['name'])}{star}</label>"
                f"<textarea id={key} name={key} rows=4{required}>{_e(value)}</textarea>"
            )
    return "".join(parts)


def _answers(et: dict, form) -> tuple[list[dict], dict | None, str | None]:
    """The answers and location the page's form gives, and what is wrong with them."""
    answers = []
    for i, q in enumerate(et["questions"], start=1):
        text = "\n".join(v.strip() for v in form.getlist(f"a{i}") if v.strip())
        if text:
            answers.append({"question": q["name"], "answer": text, "position": q["position"]})
    kinds = [loc["kind"] for loc in et.get("locations") or ()]
    location = None
    if kinds:
        location = {"kind": kinds[0]}
        if kinds[0] in CALLS_YOU:
            location["location"] = str(form.get("location") or "").strip()
    refusals = (location_refusal(et, location) or []) + answer_refusals(et, answers)
    if not refusals:
        return answers, location, None
    if any(r["message"] == BAD_PHONE for r in refusals):
        return answers, location, "Please enter a valid phone number, with its country code."
    return answers, location, "Please answer the required questions."


def sandbox_routes(sandbox: CalendlySandbox) -> list[Route]:
    """The sandbox's booking, cancel and reschedule pages, for ``st.App(routes=...)``."""

    def booking_form(code: str, params: dict, error: str = "", status: int = 200) -> Response:
        """The booking form, pre-filled from ``params``, with any refusal shown above it."""
        try:
            _, et = sandbox.link(code)
        except SandboxError as exc:
            return _unavailable(exc)
        embed = _embed(params)
        hidden = "".join(
            f"<input type=hidden name='{k}' value='{_e(params.get(k))}'>"
            for k in (*TRACKING_KEYS, "tz", *embed)
            if params.get(k)
        )
        body = (
            _summary(et, None, _zone(params.get("tz")))
            + (f"<p class=error role=alert>{_e(error)}</p>" if error else "")
            + "<form method=post>"
            + _picker(sandbox, et, params, _zone(params.get("tz")))
            + f"<label class=field for=name>Name</label>"
            f"<input type=text id=name name=name required value='{_e(params.get('name'))}'>"
            f"<label class=field for=email>Email</label>"
            f"<input type=email id=email name=email required value='{_e(params.get('email'))}'>"
            + _questions(et, params)
            + f"{hidden}"
            f"<button type=submit>Schedule Event</button></form>"
            + (EMBED_SCRIPT % VIEWED_JS if embed else "")
        )
        return _page(et["name"], body, status=status)

    async def booking_page(request: Request) -> Response:
        """GET shows the form; POST books, then leaves the frame or returns the visitor to us."""
        code = request.path_params["code"]
        if request.method == "GET":
            return booking_form(code, dict(request.query_params))
        raw = await request.form()
        form = {k: ",".join(raw.getlist(k)) for k in raw}
        params = {**dict(request.query_params), **form}
        start = _chosen_start(form)
        if start is None:
            return booking_form(code, params, "Please choose a time.", status=400)
        zone = _zone(form.get("tz"))
        try:
            _, et = sandbox.link(code)
        except SandboxError as exc:
            return _unavailable(exc)
        answers, location, wrong = _answers(et, raw)
        if wrong:
            return booking_form(code, params, wrong, status=400)
        try:
            booked = sandbox.schedule(
                code,
                start=start,
                name=form.get("name", ""),
                email=form.get("email", ""),
                answers=answers,
                location=location,
                timezone=zone.key,
                tracking={k: form.get(k) for k in TRACKING_KEYS},
            )
        except SandboxError as exc:
            return booking_form(code, params, str(exc), status=409)
        if _embed(params):
            return _scheduled_in_frame(sandbox, booked, zone)
        return _back_to_us(sandbox, booked, zone)

    async def cancel_page(request: Request) -> Response:
        """GET asks for a reason; POST cancels the booking and says so."""
        uuid = request.path_params["uuid"]
        zone = _zone(request.query_params.get("tz"))
        try:
            inv, event, et = sandbox.active_invitee(uuid)
        except SandboxError as exc:
            return _unavailable(exc)
        if request.method == "POST":
            form = dict(await request.form())
            sandbox.cancel(uuid, reason=form.get("reason", "").strip()[:1000])
            return _page(
                "Canceled",
                _summary(et, event, zone)
                + "<h2 role=status>Canceled</h2><p>A cancellation was sent to "
                f"{_e(inv['email'])}.</p>",
            )
        return _page(
            "Cancel",
            _summary(et, event, zone)
            + "<form method=post><label class=field for=reason>Reason for canceling"
            "</label><textarea id=reason name=reason rows=3></textarea>"
            "<button type=submit>Cancel Event</button></form>",
        )

    async def reschedule_page(request: Request) -> Response:
        """GET offers new times; POST moves the booking and returns the visitor to us."""
        uuid = request.path_params["uuid"]
        params = dict(request.query_params)
        zone = _zone(params.get("tz"))
        try:
            _, event, et = sandbox.active_invitee(uuid)
        except SandboxError as exc:
            return _unavailable(exc)
        error = ""
        if request.method == "POST":
            form = dict(await request.form())
            start = _chosen_start(form)
            if start is not None:
                try:
                    booked = sandbox.reschedule(
                        uuid, start=start, reason=form.get("reason", "").strip()[:1000]
                    )
                    return _back_to_us(sandbox, booked, zone)
                except SandboxError as exc:
                    error = str(exc)
            else:
                error = "Please choose a new time."
        body = (
            _summary(et, event, zone)
            + "<p>Choose a new time for this meeting.</p>"
            + (f"<p class=error role=alert>{_e(error)}</p>" if error else "")
            + "<form method=post>"
            + _picker(sandbox, et, params, zone)
            + "<label class=field for=reason>Reason for rescheduling (optional)</label>"
            "<textarea id=reason name=reason rows=2></textarea>"
            "<button type=submit>Reschedule Event</button></form>"
        )
        return _page("Reschedule", body, status=409 if error else 200)

    methods = ["GET", "POST"]
    return [
        Route("/sandbox/calendly/d/{code}/{slug}", booking_page, methods=methods),
        Route("/sandbox/calendly/cancellations/{uuid}", cancel_page, methods=methods),
        Route("/sandbox/calendly/reschedulings/{uuid}", reschedule_page, methods=methods),
    ]
