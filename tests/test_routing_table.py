"""The routing table's longest-prefix match: one probe per prefix length, the same answers as a full scan."""

import random
from ipaddress import IPv4Address, IPv4Network

from emulator.device.routing import Route, RoutingTable, classful


def route(net, code="S", distance=1, hop="192.0.2.1"):
    return Route(IPv4Network(net), code, None if code == "S" else "Serial0",
                 IPv4Address(hop) if code == "S" else None, distance)


def scan(routes, dst, classless=True):
    """The reference: every route in order of (longest prefix, best distance), first match wins."""
    for r in sorted(routes, key=lambda r: (-r.network.prefixlen, r.distance)):
        if dst in r.network:
            major = classful(dst)
            if not classless and r.network.prefixlen < major.prefixlen and any(
                    o.network.subnet_of(major) and o.network != major for o in routes
                    if o.network.prefixlen >= major.prefixlen):
                return None
            return r
    return None


def test_longest_prefix_wins():
    routes = [route("0.0.0.0/0"), route("10.0.0.0/8"), route("10.1.0.0/16", "C"), route("10.1.2.0/24")]
    table = RoutingTable(routes)
    assert table.lookup(IPv4Address("10.1.2.3")) is routes[3]
    assert table.lookup(IPv4Address("10.1.3.3")) is routes[2]
    assert table.lookup(IPv4Address("10.2.0.1")) is routes[1]
    assert table.lookup(IPv4Address("192.0.2.1")) is routes[0]
    assert RoutingTable(routes[1:]).lookup(IPv4Address("192.0.2.1")) is None


def test_the_best_distance_wins_for_one_network_and_the_first_listed_on_a_tie():
    far, near, near_too = route("10.0.0.0/8", distance=200), route("10.0.0.0/8", distance=1), route("10.0.0.0/8")
    assert RoutingTable([far, near, near_too]).lookup(IPv4Address("10.9.9.9")) is near
    assert RoutingTable([near_too, far, near]).lookup(IPv4Address("10.9.9.9")) is near_too


def test_no_ip_classless_never_leaves_a_known_subnetted_major_network_by_a_shorter_route():
    routes = [route("0.0.0.0/0"), route("172.16.1.0/24", "C")]
    assert RoutingTable(routes, classless=False).lookup(IPv4Address("172.16.2.1")) is None
    assert RoutingTable(routes, classless=True).lookup(IPv4Address("172.16.2.1")) is routes[0]
    assert RoutingTable(routes, classless=False).lookup(IPv4Address("172.17.2.1")) is routes[0]


def test_answers_are_cached_per_destination():
    table = RoutingTable([route("10.0.0.0/8")])
    dst = IPv4Address("10.1.1.1")
    assert table.lookup(dst) is table.lookup(dst)
    assert table._cache == {int(dst): table.routes[0]}      # keyed by the address as an integer


def test_same_answers_as_a_full_scan_on_random_tables():
    rng = random.Random(14131)
    for _ in range(60):
        routes = []
        for _ in range(rng.randrange(1, 40)):
            length = rng.choice([0, 8, 12, 16, 20, 24, 28, 30, 32])
            net = IPv4Network((rng.randrange(2 ** 32) & ~((1 << (32 - length)) - 1) if length else 0, length))
            routes.append(Route(net, rng.choice("CS"), "Serial0", None, rng.randrange(0, 3)))
        classless = rng.random() < 0.5
        table = RoutingTable(routes, classless=classless)
        probes = [r.network.network_address + rng.randrange(r.network.num_addresses) for r in routes]
        probes += [IPv4Address(rng.randrange(2 ** 32)) for _ in range(20)]
        for dst in probes:
            assert table.lookup(dst) is scan(routes, dst, classless), (routes, dst)
