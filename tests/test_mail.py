"""Emails: rendering, the outbox and delivery through a real SMTP server on loopback."""

from __future__ import annotations

import email
import email.policy
import threading
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from booking import mail
from booking.settings import Settings
from booking.store import Store, iso, parse_iso
from tests.servers import free_port

T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
LONDON = ZoneInfo("Europe/London")
SENDER = "bookings@desk.example"
BRAND = "Acme Research"


def make_booking(**changes) -> SimpleNamespace:
    fields = {
        "reference": "BD-TEST-0001",
        "analyst": SimpleNamespace(name="Maya Chen"),
        "meeting": SimpleNamespace(name="Intro call"),
        "start": datetime(2026, 12, 8, 10, 0, tzinfo=LONDON),
        "end": datetime(2026, 12, 8, 11, 0, tzinfo=LONDON),
        "name": "Ada <script>alert(1)</script>",
        "email": "ada@example.com",
        "notes": "Bring the <b>charts</b> & data",
        "visitor_tz": "Europe/London",
        "created_at": T0,
        "status": "confirmed",
        "sequence": 0,
        "place": None,
    }
    return SimpleNamespace(**{**fields, **changes})


class Recorder:
    """A transport that records what it sends, slowly if asked, failing if asked."""

    def __init__(self, *, delay: float = 0.0, error: Exception | None = None) -> None:
        self.sent: list = []
        self.delay, self.error = delay, error
        self.lock = threading.Lock()

    def send(self, msg) -> None:
        time.sleep(self.delay)
        if self.error:
            raise self.error
        with self.lock:
            self.sent.append(msg)


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(tmp_path / "b.db")


def rows(store: Store) -> list[dict]:
    return list(store.db.query("SELECT * FROM outbox ORDER BY id"))


def queue(store: Store, m: mail.Mail, now: datetime = T0) -> bool:
    return mail.enqueue(store, m, now=now, sender=SENDER, brand=BRAND)


def test_confirmation_arrives_through_smtp_with_a_correct_ics_and_escaped_html(store, smtp_server):
    """The whole path works against a real SMTP server, and visitor text cannot inject HTML."""
    controller, handler = smtp_server
    booking = make_booking()
    m = mail.confirmation(booking, brand=BRAND, manage_url="https://desk.example/done?ref=1")
    assert queue(store, m)
    transport = mail.SmtpTransport("127.0.0.1", controller.port, security="none", timeout=5)

    assert mail.deliver_due(store, transport, now=T0) == {"sent": 1}

    [envelope] = handler.envelopes
    assert envelope.rcpt_tos == ["ada@example.com"]
    msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert msg["From"].addresses[0].display_name == BRAND
    assert msg["Subject"] == "Booked: Intro call with Maya Chen, Tue 8 Dec 10:00 GMT"
    [ics] = [p for p in msg.iter_attachments() if p.get_filename() == "BD-TEST-0001.ics"]
    assert ics.get_content_type() == "text/calendar"
    assert ics.get_param("method") == "REQUEST"  # an invitation: the part says as the file
    invitation = Calendar.from_ical(ics.get_content())
    assert invitation["METHOD"] == "REQUEST"
    event = invitation.walk("VEVENT")[0]
    assert event["DTSTART"].dt == booking.start
    page = msg.get_body(("html",)).get_content()
    assert "&lt;script&gt;" in page and "<script>" not in page
    assert "&lt;b&gt;charts&lt;/b&gt; &amp; data" in page
    assert 'href="https://desk.example/done?ref=1"' in page
    text = msg.get_body(("plain",)).get_content()
    assert "Tuesday 8 December 2026, 10:00–11:00 (Europe/London)" in text
    assert rows(store)[0]["status"] == "sent"
    assert rows(store)[0]["sent_at"] == iso(T0)


def test_times_are_shown_in_the_visitors_zone():
    """A New York visitor reads the London 10:00 session as 05:00 their time."""
    booking = make_booking(visitor_tz="America/New_York")
    assert mail.when(booking) == "Tuesday 8 December 2026, 05:00–06:00 (America/New_York)"


def test_enqueueing_the_same_key_twice_keeps_one_mail(store):
    """A key is queued at most once, so a retried use-case never mails twice."""
    m = mail.confirmation(make_booking(), brand=BRAND, manage_url="https://x")
    assert queue(store, m) is True
    assert queue(store, m, now=T0 + timedelta(minutes=5)) is False
    [row] = rows(store)
    assert (row["key"], row["status"], row["tries"]) == ("confirmation:BD-TEST-0001", "queued", 0)
    assert row["booking_ref"] == "BD-TEST-0001"


def test_without_smtp_mails_are_kept_for_the_owner_to_read(store):
    """No transport: nothing is sent, the mail is kept and readable in the outbox."""
    queue(store, mail.confirmation(make_booking(), brand=BRAND, manage_url="https://x"))
    booking = make_booking(reference="BD-TEST-0002")
    queue(store, mail.cancellation(booking, brand=BRAND, book_url="https://b", refund_due=True))

    assert mail.deliver_due(store, None, now=T0) == {"kept": 2}
    assert mail.deliver_due(store, None, now=T0) == {}

    newest, oldest = mail.outbox(store)
    assert [newest["kind"], oldest["kind"]] == ["cancellation", "confirmation"]
    assert newest["status"] == "kept" and newest["sent_at"] is None
    assert "will be refunded" in newest["text"] and "Book another time: https://b" in newest["text"]
    assert "Hi Ada <script>alert(1)</script>," in oldest["text"]
    assert "message" not in newest


