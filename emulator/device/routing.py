"""The IP routing table: connected, PPP peer and static routes; longest-prefix match."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emulator.device.router import Router


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


def _classful(address: IPv4Address) -> IPv4Network:
    first = int(address) >> 24
    prefix = 8 if first < 128 else 16 if first < 192 else 24
    return IPv4Network(f"{address}/{prefix}", strict=False)


class RoutingTable:
    def __init__(self, routes: list[Route], classless: bool = True):
        self.routes = routes
        self.classless = classless
        # Longest prefix first, then the best distance.
        self._ordered = sorted(routes, key=lambda r: (-r.network.prefixlen, r.distance))
        self._cache: dict[IPv4Address, Route | None] = {}   # the table is rebuilt, not changed, on any change

    def lookup(self, dst: IPv4Address) -> Route | None:
        try:
            return self._cache[dst]
        except KeyError:
            if len(self._cache) > 4096:
                self._cache.clear()
            route = self._cache[dst] = self._lookup(dst)
            return route

    def _lookup(self, dst: IPv4Address) -> Route | None:
        value = int(dst)
        for route in self._ordered:
            net = route.network
            if value & int(net.netmask) == int(net.network_address):
                if not self.classless and route.network.prefixlen < _classful(dst).prefixlen:
                    # "no ip classless": a subnetted major network known here is never left by the default.
                    major = _classful(dst)
                    if any(r.network.subnet_of(major) and r.network != major for r in self.routes
                           if r.network.prefixlen >= major.prefixlen):
                        return None
                return route
        return None


def build_table(router: "Router") -> RoutingTable:
    cfg = router.config
    routes: list[Route] = []
    connected: dict[str, list[IPv4Network]] = {}
    for name in cfg.interfaces:
        if not router.protocol_up(name):
            continue
        addr = router.interface_address(name)
        nets = []
        if addr is not None:
            nets.append(addr.network)
        iface = cfg.interfaces[name]
        if addr is not None and not iface.negotiated:
            nets += [IPv4Network(f"{a}/{m}", strict=False) for a, m in iface.secondary]
        peer = router.interface_state(name).peer_address
        if peer is not None and iface.peer_neighbor_route:
            nets.append(IPv4Network(f"{peer}/32"))
        for net in nets:
            if all(r.network != net for r in routes):
                routes.append(Route(net, "C", name))
        connected[name] = nets
    if cfg.ip_routing:
        for sr in cfg.static_routes:
            net = IPv4Network(f"{sr.prefix}/{sr.mask}", strict=False)
            distance = sr.distance or 1
            if sr.interface is not None:
                if sr.interface in connected:
                    routes.append(Route(net, "S", sr.interface, sr.next_hop, distance))
            else:
                via = _resolve(routes, sr.next_hop)
                if via is not None:
                    routes.append(Route(net, "S", None, sr.next_hop, distance))
    return RoutingTable(routes, classless=cfg.classless is not False)


def _resolve(routes: list[Route], hop: IPv4Address) -> Route | None:
    best = None
    for r in routes:
        if r.code == "C" and hop in r.network and (best is None or r.network.prefixlen > best.network.prefixlen):
            best = r
    return best


LEGEND = """Codes: C - connected, S - static, I - IGRP, R - RIP, M - mobile, B - BGP
       D - EIGRP, EX - EIGRP external, O - OSPF, IA - OSPF inter area 
       N1 - OSPF NSSA external type 1, N2 - OSPF NSSA external type 2
       E1 - OSPF external type 1, E2 - OSPF external type 2, E - EGP
       i - IS-IS, L1 - IS-IS level-1, L2 - IS-IS level-2, ia - IS-IS inter area
       * - candidate default, U - per-user static route, o - ODR
       P - periodic downloaded static route
"""


def show_ip_route(router: "Router") -> str:
    """``show ip route`` in the 12.2 layout, grouped by classful network."""
    if not router.config.ip_routing:
        # A host (no ip routing) shows its gateway and redirect cache instead.
        gw = router.config.default_gateway
        return (f"Default gateway is {gw if gw else 'not set'}\n\n"
                "Host               Gateway           Last Use    Total Uses  Interface\n"
                "ICMP redirect cache is empty\n")
    table = router.routing_table()
    out = [LEGEND, "\n"]
    default = next((r for r in table.routes if r.candidate_default), None)
    if default is None:
        out.append("Gateway of last resort is not set\n")
    else:
        gw = default.next_hop or IPv4Address("0.0.0.0")
        out.append(f"Gateway of last resort is {gw} to network 0.0.0.0\n")
    groups: dict[IPv4Network, list[Route]] = {}
    for r in table.routes:
        if r.candidate_default:
            continue
        groups.setdefault(_classful(r.network.network_address), []).append(r)
    lines = []
    for major in sorted(groups):
        rs = sorted(groups[major], key=lambda r: (r.network.network_address, r.network.prefixlen))
        if len(rs) == 1 and rs[0].network == major:
            lines.append(_line(rs[0], str(rs[0].network), "    "))
            continue
        masks = {r.network.prefixlen for r in rs}
        if len(masks) == 1:
            n = len(rs)
            # IOS says "1 subnets" too.
            lines.append(f"     {major.network_address}/{masks.pop()} is subnetted, {n} subnets")
            lines += [_line(r, str(r.network.network_address), "       ") for r in rs]
        else:
            lines.append(f"     {major} is variably subnetted, {len(rs)} subnets, {len(masks)} masks")
            lines += [_line(r, str(r.network), "       ") for r in rs]
    if default is not None:
        lines.append(_line(default, "0.0.0.0/0", "   ", star=True))
    return "".join(out) + "\n" + "".join(l + "\n" for l in lines)


def _line(r: Route, dest: str, pad: str, star: bool = False) -> str:
    code = r.code + ("*" if star else "")
    if r.interface is not None and r.next_hop is None:
        return f"{code}{pad}{dest} is directly connected, {r.interface}"
    return f"{code}{pad}{dest} [{r.distance}/{r.metric}] via {r.next_hop}"
