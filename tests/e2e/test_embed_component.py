"""ui_embed.calendly_inline in Chromium: which postMessage events reach Python, which do not.

A fake "Calendly" page on one loopback port posts calendly.* messages to its parent; pages
on another port (another origin) and the top window itself post forged ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from tests.e2e.conftest import ROOT, running_app, settle
from tests.servers import serve
from ui_kit.calendly_embed import calendly_inline, clean_event, embed_origins

INVITEE = "https://api.calendly.test/scheduled_events/EV1/invitees/INV1"
EVENT = "https://api.calendly.test/scheduled_events/EV1"

POST = "const post = (event, payload) => parent.postMessage({event, payload}, '*');"

# The embedded scheduler: reports its height and a view on load, a time and a booking on
# clicks (plus messages that must be ignored), and links to a page on another origin.
GOOD = f"""<!doctype html><title>Fake Calendly</title>
<p id=query></p><button id=pick>Pick a time</button><button id=book>Schedule</button>
<a id=away href="{{other}}/away">Somewhere else</a>
<script>{POST}
document.getElementById('query').textContent = location.search;
post('calendly.page_height', {{height: '900px'}});
post('calendly.profile_page_viewed', {{}});
post('calendly.event_type_viewed', {{}});
document.getElementById('pick').onclick = () => post('calendly.date_and_time_selected', {{}});
document.getElementById('book').onclick = () => {{
  parent.postMessage('calendly.event_scheduled', '*');
  parent.postMessage({{event: 'not.calendly', payload: {{}}}}, '*');
  post('calendly.event_scheduled', {{event: {{uri: '{EVENT}'}}, invitee: {{uri: '{INVITEE}'}},
    extra: 'x'.repeat(5000)}});
}};
</script>"""

# Same allowed origin, but not the component's iframe (the test adds it beside it).
ROGUE = f"""<!doctype html><title>Rogue</title><p id=done></p><script>{POST}
post('calendly.event_scheduled', {{invitee: {{uri: 'forged-sibling'}}}});
document.getElementById('done').textContent = 'rogue posted';
</script>"""

# Another origin, loaded into the component's own iframe.
AWAY = f"""<!doctype html><title>Elsewhere</title><p id=done></p>
<a id=back href="{{good}}/d/abc/back">Back</a><script>{POST}
post('calendly.event_scheduled', {{invitee: {{uri: 'forged-other-origin'}}}});
document.getElementById('done').textContent = 'away posted';
</script>"""


def _pages(pages: dict[str, str]) -> Starlette:
    """A tiny site serving ``pages`` (path → HTML), filled in once its URL is known."""

    async def page(request: Request) -> HTMLResponse:
        body = pages.get(request.url.path)
        return HTMLResponse(body) if body is not None else HTMLResponse("", status_code=404)

    return Starlette(routes=[Route("/{path:path}", page)])


@pytest.fixture(scope="module")
def fake_calendly() -> Iterator[dict]:
    """Two tiny page servers: the allowed "Calendly" origin and another origin."""
    good, other = {}, {}
    with serve(_pages(good)) as good_url, serve(_pages(other)) as other_url:
        page = GOOD.replace("{other}", other_url)
        good.update({"/d/abc/quick": page, "/d/abc/back": page, "/rogue": ROGUE})
        other["/away"] = AWAY.replace("{good}", good_url)
        yield {"origin": good_url, "url": f"{good_url}/d/abc/quick?name=Ada+L", "other": other_url}


@pytest.fixture(scope="module")
def embed_app(fake_calendly, tmp_path_factory) -> Iterator[str]:
    """`streamlit run tests/e2e/embed_app/app.py` on a free loopback port."""
    with running_app(
        tmp_path_factory,
        "embed",
        script="tests/e2e/embed_app/app.py",
        health="/_stcore/health",
        PYTHONPATH=str(ROOT),
        EMBED_TEST_URL=fake_calendly["url"],
        EMBED_TEST_ORIGIN=fake_calendly["origin"],
    ) as server:
        yield server["url"]


def _quiet(page: Page) -> None:
    """Give a wrongly accepted message time to rerun the script, then let the rerun end."""
    page.wait_for_timeout(700)
    settle(page)


@pytest.mark.browser
def test_only_the_embedded_calendly_frame_reaches_python(page: Page, embed_app, fake_calendly):
    """Allowed origin + own iframe + calendly.* event → Python; every forgery is ignored."""
    page.goto(embed_app)
    settle(page)
    seen = page.get_by_text("seen ")
    expect(seen).to_have_text(["seen 0: calendly.event_type_viewed invitee=None event=None"])

    iframe = page.locator("iframe[title='Calendly scheduling']")
    src = iframe.get_attribute("src")
    host = urlsplit(embed_app).netloc
    assert (
        src == f"{fake_calendly['url']}&embed_type=Inline&embed_domain={host.replace(':', '%3A')}"
    )
    expect(iframe).to_have_attribute("width", "100%")
    assert iframe.evaluate("f => f.style.height") == "900px"  # calendly.page_height
    frame = page.frame_locator("iframe[title='Calendly scheduling']")
    expect(frame.locator("#query")).to_have_text(src[src.index("?") :])

    # Forged: from the top window, and from another frame on the allowed origin.
    page.evaluate(
        "() => window.postMessage({event: 'calendly.event_scheduled',"
        " payload: {invitee: {uri: 'forged-top'}}}, '*')"
    )
    page.evaluate(
        "src => { const f = document.createElement('iframe'); f.id = 'rogue'; f.src = src;"
        " document.body.appendChild(f); }",
        f"{fake_calendly['origin']}/rogue",
    )
    expect(page.frame_locator("#rogue").locator("#done")).to_have_text("rogue posted")
    _quiet(page)
    frame.get_by_role("button", name="Pick a time").click()
    expect(seen.nth(1)).to_have_text(
        "seen 1: calendly.date_and_time_selected invitee=None event=None"
    )

    # Forged: the component's own iframe, navigated to another origin.
    frame.get_by_role("link", name="Somewhere else").click()
    expect(frame.locator("#done")).to_have_text("away posted")
    _quiet(page)
    frame.get_by_role("link", name="Back").click()
    expect(seen.nth(2)).to_have_text("seen 2: calendly.event_type_viewed invitee=None event=None")

    frame.get_by_role("button", name="Schedule").click()
    expect(seen.nth(3)).to_have_text(
        f"seen 3: calendly.event_scheduled invitee={INVITEE} event={EVENT}"
    )
    settle(page)
    expect(page.get_by_test_id("stJson")).to_contain_text("INV1")
    expect(seen).to_have_count(4)
    assert "forged" not in page.locator("[data-testid=stMain]").inner_text()


def test_only_http_urls_on_an_allowed_origin_are_embedded():
    """The origin check happens in Python, before anything reaches the browser."""
    allowed = ["https://calendly.com", "http://127.0.0.1:8000/"]
    assert embed_origins("https://calendly.com/d/abc/x?y=1", allowed) == [
        "https://calendly.com",
        "http://127.0.0.1:8000",
    ]
    assert embed_origins("HTTPS://Calendly.com:443/x", ["https://calendly.com"])
    for url in (
        "javascript:alert(1)",
        "https://calendly.com.evil.example/x",
        "http://calendly.com/x",
        "https://user@calendly.com/x",
        "https://calendly.com:8443/x",
        "//calendly.com/x",
    ):
        with pytest.raises(ValueError):
            calendly_inline(url, allowed_origins=["https://calendly.com"], key="k")
    for origins in ([], "https://calendly.com", ["https://calendly.com/path"], ["ftp://x"]):
        with pytest.raises(ValueError):
            calendly_inline("https://calendly.com/x", allowed_origins=origins, key="k")


def test_triggered_values_are_checked_again_in_python():
    """Only the three events, only string URIs of a sane length."""
    assert clean_event({"event": "calendly.event_scheduled", "inviteeUri": "u", "x": 1}) == {
        "event": "calendly.event_scheduled",
        "inviteeUri": "u",
        "eventUri": None,
    }
    assert clean_event({"event": "calendly.page_height"}) is None
    assert clean_event("calendly.event_scheduled") is None
    long = clean_event({"event": "calendly.event_type_viewed", "eventUri": "x" * 513})
    assert long == {"event": "calendly.event_type_viewed", "inviteeUri": None, "eventUri": None}
