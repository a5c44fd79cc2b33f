"""Deep links to the app's pages (``/success?…``, ``/paid?…``, ``/confirmation?…``) load
without 404s in the browser's console.

Streamlit's page cannot know whether it is served at the site's root or under a path, so
opened at ``/paid`` it first probes ``/paid/_stcore/health`` and ``/paid/_stcore/host-config``
(each a 404, logged as an error in the console) before it finds ``/_stcore/…``. Its
documented escape is ``window.__streamlit.BACKEND_BASE_URL``: these routes serve
Streamlit's own ``index.html`` for the app's page paths with that one value set to the
site's root, so the page asks the right place first. Nothing else in the page changes.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import streamlit
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

_INDEX = Path(streamlit.__file__).parent / "static" / "index.html"
_BASE = "<script>window.__streamlit = {BACKEND_BASE_URL: window.location.origin + '/'};</script>"


@cache
def index_html() -> str:
    """Streamlit's index.html with the backend's base URL set first thing in <head>."""
    page = _INDEX.read_text(encoding="utf-8")
    return page.replace("<head>", "<head>\n    " + _BASE, 1)


async def _index(_: Request) -> HTMLResponse:
    return HTMLResponse(index_html(), headers={"Cache-Control": "no-cache"})


def routes(paths: tuple[str, ...]) -> list[Route]:
    """GET routes serving the page for each of the app's page paths (e.g. 'success')."""
    return [Route(f"/{p.strip('/')}", _index, methods=["GET", "HEAD"]) for p in paths]
