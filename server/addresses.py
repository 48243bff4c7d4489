"""Client addresses: lists of addresses and CIDR networks from settings, and who is local."""

from __future__ import annotations

import ipaddress

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> list[Network]:
    """A comma-separated list of addresses (`10.0.0.5`) or CIDR networks (`10.0.0.0/8`, `fd00::/8`); an entry that
    is neither raises ValueError naming it."""
    networks = []
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or a CIDR network") from None
    return networks


def address_in(host: str | None, networks: list[Network]) -> bool:
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return False
    return any(address in network for network in networks)


def is_loopback(host: str | None) -> bool:
    """127.0.0.0/8, ::1 and `localhost`; any other name could resolve anywhere, so it is not."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False
