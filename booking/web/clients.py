"""Who is asking: the client's address, believing ``X-Forwarded-For`` only from the
reverse proxies BOOKING_TRUSTED_PROXIES names (pure; the pages use the same rule).

An IPv4 address that reaches a dual-stack socket as IPv6 (``::ffff:127.0.0.1``) is read
as the IPv4 address it is; an IPv6 client counts as its /64, the block one household or
server is given, whose other addresses it can take at will."""

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
        return _counted(address)
    forwarded = headers.get("x-forwarded-for") or headers.get("X-Forwarded-For") or ""
    for hop in reversed([h.strip() for h in forwarded.split(",") if h.strip()]):
        hop_address = _parse(hop)
        if hop_address is None:
            break  # a garbled chain: count it against the proxy itself
        if not _is_trusted(hop_address, trusted):
            return _counted(hop_address)
    return _counted(address)


def _parse(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address((text or "").strip())
    except ValueError:
        return None
    return getattr(address, "ipv4_mapped", None) or address


def _counted(address) -> str:
    """What limits count against: an IPv4 address, or an IPv6 address's /64."""
    if address.version == 6 and not address.is_loopback:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _is_trusted(address, trusted: Sequence[Network]) -> bool:
    return any(address.version == n.version and address in n for n in trusted)


def request_client(request, trusted: Sequence[Network]) -> str:
    """``client_address`` for a Starlette request (its peer and headers)."""
    peer = request.client.host if request.client else None
    return client_address(peer, request.headers, trusted)
