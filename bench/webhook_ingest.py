"""Webhook ingest over real HTTP on loopback, against the raw SQLite ceiling.

Concurrent keep-alive senders POST signed, distinct deliveries to the uvicorn-served route;
prints deliveries/s, p50 and p99 latency, and, in the same run, how fast the same rows go
into SQLite directly (one transaction per delivery, as durability requires) → the ratio.
Goal: >= 2,000/s, p99 <= 50 ms, ratio >= 0.3.
"""

from __future__ import annotations

import asyncio
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from webhook_common import deliveries, free_port, read_response, request_bytes, start_server

SENDERS = 16
INVITEES = 3000


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


def raw_ceiling(bodies: list[bytes]) -> float:
    """Deliveries/s when the same rows are written straight into SQLite, one commit each."""
    db = str(Path(tempfile.mkdtemp()) / "raw.db")
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE d (id INTEGER PRIMARY KEY, received_at TEXT, event TEXT, uri TEXT, body TEXT)"
    )
    conn.execute("CREATE TABLE a (event TEXT, uri TEXT, PRIMARY KEY (event, uri))")
    conn.execute("CREATE TABLE b (uri TEXT PRIMARY KEY, status TEXT, body TEXT)")
    t0 = time.perf_counter()
    for i, body in enumerate(bodies):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO d (received_at, event, uri, body) VALUES (?, ?, ?, ?)",
            ("2026-11-24T00:00:00+00:00", "invitee.created", str(i), body.decode()),
        )
        conn.execute("INSERT OR IGNORE INTO a VALUES (?, ?)", ("invitee.created", str(i)))
        conn.execute("INSERT OR REPLACE INTO b VALUES (?, ?, ?)", (str(i), "active", body[:200]))
        conn.execute("COMMIT")
    return len(bodies) / (time.perf_counter() - t0)


def main() -> dict:
    bodies, _ = deliveries(INVITEES)
    port = free_port()
    server = start_server(port, str(Path(tempfile.mkdtemp()) / "ingest.db"))
    try:
        asyncio.run(send_all(port, [request_bytes(b, port) for b in bodies[:200]]))  # warm up
        requests = [request_bytes(b, port) for b in bodies[200:]]
        t0 = time.perf_counter()
        latencies = asyncio.run(send_all(port, requests))
        elapsed = time.perf_counter() - t0
    finally:
        server.kill()
    rate = len(requests) / elapsed
    ceiling = raw_ceiling(bodies[200:])
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "n": len(requests),
        "rate": rate,
        "p50": cuts[49] * 1000,
        "p99": cuts[98] * 1000,
        "ceiling": ceiling,
    }


if __name__ == "__main__":
    r = main()
    print(
        f"webhook ingest over HTTP ({SENDERS} concurrent senders, {r['n']} deliveries): "
        f"{r['rate']:.0f}/s, p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms "
        "(goal >= 2,000/s, p99 <= 50 ms)"
    )
    print(
        f"  raw SQLite ceiling for the same rows (one commit each): {r['ceiling']:.0f}/s; "
        f"ratio {r['rate'] / r['ceiling']:.2f} (goal >= 0.3)"
    )
