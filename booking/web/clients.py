"""Who is asking: the client's address, believing ``X-Forwarded-For`` only from the
reverse proxies BOOKING_TRUSTED_PROXIES names (pure; the pages use the same rule)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def client_address(peer: str | None, headers: Mapping[str, str], trusted: Sequence[Network]) -> str:
    """The address to count a request against: the connection's peer, or — when that peer
    is a trusted proxy — the right-most address in X-Forwarded-For that is not one of ours
    (addresses further left are whatever the client chose to send)."""
    address = _parse(peer)
    if address is None:
        return peer or "unknown"
    if not _is_trusted(address, trusted):
        return str(address)
    forwarded = headers.get("x-forwarded-for") or headers.get("X-Forwarded-For") or ""
    for hop in reversed([h.strip() for h in forwarded.split(",") if h.strip()]):
        hop_address = _parse(hop)
        if hop_address is None:
            break  # a garbled chain: count it against the proxy itself
        if not _is_trusted(hop_address, trusted):
            return str(hop_address)
    return str(address)


def _parse(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address((text or "").strip())
    except ValueError:
        return None


def _is_trusted(address, trusted: Sequence[Network]) -> bool:
    return any(address.version == n.version and address in n for n in trusted)


def request_client(request, trusted: Sequence[Network]) -> str:
    """``client_address`` for a Starlette request (its peer and headers)."""
    peer = request.client.host if request.client else None
    return client_address(peer, request.headers, trusted)