def test_a_failed_send_backs_off_and_a_later_try_succeeds(store):
    """The SMTP server is down: the mail stays queued with the error, then goes out later."""
    queue(store, mail.confirmation(make_booking(), brand=BRAND, manage_url="https://x"))
    down = mail.SmtpTransport("127.0.0.1", free_port(), security="none", timeout=2)

    assert mail.deliver_due(store, down, now=T0) == {"retry": 1}
    [row] = rows(store)
    assert (row["status"], row["tries"]) == ("queued", 1)
    assert row["next_try_at"] == iso(T0 + timedelta(minutes=1))
    assert "ConnectionRefused" in row["last_error"]
    assert mail.deliver_due(store, down, now=T0 + timedelta(seconds=30)) == {}

    up = Recorder()
    assert mail.deliver_due(store, up, now=T0 + timedelta(minutes=1)) == {"sent": 1}
    [row] = rows(store)
    assert (row["status"], row["tries"], row["last_error"]) == ("sent", 2, None)
    assert len(up.sent) == 1
    assert store.db["bookings"].count == 0  # the outbox knows nothing of bookings


def test_a_mail_is_given_up_after_max_tries(store):
    """Each failure waits longer (1, 5, 30 min…), and the last allowed one marks it failed."""
    queue(store, mail.confirmation(make_booking(), brand=BRAND, manage_url="https://x"))
    broken = Recorder(error=OSError("boom"))
    now, waits = T0, []
    for expected in ("retry", "retry", "failed"):
        assert mail.deliver_due(store, broken, now=now, max_tries=3) == {expected: 1}
        [row] = rows(store)
        if row["next_try_at"]:
            waits.append(parse_iso(row["next_try_at"]) - now)
            now = parse_iso(row["next_try_at"])
    assert waits == [timedelta(minutes=1), timedelta(minutes=5)]
    assert (row["status"], row["tries"], row["last_error"]) == ("failed", 3, "OSError: boom")
    assert mail.deliver_due(store, Recorder(), now=now + timedelta(days=1)) == {}


def test_two_deliverers_at_once_send_every_mail_exactly_once(store):
    """Claims are compare-and-set, so concurrent deliverers never double-send."""
    for i in range(20):
        booking = make_booking(reference=f"BD-TEST-{i:04d}")
        queue(store, mail.confirmation(booking, brand=BRAND, manage_url="https://x"))
    transport = Recorder(delay=0.01)
    start = threading.Barrier(2)
    counts = []

    def run() -> None:
        start.wait()
        counts.append(mail.deliver_due(store, transport, now=T0))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    subjects = [m["Subject"] for m in transport.sent]
    refs = sorted(a.get_filename() for m in transport.sent for a in m.iter_attachments())
    assert len(subjects) == 20
    assert refs == [f"BD-TEST-{i:04d}.ics" for i in range(20)]
    assert sum(c["sent"] for c in counts) == 20
    assert {r["status"] for r in rows(store)} == {"sent"}


def test_followup_has_a_fresh_link_and_one_click_unsubscribe():
    """A follow-up carries the resume link, a stop link and a List-Unsubscribe header."""
    m = mail.followup(
        to="ada@example.com",
        name="Ada",
        attempt_id="att-1",
        number=2,
        analyst_name="Maya Chen",
        meeting_name="Intro call",
        resume_url="https://desk.example/?resume=tok",
        stop_url="https://desk.example/api/followups/stop?t=abc",
        brand=BRAND,
    )
    assert (m.kind, m.key, m.attempt_id) == ("followup", "followup:att-1:2", "att-1")
    msg = m.to_message(sender=SENDER, brand=BRAND, now=T0)
    assert msg["List-Unsubscribe"] == "<https://desk.example/api/followups/stop?t=abc>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = msg.get_body(("plain",)).get_content()
    assert "https://desk.example/?resume=tok" in text
    assert "https://desk.example/api/followups/stop?t=abc" in text
    assert 'href="https://desk.example/api/followups/stop?t=abc"' in m.html


def test_calendly_confirmation_shows_only_the_links_it_has():
    """Calendly's reschedule link is shown; an empty cancel link is left out."""
    m = mail.calendly_confirmation(
        make_booking(), brand=BRAND, cancel_url="", reschedule_url="https://calendly.com/r/1"
    )
    assert m.key == "calendly_confirmation:BD-TEST-0001"
    assert "Reschedule: https://calendly.com/r/1" in m.text
    assert "Cancel" not in m.text
    assert [a[0] for a in m.attachments] == ["BD-TEST-0001.ics"]


def test_smtp_transport_comes_from_settings_and_hides_its_password():
    """No SMTP host means no transport; the password never shows in a repr."""
    assert mail.from_settings(Settings()) is None
    settings = Settings(smtp_host="smtp.example.com", smtp_username="u", smtp_password="hunter2")
    transport = mail.from_settings(settings)
    assert (transport.host, transport.port, transport.security) == (
        "smtp.example.com",
        587,
        "starttls",
    )
    assert "hunter2" not in repr(transport)
