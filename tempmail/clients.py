"""Who is asking: the client address of a request, and the key its rate limits are kept under.

The address comes from the socket. The proxy header (`X-Forwarded-For` by default, or
`Forwarded` when `http.proxy_header` says so) is believed only when the connecting peer is one of
`http.trusted_proxies`, and then the client is the nearest address in the chain that is not
itself a trusted proxy, so a client cannot pick its own bucket by sending a header of its own.
Only the one header the proxy is configured to set is read: a proxy passes the other through
untouched, and a client could otherwise choose its address by sending it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
UNKNOWN = "unknown"
_FORWARDED_FOR = re.compile(r'for="?\[?([^\]";,]+)\]?(?::\d+)?"?', re.IGNORECASE)


def _parse(text: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _strip_port(text: str) -> str:
    text = text.strip().strip('"')
    if text.startswith("["):
        return text[1:].split("]", 1)[0]
    if text.count(":") == 1:
        return text.split(":", 1)[0]
    return text


class ClientResolver:
    """Finds the client address of a request from its peer and, behind trusted proxies, headers."""

    def __init__(self, trusted_proxies: Iterable[str], header: str = "x-forwarded-for") -> None:
        self._use_forwarded = header.lower() == "forwarded"
        self._trusted: tuple[IPNetwork, ...] = tuple(
            ipaddress.ip_network(proxy, strict=False) for proxy in trusted_proxies
        )

    def _is_trusted(self, address: IPAddress) -> bool:
        return any(address in network for network in self._trusted)

    def resolve(
        self, peer: str | None, forwarded: Sequence[str], x_forwarded_for: Sequence[str]
    ) -> IPAddress | None:
        """The client address; None only when the peer itself is unknown."""
        address = _parse(peer) if peer else None
        if address is None or not self._is_trusted(address):
            return address
        chain: list[str] = []
        if self._use_forwarded:
            for header in forwarded:
                chain.extend(match.group(1) for match in _FORWARDED_FOR.finditer(header))
        else:
            for header in x_forwarded_for:
                chain.extend(_strip_port(part) for part in header.split(","))
        for hop in reversed(chain):
            hop_address = _parse(_strip_port(hop))
            if hop_address is None:
                # An unparseable hop ends what can be believed: stay with the last good one.
                return address
            address = hop_address
            if not self._is_trusted(address):
                return address
        return address


def bucket_key(address: IPAddress | None) -> str:
    """The rate-limit key: the IPv4 address, or the /64 network of an IPv6 address."""
    if address is None:
        return UNKNOWN
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def peer_key(host: str | None) -> str:
    """`bucket_key` of a socket's peer address as text (an IPv4-mapped IPv6 address is IPv4)."""
    return bucket_key(_parse(host) if host else None)
