"""What the owner and the visitor wait for in a real browser, against the floor of the same
framework measured in the same run: a bare Streamlit page (a title and a button).

Headless Debian Chromium (/usr/bin/chromium) through Playwright, a fresh browser context
per try (no warm cache), `streamlit run` servers on loopback. Every span starts at an
action (a navigation or a click) and ends on a DOM condition, never on a fixed sleep:

- bare page ready: the title and the button are on the page and the script has finished;
- dashboard KPIs shown: /analytics (signed in) until the Attempts figure is on the page;
- every visible chart drawn: the same navigation until each chart on screen has its marks;
- a filter change: picking an analyst until the Attempts figure has changed and the run
  has finished;
- landing → first free times: / until the first times of Maya's intro call are on the
  page, clicking each of the three choices as soon as it can be clicked.

At 100,000 demo attempts (built once, cached in the temp folder) and 1,000,000 (the
database bench/analytics.py builds and caches; copied here, so its figures stay its own).
Goals at 1,000,000: KPIs <= 1.0x the bare page, all charts <= 1.3x, a filter change <= 0.5x,
landing -> first times <= 2.0x. Median of REPEATS tries each.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from playwright.sync_api import sync_playwright
from webhook_common import free_port

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
REPEATS = 5
PASSWORD = "bench owner password"
TMP = Path(tempfile.gettempdir())
ANALYTICS_DB = TMP / "booking-bench-analytics-1000000.db"  # bench/analytics.py's cache
GOALS = {"kpis": 1.0, "charts": 1.3, "filter": 0.5, "landing": 2.0}
BARE = """import streamlit as st

st.title("Bare page")
st.button("Press me")
"""
CHARTS_DRAWN = """() => {
  const charts = [...document.querySelectorAll('[data-testid=stVegaLiteChart]')]
    .filter(c => c.offsetParent !== null);
  return charts.length >= 5 && charts.every(c => {
    const m = c.querySelector('canvas, svg.marks');
    return m && m.getBoundingClientRect().height > 0;
  });
}"""
IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"


@contextlib.contextmanager
def serve(script: str, db: Path | None = None):
    """`streamlit run script` on a free loopback port; yields its URL once it answers."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "BOOKING_DB_PATH": str(db or TMP / "bench-browser-empty.db"),
        "BOOKING_PUBLIC_URL": url,
        "BOOKING_OWNER_PASSWORD": PASSWORD,
        "BOOKING_LIMIT_BOOKINGS_PER_HOUR": "0",
        "BOOKING_LIMIT_CALENDLY_PER_HOUR": "0",
        # background jobs off: only the pages are measured
        "BOOKING_FOLLOWUP_RUN_MINUTES": "0",
        "CALENDLY_RECONCILE_MINUTES": "0",
        "BOOKING_REMINDER_HOURS": "none",
        "BOOKING_RETENTION_DAYS": "0",
    }
    env.pop("CALENDLY_TOKEN", None)
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port)),
            *("--server.address", "127.0.0.1", "--server.headless", "true"),
            *("--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 180
    while True:
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{url}/_stcore/health", timeout=1).ok:
                break
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"{script} did not start")
        time.sleep(0.2)
    try:
        yield url
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=15)
        if proc.poll() is None:
            proc.kill()


def database(attempts: int) -> Path:
    """A demo history of ``attempts`` attempts: built once and cached, or (for 1,000,000)
    copied from bench/analytics.py's cache, built first if missing (about 4 minutes)."""
    if attempts == 1_000_000:
        if not ANALYTICS_DB.exists():
            subprocess.run([sys.executable, str(ROOT / "bench/analytics.py")], check=True)
        source = ANALYTICS_DB
    else:
        source = TMP / f"booking-bench-browser-{attempts}.db"
        if not source.exists():
            from booking.desk import build_desk
            from booking.settings import Settings

            desk = build_desk(
                Settings(db_path=str(source), catalogue_path=str(ROOT / "data/analysts.toml"))
            )
            desk.owner.load_demo_data(attempts, seed=2026)
            desk.store.db.execute("ANALYZE")
    copy = TMP / f"booking-bench-browser-run-{attempts}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{copy}{suffix}").unlink(missing_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    return copy


def timed(run) -> float:
    t0 = time.perf_counter()
    run()
    return time.perf_counter() - t0


def bare_page(browser, url: str) -> float:
    with new_page(browser) as page:
        return timed(
            lambda: (
                page.goto(url),
                page.get_by_role("heading", name="Bare page").wait_for(),
                page.get_by_role("button", name="Press me").wait_for(),
                page.locator(IDLE).wait_for(),
            )
        )


@contextlib.contextmanager
def new_page(browser, **context):
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB", **context)
    try:
        yield ctx.new_page()
    finally:
        ctx.close()


def owner_state(browser, url: str) -> dict:
    """Sign in once through the owner's form; later contexts reuse the session cookie."""
    with new_page(browser) as page:
        page.goto(f"{url}/owner/signin")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name=re.compile("Sign in")).click()
        page.wait_for_url(re.compile(r"/analytics"))
        return page.context.storage_state()


