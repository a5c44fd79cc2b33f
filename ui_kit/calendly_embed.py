"""Calendly's inline embed as a Streamlit v2 custom component that reports back to Python.

The component's JavaScript creates the scheduling iframe itself (a v2 component is not
sandboxed, so Calendly can still navigate the top window on a click) and listens for the
`calendly.*` messages the embedded page posts to its parent. Only messages from the iframe
itself, from an allowed origin, are passed on. The URL and the allowed origins travel as
component data (JSON); nothing is ever formatted into the HTML or the script.

This is the edge: it imports streamlit and keeps the last event in session state.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import streamlit as st

from booking.domain.funnel import EMBED_STEPS

# Given to the script as data too, so Python and the script share one definition.
TITLE = "Calendly scheduling"  # the iframe's accessible title
EVENTS = tuple(EMBED_STEPS)  # the events reported to Python
MAX_URI = 512  # longer "URIs" are dropped (null)
_TRIGGER = "calendly_event"

_CSS = """
iframe.calendly-inline{display:block;width:100%;min-width:320px;border:0;box-sizing:border-box}
p.calendly-error{margin:0;padding:.6rem;color:#8a1c1c}
"""

_JS = """
const instances = new WeakMap();  // parentElement -> this mount's iframe, listener, settings

function uriOf(part, maxUri) {
  if (!part || typeof part !== "object") return null;
  const uri = part.uri;
  return typeof uri === "string" && uri.length <= maxUri ? uri : null;
}

function pixels(value, fallback) {
  const n = typeof value === "number" ? value : parseInt(String(value), 10);
  return Number.isFinite(n) ? Math.min(Math.max(Math.round(n), 320), 5000) : fallback;
}

// The iframe address: the given http(s) URL on an allowed origin, plus Calendly's embed
// parameters. Built with the URL API so nothing is concatenated into the address.
function embedSrc(url, allowed) {
  let u;
  try {
    u = new URL(String(url));
  } catch (e) {
    return null;
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") return null;
  if (u.username || u.password || !allowed.includes(u.origin)) return null;
  u.searchParams.set("embed_type", "Inline");
  u.searchParams.set("embed_domain", window.location.host);
  return u.toString();
}

function onMessage(inst, event) {
  const frame = inst.iframe;
  const win = frame ? frame.contentWindow : null;
  if (!win || event.source !== win) return;  // only our own iframe (null never matches)
  if (!inst.allowed.includes(event.origin)) return;  // exact origin match
  const msg = event.data;
  if (!msg || typeof msg !== "object") return;
  const name = msg.event;
  if (typeof name !== "string" || !name.startsWith("calendly.")) return;
  const payload = msg.payload && typeof msg.payload === "object" ? msg.payload : {};
  if (name === "calendly.page_height") {
    frame.style.height = pixels(payload.height, inst.height) + "px";
    return;
  }
  if (!inst.wanted.has(name) || typeof inst.send !== "function") return;
  inst.send("calendly_event", {
    event: name,
    inviteeUri: uriOf(payload.invitee, inst.maxUri),
    eventUri: uriOf(payload.event, inst.maxUri),
  });
}

// Called again on every rerun with the same parentElement: keep one listener and one
// iframe per mount, and only replace the iframe when the address changes.
export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  let inst = instances.get(parentElement);
  if (!inst) {
    inst = { iframe: null, src: "", allowed: [], height: 700, send: null, generation: 0 };
    inst.listener = (event) => onMessage(inst, event);
    window.addEventListener("message", inst.listener);  // before any iframe exists
    instances.set(parentElement, inst);
  }
  const generation = ++inst.generation;
  const settings = data && typeof data === "object" ? data : {};
  inst.send = setTriggerValue;
  inst.allowed = Array.isArray(settings.allowedOrigins)
    ? settings.allowedOrigins.filter((o) => typeof o === "string")
    : [];
  inst.wanted = new Set(Array.isArray(settings.events) ? settings.events : []);
  inst.maxUri = typeof settings.maxUri === "number" ? settings.maxUri : 0;
  const height = pixels(settings.height, 700);
  const src = embedSrc(settings.url, inst.allowed);

  if (src === null) {
    if (inst.iframe) inst.iframe.remove();
    inst.iframe = null;
    inst.src = "";
    if (!parentElement.querySelector("p.calendly-error")) {
      const p = document.createElement("p");
      p.className = "calendly-error";
      p.setAttribute("role", "alert");
      p.textContent = "This scheduling page cannot be shown here.";
      parentElement.appendChild(p);
    }
  } else if (!inst.iframe || src !== inst.src) {
    const old = parentElement.querySelector("p.calendly-error");
    if (old) old.remove();
    const iframe = document.createElement("iframe");
    iframe.className = "calendly-inline";
    iframe.title = String(settings.title || "");
    iframe.width = "100%";
    iframe.style.height = height + "px";
    iframe.src = src;
    if (inst.iframe) inst.iframe.replaceWith(iframe);
    else parentElement.appendChild(iframe);
    inst.iframe = iframe;
    inst.src = src;
    inst.height = height;
  } else if (height !== inst.height) {
    inst.iframe.style.height = height + "px";
    inst.height = height;
  }

  return () => {
    if (inst.generation !== generation) return;  // a later call owns this mount now
    window.removeEventListener("message", inst.listener);
    if (inst.iframe) inst.iframe.remove();
    instances.delete(parentElement);
  };
}
"""

_component = st.components.v2.component("booking_desk_calendly_inline", css=_CSS, js=_JS)


def _origin(value: str, *, what: str) -> tuple[str, str]:
    """``(origin, path-and-rest)`` of an http(s) URL, the origin as a browser writes it."""
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string")
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"{what} is not a valid URL: {value!r}") from exc
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if scheme not in ("http", "https") or not host:
        raise ValueError(f"{what} must be an http(s) URL: {value!r}")
    if parts.username is not None or parts.password is not None or not host.isascii():
        raise ValueError(f"{what} must not carry credentials or a non-ASCII host: {value!r}")
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != {"http": 80, "https": 443}[scheme]:
        host = f"{host}:{port}"
    rest = parts.path + (f"?{parts.query}" if parts.query else "")
    return f"{scheme}://{host}", rest + (f"#{parts.fragment}" if parts.fragment else "")


def embed_origins(url: str, allowed_origins: list[str]) -> list[str]:
    """The allowed origins, normalised; ValueError unless ``url`` is http(s) on one of them."""
    if isinstance(allowed_origins, str) or not allowed_origins:
        raise ValueError("allowed_origins must be a non-empty list of origins")
    origins = []
    for entry in allowed_origins:
        origin, rest = _origin(entry, what="allowed origin")
        if rest not in ("", "/"):
            raise ValueError(f"an allowed origin has no path, query or fragment: {entry!r}")
        origins.append(origin)
    origin, _ = _origin(url, what="url")
    if origin not in origins:
        raise ValueError(f"url origin {origin} is not one of the allowed origins")
    return list(dict.fromkeys(origins))


def clean_event(value: Any) -> dict | None:
    """A triggered value reduced to ``{event, inviteeUri, eventUri}``, or None if malformed.

    The browser already filters, but what arrives from it is untrusted: check it again.
    """
    if not isinstance(value, dict) or value.get("event") not in EVENTS:
        return None

    def uri(v: Any) -> str | None:
        return v if isinstance(v, str) and len(v) <= MAX_URI else None

    return {
        "event": value["event"],
        "inviteeUri": uri(value.get("inviteeUri")),
        "eventUri": uri(value.get("eventUri")),
    }


def _ignore() -> None:
    """Registering a callback is what makes Streamlit surface the trigger value."""


def calendly_inline(
    url: str, *, allowed_origins: list[str], key: str, height: int = 700
) -> dict | None:
    """Show ``url`` as an inline Calendly embed and return its latest reported event.

    The value is ``{"event": "calendly.…", "inviteeUri": str | None, "eventUri": str | None}``
    for the last of `calendly.event_type_viewed`, `calendly.date_and_time_selected` or
    `calendly.event_scheduled` seen by this mount (a new dict for each new event), or None
    before the first one. It comes from the visitor's browser: treat it as a hint and confirm
    a booking through the signed webhook or the API.

    Raises ValueError for a non-http(s) ``url``, or one whose origin is not allowed.
    """
    origins = embed_origins(url, allowed_origins)
    if isinstance(height, bool) or not isinstance(height, int) or not 320 <= height <= 5000:
        raise ValueError("height must be a whole number of pixels between 320 and 5000")
    result = _component(
        key=key,
        data={
            "url": url,
            "allowedOrigins": origins,
            "height": height,
            "events": list(EVENTS),
            "maxUri": MAX_URI,
            "title": TITLE,
        },
        on_calendly_event_change=_ignore,
    )
    remembered = f"_calendly_inline_last:{key}"
    fresh = clean_event(result.get(_TRIGGER))
    if fresh is not None:
        st.session_state[remembered] = fresh
    return st.session_state.get(remembered)
