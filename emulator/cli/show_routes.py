"""``show ip route`` in the IOS 12.2 layout, grouped by classful network."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

from emulator.device.router import Router
from emulator.device.routing import Route, classful

__all__ = ["show_ip_route_address", "show_ip_route", "LEGEND"]

LEGEND = "".join(line + "\n" for line in (
    'Codes: C - connected, S - static, I - IGRP, R - RIP, M - mobile, B - BGP',
    '       D - EIGRP, EX - EIGRP external, O - OSPF, IA - OSPF inter area ',
    '       N1 - OSPF NSSA external type 1, N2 - OSPF NSSA external type 2',
    '       E1 - OSPF external type 1, E2 - OSPF external type 2, E - EGP',
    '       i - IS-IS, L1 - IS-IS level-1, L2 - IS-IS level-2, ia - IS-IS inter area',
    '       * - candidate default, U - per-user static route, o - ODR',
    '       P - periodic downloaded static route',
))


def show_ip_route(router: Router) -> str:
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
        groups.setdefault(classful(r.network.network_address), []).append(r)
    lines = []
    for major in sorted(groups):
        lines += _group(major, groups[major])
    if default is not None:
        lines.append(_line(default, "0.0.0.0/0", "   ", star=True))
    return "".join(out) + "\n" + "".join(line + "\n" for line in lines)


def _group(major: IPv4Network, routes: list[Route]) -> list[str]:
    """The lines of one classful network: itself, or its subnets under a heading."""
    rs = sorted(routes, key=lambda r: (r.network.network_address, r.network.prefixlen))
    if len(rs) == 1 and rs[0].network == major:
        return [_line(rs[0], str(rs[0].network), "    ")]
    masks = {r.network.prefixlen for r in rs}
    if len(masks) == 1:
        # IOS says "1 subnets" too.
        return ([f"     {major.network_address}/{masks.pop()} is subnetted, {len(rs)} subnets"]
                + [_line(r, str(r.network.network_address), "       ") for r in rs])
    return ([f"     {major} is variably subnetted, {len(rs)} subnets, {len(masks)} masks"]
            + [_line(r, str(r.network), "       ") for r in rs])


def _line(r: Route, dest: str, pad: str, star: bool = False) -> str:
    code = r.code + ("*" if star else "")
    if r.interface is not None and r.next_hop is None:
        return f"{code}{pad}{dest} is directly connected, {r.interface}"
    return f"{code}{pad}{dest} [{r.distance}/{r.metric}] via {r.next_hop}"


def show_ip_route_address(router: Router, address: IPv4Address) -> str:
    """``show ip route A.B.C.D``: the route the address falls in (the default route only for 0.0.0.0)."""
    table = router.routing_table()
    if int(address) == 0:
        route = next((r for r in table.routes if r.candidate_default), None)
    else:
        covering = [r for r in table.routes if not r.candidate_default and address in r.network]
        route = max(covering, key=lambda r: r.network.prefixlen) if covering else None
    if route is None:
        return "% Network not in table\n"
    supernet = ", supernet" if route.network.prefixlen < classful(route.network.network_address).prefixlen else ""
    source = "connected" if route.code == "C" else "static"
    known = f'  Known via "{source}", distance {route.distance}, metric {route.metric}'
    if route.code == "C":
        known += " (connected, via interface)"
    elif route.next_hop is None:
        known += " (connected)"          # a static route to an interface
    if route.candidate_default:
        known += ", candidate default path"
    via = str(route.next_hop) if route.next_hop is not None else f"directly connected, via {route.interface}"
    return (f"Routing entry for {route.network}{supernet}\n{known}\n  Routing Descriptor Blocks:\n"
            f"  * {via}\n      Route metric is {route.metric}, traffic share count is 1\n\n")
