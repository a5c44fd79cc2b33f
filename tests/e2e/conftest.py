"""Real-browser fixtures: Debian's Chromium through Playwright against `streamlit run app.py`."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import time
import weakref
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from axe_playwright_python.sync_playwright import Axe

from tests.servers import free_port

ROOT = Path(__file__).parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
OWNER_PASSWORD = "e2e owner pass"


def pytest_collection_modifyitems(items):
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("CI"):
        raise pytest.UsageError(f"CI needs Chromium for the browser tests; none at {CHROMIUM}")
    skip = pytest.mark.skip(reason="Chromium not installed (apt-get install chromium)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


AXE = Axe()
_checked: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # page → paths axe passed
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
OPEN_DAY = re.compile(r", \d+ free times?$")  # a month calendar day that can be picked


def assert_accessible(page, where: str = "") -> None:
    """axe-core (all its rules but the experimental ones) on the page as it is now: no
    serious or critical violation."""
    if not urlsplit(page.url).path.startswith("/sandbox/"):  # a Streamlit page:
        # no element still faded out as stale from the last rerun (contrast reads opacity)
        page.wait_for_function("() => !document.querySelector('[data-stale=true]')")
        page.wait_for_timeout(300)
    result = AXE.run(page)
    bad = [v for v in result.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, f"{where or page.url}:\n" + "\n".join(
        f"{v['id']} ({v['impact']}): {[n['html'][:100] for n in v['nodes'][:3]]}" for v in bad
    )


def settle(page) -> None:
    """Wait until Streamlit has finished the rerun that the last action started; the first
    time a page (path) is seen in a test, check it with axe."""
    page.wait_for_timeout(100)
    page.locator("[data-testid=stApp][data-test-script-state=notRunning]").wait_for()
    path = urlsplit(page.url).path
    seen = _checked.setdefault(page, set())
    if path not in seen:
        seen.add(path)
        assert_accessible(page)


def focused(page) -> str:
    """What has the keyboard focus: its tag, role and accessible name or text ('BODY||'
    when nothing has it: the body's text is the whole page, which would match anything)."""
    return page.evaluate(
        "() => { const e = document.activeElement; if (!e || e === document.body) return 'BODY||';"
        " return [e.tagName, e.getAttribute('role') || e.type || '',"
        " e.getAttribute('aria-label') || e.innerText || ''].join('|'); }"
    )


def wait_focus(page, pattern: str) -> None:
    """The focus arrives (the page moves it once the step is drawn), and stays."""
    for _ in range(50):
        if re.search(pattern, focused(page)):
            page.wait_for_timeout(300)  # not taken away again by a late redraw
            if re.search(pattern, focused(page)):
                return
        page.wait_for_timeout(100)
    raise AssertionError(f"focus is on {focused(page)!r}, not /{pattern}/")


def pick_date(page) -> None:
    """The first date with free times in the book page's month calendar."""
    page.get_by_role("button", name=OPEN_DAY).first.click()
    settle(page)


def pick_first_time(page, analyst: str, meeting: str) -> str:
    """On the Book page: the analyst, the meeting type, the first free date and its first
    time; returns that time as shown."""
    page.get_by_role("button", name=f"Choose {analyst}").click()
    settle(page)
    page.get_by_text(meeting).click()
    settle(page)
    pick_date(page)
    return pick_time(page)


def pick_time(page) -> str:
    """Click the first free time and wait for the page to move the focus to the Name field
    (typing before it lands would pull the keystrokes into Name); returns the time shown."""
    first = page.get_by_role("radiogroup", name="Time").get_by_role("radio").first
    chosen = first.inner_text()
    first.click()
    settle(page)
    page.wait_for_function(
        "() => document.activeElement && document.activeElement.closest('.st-key-field-name')"
    )
    return chosen


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """British English: 24-hour times, as the journeys compare them with the sandbox's."""
    return {**browser_context_args, "locale": "en-GB"}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@contextlib.contextmanager
def running_app(
    tmp_path_factory, name: str, *, script: str = "app.py", health: str = "/healthz", **env_extra
):
    """`streamlit run <script>` on a free loopback port with its own database; yields its
    URL once ``health`` answers."""
    port = free_port()
    db = tmp_path_factory.mktemp(name) / "booking.db"
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "BOOKING_DB_PATH": str(db),
        "BOOKING_PUBLIC_URL": url,
        "BOOKING_OWNER_PASSWORD": OWNER_PASSWORD,
        # One loopback client books many times here; the limits have their own tests.
        "BOOKING_LIMIT_BOOKINGS_PER_HOUR": "0",
        "BOOKING_LIMIT_CALENDLY_PER_HOUR": "0",
        **env_extra,
    }
    env.pop("CALENDLY_TOKEN", None)
    log = (tmp_path_factory.getbasetemp() / f"streamlit-{name}.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            script,
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{url}{health}", timeout=1).ok:
                break
        except requests.RequestException:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"streamlit did not start; see {log.name}")
        time.sleep(0.2)
    try:
        yield {"url": url, "db": str(db)}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def app_server(tmp_path_factory):
    """The app as shipped (Assassin in redirect mode)."""
    with running_app(tmp_path_factory, "e2e") as server:
        yield server


@pytest.fixture(scope="session")
def mode_server(tmp_path_factory):
    """Start (once each) the app with Assassin switched to another hand-off mode."""
    with contextlib.ExitStack() as stack:
        servers: dict = {}

        def start(mode: str) -> dict:
            if mode not in servers:
                catalogue = tmp_path_factory.mktemp(f"catalogue-{mode}") / "analysts.toml"
                shipped = (ROOT / "data/analysts.toml").read_text(encoding="utf-8")
                catalogue.write_text(
                    shipped.replace('handoff = "redirect"', f'handoff = "{mode}"'),
                    encoding="utf-8",
                )
                for beside in (ROOT / "data").glob("*.ics"):  # files the catalogue names
                    (catalogue.parent / beside.name).write_bytes(beside.read_bytes())
                servers[mode] = stack.enter_context(
                    running_app(tmp_path_factory, mode, BOOKING_CATALOGUE=str(catalogue))
                )
            return servers[mode]

        yield start
