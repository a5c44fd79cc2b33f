"""Shared pieces of the webhook benchmarks: deliveries, a server process, a lean client."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

from booking.signatures import sign  # noqa: E402

KEY = "bench-signing-key"
CATALOGUE = str(ROOT / "data/analysts.toml")
EXAMPLE = json.loads((ROOT / "tests/calendly_examples/webhook_invitee_created.json").read_text())
CANCELED = json.loads((ROOT / "tests/calendly_examples/webhook_invitee_canceled.json").read_text())


def deliveries(invitees: int, *, cancel_every: int = 3) -> tuple[list[bytes], dict[str, str]]:
    """Unique delivery bodies for ``invitees`` invitees (every third also canceled) and the
    ground truth: invitee uri → final status."""
    bodies, truth = [], {}
    for i in range(invitees):
        uri = f"https://api.calendly.com/scheduled_events/EV{i:07d}/invitees/IN{i:07d}"
        created = copy.deepcopy(EXAMPLE)
        created["payload"]["uri"] = uri
        created["payload"]["email"] = f"visitor{i}@example.com"
        created["payload"]["tracking"]["utm_content"] = None
        bodies.append(json.dumps(created, separators=(",", ":")).encode())
        truth[uri] = "confirmed"
        if i % cancel_every == 0:
            canceled = copy.deepcopy(CANCELED)
            canceled["payload"]["uri"] = uri
            bodies.append(json.dumps(canceled, separators=(",", ":")).encode())
            truth[uri] = "canceled"
    return bodies, truth


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, db: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "BOOKING_DB_PATH": db,
        "CALENDLY_WEBHOOK_SIGNING_KEY": KEY,
        "BOOKING_CATALOGUE": CATALOGUE,
        "BOOKING_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "CALENDLY_RECONCILE_MINUTES": "0",
    }
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "bench/webhook_server.py"), str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return proc
        except requests.RequestException:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the webhook server did not start")


WEBHOOK = "/api/calendly/webhook"
VERIFY_ONLY = "/bench/verify-only"  # bench/webhook_server.py: the same stack, storing nothing


def request_bytes(body: bytes, port: int, path: str = WEBHOOK) -> bytes:
    header = sign(body, KEY, int(time.time()))
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        f"Calendly-Webhook-Signature: {header}\r\n\r\n"
    ).encode() + body


async def read_response(reader: asyncio.StreamReader) -> int:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("closed")
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    return int(status_line.split()[1])
