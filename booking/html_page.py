"""One HTML shell for every page the server renders itself (the Streamlit UI aside).

``page(title, body_html)`` wraps a page's body in the same small, accessible document: a
doctype, ``lang=en``, charset and viewport, an optional banner in a ``role=note`` region
inside ``<header>`` (to mark a stand-in plainly, for example), one ``<main>`` landmark and
one shared stylesheet.

    return page("Checkout not found", "<h1>This checkout does not exist</h1>", status=404)

``title`` and ``banner`` are plain text and escaped here; ``body_html`` and ``head`` are
HTML and used as given, so the caller escapes every value a visitor supplied inside them.
"""

from __future__ import annotations

import html

from starlette.responses import HTMLResponse

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1a1a1a;
background:#f5f7fb}
.banner{background:#fff3cd;border-bottom:2px solid #e0a800;padding:.6rem 1rem;text-align:center;
font-weight:600}
main{max-width:760px;margin:1.5rem auto;background:#fff;border-radius:12px;padding:1.5rem;
box-shadow:0 2px 12px rgba(0,0,0,.08)}
h1{font-size:1.4rem;margin:.2rem 0}.muted{color:#555}
.error{background:#fdecea;border:1px solid #e57373;padding:.6rem;border-radius:8px}
label.field{display:block;margin:.7rem 0 .2rem;font-weight:600}
input[type=text],input[type=email],textarea{width:100%;box-sizing:border-box;padding:.55rem;
border:1px solid #bbb;border-radius:8px;font:inherit}
button{margin-top:1rem;background:#0069ff;color:#fff;border:0;border-radius:24px;
padding:.75rem 1.6rem;font-size:1rem;font-weight:600;cursor:pointer}
button.secondary{background:#fff;color:#333;border:1px solid #bbb}
.days,.times{display:flex;flex-wrap:wrap;gap:.5rem;margin:.6rem 0 1rem}
.days a{padding:.45rem .7rem;border:1px solid #0069ff;border-radius:8px;color:#0069ff;
text-decoration:none}.days a[aria-current=date]{background:#0069ff;color:#fff}
.times label{border:1px solid #0069ff;border-radius:8px;padding:.5rem .8rem;cursor:pointer}
.times input{margin-right:.35rem}
"""


def page(
    title: str,
    body_html: str,
    *,
    status: int = 200,
    banner: str | None = None,
    head: str = "",
) -> HTMLResponse:
    """Every server-rendered page in one accessible shell, so none drifts from the others.

    ``title``: the tab title (text). ``body_html``: what goes inside ``<main>`` (HTML).
    ``status``: the HTTP status. ``banner``: a plainly marked note above the page (text).
    ``head``: extra HTML for ``<head>``, such as a script.
    """
    note = (  # inside the page's banner landmark, so no content sits outside a landmark
        f"<header><div class=banner role=note>{html.escape(banner)}</div></header>"
        if banner
        else ""
    )
    return HTMLResponse(
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width,initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style>{head}</head>"
        f"<body>{note}<main>{body_html}</main></body></html>",
        status_code=status,
    )
