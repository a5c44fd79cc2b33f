"""The sandbox booking page loaded inline (embed_type=Inline), as Calendly's widget loads it."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from booking.calendly.sandbox.pages import _js_value, sandbox_routes

EMBED = {"embed_type": "Inline", "embed_domain": "desk.example:8501"}


@pytest.fixture
def page_client(sandbox_desk):
    return TestClient(
        Starlette(routes=sandbox_routes(sandbox_desk.sandbox)), follow_redirects=False
    )


def new_link(desk) -> str:
    url = desk.calendly.create_scheduling_link(
        "https://api.calendly.com/event_types/SBXQUICKCALL0001"
    )
    return urlsplit(url).path


def first_slot(desk, clock):
    et = desk.sandbox._event_type("SBXQUICKCALL0001")
    return desk.sandbox.free_slots(et, clock(), clock() + timedelta(days=7))[0]


def posted(text: str, event: str):
    """The payload the page's script posts with ``event`` (None if it posts nothing)."""
    found = re.search(rf"post\('{re.escape(event)}',(.*?)\);", text)
    return None if found is None else json.loads(found.group(1))


def test_embedded_page_announces_itself_and_keeps_the_embed_parameters(sandbox_desk, page_client):
    """Viewed on load, a picked time reported, embed_* carried by day links and the form."""
    r = page_client.get(new_link(sandbox_desk), params={**EMBED, "tz": "Europe/London"})
    assert r.status_code == 200
    assert posted(r.text, "calendly.event_type_viewed") == {}
    assert posted(r.text, "calendly.date_and_time_selected") == {}
    assert "window.parent.postMessage" in r.text
    assert "<input type=hidden name='embed_type' value='Inline'>" in r.text
    assert "<input type=hidden name='embed_domain' value='desk.example:8501'>" in r.text
    day_links = re.findall(r"<a href='\?([^']+)'", r.text)
    assert day_links
    for query in day_links:
        q = parse_qs(query.replace("&amp;", "&"))
        assert q["embed_type"] == ["Inline"] and q["embed_domain"] == ["desk.example:8501"]


@pytest.mark.parametrize(
    "params", [{}, {"embed_type": "Inline"}, {"embed_domain": "x"}, {"embed_type": "Popup"}]
)
def test_not_embedded_pages_post_no_messages(sandbox_desk, page_client, params):
    """Without both embed parameters the page is the plain one: no scripts, no hidden embed_*."""
    r = page_client.get(new_link(sandbox_desk), params=params)
    assert r.status_code == 200
    assert "postMessage" not in r.text and "name='embed_" not in r.text


def test_embedded_booking_stays_in_the_frame_and_posts_the_uris(sandbox_desk, page_client, clock):
    """Schedule Event answers with a 'scheduled' page posting the event and invitee URIs."""
    path = new_link(sandbox_desk)
    slot = first_slot(sandbox_desk, clock)
    form = {"start_time": slot.start.isoformat(), "name": "Zoë", "email": "zoe@example.com"}
    r = page_client.post(path, params={"tz": "Asia/Tokyo"}, data={**form, **EMBED})
    assert r.status_code == 200 and "location" not in r.headers
    assert "You are scheduled" in r.text and "zoe@example.com" in r.text
    assert "searchParams.get('tz')" not in r.text  # no tz reload of a POST answer

    payload = posted(r.text, "calendly.event_scheduled")
    invitee = sandbox_desk.store.db.execute("SELECT uuid, event_uuid FROM sandbox_invitees")
    invitee_uuid, event_uuid = invitee.fetchone()
    api = sandbox_desk.calendly.session.get(
        f"https://api.calendly.com/scheduled_events/{event_uuid}/invitees",
        headers={"Authorization": "Bearer sandbox"},
    ).json()["collection"][0]
    assert payload == {"event": {"uri": api["event"]}, "invitee": {"uri": api["uri"]}}
    assert api["uri"].endswith(invitee_uuid)


def test_embed_parameters_in_the_query_string_are_enough_for_the_post(
    sandbox_desk, page_client, clock
):
    """The form posts to its own address, so embed_* in the query string count too."""
    slot = first_slot(sandbox_desk, clock)
    form = {"start_time": slot.start.isoformat(), "name": "A", "email": "a@example.com"}
    r = page_client.post(new_link(sandbox_desk), params=EMBED, data=form)
    assert r.status_code == 200 and posted(r.text, "calendly.event_scheduled") is not None


def test_a_refused_embedded_booking_stays_embedded(sandbox_desk, page_client):
    """No time chosen: the form comes back, still embedded, still announcing itself."""
    r = page_client.post(new_link(sandbox_desk), data={"name": "A", **EMBED})
    assert r.status_code == 400 and "Please choose a time" in r.text
    assert posted(r.text, "calendly.date_and_time_selected") == {}
    assert "name='embed_domain'" in r.text


def test_hostile_embed_domain_is_escaped(sandbox_desk, page_client):
    """embed_domain is visitor-supplied: it is escaped in the form and never reaches a script."""
    evil = "x'><script>alert(1)</script>"
    r = page_client.get(
        new_link(sandbox_desk), params={"embed_type": "Inline", "embed_domain": evil}
    )
    assert "<script>alert(1)" not in r.text
    assert "x&#x27;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in r.text


def test_js_values_cannot_close_the_script_element():
    """The literal is still the same JSON, with no '<', '>' or '&' left in it."""
    value = {"uri": "</script><script>alert('&')</script>"}
    literal = _js_value(value)
    assert not set("<>&") & set(literal)
    assert json.loads(literal) == value
