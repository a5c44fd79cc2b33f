"""Serve the desk's HTTP routes (webhook included) with uvicorn, for the webhook benchmarks.

python bench/webhook_server.py PORT   (settings from the environment, as the app)
"""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn
from starlette.applications import Starlette

sys.path.insert(0, str(Path(__file__).parents[1]))

from booking.desk import build_desk
from booking.settings import Settings
from booking.web.routes import create_routes

if __name__ == "__main__":
    desk = build_desk(Settings.from_env())
    app = Starlette(routes=create_routes(desk))
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
