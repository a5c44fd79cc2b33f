"""Start-up to healthy: `streamlit run app.py` until GET /healthz answers (goal: <= 5 s)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).parents[1]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(runs: int = 3) -> list[float]:
    results = []
    for _ in range(runs):
        port = _port()
        env = {**os.environ, "BOOKING_DB_PATH": str(Path(tempfile.mkdtemp()) / "b.db")}
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            while True:
                try:
                    if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).ok:
                        break
                except requests.RequestException:  # not listening, or still starting
                    time.sleep(0.02)
                if time.perf_counter() - t0 > 60:
                    raise RuntimeError("the app did not become healthy within 60 s")
            results.append(time.perf_counter() - t0)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return results


if __name__ == "__main__":
    r = main()
    print(
        f"start-up to healthy (streamlit run app.py → /healthz 200): "
        f"best {min(r):.2f} s, worst {max(r):.2f} s over {len(r)} runs (goal: <= 5 s)"
    )
