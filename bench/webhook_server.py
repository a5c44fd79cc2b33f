"""Serve the desk's HTTP routes (webhook included) with uvicorn, for the webhook benchmarks.

python bench/webhook_server.py PORT   (settings from the environment, as the app)

Beside the desk's routes it serves ``POST /bench/verify-only``: the same server stack
reading the body behind the same bounded reader and checking the signature against the
same keys, then answering, storing nothing — the ceiling the ingest is measured against.
"""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).parents[1]))

from booking.desk import build_desk
from booking.settings import Settings
from booking.signatures import HEADER, SignatureError, verify
from booking.web.api import error
from booking.web.routes import create_routes, delivery

if __name__ == "__main__":
    desk = build_desk(Settings.from_env())

    async def verify_only(request: Request) -> JSONResponse:
        body = await request.body()  # bounded like the webhook routes (below)
        try:
            verify(
                request.headers.get(HEADER),
                body,
                desk.inbox.signing_keys(),
                now=desk.clock().timestamp(),
                tolerance=desk.settings.webhook_tolerance_seconds,
            )
        except SignatureError as exc:
            return error(exc.status, exc.code, str(exc))
        return JSONResponse({"success": True, "outcome": "verified"})

    routes = [
        Route("/bench/verify-only", delivery(verify_only), methods=["POST"]),
        *create_routes(desk),
    ]
    app = Starlette(routes=routes)
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
