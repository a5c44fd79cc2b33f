"""What the shipped server (`.streamlit/config.toml`) refuses before any page code runs."""

from __future__ import annotations

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect


def close_code(url: str, size: int) -> int | None:
    """Open the pages' WebSocket, send ``size`` bytes in one message, return the close code."""
    ws_url = url.replace("http://", "ws://") + "/_stcore/stream"
    with connect(ws_url, max_size=None, subprotocols=["streamlit"]) as ws:
        try:
            ws.send(b"\0" * size)
            ws.recv(timeout=10)
        except ConnectionClosed:
            pass
        return ws.close_code


def test_the_page_socket_closes_on_a_message_over_8_mb(app_server):
    """One 9 MB message closes the connection as too big (1009) instead of being held in
    memory (Streamlit's default allows 200 MB); a 1 MB one is read (and refused as junk)."""
    assert close_code(app_server["url"], 9_000_000) == 1009
    assert close_code(app_server["url"], 1_000_000) not in (None, 1009)