def attempts_figure(page) -> str:
    metric = page.get_by_test_id("stMetric").filter(has_text="Attempts").first
    return metric.get_by_test_id("stMetricValue").inner_text()


def dashboard(browser, url: str, state: dict) -> tuple[float, float, float]:
    """(KPIs shown, every visible chart drawn, a filter change), in seconds."""
    with new_page(browser, storage_state=state) as page:
        t0 = time.perf_counter()
        page.goto(f"{url}/analytics")
        page.get_by_test_id("stMetric").filter(has_text="Attempts").first.get_by_test_id(
            "stMetricValue"
        ).wait_for()
        kpis = time.perf_counter() - t0
        page.wait_for_function(CHARTS_DRAWN, timeout=120_000)
        charts = time.perf_counter() - t0
        page.locator(IDLE).wait_for(timeout=120_000)
        before = attempts_figure(page)
        page.get_by_role("combobox", name="Analyst").click()
        option = page.get_by_role("option", name="Maya Chen")
        option.wait_for()
        t1 = time.perf_counter()
        option.click()
        page.wait_for_function(
            """before => {
              const m = [...document.querySelectorAll('[data-testid=stMetric]')]
                .find(e => e.innerText.includes('Attempts'));
              const v = m && m.querySelector('[data-testid=stMetricValue]');
              const idle = document.querySelector(
                '[data-testid=stApp][data-test-script-state=notRunning]');
              return v && v.innerText !== before && idle;
            }""",
            arg=before,
            timeout=120_000,
        )
        return kpis, charts, time.perf_counter() - t1


def landing(browser, url: str) -> float:
    """/ → Choose Maya → Intro call → the first open day → the first free times shown."""
    with new_page(browser) as page:
        return timed(
            lambda: (
                page.goto(url),
                page.get_by_role("button", name="Choose Maya").click(),
                page.get_by_text("Intro call — ").click(),
                page.get_by_role("button", name=re.compile(r", \d+ free times?$")).first.click(),
                page.get_by_role("radiogroup", name="Time").get_by_role("radio").first.wait_for(),
            )
        )


def median(values: list[float]) -> float:
    return statistics.median(values)


def main(sizes: tuple[int, ...] = (100_000, 1_000_000), repeats: int = REPEATS) -> None:
    bare_script = TMP / "bench_bare_page.py"
    bare_script.write_text(BARE)
    results: dict = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        with serve(str(bare_script)) as bare_url:
            bare_page(browser, bare_url)  # the server's first page load compiles nothing twice
            for attempts in sizes:
                db = database(attempts)
                with serve("app.py", db) as url:
                    state = owner_state(browser, url)
                    dashboard(browser, url, state)  # warm the server (imports, caches)
                    landing(browser, url)
                    spans: dict[str, list[float]] = {k: [] for k in ("bare", *GOALS)}
                    for _ in range(repeats):  # interleaved, so drift hits all alike
                        spans["bare"].append(bare_page(browser, bare_url))
                        kpis, charts, change = dashboard(browser, url, state)
                        spans["kpis"].append(kpis)
                        spans["charts"].append(charts)
                        spans["filter"].append(change)
                        spans["landing"].append(landing(browser, url))
                    results[attempts] = {k: median(v) for k, v in spans.items()}
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{db}{suffix}").unlink(missing_ok=True)
        browser.close()
    labels = {
        "kpis": "dashboard KPIs shown",
        "charts": "every visible chart drawn",
        "filter": "a filter change (analyst)",
        "landing": "landing -> first free times (3 clicks)",
    }
    print(
        f"browser spans, headless Chromium, 1280x800, median of {repeats} fresh contexts "
        "(seconds; x = against the bare Streamlit page measured alongside)"
    )
    for attempts, spans in results.items():
        bare = spans["bare"]
        print(f"  at {attempts:,} demo attempts — bare page (title + button) ready {bare:.2f} s")
        for key, label in labels.items():
            ratio = spans[key] / bare
            goal = GOALS[key]
            verdict = "" if attempts != 1_000_000 else (" ok" if ratio <= goal else " MISSED")
            print(
                f"    {label:<40} {spans[key]:5.2f} s  {ratio:4.2f}x"
                f"  (goal at 1M <= {goal:.1f}x){verdict}"
            )


if __name__ == "__main__":
    if "--quick" in sys.argv:  # a try-out: 100,000 attempts, two tries
        main((100_000,), 2)
    else:
        main()
