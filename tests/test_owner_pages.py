"""The owner's pages through AppTest: the sign-in gate and the dashboard itself."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from streamlit.testing.v1 import AppTest

from booking.desk import build_desk
from booking.domain.request import BookingRequest
from booking.settings import Settings
from ui_kit import charts as ui_charts

UI = str(Path(__file__).parents[1] / "ui.py")


@pytest.fixture
def owner_env(tmp_path, monkeypatch):
    monkeypatch.setenv("BOOKING_DB_PATH", str(tmp_path / "owner.db"))
    monkeypatch.setenv("BOOKING_OWNER_PASSWORD", "correct horse")
    return build_desk(Settings.from_env())


def book_maya(desk, email: str, *, day: int = 0) -> None:
    """A booking by ``email`` of Maya's intro call, at the first time of her ``day``-th
    open day."""
    days = list(desk.offers.open_days("maya-chen", "intro", ZoneInfo("Europe/London")).values())
    desk.local.book(
        BookingRequest(
            analyst="maya-chen",
            meeting_type="intro",
            start=days[day][0].start,
            name="Someone",
            email=email,
            timezone="Europe/London",
        )
    )


def test_the_analytics_page_does_not_exist_before_sign_in(owner_env):
    """A visitor has no Analytics page: switching to it fails, the sign-in page asks."""
    at = AppTest.from_file(UI, default_timeout=30).run()
    with pytest.raises(ValueError, match="Could not find"):
        at.switch_page("app_pages/analytics.py")
    at.switch_page("app_pages/owner.py").run()
    assert at.title[0].value == "Owner sign-in"


def test_the_sign_in_page_sends_the_owner_to_the_password_form_and_hides_analytics(owner_env):
    """The password form is our own route (it sets the HttpOnly cookie); until signed in,
    there is no analytics page."""
    at = AppTest.from_file(UI, default_timeout=30).run()
    at.switch_page("app_pages/owner.py").run()
    assert at.title[0].value == "Owner sign-in"
    assert 'href="/owner/signin"' in at.markdown[0].value
    assert "is_owner" not in at.session_state and not at.text_input


def test_without_a_password_the_sign_in_page_explains_how_to_set_one(tmp_path, monkeypatch):
    """No password configured: the page says which setting to use; nobody can get in."""
    monkeypatch.setenv("BOOKING_DB_PATH", str(tmp_path / "x.db"))
    monkeypatch.delenv("BOOKING_OWNER_PASSWORD", raising=False)
    at = AppTest.from_file(UI, default_timeout=30).run()
    at.switch_page("app_pages/owner.py").run()
    assert "BOOKING_OWNER_PASSWORD" in at.info[0].value
    assert not at.text_input


def test_the_dashboard_renders_every_section_and_filters(owner_env):
    """With history, the page shows KPIs, charts and tables; a filter changes the numbers."""
    owner_env.owner.load_demo_data(800, seed=3)
    at = AppTest.from_file(UI, default_timeout=60)
    at.session_state["is_owner"] = True
    at.run().switch_page("app_pages/analytics.py").run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert {"Attempts", "Booked", "Canceled", "Canceled (of booked)", "Deliveries"} <= set(metrics)
    assert at.header[0].value == "This period against the previous one"  # h1, then h2
    everyone = metrics["Attempts"]
    at.segmented_control(key="provider").set_value("local").run()
    assert {m.label: m.value for m in at.metric}["Attempts"] != everyone
    at.button(key="prepare_attempts").click().run()
    assert at.get("download_button")[0].proto.label == "Download attempts.csv"
    at.button(key="prepare_bookings").click().run()
    assert len(at.get("download_button")) == 2


def test_chart_specs_encode_the_funnel_order_and_labels():
    """The funnel chart keeps the step order and labels each bar with % and drop-off."""
    import pandas as pd

    funnel = pd.DataFrame(
        {
            "step": ["Attempts", "Chosen", "Details", "Booked"],
            "count": [10, 10, 12, 4],
            "pct_of_start": [1.0, 1.0, 1.2, 0.4],
            "dropoff": [0.0, 0.0, -0.2, 0.6667],
        }
    )
    spec = ui_charts.funnel_chart(funnel).to_dict()
    assert spec["layer"][0]["encoding"]["y"]["sort"] == ["Attempts", "Chosen", "Details", "Booked"]
    labels = [row["label"] for row in spec["datasets"][next(iter(spec["datasets"]))]]
    assert labels == [
        "10 · 100% of start",
        "10 · 100% of start · 0%",
        "12 · 120% of start · +20%",
        "4 · 40% of start · −67%",
    ]


def test_the_email_outbox_shows_a_visitors_address_as_typed(owner_env):
    """'To *star*_under_@example.com' in the outbox stays as typed: no emphasis, no link."""
    from tests.test_pages import MARKED_UP_EMAIL, as_rendered

    owner_env.owner.load_demo_data(40, seed=2)
    book_maya(owner_env, MARKED_UP_EMAIL)
    at = AppTest.from_file(UI, default_timeout=60)
    at.session_state["is_owner"] = True
    at.run().switch_page("app_pages/analytics.py").run()
    assert not at.exception
    [to] = [c.value for c in at.caption if c.value.startswith("To ")]
    rendered, text = as_rendered(to)
    assert "<em>" not in rendered and "<a " not in rendered
    assert text.startswith(f"To {MARKED_UP_EMAIL} · tries")


def test_looking_up_another_person_unticks_the_erase_confirmation(owner_env):
    """The confirmation given for one person never carries over to the next Look up."""
    owner_env.owner.load_demo_data(40, seed=2)
    people = ("first.person@example.com", "second.person@example.com")
    for day, email in enumerate(people):
        book_maya(owner_env, email, day=day)
    at = AppTest.from_file(UI, default_timeout=60)
    at.session_state["is_owner"] = True
    at.run().switch_page("app_pages/analytics.py").run()
    for email in people:
        at.text_input(key="privacy_email").input(email)
        next(b for b in at.button if b.label == "Look up").click().run()
        assert not at.exception
        assert at.checkbox(key="privacy_sure").value is False
        assert at.button(key="privacy_erase").disabled
        at.checkbox(key="privacy_sure").check().run()
        assert not at.button(key="privacy_erase").disabled
    assert "second.person" in at.checkbox(key="privacy_sure").label.replace("\\", "")


def test_their_data_is_built_once_per_look_up_and_ready_in_the_button(owner_env, monkeypatch):
    """The JSON is built at Look up and kept, not on each rerun; the button holds the file
    itself (a file built on the click was lost when the page reran: 'Deferred file … not
    found')."""
    from booking.desk.privacy import Privacy

    built = []
    export_json = Privacy.export_json
    monkeypatch.setattr(
        Privacy, "export_json", lambda self, a: built.append(a) or export_json(self, a)
    )
    owner_env.owner.load_demo_data(40, seed=2)
    book_maya(owner_env, "kit.export@example.com")
    at = AppTest.from_file(UI, default_timeout=60)
    at.session_state["is_owner"] = True
    at.run().switch_page("app_pages/analytics.py").run()
    at.text_input(key="privacy_email").input("kit.export@example.com")
    next(b for b in at.button if b.label == "Look up").click().run()
    at.checkbox(key="privacy_sure").check().run()
    at.segmented_control(key="provider").set_value("local").run()  # the whole page reruns
    assert not at.exception and built == ["kit.export@example.com"]
    (download,) = [d for d in at.get("download_button") if "JSON" in d.proto.label]
    assert download.proto.url.endswith(".json") and not download.proto.deferred_file_id
