"""Webhook ingest over real HTTP on loopback, against the same server's verify-only ceiling.

Concurrent keep-alive senders POST signed, distinct deliveries to the uvicorn-served route
(stored and applied with synchronous=FULL, group-committed) of a desk that already holds a
history (100,000 attempts of demo data, their bookings and funnel); the invitees come with
no utm_content and match no attempt, as when booked on Calendly's own page. Prints
deliveries/s, p50 and p99 latency, and, in the same run against the same server, how fast
a route that only reads the body and checks the signature answers → the ratio. Last, the
writer by itself: more deliveries through the desk's group commit in this process, in
batches of SENDERS with no HTTP at all, which bounds what one server process can ingest.
Goal: ratio >= 0.4 of that ceiling, p99 <= 50 ms.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from webhook_common import (
    CATALOGUE,
    KEY,
    VERIFY_ONLY,
    deliveries,
    free_port,
    read_response,
    request_bytes,
    start_server,
)

from booking.desk import build_desk
from booking.settings import Settings
from booking.signatures import sign

SENDERS = 16
INVITEES = 3000
HISTORY = 100_000  # attempts already stored


async def send_all(port: int, requests: list[bytes]) -> list[float]:
    queue = list(reversed(requests))
    latencies: list[float] = []

    async def sender() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while queue:
            raw = queue.pop()
            t0 = time.perf_counter()
            writer.write(raw)
            status = await read_response(reader)
            latencies.append(time.perf_counter() - t0)
            if status != 200:
                raise RuntimeError(f"status {status}")
        writer.close()

    await asyncio.gather(*(sender() for _ in range(SENDERS)))
    return latencies


def main() -> dict:
    bodies, _ = deliveries(2 * INVITEES)
    bodies, alone = bodies[: len(bodies) // 2], bodies[len(bodies) // 2 :]  # other invitees
    port = free_port()
    db = str(Path(tempfile.mkdtemp()) / "ingest.db")
    history = build_desk(Settings(db_path=db, catalogue_path=CATALOGUE))
    history.owner.load_demo_data(HISTORY)
    history.store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # as a running desk's would be
    server = start_server(port, db)
    try:
        asyncio.run(send_all(port, [request_bytes(b, port) for b in bodies[:200]]))  # warm up
        ceiling, _ = timed_run(port, [request_bytes(b, port, VERIFY_ONLY) for b in bodies[200:]])
        requests = [request_bytes(b, port) for b in bodies[200:]]
        rate, latencies = timed_run(port, requests)
    finally:
        server.kill()
        server.wait()
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "n": len(requests),
        "rate": rate,
        "p50": cuts[49] * 1000,
        "p99": cuts[98] * 1000,
        "ceiling": ceiling,
        "alone": writer_alone(db, alone),
    }


def writer_alone(db: str, bodies: list[bytes]) -> float:
    """Deliveries per second through the desk's group commit, with no HTTP."""
    desk = build_desk(Settings(db_path=db, catalogue_path=CATALOGUE, calendly_signing_key=KEY))
    batches = [
        [(b, sign(b, KEY, int(time.time()))) for b in bodies[i : i + SENDERS]]
        for i in range(0, len(bodies), SENDERS)
    ]
    t0 = time.perf_counter()
    for batch in batches:
        desk.inbox.calendly_batch(batch)
    return len(bodies) / (time.perf_counter() - t0)


def timed_run(port: int, requests: list[bytes]) -> tuple[float, list[float]]:
    """Requests per second and each request's latency."""
    t0 = time.perf_counter()
    latencies = asyncio.run(send_all(port, requests))
    return len(requests) / (time.perf_counter() - t0), latencies


if __name__ == "__main__":
    r = main()
    print(
        f"webhook ingest over HTTP ({SENDERS} concurrent senders, {r['n']} deliveries, "
        f"{HISTORY:,} attempts stored): "
        f"{r['rate']:.0f}/s, p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms with synchronous=FULL "
        "(goal: p99 <= 50 ms)"
    )
    print(
        f"  verify-only ceiling of the same server (read body, check signature, answer): "
        f"{r['ceiling']:.0f}/s; ratio {r['rate'] / r['ceiling']:.2f} (goal >= 0.4)"
    )
    print(
        f"  the writer alone (batches of {SENDERS}, no HTTP): {r['alone']:.0f}/s, "
        f"{r['alone'] / r['ceiling']:.2f} of the ceiling: the most one server process can ingest"
    )
