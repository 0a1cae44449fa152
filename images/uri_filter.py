"""Glance's import filter for web-download URLs (``[import_filtering_opts]``), by address.

A URL may be fetched when its scheme is http or https, its port is among
``[image] web_download_allowed_ports`` (empty: any) and its host is not disallowed by
``[image] web_download_disallowed_hosts``. Each disallowed entry is an IP address, a network
in CIDR form (``127.0.0.0/8``) or a host name. The URL's host is compared by the addresses it
resolves to, not by its spelling: ``127.1``, ``2130706433``, ``0x7f000001``,
``[::ffff:127.0.0.1]`` and ``[0:0:0:0:0:ffff:7f00:1]`` are all 127.0.0.1 and are refused when
that address is; a host name entry is refused by name and by every address it resolves to
(``localhost`` also refuses ``127.0.0.1`` and ``::1``). IPv4-mapped and IPv4-compatible IPv6
addresses count as their IPv4 address. A host that does not resolve is refused while
anything is disallowed (its address cannot be checked).

What this does not close: a name that resolves to an allowed address now and to a
disallowed one at fetch time (DNS rebinding) - the fetch resolves again.
"""
from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from minicloud.errors import BadRequest

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _plain(address: Address) -> Address:
    """IPv4 for an IPv4-mapped (``::ffff:a.b.c.d``) or -compatible (``::a.b.c.d``) address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if int(address) >> 32 == 0 and int(address) > 1:  # ::a.b.c.d, not :: or ::1
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def resolve(host: str) -> set[Address]:
    """Every address ``host`` names (the C library's parsing: ``127.1`` and ``2130706433``
    are 127.0.0.1), each IPv4-mapped one as IPv4; empty when it does not resolve."""
    try:
        infos = socket.getaddrinfo(host.strip("[]").rstrip("."), None,
                                   proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return set()
    out: set[Address] = set()
    for *_, sockaddr in infos:
        try:
            out.add(_plain(ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])))
        except ValueError:
            continue
    return out


def _entries(value: str) -> tuple[list[Network], set[str]]:
    """The disallowed networks and host names of the option's value."""
    networks: list[Network] = []
    names: set[str] = set()
    for raw in (e.strip() for e in value.split(",")):
        if not raw:
            continue
        try:
            net = ipaddress.ip_network(raw.strip("[]"), strict=False)
        except ValueError:
            names.add(raw.lower().rstrip("."))
            continue
        mapped = _plain(net.network_address)
        if mapped is not net.network_address and isinstance(net, ipaddress.IPv6Network):
            # ::ffff:127.0.0.0/104 is 127.0.0.0/8
            net = ipaddress.ip_network(f"{mapped}/{max(0, net.prefixlen - 96)}")
        networks.append(net)
    return networks, names


def disallowed_reason(host: str, value: str) -> str | None:
    """Why ``host`` may not be fetched under ``web_download_disallowed_hosts = value``."""
    networks, names = _entries(value)
    if not networks and not names:
        return None
    if host.lower().rstrip(".") in names:
        return f"host {host} is not allowed"
    addresses = resolve(host)
    if not addresses:
        return f"host {host} does not resolve, so its address cannot be checked"
    for name in names:
        networks.extend(ipaddress.ip_network(a) for a in resolve(name))
    for address in sorted(addresses, key=str):
        for net in networks:
            if address.version == net.version and address in net:
                if str(address) == host:
                    return f"host {host} is not allowed"
                return f"host {host} is {address}, which is not allowed"
    return None


def check_uri(uri: object, conf: Any) -> str:
    """``uri`` if a web-download may fetch it (``conf``: the ``[image]`` section), else
    :class:`BadRequest` saying why (see the module docstring)."""
    parts = urlsplit(uri) if isinstance(uri, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest(f"Invalid uri {uri!r} for web-download: an http or https URL "
                         "is required.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise BadRequest(f"Invalid uri {uri!r} for web-download: bad port.") from None
    allowed = {p.strip() for p in conf.web_download_allowed_ports.split(",") if p.strip()}
    if allowed and str(port) not in allowed:
        raise BadRequest(f"Invalid uri {uri!r} for web-download: port {port} is not allowed "
                         f"(allowed: {', '.join(sorted(allowed, key=int))}).")
    reason = disallowed_reason(parts.hostname, conf.web_download_disallowed_hosts)
    if reason is not None:
        raise BadRequest(f"Invalid uri {uri!r} for web-download: {reason}.")
    return uri
