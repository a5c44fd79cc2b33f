"""The HTML shell of the app's pages: deep links without console 404s, and the page's own
widget code fetched while the app connects rather than after.

1. Streamlit's page cannot know whether it is served at the site's root or under a path,
   so opened at ``/paid`` it first probes ``/paid/_stcore/health`` and
   ``/paid/_stcore/host-config`` (each a 404 in the browser's console) before it finds
   ``/_stcore/…``. Its documented escape is ``window.__streamlit.BACKEND_BASE_URL``: the
   shell sets it to the site's root, so the page asks the right place first.
2. Streamlit loads each widget's JavaScript only when the first element of that kind
   arrives over the WebSocket, one waterfall after the page has connected. The shell lists
   the modules a page needs (the lazy chunks of its widgets and their imports, read from
   Streamlit's own bundle) as ``<link rel=modulepreload>``, so the browser fetches and
   compiles them while the app connects and runs. Nothing else in the page changes.

Served by our routes (``routes()``), which st.App places before Streamlit's own.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import streamlit
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

_STATIC = Path(streamlit.__file__).parent / "static"
_BASE = "<script>window.__streamlit = {BACKEND_BASE_URL: window.location.origin + '/'};</script>"
# Streamlit's element kinds each page draws (names of its lazily loaded chunks).
COMMON = ("Html", "Button", "PageLink", "Spinner")
WIDGETS = {
    "": ("ButtonGroup", "Radio", "Selectbox", "Checkbox", "TextInput", "TextArea", "BidiComponent"),
    "analytics": (
        *("Metric", "DateInput", "ButtonGroup", "Selectbox", "ArrowVegaLiteChart"),
        *("DataFrame", "Table", "DownloadButton"),
    ),
    "success": ("Selectbox", "Checkbox", "DownloadButton", "LinkButton"),
    "confirmation": ("Selectbox", "Checkbox", "DownloadButton", "LinkButton"),
    "manage": ("Selectbox", "Checkbox", "DownloadButton", "LinkButton", "ButtonGroup", "TextArea"),
    "schedule": ("BidiComponent",),
    "paid": (),
    "owner": (),
}


@cache
def _bundle() -> tuple[str, dict[str, tuple[str, ...]]]:
    """(main bundle file name, chunk name → the chunk files it needs) from Streamlit's
    build; empty when the bundle's shape is not the one this reads (nothing preloaded)."""
    js = _STATIC / "static" / "js"
    main = next(iter(sorted(js.glob("index.*.js"))), None)
    if main is None:
        return "", {}
    text = main.read_text(encoding="utf-8")
    files = re.search(r"m\.f=\[([^\]]*)\]", text)
    if files is None:
        return main.name, {}
    names = [f.strip("\"'`").removeprefix("./") for f in files.group(1).split(",")]
    needs: dict[str, tuple[str, ...]] = {}
    pattern = (
        r"import\(`\./(([A-Za-z]+)\.[\w-]+\.js)`\)(?:\.then\([^)]*\))?,"
        r"__vite__mapDeps\(\[([\d,]*)\]\)"
    )
    for chunk, kind, deps in re.findall(pattern, text):
        picked = [names[int(i)] for i in deps.split(",") if i and int(i) < len(names)]
        needs.setdefault(kind, tuple(dict.fromkeys([chunk, *picked])))
    return main.name, needs


@cache
def shell(page: str) -> str:
    """Streamlit's index.html for one of the app's pages ('' is the book page)."""
    html = (_STATIC / "index.html").read_text(encoding="utf-8")
    _, needs = _bundle()
    files = dict.fromkeys(
        f for kind in (*COMMON, *WIDGETS.get(page, ())) for f in needs.get(kind, ())
    )
    links = "".join(f'\n    <link rel="modulepreload" href="./static/js/{f}" />' for f in files)
    return html.replace("<head>", f"<head>\n    {_BASE}{links}", 1)


def routes(pages: tuple[str, ...] = tuple(p for p in WIDGETS if p)) -> list[Route]:
    """GET routes serving the shell at ``/`` and at each of the app's page paths (by
    default every page ``WIDGETS`` names)."""

    def endpoint(page: str):
        async def serve(_: Request) -> HTMLResponse:
            return HTMLResponse(shell(page), headers={"Cache-Control": "no-cache"})

        return serve

    return [
        Route(f"/{p.strip('/')}", endpoint(p.strip("/")), methods=["GET", "HEAD"])
        for p in ("", *pages)
    ]
