"""What the shipped server (`.streamlit/config.toml`) refuses before any page code runs."""

from __future__ import annotations

import base64
import os
import socket
import struct
from urllib.parse import urlsplit


def close_code_for_a_frame_of(url: str, size: int) -> int | None:
    """Open the pages' WebSocket by hand, announce one binary frame of ``size`` bytes and
    send only its first bytes; return the close code the server answers with (None if it
    waits for the rest). Announcing is enough for a server that checks the frame's length
    before reading it, and sending no more keeps the close frame from racing our upload."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            (
                "GET /_stcore/stream HTTP/1.1\r\n"
                f"Host: {parts.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                "Sec-WebSocket-Protocol: streamlit\r\n\r\n"
            ).encode()
        )
        reply = b""
        while b"\r\n\r\n" not in reply:
            reply += sock.recv(4096)
        assert reply.startswith(b"HTTP/1.1 101"), reply[:200]
        header = bytes([0x82, 0x80 | 127]) + struct.pack("!Q", size) + os.urandom(4)
        sock.sendall(header + b"\0" * 1024)
        sock.settimeout(3)
        try:
            frame = reply.split(b"\r\n\r\n", 1)[1] + sock.recv(4096)
        except TimeoutError:
            return None
        if len(frame) >= 4 and frame[0] == 0x88:  # a close frame: its code comes first
            return struct.unpack("!H", frame[2:4])[0]
        return None


def test_the_page_socket_refuses_a_message_over_8_mb(app_server):
    """A frame announced at 9 MB closes the connection as too big (1009) before it is
    read (Streamlit's default allows 200 MB); one of 1 MB is waited for."""
    assert close_code_for_a_frame_of(app_server["url"], 9_000_000) == 1009
    assert close_code_for_a_frame_of(app_server["url"], 1_000_000) is None
