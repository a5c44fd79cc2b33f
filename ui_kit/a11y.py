"""Keyboard, screen-reader and phone details Streamlit leaves to the app: the tab title,
44 px touch targets and legible captions (one style sheet), moving focus to the step a
choice opened, and errors tied to their field (``aria-invalid`` + ``aria-describedby``).

The scripts are fixed text; the only values in them are CSS class names made here from
known keys and a counter, passed through ``json.dumps``.
"""

from __future__ import annotations

import json

import streamlit as st

# Captions: #4B5866 on white is 7.0:1 (Streamlit's faded grey was 4.16:1, under WCAG's
# 4.5:1). Targets: 44 px high (WCAG 2.5.5; Apple's and Google's guidance).
STYLE = """
<style>
[data-testid="stCaptionContainer"], [data-testid="stWidgetLabel"] p,
[data-testid="stMetricLabel"], .stRadio [data-testid="stCaptionContainer"] p {
  color: #4B5866 !important;
  opacity: 1 !important;
}
/* Elements that only carry a script or the style sheet take no room in the layout. */
.stElementContainer:has(> .stHtml > script:only-child),
.stElementContainer:has(> [data-testid="stHtml"] > script:only-child),
.stElementContainer:has(> [data-testid="stHtml"] > style:only-child) {
  display: none;
}
[data-testid="stButtonGroup"] button, .stButton button, [data-testid="stFormSubmitButton"] button,
[data-testid="stLinkButton"] a, [data-testid="stDownloadButton"] button,
[data-testid="stPageLink"] a {
  min-height: 44px;
}
[data-testid="stButtonGroup"] button { min-width: 44px; }
.stRadio label { min-height: 44px; align-items: center; }
.field-error p { color: #8A1C1C !important; font-weight: 600; margin: 0; }
</style>
"""


def style() -> None:
    st.html(STYLE)


def page_title(title: str, brand: str) -> None:
    """The browser tab's title for this page: 'Book a session · Brand'."""
    st.set_page_config(page_title=f"{title} · {brand}")


def _script(body: str) -> None:
    st.html(f"<script>{body}</script>", unsafe_allow_javascript=True)


def focus_step(key: str, target: str) -> None:
    """Scroll the container ``st.container(key=key)`` into view and move the keyboard focus
    to ``target`` (a CSS selector inside it) as soon as that is on the page. A target that
    is not focusable by itself (a heading, a message) gets ``tabindex=-1`` first."""
    scroll = json.dumps(f".st-key-{key}")
    wanted = json.dumps(f".st-key-{key} {target}")
    n = st.session_state["_focus_n"] = st.session_state.get("_focus_n", 0) + 1
    _script(
        f"""(function(){{ /* focus {n} */
  let tries = 0;
  const timer = setInterval(function(){{
    const el = document.querySelector({wanted});
    if (!el && ++tries < 100) return;
    clearInterval(timer);
    const view = document.querySelector({scroll});
    if (!view) return;
    view.scrollIntoView({{block: 'start'}});  // at once: no motion to wait through
    if (!el) return;
    if (!el.matches('a[href], button, input, select, textarea, [tabindex]')) {{
      el.setAttribute('tabindex', '-1');
    }}
    el.focus({{preventScroll: true}});
  }}, 50);
}})();"""
    )


def mark_invalid(keys: list[str]) -> None:
    """Set ``aria-invalid`` on the input of each ``st.container(key=…)`` in ``keys``, point
    its ``aria-describedby`` at the error shown with it, and focus the first one."""
    selectors = json.dumps([f".st-key-{k}" for k in keys])
    n = st.session_state["_focus_n"] = st.session_state.get("_focus_n", 0) + 1
    _script(
        f"""(function(){{ /* invalid {n} */
  const boxes = {selectors};
  let tries = 0;
  const timer = setInterval(function(){{
    const ready = boxes.every(function(s){{ return document.querySelector(s + ' [role=alert]'); }});
    if (!ready && ++tries < 80) return;
    clearInterval(timer);
    let first = null;
    boxes.forEach(function(s, i){{
      const box = document.querySelector(s);
      if (!box) return;
      const input = box.querySelector('input, textarea');
      const alert = box.querySelector('[role=alert]');
      if (!input) return;
      input.setAttribute('aria-invalid', 'true');
      if (alert) {{
        alert.id = alert.id || ('field-error-' + i);
        input.setAttribute('aria-describedby', alert.id);
      }}
      first = first || input;
    }});
    if (first) {{ first.scrollIntoView({{block: 'center'}}); first.focus(); }}
  }}, 50);
}})();"""
    )
