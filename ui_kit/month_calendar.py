"""A month calendar of the dates with free times, as a Streamlit v2 component.

Each day is a real ``<button>`` in a table under weekday column headers, named in full for
screen readers ("Tuesday 8 December 2026, 6 free times"; "…, no free times" for the rest,
which stay focusable but disabled with ``aria-disabled``). The arrow keys move between days
(one tab stop for the whole month, as in the WAI-ARIA date picker pattern), Home/End go to
the week's ends, Page Up/Down change month; Enter or Space picks. Buttons are at least
44 px square (WCAG 2.5.5 target size). Months before the first and after the last open date
cannot be shown.

Python gives the open dates and the chosen one as data (JSON); nothing is formatted into
the HTML or the script. A click reports ``{"day": "YYYY-MM-DD"}`` back as the trigger
``pick``; the caller's ``on_pick`` callback reads it with ``picked(key)`` before the page's
script runs, so the page redraws once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date

import streamlit as st

_CSS = """
.cal{font-family:inherit;color:#1B2733;max-width:26rem}
.cal-head{display:flex;align-items:center;justify-content:space-between;margin:0 0 .25rem}
.cal-month{font-weight:600;font-size:1rem;margin:0}
.cal-nav{min-width:44px;min-height:44px;border:1px solid #D5DEE8;border-radius:.6rem;
  background:#fff;color:#0F4C81;font-size:1.1rem;cursor:pointer}
.cal-nav[aria-disabled=true]{color:#5b6876;background:#F3F6FA;cursor:not-allowed}
table.cal-grid{border-collapse:separate;border-spacing:2px;width:100%;table-layout:fixed}
.cal-grid th{font-size:.8rem;font-weight:600;color:#3d4a57;padding:.2rem 0;text-align:center}
.cal-grid td{padding:0;text-align:center}
.cal-day{width:100%;min-width:44px;min-height:44px;border-radius:.6rem;border:1px solid
  #D5DEE8;background:#fff;color:#0F4C81;font-weight:600;font-size:.95rem;cursor:pointer}
.cal-day:hover{background:#E8F0F8}
.cal-day[aria-disabled=true]{border-color:transparent;background:transparent;color:#5b6876;
  font-weight:400;cursor:default}
.cal-day[aria-pressed=true]{background:#0F4C81;border-color:#0F4C81;color:#fff}
.cal-day:focus-visible,.cal-nav:focus-visible{outline:3px solid #F2A541;outline-offset:1px}
.cal-day .cal-dot{display:block;width:6px;height:6px;border-radius:3px;margin:2px auto 0;
  background:currentColor}
.cal-day[aria-disabled=true] .cal-dot{display:none}
.cal-live{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
"""

_JS = """
const mounts = new WeakMap();
const WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
  "September", "October", "November", "December"];

function iso(y, m, d) {
  return `${y}-${String(m + 1).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
}
function parse(s) {
  const m = /^(\\d{4})-(\\d{2})-(\\d{2})$/.exec(String(s || ""));
  return m ? { y: +m[1], m: +m[2] - 1, d: +m[3] } : null;
}
function monthIndex(p) { return p.y * 12 + p.m; }
function daysIn(y, m) { return new Date(Date.UTC(y, m + 1, 0)).getUTCDate(); }
function weekday(y, m, d) { return (new Date(Date.UTC(y, m, d)).getUTCDay() + 6) % 7; }

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function render(inst) {
  const { root, open, first, last } = inst;
  const y = Math.floor(inst.month / 12), m = inst.month % 12;
  root.replaceChildren();
  const head = el("div", { class: "cal-head" });
  const nav = (label, text) =>
    el("button", { type: "button", class: "cal-nav", "aria-label": label }, text);
  const prev = nav("Previous month", "‹");
  const next = nav("Next month", "›");
  const title = el("p", { class: "cal-month", id: inst.id + "-title", "aria-live": "polite" },
    `${MONTHS[m]} ${y}`);
  if (inst.month <= first) prev.setAttribute("aria-disabled", "true");
  if (inst.month >= last) next.setAttribute("aria-disabled", "true");
  prev.addEventListener("click", () => move(inst, -1));
  next.addEventListener("click", () => move(inst, 1));
  head.append(prev, title, next);
  const table = el("table", { class: "cal-grid", "aria-labelledby": inst.id + "-title" });
  const thead = el("thead"), hr = el("tr");
  for (const name of WEEKDAYS) {
    const th = el("th", { scope: "col" });
    th.append(el("abbr", { title: name }, name.slice(0, 2)));
    hr.append(th);
  }
  thead.append(hr);
  const body = el("tbody");
  let row = el("tr");
  for (let i = 0; i < weekday(y, m, 1); i++) row.append(el("td"));
  const n = daysIn(y, m);
  let focusable = null;
  for (let d = 1; d <= n; d++) {
    const key = iso(y, m, d);
    const count = open[key] || 0;
    const label = `${WEEKDAYS[weekday(y, m, d)]} ${d} ${MONTHS[m]} ${y}, ` +
      (count ? `${count} free time${count === 1 ? "" : "s"}` : "no free times");
    const b = el("button", { type: "button", class: "cal-day", "data-day": key,
      "aria-label": label, tabindex: "-1" });
    const dot = el("span", { class: "cal-dot", "aria-hidden": "true" });
    b.append(document.createTextNode(String(d)), dot);
    if (!count) b.setAttribute("aria-disabled", "true");
    if (key === inst.selected) b.setAttribute("aria-pressed", "true");
    b.addEventListener("click", () => pick(inst, key));
    b.addEventListener("keydown", (e) => keys(inst, e, y, m, d));
    const cell = el("td");
    cell.append(b);
    row.append(cell);
    if (weekday(y, m, d) === 6 || d === n) { body.append(row); row = el("tr"); }
    if (key === inst.focusDay) focusable = b;
  }
  table.append(thead, body);
  root.append(head, table);
  if (!focusable) {
    focusable = root.querySelector(".cal-day[aria-pressed=true]") ||
      root.querySelector(".cal-day:not([aria-disabled=true])") || root.querySelector(".cal-day");
  }
  if (focusable) focusable.setAttribute("tabindex", "0");
  inst.focusable = focusable;
}

function move(inst, by) {
  const to = inst.month + by;
  if (to < inst.first || to > inst.last) return;
  inst.month = to;
  inst.focusDay = null;
  render(inst);
}

function pick(inst, key) {
  const count = inst.open[key] || 0;
  if (!count || typeof inst.send !== "function") return;
  inst.selected = key;
  inst.focusDay = key;
  render(inst);
  if (inst.focusable) inst.focusable.focus();
  inst.send("pick", { day: key });
}

function keys(inst, e, y, m, d) {
  const step = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -7, ArrowDown: 7 }[e.key];
  let target = null;
  if (step !== undefined) target = new Date(Date.UTC(y, m, d + step));
  else if (e.key === "Home") target = new Date(Date.UTC(y, m, d - weekday(y, m, d)));
  else if (e.key === "End") target = new Date(Date.UTC(y, m, d + 6 - weekday(y, m, d)));
  else if (e.key === "PageUp" || e.key === "PageDown") {
    const by = e.key === "PageUp" ? -1 : 1;
    target = new Date(Date.UTC(y, m + by, Math.min(d, daysIn(y, m + by))));
  } else return;
  e.preventDefault();
  const mi = target.getUTCFullYear() * 12 + target.getUTCMonth();
  if (mi < inst.first || mi > inst.last) return;
  inst.month = mi;
  inst.focusDay = iso(target.getUTCFullYear(), target.getUTCMonth(), target.getUTCDate());
  render(inst);
  if (inst.focusable) inst.focusable.focus();
}

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  const settings = data && typeof data === "object" ? data : {};
  const open = {};
  for (const [k, v] of Object.entries(settings.open || {})) {
    if (parse(k) && Number.isInteger(v) && v > 0) open[k] = v;
  }
  const days = Object.keys(open).sort();
  let inst = mounts.get(parentElement);
  if (!inst) {
    const root = el("div", { class: "cal" });
    parentElement.append(root);
    inst = { root, id: "cal-" + Math.random().toString(36).slice(2) };
    mounts.set(parentElement, inst);
  }
  inst.send = setTriggerValue;
  inst.open = open;
  const today = parse(settings.today) || parse(days[0]) || { y: 2000, m: 0, d: 1 };
  inst.first = Math.min(monthIndex(today), days.length ? monthIndex(parse(days[0])) : Infinity);
  inst.last = Math.max(inst.first, days.length ? monthIndex(parse(days[days.length - 1])) : 0);
  const selected = parse(settings.selected) && open[settings.selected] ? settings.selected : null;
  const shown = parse(settings.selected) || parse(days[0]) || today;
  if (selected !== inst.selected || inst.month === undefined) {
    inst.month = Math.min(Math.max(monthIndex(shown), inst.first), inst.last);
  }
  inst.selected = selected;
  inst.focusDay = selected;
  const hadFocus = parentElement.contains(document.activeElement);
  render(inst);
  if (hadFocus && inst.focusable) inst.focusable.focus();
  return () => {};
}
"""

_component = st.components.v2.component(
    "booking_desk_month_calendar", css=_CSS, js=_JS, isolate_styles=False
)


def picked(key: str) -> str | None:
    """The date the visitor just picked in the calendar ``key`` (in an ``on_pick``
    callback), checked: an ISO date string, else None."""
    value = st.session_state.get(key)
    pick = value.get("pick") if hasattr(value, "get") else None
    day = pick.get("day") if isinstance(pick, dict) else None
    try:
        return date.fromisoformat(day).isoformat() if isinstance(day, str) else None
    except ValueError:
        return None


def month_calendar(
    open_days: Mapping[date, int],
    *,
    selected: str | None,
    today: date,
    key: str,
    on_pick: Callable[[], None],
) -> None:
    """Show the months from ``today`` to the last open date; ``open_days`` maps each date
    with free times to how many. ``on_pick`` runs (before the page) when one is picked."""
    _component(
        key=key,
        data={
            "open": {d.isoformat(): n for d, n in open_days.items()},
            "selected": selected,
            "today": today.isoformat(),
        },
        on_pick_change=on_pick,
    )
