"""Chaos run: 10,000 deliveries (30 % duplicates), shuffled, the server SIGKILLed twice.

Senders retry every delivery until they get a 2xx, as Calendly does. Afterwards the
database must equal the ground truth: every invitee present once, with its final status;
each (event, invitee) applied exactly once. Prints the counts.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import tempfile
import time
from pathlib import Path

from webhook_common import (
    deliveries,
    free_port,
    read_response,
    request_bytes,
    start_server,
)

TOTAL = 10_000
DUPLICATE_SHARE = 0.30
SENDERS = 16


async def run(port: int, db: str, bodies: list[bytes]) -> dict:
    queue = list(reversed(bodies))
    done = 0
    stats = {"retries": 0, "kills": 0}
    server = start_server(port, db)
    kill_at = [int(len(bodies) * 0.3), int(len(bodies) * 0.6)]
    restarting = asyncio.Lock()

    async def deliver(body: bytes, conn: list) -> None:
        nonlocal done
        while True:
            try:
                if conn[0] is None:
                    conn[0] = await asyncio.open_connection("127.0.0.1", port)
                reader, writer = conn[0]
                writer.write(request_bytes(body, port))  # signed afresh on every try
                if 200 <= await read_response(reader) < 300:
                    done += 1
                    return
            except (OSError, ConnectionError, asyncio.IncompleteReadError):
                conn[0] = None
            stats["retries"] += 1
            await asyncio.sleep(0.05)

    async def sender() -> None:
        nonlocal server
        conn: list = [None]
        while queue:
            await deliver(queue.pop(), conn)
            if kill_at and done >= kill_at[0]:
                async with restarting:
                    if kill_at and done >= kill_at[0]:
                        kill_at.pop(0)
                        server.kill()  # SIGKILL: no shutdown, no flush
                        server.wait()
                        stats["kills"] += 1
                        await asyncio.sleep(0.3)
                        server = await asyncio.to_thread(start_server, port, db)

    try:
        await asyncio.gather(*(sender() for _ in range(SENDERS)))
    finally:
        server.kill()
    return stats


def main() -> dict:
    invitees = int(TOTAL * (1 - DUPLICATE_SHARE) * 3 / 4)  # each third invitee also cancels
    unique, truth = deliveries(invitees)
    rng = random.Random(2026)
    bodies = unique + rng.choices(unique, k=TOTAL - len(unique))
    rng.shuffle(bodies)
    db = str(Path(tempfile.mkdtemp()) / "chaos.db")
    t0 = time.perf_counter()
    stats = asyncio.run(run(free_port(), db, bodies))
    elapsed = time.perf_counter() - t0
    conn = sqlite3.connect(db)
    got = dict(conn.execute("SELECT invitee_uri, status FROM bookings"))
    rows = conn.execute("SELECT count(*) FROM bookings").fetchone()[0]
    applied = conn.execute("SELECT count(*) FROM webhook_applied").fetchone()[0]
    received = conn.execute("SELECT count(*) FROM webhook_deliveries").fetchone()[0]
    lost = sum(1 for uri in truth if uri not in got) + sum(
        1 for uri, status in truth.items() if uri in got and got[uri] != status
    )
    return {
        "sent": len(bodies),
        "unique": len(unique),
        "duplicates": len(bodies) - len(unique),
        "invitees": len(truth),
        "rows": rows,
        "applied": applied,
        "received": received,
        "lost": lost,
        "duplicated": rows - len(got) + max(0, applied - len(unique)),
        "seconds": elapsed,
        **stats,
    }


if __name__ == "__main__":
    r = main()
    print(
        f"chaos run: {r['sent']} deliveries ({r['unique']} unique, {r['duplicates']} "
        f"duplicates), shuffled, {SENDERS} senders, server SIGKILLed {r['kills']} times, "
        f"{r['retries']} retries, {r['seconds']:.1f} s"
    )
    print(
        f"  stored deliveries {r['received']}, applied {r['applied']}, bookings {r['rows']} "
        f"for {r['invitees']} invitees → lost {r['lost']}, duplicated {r['duplicated']}"
    )
