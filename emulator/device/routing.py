"""The IP routing table: connected, PPP peer and static routes; longest-prefix match.

``RoutingTable`` keeps one dict per prefix length, so a lookup costs one
probe per length in use, whatever the number of routes; answers are cached
per destination. ``Routing`` builds the table from the interfaces when first
needed after a change (``invalidate``), and answers the pipeline's questions:
where a destination goes, which addresses are the device's own, which are
broadcasts.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Protocol

from emulator.config.model import DeviceConfig

__all__ = ["Route", "RoutingTable", "ConnectedInterfaces", "build_table", "classful", "Routing", "BROADCAST"]

BROADCAST = IPv4Address("255.255.255.255")
CACHE_LIMIT = 4096


@dataclass(frozen=True)
class Route:
    network: IPv4Network
    code: str                      # C (connected) | S (static)
    interface: str | None
    next_hop: IPv4Address | None = None
    distance: int = 0
    metric: int = 0

    @property
    def candidate_default(self) -> bool:
        return self.network.prefixlen == 0


def classful(address: IPv4Address) -> IPv4Network:
    """The class A, B or C network an address belongs to."""
    value = int(address)
    first = value >> 24
    prefix = 8 if first < 128 else 16 if first < 192 else 24
    return IPv4Network((value >> (32 - prefix) << (32 - prefix), prefix))


class RoutingTable:
    def __init__(self, routes: list[Route], classless: bool = True):
        self.routes = routes
        self.classless = classless
        # prefix length -> network address -> the route of the best distance (the first one listed on a tie)
        by_length: dict[int, dict[int, Route]] = {}
        for route in routes:
            nets = by_length.setdefault(route.network.prefixlen, {})
            key = int(route.network.network_address)
            best = nets.get(key)
            if best is None or route.distance < best.distance:
                nets[key] = route
        self._lengths = [(length, _mask(length), by_length[length]) for length in sorted(by_length, reverse=True)]
        # "no ip classless": the major networks this table knows subnets of.
        self._subnetted = {major for r in routes
                           if r.network.prefixlen > (major := classful(r.network.network_address)).prefixlen}
        # Answers by destination as an integer (an IPv4Address hashes through Python code, an int in C);
        # the table is rebuilt, not changed, on any change.
        self._cache: dict[int, Route | None] = {}

    def lookup(self, dst: IPv4Address) -> Route | None:
        key = int(dst)
        try:
            return self._cache[key]
        except KeyError:
            if len(self._cache) > CACHE_LIMIT:
                self._cache.clear()
            route = self._cache[key] = self._lookup(dst)
            return route

    def _lookup(self, dst: IPv4Address) -> Route | None:
        value = int(dst)
        for length, mask, nets in self._lengths:
            route = nets.get(value & mask)
            if route is None:
                continue
            if not self.classless:
                major = classful(dst)
                # "no ip classless": a subnetted major network known here is never left by a shorter route.
                if length < major.prefixlen and major in self._subnetted:
                    return None
            return route
        return None


def _mask(length: int) -> int:
    return (0xFFFFFFFF << (32 - length)) & 0xFFFFFFFF


class ConnectedInterfaces(Protocol):
    """What the routing table is built from, besides the configuration."""

    def protocol_up(self, name: str) -> bool: ...

    def address(self, name: str) -> IPv4Interface | None: ...

    def peer_address(self, name: str) -> IPv4Address | None: ...


def build_table(cfg: DeviceConfig, interfaces: ConnectedInterfaces) -> RoutingTable:
    routes: list[Route] = []
    seen: set[IPv4Network] = set()
    connected: dict[str, list[IPv4Network]] = {}
    for name in cfg.interfaces:
        if not interfaces.protocol_up(name):
            continue
        addr = interfaces.address(name)
        nets = []
        if addr is not None:
            nets.append(addr.network)
        iface = cfg.interfaces[name]
        if addr is not None and not iface.negotiated:
            nets += [IPv4Network(f"{a}/{m}", strict=False) for a, m in iface.secondary]
        peer = interfaces.peer_address(name)
        if peer is not None and iface.peer_neighbor_route:
            nets.append(IPv4Network(f"{peer}/32"))
        for net in nets:
            if net not in seen:
                seen.add(net)
                routes.append(Route(net, "C", name))
        connected[name] = nets
    connected_routes = list(routes)     # a static route's next hop resolves through these only
    if cfg.ip_routing:
        for sr in cfg.static_routes:
            net = IPv4Network(f"{sr.prefix}/{sr.mask}", strict=False)
            distance = sr.distance or 1
            if sr.interface is not None:
                if sr.interface in connected:
                    routes.append(Route(net, "S", sr.interface, sr.next_hop, distance))
            elif sr.next_hop is not None and _resolve(connected_routes, sr.next_hop) is not None:
                routes.append(Route(net, "S", None, sr.next_hop, distance))
    return RoutingTable(routes, classless=cfg.classless is not False)


def _resolve(routes: list[Route], hop: IPv4Address) -> Route | None:
    best = None
    for r in routes:
        if r.code == "C" and hop in r.network and (best is None or r.network.prefixlen > best.network.prefixlen):
            best = r
    return best


class Routing:
    """The routing table and the device's own addresses, rebuilt when next needed after ``invalidate``."""

    def __init__(self, config: DeviceConfig, interfaces: ConnectedInterfaces):
        self.config = config
        self._interfaces = interfaces
        self._table: RoutingTable | None = None
        self._local: dict[IPv4Address, str] | None = None
        # The same addresses as integers, for the per-packet checks (an int hashes in C).
        self._local_ints: frozenset[int] | None = None
        self._local_packed: frozenset[bytes] | None = None
        self._broadcasts: frozenset[int] | None = None
        self._broadcasts_packed: frozenset[bytes] | None = None

    def invalidate(self) -> None:
        """Addresses or link states changed."""
        self._table = None
        self._local = None
        self._local_ints = None
        self._local_packed = None
        self._broadcasts = None
        self._broadcasts_packed = None

    def table(self) -> RoutingTable:
        if self._table is None:
            self._table = build_table(self.config, self._interfaces)
        return self._table

    def route_for(self, dst: IPv4Address) -> tuple[str, IPv4Address | None] | None:
        """(outgoing interface, next hop) for a destination, or None."""
        table = self._table
        if table is None:
            table = self.table()
        route = table.lookup(dst)
        cfg = self.config
        if not cfg.ip_routing:
            # A host: connected subnets directly, everything else through the default gateway.
            if route is not None and route.code == "C" and route.interface is not None:
                return route.interface, dst
            gw = cfg.default_gateway
            if gw is None:
                return None
            via = table.lookup(gw)
            if via is None or via.code != "C" or via.interface is None:
                return None
            return via.interface, gw
        if route is None:
            return None
        if route.interface is not None:
            return route.interface, route.next_hop or dst
        # A static route to a next hop: resolve the hop recursively.
        via = table.lookup(route.next_hop) if route.next_hop is not None else None
        if via is None or via.interface is None:
            return None
        return via.interface, route.next_hop

    def local_addresses(self) -> dict[IPv4Address, str]:
        if self._local is None:
            self._local = self._collect_local_addresses()
        return self._local

    def _collect_local_addresses(self) -> dict[IPv4Address, str]:
        cfg = self.config
        out = {}
        for name, iface in cfg.interfaces.items():
            addr = self._interfaces.address(name)
            if addr is not None:
                out[addr.ip] = name
            if not iface.negotiated and iface.address is not None:
                for a, _ in iface.secondary:
                    out[a] = name
        return out

    def is_local(self, address: IPv4Address) -> bool:
        local = self._local_ints
        if local is None:
            local = self._local_ints = frozenset(int(a) for a in self.local_addresses())
        return int(address) in local

    def is_local_packed(self, packed: bytes) -> bool:
        """``is_local`` of an address as the 4 bytes of a header (the processor asks it of every packet)."""
        local = self._local_packed
        if local is None:
            local = self._local_packed = frozenset(a.packed for a in self.local_addresses())
        return packed in local

    def is_broadcast(self, address: IPv4Address) -> bool:
        if self._broadcasts is None:
            found = {int(BROADCAST)}
            for name in self.config.interfaces:
                addr = self._interfaces.address(name)
                if addr is not None and addr.network.prefixlen < 31:
                    found.add(int(addr.network.broadcast_address))
            self._broadcasts = frozenset(found)
        return int(address) in self._broadcasts

    def is_broadcast_packed(self, packed: bytes) -> bool:
        """``is_broadcast`` of an address as the 4 bytes of a header."""
        found = self._broadcasts_packed
        if found is None:
            if self._broadcasts is None:
                self.is_broadcast(BROADCAST)
            assert self._broadcasts is not None
            found = self._broadcasts_packed = frozenset(a.to_bytes(4, "big") for a in self._broadcasts)
        return packed in found

    def source_address_for(self, iface: str) -> IPv4Address | None:
        addr = self._interfaces.address(iface)
        return addr.ip if addr is not None else None
