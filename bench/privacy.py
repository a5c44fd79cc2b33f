"""Erase, export and retention at scale: 200,000 attempts (about 1,000,000 funnel events)
and 100,000 stored webhook deliveries of about 1 KB each.

Times one person's erasure (one transaction: the write lock is held that long, so
webhooks wait that long), their export, and the first retention run over the history
with BOOKING_RETENTION_DAYS=45 (about half of the 90-day history is past it), which works
in chunks of 500, each its own transaction: the longest chunk is the longest wait.
Goal: erasure and export well under the 10 s busy timeout; a retention chunk <= 1 s.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

from booking.desk import build_desk  # noqa: E402
from booking.settings import Settings  # noqa: E402
from booking.store import privacy  # noqa: E402

ATTEMPTS = 200_000
DELIVERIES = 100_000
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            db_path=str(Path(tmp) / "privacy.db"),
            catalogue_path=str(ROOT / "data/analysts.toml"),
            reconcile_minutes=0,
            retention_days=45,
        )
        desk = build_desk(settings, clock=lambda: NOW)
        t0 = time.perf_counter()
        desk.owner.load_demo_data(ATTEMPTS, seed=7)
        db = desk.store.db
        rows = []
        for i in range(DELIVERIES):
            body = json.dumps(
                {
                    "event": "invitee.created",
                    "created_at": (NOW - timedelta(minutes=i)).isoformat(),
                    "payload": {
                        "uri": f"https://api.calendly.com/invitees/BENCH{i:011d}",
                        "email": f"visitor{i}@example.com",
                        "name": f"Visitor {i}",
                        "questions_and_answers": [{"answer": "x" * 600, "position": 0}],
                    },
                }
            )
            received = (NOW - timedelta(minutes=i)).isoformat(timespec="seconds")
            rows.append((received, "calendly", 1, body, len(body), "applied"))
        with desk.store.write():
            db.conn.executemany(
                "INSERT INTO webhook_deliveries (received_at, source, verified, body, "
                "body_bytes, outcome) VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
        db.execute("ANALYZE")
        print(
            f"privacy: {ATTEMPTS:,} attempts, {DELIVERIES:,} deliveries built in "
            f"{time.perf_counter() - t0:.1f} s"
        )

        person = db.execute(  # a visitor whom some stored deliveries name too
            "SELECT email FROM attempts WHERE email IS NOT NULL AND "
            "CAST(substr(email, 8, instr(email, '@') - 8) AS INTEGER) < ? "
            "ORDER BY created_at DESC LIMIT 1",
            [DELIVERIES],
        ).fetchone()[0]
        t0 = time.perf_counter()
        data = desk.privacy.export(person)
        print(
            f"  export one person:        {(time.perf_counter() - t0) * 1000:7.0f} ms "
            f"({len(data['attempts'])} attempts, {len(data['webhook_deliveries'])} deliveries)"
        )
        t0 = time.perf_counter()
        done = desk.privacy.erase(person)
        print(
            f"  erase one person:         {(time.perf_counter() - t0) * 1000:7.0f} ms "
            f"(one transaction; {dict(done)})"
        )

        chunks: list[float] = []
        original = privacy.past_retention

        def timed(db, cutoff, **kw):  # the chunk's transaction starts just before this
            chunks.append(time.perf_counter())
            return original(db, cutoff, **kw)

        privacy.past_retention = timed
        t0 = time.perf_counter()
        done = desk.privacy.retention_run()
        total = time.perf_counter() - t0
        privacy.past_retention = original
        ends = [*chunks[1:], t0 + total]
        longest = max(b - a for a, b in zip(chunks, ends, strict=True))
        print(
            f"  retention run (45 days):  {total:7.1f} s in {len(chunks)} chunks, longest "
            f"{longest * 1000:.0f} ms; rows {dict(done)}"
        )
        t0 = time.perf_counter()
        again = desk.privacy.retention_run()
        took = (time.perf_counter() - t0) * 1000
        print(f"  retention run, none due:  {took:7.0f} ms {dict(again)}")


if __name__ == "__main__":
    main()
